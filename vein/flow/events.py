"""Change events: :class:`Change`, subscriptions, and delivery up the tree.

Delivery is synchronous, in the writing thread, after the commit and outside the tree's
lock.  A write to ``settings.database.host`` is delivered first to the subscribers of the
``database`` object (path ``host``), then to those of ``settings`` (path
``database.host``); at each level, in subscription order.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from operator import itemgetter
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from .provenance import Provenance
from .state import element_key, heard

if TYPE_CHECKING:
    import logging

    from .state import Node

__all__ = ["MISSING", "Change", "Subscription", "emit", "handler_failed", "report_error"]

_logger: logging.Logger | None = None


def log() -> logging.Logger:
    """The ``vein`` logger.  :mod:`logging` is imported on the first message, not with
    vein: most processes never need it, and it is a good part of the import time."""
    global _logger
    if _logger is None:
        import logging

        _logger = logging.getLogger("vein")
    return _logger


class _Missing:
    """The value of a key that does not exist (before it was created, after removal)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "vein.MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
#: The type of :data:`MISSING`, for annotations: ``x: int | vein.MissingType = vein.MISSING``
#: declares a field that may be absent (a key some items lack); ``to_dict`` leaves it out.
MissingType = _Missing

_tuple_new = tuple.__new__


class Change(tuple[str, Any, Any, Provenance, bool]):
    """One committed change of one value (immutable).

    *path* is dotted and relative to the object subscribed on; *old* and *new* are the
    values (:data:`vein.MISSING` for a key that did not exist / was removed); *source* is
    the :class:`~vein.Provenance` of the new value.  A secret field's change shows ``'***'``
    in ``repr`` and ``str``.
    """

    __slots__ = ()

    def __new__(
        cls, path: str, old: Any, new: Any, source: Provenance, secret: bool = False
    ) -> Change:
        return _tuple_new(cls, (path, old, new, source, secret))

    if TYPE_CHECKING:  # read-only properties to type checkers too

        @property
        def path(self) -> str: ...
        @property
        def old(self) -> Any: ...
        @property
        def new(self) -> Any: ...
        @property
        def source(self) -> Provenance: ...
        @property
        def secret(self) -> bool: ...

    else:
        path = property(itemgetter(0))
        old = property(itemgetter(1))
        new = property(itemgetter(2))
        source = property(itemgetter(3))
        secret = property(itemgetter(4))

    def _shown(self, value: Any) -> str:
        if self[4] and value is not MISSING:
            return "'***'"
        if isinstance(value, Mapping | list | tuple) and value:
            # Plain data (a schema-less value, a dict field) may hold a secret-looking key
            # at any depth: shown masked, as to_dict(redact=True) shows it.
            from .config import redacted
            from .dump import plain

            shown = redacted(value)
            if shown != plain(value):  # something was masked: show the masked data
                return repr(shown)
        return repr(value)

    def __repr__(self) -> str:
        return (
            f"Change(path={self[0]!r}, old={self._shown(self[1])}, "
            f"new={self._shown(self[2])}, source={str(self[3])!r})"
        )

    def __str__(self) -> str:
        return f"{self[0]}: {self._shown(self[1])} -> {self._shown(self[2])} ({self[3]})"

    def relative_to(self, prefix: str) -> Change:
        return _tuple_new(Change, (self[0][len(prefix) :], self[1], self[2], self[3], self[4]))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Change, tuple(self))


_seq = 0


def _next_seq() -> int:
    global _seq
    _seq += 1
    return _seq


class SubTable(dict[str, tuple["Subscription", ...]]):
    """A node's subscriptions by key (a field, a dotted subtree, ``"*"``).

    Never changed once a node holds it: subscribing and cancelling (under the tree's lock)
    install a new table, so a delivery that read ``node.subs`` keeps one consistent table
    without locking.  That makes the table a safe place to remember, per written path,
    which subscriptions hear it (:func:`route`): every write after the first to a path
    finds its listeners with one dict lookup, subtree keys and ``"*"`` included.
    """

    __slots__ = ("routes",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.routes: dict[str, tuple[Subscription, ...]] = {}


#: Distinct paths remembered per table: writes to ever new keys of a dict field
#: (``limits[k]``) are still delivered, just found the long way once it is full.
ROUTES_MAX: Final = 512


class Subscription:
    """A registered callback.  ``cancel()`` it, or use it as a context manager."""

    __slots__ = ("__weakref__", "_callback", "_node", "_ref", "internal", "key", "seq")

    def __init__(self, node: Node, key: str, callback: Callable[..., Any], weak: bool) -> None:
        self._node: Node | None = node
        self.key = key
        self.seq = _next_seq()
        self.internal = False  # vein's own watchers (computed values) are not "listeners"
        self._ref: Callable[[], Any] | None = None
        self._callback: Callable[..., Any] | None = callback
        if weak:
            if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
                self._ref = weakref.WeakMethod(callback, self._dead)
            else:
                self._ref = weakref.ref(callback, self._dead)
            self._callback = None

    @property
    def callback(self) -> Callable[..., Any] | None:
        """The callback, or ``None`` once a weakly held one has been collected."""
        if self._ref is not None:
            found: Callable[..., Any] | None = self._ref()
            return found
        return self._callback

    @property
    def active(self) -> bool:
        return self._node is not None

    def _dead(self, _ref: Any) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Stop delivering to this callback (idempotent)."""
        node = self._node
        if node is None:
            return
        self._node = None
        tree = node.tree or node.find_tree()
        with tree.lock:
            if self.key == "\0error":
                tree.error_handlers = tuple(s for s in tree.error_handlers if s is not self)
                return
            while True:
                subs = node.subs
                if subs is None:
                    return
                table = SubTable(subs)
                left = tuple(s for s in subs.get(self.key, ()) if s is not self)
                if left:
                    table[self.key] = left
                else:
                    table.pop(self.key, None)
                if node.subs is subs:  # as in subscribe(): a finalizer may have run
                    node.subs = table or None
                    return

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        state = "active" if self._node is not None else "cancelled"
        return f"<vein.Subscription {self.key!r} {self.callback!r} ({state})>"


#: vein's own watchers (computed values) are delivered after every user subscription, so
#: a derived value's change is heard after the change it derives from.
_INTERNAL_SEQ: Final = 1 << 62


def subscribe(
    node: Node, key: str, callback: Callable[..., Any], weak: bool, internal: bool = False
) -> Subscription:
    sub = Subscription(node, key, callback, weak)
    tree = node.tree or node.find_tree()
    with tree.lock:
        if key == "\0error":
            tree.error_handlers = (*tree.error_handlers, sub)
        else:
            if internal:
                sub.internal = True
                sub.seq += _INTERNAL_SEQ
            while True:
                subs = node.subs
                table = SubTable(subs or ())
                group = table.get(key, ())
                if internal:
                    table[key] = (*group, sub)
                else:
                    users = tuple(s for s in group if not s.internal)
                    table[key] = (*users, sub, *group[len(users) :])
                # Building the table allocates, which may run the garbage collector, whose
                # finalizers may cancel a subscription of this node (a weak one whose owner
                # died, a __del__), re-entering this lock in this thread.  Install only a
                # table made from the one still installed, or that cancel would be undone.
                if node.subs is subs:
                    node.subs = table
                    break
    return sub


def report_error(node: Node | None, exc: BaseException, what: str, secret: bool = False) -> None:
    """Log *exc* on the ``vein`` logger and pass it to the tree's ``on_error`` handlers.

    With *secret* (the change was to a secret field) the log line leaves out the exception's
    text, which may quote the value.
    """
    try:
        exc.add_note(f"vein: {what}")
    except AttributeError:  # pragma: no cover - every BaseException has add_note on 3.11
        pass
    shown: object = "(message hidden: secret field)" if secret else exc
    log().error("%s: %s: %s", what, type(exc).__name__, shown)
    if node is None:
        return
    tree = node.tree or node.find_tree()
    for sub in tree.error_handlers:
        handler = sub.callback
        if handler is None:
            continue
        try:
            handler(exc)
        except Exception as inner:  # an error handler must not break the writer
            handler_failed("on_error handler", handler, inner)


def handler_failed(what: str, handler: Any, exc: BaseException) -> None:
    """An error handler raised: log its name, the exception's type and where it was raised.

    Never the exception's text, nor the handler's ``repr`` (a bound method's shows its
    object): a handler is given an error about a value, perhaps a secret one, and its own
    error may well quote it -- or anything else the handler can reach.
    """
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    where = raised_at(exc)
    log().error(
        "%s failed: %r raised %s%s (its message is not logged: it may quote the error it was "
        "handling)",
        what,
        name,
        type(exc).__name__,
        where,
    )


def raised_at(exc: BaseException) -> str:
    """`` at file.py:12``: where *exc* was raised (its innermost frame), or ``""``."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def _seq_of(sub: Subscription) -> int:
    return sub.seq


def route(subs: SubTable, path: str) -> tuple[Subscription, ...]:
    """The subscriptions in *subs* that hear a change at *path*, in subscription order
    (remembered in the table: the next write to *path* looks them up)."""
    found = _matching(subs, path)
    targets = () if found is None else tuple(found)
    routes = subs.routes
    if len(routes) < ROUTES_MAX:
        routes[path] = targets
    return targets


def _matching(
    subs: Mapping[str, tuple[Subscription, ...]], path: str
) -> tuple[Subscription, ...] | list[Subscription] | None:
    """The long way of :func:`route`: the exact key, every subtree above *path*, ``"*"``."""
    found = subs.get(path)
    star = subs.get("*")
    groups = [found] if found else []
    # Subtrees end at a dot or, for an element of a list/dict field, at its ``[index]``.
    i = max(path.rfind("."), path.rfind("["))
    while i > 0:
        group = subs.get(path[:i])
        if group:
            groups.append(group)
        i = max(path.rfind(".", 0, i), path.rfind("[", 0, i))
    if star:
        groups.append(star)
    if not groups:
        return None
    if len(groups) == 1:
        return groups[0]
    return sorted((s for g in groups for s in g), key=_seq_of)


def _fire(
    node: Node, targets: tuple[Subscription, ...] | list[Subscription], change: Change
) -> None:
    for sub in targets:
        cb = sub._callback if sub._ref is None else sub._ref()
        if cb is None:
            continue
        try:
            cb(change)
        except Exception as exc:
            callback_failed(node, exc, cb, change)


def callback_failed(node: Node, exc: BaseException, cb: Any, change: Change) -> None:
    """A subscriber raised: the change stands; log it and tell the ``on_error`` handlers."""
    report_error(
        node, exc, f"callback {getattr(cb, '__qualname__', cb)!r} for {change.path!r}", change[4]
    )


def emit(node: Node, name: str, old: Any, new: Any, source: Provenance, secret: bool) -> None:
    """Deliver one change of field *name* of *node*'s object to every interested subscriber.

    Who hears it is settled, at every level up to the root, before the first callback
    runs: a callback that subscribes elsewhere in the tree (or moves an element) changes
    who hears the *next* change, not this one.  The :class:`Change` is built only for the
    levels where somebody listens.  This is the hot path of every relayed write: each level
    finds its listeners with one lookup in its table's remembered routes.
    """
    path = name
    n = node
    first: Node | None = None  # the lowest level that listens: most writes have one
    first_path = ""
    first_targets: tuple[Subscription, ...] = ()
    more: list[tuple[Node, str, tuple[Subscription, ...]]] | None = None
    while True:
        subs = n.subs
        if subs is not None:
            targets = subs.routes.get(path)
            if targets is None:
                targets = route(subs, path)
            if targets:
                if first is None:
                    first, first_path, first_targets = n, path, targets
                elif more is None:
                    more = [(n, path, targets)]
                else:
                    more.append((n, path, targets))
        parent = n.parent
        if parent is None:
            break
        if n.box is None:
            path = f"{n.name}.{path}"
        else:
            # An element of a list/dict field: its place is found (by identity) only when
            # somebody above listens; one no longer held tells nobody above.
            if not heard(parent):
                break
            key = element_key(n)
            if key is None:
                break
            path = n.name + key + "." + path
        n = parent
    if first is None:
        return
    change = _tuple_new(Change, (first_path, old, new, source, secret))
    for sub in first_targets:  # _fire, inline: this loop runs on every relayed write
        cb = sub._callback if sub._ref is None else sub._ref()
        if cb is not None:
            try:
                cb(change)
            except Exception as exc:
                callback_failed(first, exc, cb, change)
    if more is not None:
        for level, level_path, targets in more:
            _fire(level, targets, _tuple_new(Change, (level_path, old, new, source, secret)))


def emit_changes(node: Node, changes: list[tuple[Node, str, Any, Any, Provenance, bool]]) -> None:
    for n, name, old, new, source, secret in changes:
        emit(n, name, old, new, source, secret)
