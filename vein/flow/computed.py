"""``@vein.computed``: derived values, cached until something they read changes.

Dependencies are found by running the function with a recording stand-in for ``self``:
every field path it reads (``self.database.host``) becomes a dependency, watched through
the ordinary event machinery.  A change of a dependency drops the cached value; if
someone subscribes to the computed name, it is recomputed at once and a
:class:`vein.Change` is delivered when its value actually changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from .events import Change, emit, subscribe

__all__ = ["computed"]

T = TypeVar("T")

_NO = object()


class _Recorder:
    """Stands in for ``self`` while a computed value is evaluated; records field reads."""

    __slots__ = ("_deps", "_obj", "_prefix")

    def __init__(self, obj: Any, prefix: str, deps: set[str]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_deps", deps)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(type(self._obj), name, None)
        if isinstance(attr, computed):
            # Another computed value: depend on the fields *it* reads (its own dependency
            # watchers only announce it to listeners, never to other computed values).
            return attr.fn(self)
        value = getattr(self._obj, name)
        path = self._prefix + name
        if hasattr(value, "_vein") and not isinstance(value, type):
            return _Recorder(value, path + ".", self._deps)  # a nested flow object
        if not callable(value):
            self._deps.add(path)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a computed value may not assign fields")


def _listened(node: Any, name: str) -> bool:
    """Does anybody (not counting dependency watchers) subscribe to *name* of *node*?"""
    path = name
    n = node
    while n is not None:
        subs = n.subs
        if subs:
            for key, group in subs.items():
                if all(s.internal for s in group):
                    continue
                if key == "*" or key == path or path.startswith(key + "."):
                    return True
        if n.parent is None:
            return False
        path = f"{n.name}.{path}"
        n = n.parent
    return False


class computed(Generic[T]):
    """A read-only value derived from fields, cached until a field it read changes.

    ::

        @vein.flow
        class Server:
            host: str = "localhost"
            port: int = 8080

            @vein.computed
            def url(self) -> str:
                return f"http://{self.host}:{self.port}"

    ``server.url`` is computed on first read; ``server.on_change("url", cb)`` hears when
    it changes.  The function must read fields through ``self`` (that is how its
    dependencies are found) and must not assign them.
    """

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> computed[T]: ...
    @overload
    def __get__(self, obj: Any, owner: type | None = None) -> T: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        node = obj._vein
        cache: dict[str, Any] | None = node.__dict__.get("computed")
        if cache is None:
            cache = node.computed = {}
        tree = node.tree or node.find_tree()
        lock = tree.lock
        if lock._is_owned():
            # Inside a batch or a policy of this thread: the state is not committed yet
            # (the cache is invalidated only by the events after the commit).
            return self._compute(obj, node)
        value = cache.get(self.name, _NO)
        if value is not _NO:
            return value
        version = tree.version
        value = self._compute(obj, node)
        # Keep it only if no write started or ended meanwhile: a value computed from a
        # state that was being written (or was then rolled back) must not be cached.
        if lock.acquire(blocking=False):
            try:
                if tree.version == version:
                    cache[self.name] = value
            finally:
                lock.release()
        return value

    def _compute(self, obj: Any, node: Any) -> Any:
        deps: set[str] = set()
        value = self.fn(_Recorder(obj, "", deps))
        watched: dict[str, set[str]] | None = node.__dict__.get("computed_deps")
        if watched is None:
            watched = node.computed_deps = {}
        mine = watched.setdefault(self.name, set())
        for path in deps - mine:
            subscribe(node, path, functools.partial(self._invalidate, obj), False, internal=True)
            mine.add(path)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{self.name!r} is computed; assign the fields it is derived from")

    def _invalidate(self, obj: Any, change: Change) -> None:
        node = obj._vein
        cache = node.__dict__.get("computed")
        if cache:
            cache.pop(self.name, None)
        announced: dict[str, Any] | None = node.__dict__.get("computed_seen")
        if not _listened(node, self.name):
            if announced:
                announced.pop(self.name, None)  # a new listener starts from a fresh value
            return
        if announced is None:
            announced = node.computed_seen = {}
        old = announced.get(self.name, _NO)
        new = self.__get__(obj)
        announced[self.name] = new
        if old is _NO:
            return  # never announced: the baseline is set now
        try:
            same = bool(old == new)
        except Exception:
            same = False
        if not same:
            emit(node, self.name, old, new, change.source, False)

    def prime(self, obj: Any) -> None:
        """A listener subscribed: compute now, so dependencies are watched and changes seen."""
        node = obj._vein
        announced: dict[str, Any] | None = node.__dict__.get("computed_seen")
        if announced is None:
            announced = node.computed_seen = {}
        if self.name in announced:
            return
        try:
            announced[self.name] = self.__get__(obj)
        except Exception:
            pass


def prime(obj: Any, path: str) -> None:
    """Before a subscription to *path* on *obj*: prime the computed values it can hear of."""
    target = obj
    parts = [] if path == "*" else path.split(".")
    for i, part in enumerate(parts):
        attr = getattr(type(target), part, None)
        if isinstance(attr, computed):
            if i == len(parts) - 1:
                attr.prime(target)
            return
        child = getattr(target, part, None)
        if not hasattr(child, "_vein") or isinstance(child, type):
            return  # a leaf: no computed value below it
        target = child
    _prime_all(target, 0)


def _prime_all(obj: Any, depth: int) -> None:
    if depth > 100:
        return
    from .schema import schema_of

    try:
        schema = schema_of(type(obj))
    except TypeError:
        return
    cls = type(obj)
    for name in getattr(schema, "computed", ()):
        getattr(cls, name).prime(obj)
    for name in schema.nested:
        child = getattr(obj, name, None)
        if child is not None:
            _prime_all(child, depth + 1)
