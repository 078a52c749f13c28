"""Evented collections: list, dict and set fields that can be changed in place.

``session.permissions.append("admin")`` validates the new element against the declared
element type and fires a :class:`vein.Change` on the field's path (old: a copy of the
collection before, new: a copy after), with the same locking, batch and policy rules as an
assignment.  The containers are subclasses of ``list``/``dict``/``set``: they compare equal
to plain ones, and pickle, copy and dump (``to_dict``) as plain containers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, SupportsIndex, get_args, get_origin

from ..structuring import ConversionError, runtime_check
from .events import emit
from .provenance import RUNTIME

if TYPE_CHECKING:
    from .schema import FieldSpec

__all__ = [
    "EventedDict",
    "EventedList",
    "EventedSet",
    "collection_kind",
    "copy_of",
    "detach",
    "reattach",
    "wrap",
]


def collection_kind(tp: Any) -> str | None:
    origin = get_origin(tp) or tp
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    if origin is set:
        return "set"
    return None


class _Owned:
    """What the three containers share: who owns them and how a mutation is committed."""

    __slots__ = ()
    _owner: tuple[Any, FieldSpec, Callable[[Any], Any] | None, Callable[[Any], Any] | None] | None

    def _plain(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _reset(self, contents: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _elem(self, value: Any, where: str) -> Any:
        owner = self._owner
        if owner is None or owner[2] is None:
            return value
        try:
            return owner[2](value)
        except ConversionError as exc:
            from .write import type_error

            exc.subpath = where + exc.subpath
            raise type_error(owner[0], owner[1], exc) from None

    def _key(self, key: Any) -> Any:
        owner = self._owner
        if owner is None or owner[3] is None:
            return key
        try:
            return owner[3](key)
        except ConversionError as exc:
            from .write import type_error

            exc.subpath = f"[{key!r}]" + exc.subpath
            raise type_error(owner[0], owner[1], exc) from None

    def _commit(self, mutate: Callable[[], Any]) -> Any:
        owner = self._owner
        if owner is None:
            return mutate()
        obj, spec = owner[0], owner[1]
        node = obj._vein
        tree = node.tree or node.find_tree()
        name = spec.name
        with tree.lock:
            old = self._plain()
            result = mutate()
            new = self._plain()
            if old == new:
                return result
            tree.version += 1
            if tree.batch is not None:
                tree.batch.record(obj, node, name, old, new, RUNTIME, spec.secret)
                return result
            if tree.policies_on is not None:
                try:
                    tree.policies_on.check((node,))
                except BaseException:
                    self._reset(old)
                    tree.version += 1  # what readers saw meanwhile (snapshots, computed) is stale
                    raise
            provs = node.prov
            if provs is None:
                provs = node.prov = {}
            provs[name] = RUNTIME
        if node.subs is not None or node.parent is not None:
            emit(node, name, old, new, RUNTIME, spec.secret)
        return result


class EventedList(list[Any], _Owned):
    """A list field's value: in-place changes are validated and evented."""

    __slots__ = ("_owner",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        list.__init__(self, *args, **kwargs)
        self._owner = None  # not attached to a field until wrap() says so

    def _plain(self) -> list[Any]:
        return list(self)

    def _reset(self, contents: Any) -> None:
        list.__init__(self, contents)

    def append(self, value: Any) -> None:
        value = self._elem(value, f"[{len(self)}]")
        self._commit(lambda: list.append(self, value))

    def extend(self, values: Iterable[Any]) -> None:
        items = [self._elem(v, f"[{len(self) + i}]") for i, v in enumerate(values)]
        self._commit(lambda: list.extend(self, items))

    def __iadd__(self, values: Iterable[Any]) -> EventedList:  # type: ignore[misc]
        self.extend(values)
        return self

    def __imul__(self, n: SupportsIndex) -> EventedList:
        self._commit(lambda: list.__imul__(self, n))
        return self

    def insert(self, index: SupportsIndex, value: Any) -> None:
        value = self._elem(value, f"[{index}]")
        self._commit(lambda: list.insert(self, index, value))

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            value = [self._elem(v, f"[{i}]") for i, v in enumerate(value)]
        else:
            value = self._elem(value, f"[{index}]")
        self._commit(lambda: list.__setitem__(self, index, value))

    def __delitem__(self, index: Any) -> None:
        self._commit(lambda: list.__delitem__(self, index))

    def pop(self, index: SupportsIndex = -1) -> Any:
        return self._commit(lambda: list.pop(self, index))

    def remove(self, value: Any) -> None:
        self._commit(lambda: list.remove(self, value))

    def clear(self) -> None:
        self._commit(lambda: list.clear(self))

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        self._commit(lambda: list.sort(self, key=key, reverse=reverse))

    def reverse(self) -> None:
        self._commit(lambda: list.reverse(self))

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (list, (list(self),))

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(list(self), memo)


class EventedDict(dict[Any, Any], _Owned):
    """A dict field's value: in-place changes are validated and evented."""

    __slots__ = ("_owner",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        dict.__init__(self, *args, **kwargs)
        self._owner = None  # not attached to a field until wrap() says so

    def _plain(self) -> dict[Any, Any]:
        return dict(self)

    def _reset(self, contents: Any) -> None:
        dict.clear(self)
        dict.update(self, contents)

    def __setitem__(self, key: Any, value: Any) -> None:
        key = self._key(key)
        value = self._elem(value, f"[{key!r}]")
        self._commit(lambda: dict.__setitem__(self, key, value))

    def __delitem__(self, key: Any) -> None:
        self._commit(lambda: dict.__delitem__(self, key))

    def pop(self, key: Any, *default: Any) -> Any:
        return self._commit(lambda: dict.pop(self, key, *default))

    def popitem(self) -> tuple[Any, Any]:
        result: tuple[Any, Any] = self._commit(lambda: dict.popitem(self))
        return result

    def clear(self) -> None:
        self._commit(lambda: dict.clear(self))

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        items = dict(*args, **kwargs)
        checked = {self._key(k): self._elem(v, f"[{k!r}]") for k, v in items.items()}
        self._commit(lambda: dict.update(self, checked))

    def __ior__(self, other: Any) -> EventedDict:  # type: ignore[misc]
        self.update(other)
        return self

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (dict, (dict(self),))

    def __copy__(self) -> dict[Any, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        return copy.deepcopy(dict(self), memo)


class EventedSet(set[Any], _Owned):
    """A set field's value: in-place changes are validated and evented."""

    __slots__ = ("_owner",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        set.__init__(self, *args, **kwargs)
        self._owner = None  # not attached to a field until wrap() says so

    def _plain(self) -> set[Any]:
        return set(self)

    def _reset(self, contents: Any) -> None:
        set.clear(self)
        set.update(self, contents)

    def add(self, value: Any) -> None:
        value = self._elem(value, "")
        self._commit(lambda: set.add(self, value))

    def discard(self, value: Any) -> None:
        self._commit(lambda: set.discard(self, value))

    def remove(self, value: Any) -> None:
        self._commit(lambda: set.remove(self, value))

    def pop(self) -> Any:
        return self._commit(lambda: set.pop(self))

    def clear(self) -> None:
        self._commit(lambda: set.clear(self))

    def update(self, *others: Iterable[Any]) -> None:
        items = [self._elem(v, "") for other in others for v in other]
        self._commit(lambda: set.update(self, items))

    def difference_update(self, *others: Iterable[Any]) -> None:
        self._commit(lambda: set.difference_update(self, *others))

    def intersection_update(self, *others: Iterable[Any]) -> None:
        self._commit(lambda: set.intersection_update(self, *others))

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        items = [self._elem(v, "") for v in other]
        self._commit(lambda: set.symmetric_difference_update(self, items))

    def __ior__(self, other: Any) -> EventedSet:  # type: ignore[misc]
        self.update(other)
        return self

    def __iand__(self, other: Any) -> EventedSet:  # type: ignore[misc]
        self.intersection_update(other)
        return self

    def __isub__(self, other: Any) -> EventedSet:  # type: ignore[misc]
        self.difference_update(other)
        return self

    def __ixor__(self, other: Any) -> EventedSet:  # type: ignore[misc]
        self.symmetric_difference_update(other)
        return self

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (set, (set(self),))

    def __copy__(self) -> set[Any]:
        return set(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> set[Any]:
        return copy.deepcopy(set(self), memo)


def copy_of(value: Any) -> Any:
    """A plain copy of an evented container (what events carry), else the value itself."""
    return value._plain() if isinstance(value, _Owned) else value


def detach(value: Any) -> None:
    """A container replaced by another: later changes to it no longer reach the field."""
    if isinstance(value, _Owned):
        value._owner = None  # type: ignore[misc]  # the concrete containers have the slot


def reattach(obj: Any, spec: FieldSpec, value: Any) -> Any:
    """Put a container back in its field (a rollback): the same object reports again."""
    if isinstance(value, _Owned) and value._owner is None:
        value._owner = wrap(obj, spec, value._plain())._owner  # type: ignore[misc]
        return value
    return wrap(obj, spec, value)


_CLASSES: dict[str, type[Any]] = {"list": EventedList, "dict": EventedDict, "set": EventedSet}


def wrap(obj: Any, spec: FieldSpec, value: Any) -> Any:
    """The evented container to store for *value* in field *spec* of *obj*."""
    kind = spec.collection
    if kind is None or value is None:
        return value
    cls = _CLASSES[kind]
    if type(value) is cls and value._owner is not None and value._owner[0] is obj:
        return value
    if not isinstance(value, list | dict | set):
        return value
    new = cls(value)
    args = get_args(spec.type)
    if kind == "dict":
        kcheck = runtime_check(args[0])[1] if args else None
        vcheck = runtime_check(args[1])[1] if len(args) > 1 else None
        new._owner = (obj, spec, vcheck, kcheck)
    else:
        new._owner = (obj, spec, runtime_check(args[0])[1] if args else None, None)
    return new
