"""``@vein.computed``: derived values, cached until something they read changes.

Dependencies are found by running the function with a recording stand-in for ``self``:
every field it reads (``self.database.host``), also inside helper methods and properties
it calls, is recorded together with the value it had.  The cache is checked against the
tree's version, which every commit bumps: when the version moved on, the recorded fields
are compared by identity (evented containers by their revision) with what they hold now,
and only a changed one makes the value recomputed.  So a value is never stale, not even
for a subscriber of a dependency that reads it before vein's own watchers ran.

If someone subscribes to the computed name, its dependencies are watched through the
ordinary event machinery and a :class:`vein.Change` is delivered when its value actually
changed.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, overload

from .collections import revision
from .events import MISSING, Change, emit, subscribe
from .schema import schema_of
from .state import element_key, is_flow_object

if TYPE_CHECKING:
    from .state import Node

__all__ = ["class_attr", "computed", "record_reads"]

T = TypeVar("T")

_NO: Final = object()

#: What a name found on a flow class is, for a stand-in of ``self``.
FIELD: Final = 0  # a declared field (a slot): read and recorded
DYNAMIC: Final = 5  # an attribute of the instance's ``__dict__`` (dynamic state)
COMPUTED: Final = 1  # another computed value: evaluated against the stand-in
PROPERTY: Final = 2  # a property: its getter runs against the stand-in
METHOD: Final = 3  # a method: bound to the stand-in, so its reads are recorded too
OTHER: Final = 4  # vein's own methods, Python's protocols: read from the real object
CLASS: Final = 6  # another attribute of the user's class (a constant, a classmethod)

_kinds: dict[tuple[type, str], tuple[int, Any]] = {}


def class_attr(cls: type, name: str) -> tuple[int, Any]:
    """What *name* is on *cls* (cached per class and name: looked up once)."""
    key = (cls, name)
    found = _kinds.get(key)
    if found is not None:
        return found
    from .declare import Flow

    attr: Any = _NO
    owner: type = object
    for klass in cls.__mro__:
        if name in klass.__dict__:
            attr, owner = klass.__dict__[name], klass
            break
    if attr is _NO:
        found = (DYNAMIC, None)
    elif isinstance(attr, types.MemberDescriptorType):
        found = (FIELD, None)
    elif owner is Flow or owner is object or name.startswith("__"):
        found = (OTHER, None)  # vein's API and Python's protocols act on the real object
    elif isinstance(attr, computed):
        found = (COMPUTED, attr)
    elif isinstance(attr, property) and attr.fget is not None:
        found = (PROPERTY, attr.fget)
    elif isinstance(attr, types.FunctionType):
        found = (METHOD, attr)
    else:
        found = (CLASS, None)
    _kinds[key] = found
    return found


#: One recorded read: the object, the field name, the value read and its revision (for
#: an evented container, which changes in place), or ``None``.
Read = tuple[Any, str, Any, "int | None"]


class _Recorder:
    """Stands in for ``self`` while a computed value (or a policy) runs; records field reads.

    Methods and properties of the class run against the stand-in too, so a field read
    through ``self._fmt()`` or ``self.some_property`` is recorded, at any depth.
    """

    # Name-mangled: the stand-in's own attributes must not hide the class's (``self._obj``).
    __slots__ = ("__obj", "__paths", "__prefix", "__reads")

    def __init__(self, obj: Any, prefix: str, paths: dict[str, None], reads: list[Read]) -> None:
        object.__setattr__(self, "_Recorder__obj", obj)
        object.__setattr__(self, "_Recorder__prefix", prefix)
        object.__setattr__(self, "_Recorder__paths", paths)
        object.__setattr__(self, "_Recorder__reads", reads)

    # ``isinstance(self, Cls)`` and zero-argument ``super()`` look here when the stand-in's
    # own type does not match, so methods written for the real class keep working.
    @property  # type: ignore[misc]  # read-only on purpose
    def __class__(self) -> type:
        return type(self.__obj)

    def __getattr__(self, name: str) -> Any:
        obj = self.__obj
        kind, attr = class_attr(type(obj), name)
        if kind == METHOD:
            return types.MethodType(attr, self)
        if kind == PROPERTY:
            return attr(self)
        if kind == COMPUTED:
            # Another computed value: depend on the fields *it* reads.
            return attr.fn(self)
        value = getattr(obj, name)
        if kind in (OTHER, CLASS) or name.startswith("_"):
            return value  # not a field: nothing to depend on
        self.__reads.append((obj, name, value, revision(value)))
        path = self.__prefix + name
        if is_flow_object(value):
            if kind == DYNAMIC or schema_of(type(obj)).fields[name].nested is None:
                # An attribute, or a ``Tls | None`` field, may be given another object (a
                # section never is: an assignment copies the values into it).
                self.__paths[path] = None
            return _Recorder(value, path + ".", self.__paths, self.__reads)  # a nested object
        self.__paths[path] = None
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise _Refused("a computed value may not assign fields")

    def __delattr__(self, name: str) -> None:
        raise _Refused("a computed value may not delete fields")


class _Refused(AttributeError):
    """A computed value (or a policy being re-run) tried to change the state."""


def record_reads(
    obj: Any, fn: Callable[[Any], Any], paths: dict[str, None] | None = None
) -> tuple[Any, list[Read], dict[str, None]]:
    """Run ``fn(stand-in for obj)``; return its result, the reads and the dotted paths read.

    The paths are relative to *obj*, in the order first read; they go into *paths* when
    given, so that the caller has them even when *fn* raises (the exception propagates).
    """
    if paths is None:
        paths = {}
    reads: list[Read] = []
    result = fn(_Recorder(obj, "", paths, reads))
    return result, reads, paths


def _unchanged(reads: list[Read]) -> bool:
    """Does every recorded field still hold what was read (same object, same revision)?"""
    for owner, name, value, rev in reads:
        try:
            current = getattr(owner, name)
        except AttributeError:
            return False
        if current is not value or (rev is not None and revision(current) != rev):
            return False
    return True


def _listened(node: Node, name: str) -> bool:
    """Does anybody (not counting dependency watchers) subscribe to *name* of *node*?"""
    path = name
    n: Node | None = node
    while n is not None:
        subs = n.subs
        if subs:
            # list(): another thread may subscribe or cancel meanwhile.
            for key, group in list(subs.items()):
                if all(s.internal for s in group):
                    continue
                if key == "*" or key == path or path.startswith((key + ".", key + "[")):
                    return True
        if n.parent is None:
            return False
        if n.box is None:
            path = f"{n.name}.{path}"
        else:  # an element of a list/dict field: ``lines[0].total``
            place = element_key(n)
            if place is None:
                return False
            path = f"{n.name}{place}.{path}"
        n = n.parent
    return False


#: A cache entry: the tree and version it was checked at, the value, the reads it was
#: computed from (``None``: unknown, valid at that version only) and their dotted paths.
Entry = tuple[Any, int, Any, "list[Read] | None", dict[str, None]]

#: The dependencies of a value that could not be computed against the stand-in: anything.
_ANYTHING: Final[dict[str, None]] = {"*": None}


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
    it changes.  The function must read fields through ``self`` (directly, or through
    methods and properties of the class: that is how its dependencies are found), must
    not assign them, and should depend on nothing else.
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
        tree = node.tree or node.find_tree()
        version = tree.version  # read first: a write from now on makes the entry checked again
        cache: dict[str, Entry] | None = node.__dict__.get("computed")
        if cache is None:
            cache = node.computed = {}
        else:
            entry = cache.get(self.name)
            if entry is not None:
                if entry[1] == version and entry[0] is tree:
                    return entry[2]
                reads = entry[3]
                if reads is not None and _unchanged(reads):
                    cache[self.name] = (tree, version, entry[2], reads, entry[4])
                    return entry[2]
        try:
            value, reads, paths = record_reads(obj, self.fn)
        except _Refused:
            raise
        except Exception:
            # The stand-in may not do for this function (``type(self).LIMIT``): compute it
            # on the object itself -- an error it really raises comes again -- and keep it
            # only until anything in the tree changes.
            value, reads, paths = self.fn(obj), None, _ANYTHING
        # Kept even if a write ran meanwhile: the reads say what it was computed from, and
        # the next read (the version moved on) checks them again.
        cache[self.name] = (tree, version, value, reads, paths)
        announced = node.__dict__.get("computed_seen")
        if announced and self.name in announced:
            self._watch(obj, node, paths)
        return value

    def _watch(self, obj: Any, node: Any, paths: dict[str, None]) -> None:
        """Watch the dependencies not watched yet, to announce changes to listeners."""
        watched: dict[str, set[str]] | None = node.__dict__.get("computed_deps")
        if watched is None:
            watched = node.computed_deps = {}
        mine = watched.setdefault(self.name, set())
        for path in paths:
            if path not in mine:
                mine.add(path)
                subscribe(node, path, functools.partial(self._announce, obj), False, internal=True)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{self.name!r} is computed; assign the fields it is derived from")

    def _announce(self, obj: Any, change: Change) -> None:
        """A dependency changed (after the commit): tell listeners if the value did."""
        node = obj._vein
        if change.path in schema_of(type(obj)).computed:
            return  # another computed value's announcement, heard by a "*" watcher
        announced: dict[str, Any] | None = node.__dict__.get("computed_seen")
        if not _listened(node, self.name):
            if announced:
                announced.pop(self.name, None)  # a new listener starts from a fresh value
            return
        # Compare and remember as one step: two threads whose writes both change the value
        # must announce two changes, never the same one twice.
        with (node.tree or node.find_tree()).lock:
            if announced is None:
                announced = node.__dict__.get("computed_seen")
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
            value = self.__get__(obj)
        except Exception:
            return
        announced[self.name] = value
        entry = node.computed[self.name]
        self._watch(obj, node, entry[4])


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
        if _is_dynamic_attribute(target, part):
            # Dynamic state may be given another object here (or one where there is none
            # yet): the computed values below it must be primed then too.
            _relay(target, part, ".".join(parts[i + 1 :]) or "*")
        child = getattr(target, part, None)
        if not is_flow_object(child):
            return  # a leaf (or nothing yet): no computed value below it now
        target = child
    _prime_all(target, 0)


def _is_dynamic_attribute(obj: Any, name: str) -> bool:
    try:
        schema = schema_of(type(obj))
    except TypeError:
        return False
    return schema.dynamic and name not in schema.fields and not hasattr(type(obj), name)


def _prime_all(obj: Any, depth: int) -> None:
    if depth > 100:
        return
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
    if schema.dynamic:
        _relay(obj, "*", "*")  # any attribute, now or later, may hold a flow object
        for value in list(getattr(obj, "__dict__", {}).values()):
            if is_flow_object(value):
                _prime_all(value, depth + 1)  # an adopted flow object (dynamic state)


def _relay(obj: Any, name: str, rest: str) -> None:
    """Watch dynamic attribute *name* (``"*"``: any) of *obj* for a new flow object.

    A listener above subscribed to *rest* below it (``"*"``: everything).  Once per
    attribute and path: an internal subscription, set up at subscription time.
    """
    node = obj._vein
    relays: dict[str, set[str]] | None = node.__dict__.get("computed_relays")
    if relays is None:
        relays = node.computed_relays = {}
    if name not in relays:
        relays[name] = set()
        subscribe(node, name, functools.partial(_replaced, obj), False, internal=True)
    relays[name].add(rest)


def _replaced(obj: Any, change: Change) -> None:
    """A dynamic attribute of *obj* changed: prime a new flow object, announce its values.

    A declared nested field keeps its object (an assignment copies values into it), so
    its computed values change like any other; a dynamic attribute is given a new object,
    whose computed values are announced here when they differ from the old object's.
    """
    path = change.path
    new = change.new
    if "." in path or not is_flow_object(new) or getattr(obj, path, None) is not new:
        return  # a write below the attribute, a plain value, or superseded meanwhile
    relays: dict[str, set[str]] = obj._vein.computed_relays
    rests = relays.get(path, set()) | relays.get("*", set())
    for rest in sorted(rests):
        prime(new, rest)
    _announce_replaced(change.old, new, change.source, 0)


def _announce_replaced(old: Any, new: Any, source: Any, depth: int) -> None:
    if depth > 100:
        return
    node = new._vein
    announced: dict[str, Any] | None = node.__dict__.get("computed_seen")
    same_class = type(old) is type(new)
    for name in list(announced or ()):
        if not _listened(node, name):
            continue
        try:
            before = getattr(old, name) if same_class else MISSING
        except Exception:
            before = MISSING
        after = getattr(new, name)
        assert announced is not None
        announced[name] = after
        try:
            same = before is not MISSING and bool(before == after)
        except Exception:
            same = False
        if not same:
            emit(node, name, before, after, source, False)
    schema = schema_of(type(new))
    children = [(n, getattr(new, n, None)) for n in schema.nested]
    if schema.dynamic:
        children += [(k, v) for k, v in list(getattr(new, "__dict__", {}).items())]
    for name, child in children:
        if is_flow_object(child):
            _announce_replaced(getattr(old, name, None), child, source, depth + 1)
