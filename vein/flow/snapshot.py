"""Immutable, consistent copies of a tree (``obj.snapshot()``).

A snapshot is taken under the tree's lock, so it never mixes two updates (or half of a
batch).  While another thread holds a batch open, the reader does not wait for it: it gets
the snapshot the batch took of the committed state when it began.  Snapshots are cached
per object and tree version: taking one again while nothing has changed costs a lookup,
and an object whose values did not change keeps its snapshot across versions, so
unchanged subtrees are shared.  Values are frozen: lists become tuples, sets frozensets, dicts read-only
mappings, nested flow objects snapshots.  Snapshots compare equal to each other by value,
hash, read like the object (``snap.database.host``) and dump with ``to_dict()``.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import VeinError
from .collections import element_classes, held_elements, revision
from .computed import CLASS, COMPUTED, METHOD, PROPERTY, class_attr
from .dump import REDACTED, plain, self_containing
from .events import MISSING
from .schema import classes_below, did_you_mean, schema_of
from .state import element_slot, is_flow_object

__all__ = ["FrozenDict", "Snapshot", "batch_base", "take_snapshot"]


class FrozenDict(Mapping[Any, Any]):
    """A read-only, hashable mapping (a dict field inside a snapshot)."""

    __slots__ = ("_d", "_h")
    _d: dict[Any, Any]
    _h: int | None

    def __init__(self, data: Mapping[Any, Any]) -> None:
        object.__setattr__(self, "_d", dict(data))
        object.__setattr__(self, "_h", None)

    def __getitem__(self, key: Any) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        h = self._h
        if h is None:
            h = hash(frozenset(self._d.items()))
            object.__setattr__(self, "_h", h)
        return h

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._d == dict(other)
        return NotImplemented

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a snapshot is read-only")

    def __repr__(self) -> str:
        return f"FrozenDict({self._d!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (self._d,))


class Snapshot:
    """A read-only copy of one flow object (attributes are plain reads).

    ``@vein.computed`` values, properties and methods of the class work on it too: they
    run against the snapshot's own values (computed ones once, then kept).
    """

    # _hidden: the names of secret values (masked in repr); __computed: computed values
    # (name-mangled: a snapshot's own attributes must not hide the class's methods)
    __slots__ = ("__computed", "__dict__", "_hidden")
    __vein_type__: type
    __vein_open__: bool  # the schema-less config's
    __vein_keys__: dict[str, str]  # field name -> its key in dumps, where they differ
    _hidden: frozenset[str]
    __computed: dict[str, Any] | None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cls = self.__class__.__vein_type__
        kind, attr = class_attr(cls, name)
        if schema_of(cls).open:
            kind = -1  # the schema-less config: only its keys
        if kind == COMPUTED:
            cache = self.__computed
            if cache is None:
                cache = {}
                object.__setattr__(self, "_Snapshot__computed", cache)
            found = cache.get(name, _NO)
            if found is _NO:
                found = cache[name] = attr.fn(self)
            return found
        if kind == PROPERTY:
            return attr(self)
        if kind == METHOD:
            return types.MethodType(attr, self)
        if kind == CLASS:
            return getattr(cls, name)  # a class constant, a classmethod
        raise AttributeError(
            f"snapshot of {cls.__name__} has no field {name!r}"
            f"{did_you_mean(name, list(self.__dict__))}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a snapshot is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a snapshot is read-only")

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Snapshot):
            return (
                self.__class__.__vein_type__ is other.__class__.__vein_type__
                and self.__dict__ == other.__dict__
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.__class__.__vein_type__, tuple(self.__dict__.items())))

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """Plain data: what ``vein.to_dict(obj, redact=redact)`` gave when this was taken.

        With *redact*, secret values are replaced by ``'***'`` (in the schema-less config,
        the values of secret-looking keys, at any depth).
        """
        cls = self.__class__
        keys: dict[str, str] = cls.__vein_keys__
        open_ = cls.__vein_open__
        hidden = self._hidden if redact else frozenset()
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if v is MISSING:
                continue  # an absent key: not in the dump, as for the object
            key = keys.get(k, k)
            if k in hidden and not (v is None or (isinstance(v, str) and not v)):
                out[key] = REDACTED
            elif isinstance(v, Snapshot):
                out[key] = v.to_dict(redact=redact)
            elif open_ and redact:
                from .config import redacted

                out[key] = redacted(_thaw(v))
            else:
                out[key] = _thaw(v, redact)
        return out

    def __repr__(self) -> str:
        hidden = self._hidden
        show = repr
        if schema_of(self.__class__.__vein_type__).open:
            # Schema-less values may hold secret-looking keys at any depth.
            from .config import redacted

            def show(v: Any) -> str:
                if isinstance(v, Snapshot):
                    return repr(v)
                thawed = _thaw(v)
                shown = redacted(thawed)
                return repr(v) if shown == thawed else repr(shown)  # frozen, unless masked

        inner = ", ".join(
            f"{k}={_MASK if k in hidden else show(v)}" for k, v in self.__dict__.items()
        )
        return f"<snapshot {self.__class__.__vein_type__.__name__}({inner})>"

    def __copy__(self) -> Snapshot:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Snapshot:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.__class__.__vein_type__, dict(self.__dict__), self._hidden))


_MASK = "'***'"
_NO: Any = object()


def _rebuild(cls: type, data: dict[str, Any], hidden: frozenset[str]) -> Snapshot:
    snap = object.__new__(_snapshot_class(cls))
    object.__setattr__(snap, "__dict__", data)
    object.__setattr__(snap, "_hidden", hidden)
    object.__setattr__(snap, "_Snapshot__computed", None)
    return snap


_snapshot_classes: dict[type, type[Snapshot]] = {}


def _snapshot_class(cls: type) -> type[Snapshot]:
    found = _snapshot_classes.get(cls)
    if found is None:
        schema = schema_of(cls)
        ns = {
            "__vein_type__": cls,
            "__module__": __name__,
            "__vein_open__": schema.open,
            # Fields whose key in files and dumps is not their name (``vein.field(key=)``).
            "__vein_keys__": {n: spec.key for n, spec in schema.fields.items() if spec.key != n},
        }
        found = type(f"{cls.__name__}Snapshot", (Snapshot,), ns)
        _snapshot_classes[cls] = found
    return found


def _freeze(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if hasattr(value, "_vein"):
        return _take(value)
    return value


def _thaw(value: Any, redact: bool = False) -> Any:
    if isinstance(value, FrozenDict):
        return {k: _thaw(v, redact) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v, redact) for v in value]
    if isinstance(value, Snapshot):
        return value.to_dict(redact=redact)
    return plain(value, redact)


class _Shape:
    """How to read one flow class for a snapshot (worked out once per class)."""

    __slots__ = (
        "children",
        "collections",
        "config",
        "dynamic",
        "get",
        "hidden",
        "names",
        "plain_elements",
    )

    def __init__(self, cls: type) -> None:
        schema = schema_of(cls)
        self.config = schema.open  # the schema-less config keeps its keys in ``_data``
        fields = {} if schema.open else schema.fields
        self.names = tuple(fields)
        self.hidden = frozenset(name for name, spec in fields.items() if spec.secret)
        self.dynamic = schema.dynamic
        # Fields whose value can change without being replaced: a flow object (a section's,
        # a ``Tls | None`` field's: its own snapshot tells) and an evented container (its
        # revision tells).
        self.children = tuple(
            i for i, spec in enumerate(fields.values()) if spec.nested or spec.holds
        )
        self.collections = tuple(i for i, spec in enumerate(fields.values()) if spec.collection)
        # Per container: can its flow elements hold plain containers (an ``Any`` field,
        # dynamic state)?  Only then are the elements looked at by every snapshot.
        specs = list(fields.values())
        self.plain_elements = tuple(
            any(_may_hold_plain(c) for c in element_classes(specs[i])) for i in self.collections
        )
        getter = operator.attrgetter(*self.names) if self.names else None
        if getter is None:
            self.get: Any = lambda obj: ()
        elif len(self.names) == 1:
            self.get = lambda obj: (getter(obj),)
        else:
            self.get = getter

    def values(self, obj: Any) -> tuple[Any, ...]:
        """The declared fields' values, in order (``_UNSET`` for one not set)."""
        try:
            found: tuple[Any, ...] = self.get(obj)
        except AttributeError:  # a dynamic class's field that its __init__ did not set
            return tuple(getattr(obj, name, _UNSET) for name in self.names)
        return found

    def extra(self, obj: Any) -> list[tuple[str, Any]]:
        """Undeclared attributes (dynamic state) or keys (the schema-less config)."""
        if self.config:
            return list(obj._data.items())
        if self.dynamic:
            d = getattr(obj, "__dict__", None)
            if d:
                return [(k, v) for k, v in list(d.items()) if not k.startswith("_")]
        return []


_UNSET: Any = object()
_shapes: dict[type, _Shape] = {}


def _may_hold_plain(cls: type, seen: frozenset[type] = frozenset()) -> bool:
    """Can an object of *cls* (or one below it) hold a plain, untracked container?"""
    if cls in seen:
        return False
    try:
        schema = schema_of(cls)
    except TypeError:
        return False
    if schema.dynamic or schema.open:
        return True
    if any(spec.check is None and spec.nested is None for spec in schema.fields.values()):
        return True  # an Any (or object) field: anything goes
    seen = seen | {cls}
    return any(_may_hold_plain(c, seen) for c in classes_below(schema))


#: Plain containers that can change in place without any write (an ``Any`` field's list,
#: a dynamic attribute's or a schema-less key's): no version or revision says when they
#: do, so a snapshot of an object holding one is never reused -- it is copied again.
_PLAIN_MUTABLE: frozenset[type] = frozenset((list, dict, set, bytearray))


class _Made:
    """What one object's cached snapshot was made from (``node.snap``)."""

    __slots__ = ("extra", "revs", "snap", "tree", "values", "version", "volatile")

    def __init__(
        self,
        version: int,
        tree: Any,
        snap: Snapshot,
        values: tuple[Any, ...],
        revs: list[int | None],
        extra: dict[str, tuple[Any, Any, Any]],
        volatile: bool,
    ) -> None:
        self.version = version
        self.tree = tree
        self.snap = snap
        self.values = values
        self.revs = revs  # of the evented containers, in the order of ``_Shape.collections``
        self.extra = extra  # undeclared key -> (value, its snapshot if a flow object, revision)
        self.volatile = volatile  # it (or an object below) holds a _PLAIN_MUTABLE container


def _take(obj: Any) -> Snapshot:
    """The snapshot of *obj* now (the caller holds the tree's lock).

    Cached per object and tree version.  When the version moved on, the object's values
    are compared by identity (evented containers also by revision, children by their own
    snapshot) with the ones the cached snapshot was made from: an object none of whose
    values changed keeps its snapshot, and a new one reuses the frozen copies of the values
    that did not change -- a write copies only what it changed and the objects above it.
    """
    node = obj._vein
    tree = node.tree or node.find_tree()
    version = tree.version
    made: _Made | None = node.__dict__.get("snap")
    if made is not None and made.version == version and made.tree is tree and not made.volatile:
        return made.snap
    cls = type(obj)
    shape = _shapes.get(cls)
    if shape is None:
        shape = _shapes[cls] = _Shape(cls)
    values = shape.values(obj)
    revs: list[Any] = [revision(values[i]) for i in shape.collections]
    volatile = False
    for j, i in enumerate(shape.collections):
        if shape.plain_elements[j]:
            for element in held_elements(values[i]):
                _take(element)
                if element._vein.snap.volatile:
                    revs[j] = object()  # equal to no other revision: frozen again
                    volatile = True
                    break
    for value in values:
        if type(value) in _PLAIN_MUTABLE:
            volatile = True
            break
    children: dict[int, Snapshot] = {}
    for i in shape.children:
        child = values[i]
        if is_flow_object(child):
            children[i] = _take(child)
            volatile = volatile or child._vein.snap.volatile
    extra: dict[str, tuple[Any, Any, Any]] = {}
    for key, value in shape.extra(obj):
        if is_flow_object(value):
            extra[key] = (value, _take(value), None)  # an adopted flow object
            volatile = volatile or value._vein.snap.volatile
        elif type(value) in _PLAIN_MUTABLE:
            extra[key] = (value, None, object())  # a revision equal to no other: copied again
            volatile = True
        else:
            extra[key] = (value, None, revision(value))
    old = made.snap.__dict__ if made is not None else None
    if (
        made is not None
        and old is not None
        and not volatile
        and all(map(operator.is_, made.values, values))
        and made.revs == revs
        and all(old.get(shape.names[i]) is snap for i, snap in children.items())
        and _same_extra(made.extra, extra)
    ):
        made.version, made.tree = version, tree  # nothing of it changed: the same snapshot
        return made.snap
    data = _data(obj, shape, values, revs, children, extra, made)
    snap = _rebuild(cls, data, _hidden(obj, shape))
    node.snap = _Made(version, tree, snap, values, revs, extra, volatile)
    return snap


def _same_extra(a: dict[str, tuple[Any, Any, Any]], b: dict[str, tuple[Any, Any, Any]]) -> bool:
    if a.keys() != b.keys():
        return False
    for key, (value, snap, rev) in b.items():
        was = a[key]
        if was[0] is not value or was[1] is not snap or was[2] != rev:
            return False
    return True


def _data(
    obj: Any,
    shape: _Shape,
    values: tuple[Any, ...],
    revs: list[int | None],
    children: dict[int, Snapshot],
    extra: dict[str, tuple[Any, Any, int | None]],
    made: _Made | None,
) -> dict[str, Any]:
    """A snapshot's values: frozen copies, reused from the last snapshot where unchanged."""
    old: dict[str, Any] = made.snap.__dict__ if made is not None else {}
    unchanged: set[int] = set()
    if made is not None:
        unchanged = {i for i, (a, b) in enumerate(zip(made.values, values, strict=True)) if a is b}
        for j, i in enumerate(shape.collections):
            if made.revs[j] != revs[j]:
                unchanged.discard(i)  # the same container, changed in place
    data: dict[str, Any] = {}
    for i, (name, value) in enumerate(zip(shape.names, values, strict=True)):
        if value is _UNSET:
            continue
        if i in children:
            data[name] = children[i]
        elif i in unchanged and name in old and type(value) not in _PLAIN_MUTABLE:
            data[name] = old[name]
        else:
            data[name] = _frozen(obj, name, value)
    was = made.extra if made is not None else {}
    for key, (value, snap, rev) in extra.items():
        if snap is not None:
            data[key] = snap
        elif key in was and was[key][0] is value and was[key][2] == rev and key in old:
            data[key] = old[key]
        else:
            data[key] = _frozen(obj, key, value)
    return data


def _frozen(obj: Any, name: str, value: Any) -> Any:
    """The frozen copy of field *name*'s value; a value containing itself is named."""
    try:
        return _freeze(value)
    except RecursionError:
        raise self_containing(obj, name) from None


def _hidden(obj: Any, shape: _Shape) -> frozenset[str]:
    if shape.config:
        return frozenset(k for k in obj._data if obj.__vein_is_secret__(k))
    return shape.hidden


#: How long a reader waits for the lock at a time before it looks again for a batch that
#: another thread may have opened meanwhile (seconds).
_POLL = 0.001


def take_snapshot(obj: Any) -> Snapshot:
    """``obj.snapshot()``: a consistent, immutable copy (see the module docstring).

    Never waits for another thread's open batch: the state when that batch began, which
    it keeps, is the last committed one.  (A plain write holds the lock only briefly.)
    """
    node = obj._vein
    tree = node.tree or node.find_tree()
    made: _Made | None = node.__dict__.get("snap")
    if (
        made is not None
        and made.version == tree.version
        and made.tree is tree
        and not made.volatile
    ):
        return made.snap
    lock = tree.lock
    _used(tree)
    timeout = 0.0
    while True:
        if lock.acquire(timeout=timeout) if timeout else lock.acquire(blocking=False):
            try:
                return _take(obj)
            finally:
                lock.release()
        batch = tree.batch
        if batch is not None:
            found = _committed(batch.base, node)
            if found is not None:
                return found
        timeout = _POLL


def _committed(base: Snapshot | None, node: Any) -> Snapshot | None:
    """*node*'s part of the snapshot a batch kept of the committed state (if it has one)."""
    if base is None:
        return None
    steps: list[tuple[str, tuple[Any] | None]] = []
    n = node
    while n.parent is not None:
        # An element of a list/dict field: its place there now (a tuple or FrozenDict
        # in the base; a place the batch changed gives another element, or nothing).
        steps.append((n.name, None if n.box is None else element_slot(n) or ("\0",)))
        n = n.parent
    snap: Any = base
    for name, slot in reversed(steps):
        snap = snap.__dict__.get(name) if isinstance(snap, Snapshot) else None
        if slot is not None:
            try:
                snap = snap[slot[0]] if isinstance(snap, tuple | FrozenDict) else None
            except (IndexError, KeyError, TypeError):
                snap = None
    return snap if isinstance(snap, Snapshot) else None


#: Root classes whose trees have been snapshotted: a new tree of one keeps batch bases from
#: the start (so even its first snapshot need not wait for a batch).
_snapshotted: set[type] = set()


def _used(tree: Any) -> None:
    """Remember that this tree's snapshots are read: its batches keep a base from now on."""
    root = tree.root
    d = root.__dict__
    if "snapshots" not in d:
        d["snapshots"] = True
        if root.obj is not None:
            _snapshotted.add(type(root.obj))


def batch_base(tree: Any) -> Snapshot | None:
    """At the start of a batch (lock held): the committed state, for readers meanwhile.

    Only for a tree whose snapshots are read (one of it, or of another tree with the same
    root class, was taken before): a batch of a tree nobody snapshots costs nothing more.
    The one case a reader still waits for a batch is the very first snapshot of such a
    tree, taken while the batch is open.
    """
    root = tree.root
    obj = root.obj
    if obj is None or ("snapshots" not in root.__dict__ and type(obj) not in _snapshotted):
        return None
    try:
        return _take(obj)
    except VeinError:
        # A value no snapshot can hold (one that contains itself): the batch must still
        # open; readers wait for it instead, and their own snapshot() names the field.
        return None
