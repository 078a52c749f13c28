"""Immutable, consistent copies of a tree (``obj.snapshot()``).

A snapshot is taken under the tree's lock, so it never mixes two updates (or half of a
batch).  It is cached per object and tree version: taking one again while nothing has
changed costs a lookup, and unchanged subtrees are shared between snapshots of the same
version.  Values are frozen: lists become tuples, sets frozensets, dicts read-only
mappings, nested flow objects snapshots.  Snapshots compare equal to each other by value,
hash, read like the object (``snap.database.host``) and dump with ``to_dict()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .dump import plain
from .schema import did_you_mean, schema_of

__all__ = ["FrozenDict", "Snapshot", "take_snapshot"]


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
    """A read-only copy of one flow object (attributes are plain reads)."""

    __slots__ = ("__dict__", "_hidden")  # _hidden: the names of secret values (masked in repr)
    __vein_type__: type
    _hidden: frozenset[str]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"snapshot of {self.__class__.__vein_type__.__name__} has no field {name!r}"
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

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v.to_dict() if isinstance(v, Snapshot) else _thaw(v)
            for k, v in self.__dict__.items()
        }

    def __repr__(self) -> str:
        hidden = self._hidden
        inner = ", ".join(
            f"{k}={_MASK if k in hidden else repr(v)}" for k, v in self.__dict__.items()
        )
        return f"<snapshot {self.__class__.__vein_type__.__name__}({inner})>"

    def __copy__(self) -> Snapshot:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Snapshot:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.__class__.__vein_type__, dict(self.__dict__), self._hidden))


_MASK = "'***'"


def _rebuild(cls: type, data: dict[str, Any], hidden: frozenset[str]) -> Snapshot:
    snap = object.__new__(_snapshot_class(cls))
    object.__setattr__(snap, "__dict__", data)
    object.__setattr__(snap, "_hidden", hidden)
    return snap


_snapshot_classes: dict[type, type[Snapshot]] = {}


def _snapshot_class(cls: type) -> type[Snapshot]:
    found = _snapshot_classes.get(cls)
    if found is None:
        found = type(
            f"{cls.__name__}Snapshot", (Snapshot,), {"__vein_type__": cls, "__module__": __name__}
        )
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


def _thaw(value: Any) -> Any:
    if isinstance(value, FrozenDict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, Snapshot):
        return value.to_dict()
    return plain(value)


def _take(obj: Any) -> Snapshot:
    node = obj._vein
    tree = node.tree or node.find_tree()
    cached = node.__dict__.get("snap")
    if cached is not None and cached[0] == tree.version:
        snap: Snapshot = cached[1]
        return snap
    data: dict[str, Any] = {}
    inner = getattr(obj, "_data", None)
    if isinstance(inner, dict) and type(obj).__name__ == "Config":
        for key, value in inner.items():
            data[key] = _freeze(value)
        hidden = frozenset(k for k in data if obj.__vein_is_secret__(k))
    else:
        schema = schema_of(type(obj))
        hidden = frozenset(name for name, spec in schema.fields.items() if spec.secret)
        for name in schema.fields:
            try:
                value = object.__getattribute__(obj, name)
            except AttributeError:
                continue
            data[name] = _freeze(value)
        d = getattr(obj, "__dict__", None)
        if d and schema.dynamic:
            for key, value in d.items():
                if not key.startswith("_"):
                    data[key] = _freeze(value)
    snap = _rebuild(type(obj), data, hidden)
    node.snap = (tree.version, snap)
    return snap


def take_snapshot(obj: Any) -> Snapshot:
    """``obj.snapshot()``: a consistent, immutable copy (see the module docstring)."""
    node = obj._vein
    tree = node.tree or node.find_tree()
    cached = node.__dict__.get("snap")
    if cached is not None and cached[0] == tree.version:
        snap: Snapshot = cached[1]
        return snap
    with tree.lock:
        return _take(obj)
