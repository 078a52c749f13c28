"""Evented collections: list, dict and set fields that can be changed in place.

``session.permissions.append("admin")`` validates the new element against the declared
element type and fires a :class:`vein.Change` on the field's path (old: a copy of the
collection before, new: a copy after), with the same locking, batch and policy rules as an
assignment.  The containers are subclasses of ``list``/``dict``/``set``: they compare equal
to plain ones, and pickle, copy and dump (``to_dict``) as plain containers.

Flow objects held by a list or dict field whose element type names a flow class
(``list[Line]``, ``dict[str, Line | None]``) belong to the owner's tree, like a nested
section: a write inside one (``cart.lines[0].qty = 1``) runs under the tree's lock, joins
its batch, runs its policies, bumps the container's revision and reaches the owner's
subscribers as ``lines[0].qty``.  An element that already belongs somewhere else (another
tree, another field, or this container a second time) is copied on insertion, as
``_adopt`` copies a nested object that has a parent; one that leaves the container is
released (a tree of its own again).  Sets never adopt their elements (docs/collections.md).
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, SupportsIndex, Union, get_args, get_origin

from ..structuring import ConversionError, runtime_check
from .events import emit
from .provenance import RUNTIME
from .state import heard, held, is_flow_object

if TYPE_CHECKING:
    from .schema import FieldSpec

__all__ = [
    "EventedDict",
    "EventedList",
    "EventedSet",
    "collection_kind",
    "copy_of",
    "detach",
    "element_classes",
    "held_elements",
    "reattach",
    "revision",
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


#: ``_owner``: the flow object, the field's spec, the element check, the key check (dicts),
#: whether the field is read-only, the field's own ``validator=`` (or ``None``), and
#: whether its elements may be flow objects (they then belong to the owner's tree).
Owner = tuple[
    Any,
    "FieldSpec",
    "Callable[[Any], Any] | None",
    "Callable[[Any], Any] | None",
    bool,
    "Callable[[Any, Any, Any], Any] | None",
    bool,
]


def _flow_classes(tp: Any) -> tuple[type, ...]:
    """The flow classes an element annotation names (itself, or members of a union)."""
    from .declare import Flow

    if isinstance(tp, type):
        return (tp,) if issubclass(tp, Flow) else ()
    if get_origin(tp) in (Union, types.UnionType):
        return tuple(c for a in get_args(tp) for c in _flow_classes(a))
    return ()


@functools.cache
def _element_classes(tp: Any, kind: str | None) -> tuple[type, ...]:
    args = get_args(tp)
    if kind == "list" and args:
        return _flow_classes(args[0])
    if kind == "dict" and len(args) > 1:
        return _flow_classes(args[1])
    return ()  # sets (flow objects are unhashable), and unparameterised containers


def element_classes(spec: FieldSpec) -> tuple[type, ...]:
    """The flow classes whose instances field *spec*'s list or dict holds as its elements.

    Decided by the declared element type, once per type: ``list[Any]`` or a bare ``list``
    holding flow objects keeps them as plain values (no adoption, no cost).
    """
    try:
        return _element_classes(spec.type, spec.collection)
    except TypeError:  # an unhashable annotation (Annotated metadata): not cached
        return _element_classes.__wrapped__(spec.type, spec.collection)


def _link(container: Any, value: Any) -> Any:
    """Make flow object *value* an element of *container*; return what is to be stored.

    *value* itself when it is free (no parent, or a link left by a container that was
    never stored); a deep copy when it belongs elsewhere or is the owner or an ancestor.
    """
    owner = container._owner
    node = owner[0]._vein
    cnode = value._vein
    if cnode.box is container:
        return value
    if cnode.box is not None and not held(cnode):
        cnode.parent, cnode.name, cnode.box = None, "", None
    ancestor = node
    while ancestor is not None and ancestor is not cnode:
        ancestor = ancestor.parent
    if cnode.parent is not None or ancestor is not None:
        value = copy.deepcopy(value)
        cnode = value._vein
    cnode.parent, cnode.name, cnode.box = node, owner[1].name, container
    if cnode.tree is not None:
        from .layers import forget_tree

        forget_tree(value)  # it was a tree of its own: the one cached below it is stale
    # A class the declaration did not foresee (a subclass) may bring policies of its own.
    t = node
    while t is not None and t.tree is None:
        t = t.parent
    if t is not None and t.tree is not None and t.tree.policies_on is None:
        from .txn import PolicyRunner, tree_has_policies

        if tree_has_policies(value):
            t.tree.policies_on = PolicyRunner()
    return value


def _release(container: Any, value: Any) -> None:
    """*value* left *container*: it is a tree of its own again."""
    cnode = value._vein
    if cnode.box is container:
        cnode.parent, cnode.name, cnode.box = None, "", None
        from .layers import forget_tree

        forget_tree(value)


def held_elements(value: Any) -> list[Any]:
    """The flow objects *value* (an evented container) holds as its elements."""
    if not isinstance(value, EventedList | EventedDict):
        return []
    return [v for v in value._values() if is_flow_object(v) and v._vein.box is value]


def _nothing(_target: Any) -> None:
    return None


_NOWHERE: Any = object()


class _Owned:
    """What the three containers share: who owns them and how a mutation is committed.

    ``_rev`` counts the committed changes: computed values and snapshots compare it to
    tell an in-place change from none without copying the contents.
    """

    __slots__ = ()
    _owner: Owner | None
    _rev: int

    def _plain(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _restore_contents(self, contents: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _values(self) -> list[Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _items(self) -> list[tuple[Any, Any]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _put(self, where: Any, value: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _reset(self, contents: Any) -> None:
        """Put *contents* back (a rollback): a change that no event announces."""
        owner = self._owner
        before = self._values() if owner is not None and owner[6] else None
        self._restore_contents(contents)
        if before is not None:
            self._settle(before)
        self._rev += 1  # type: ignore[misc]  # the concrete containers have the slot

    def _settle(self, before: Iterable[Any], keep: Any = None, take: Any = None) -> None:
        """After a change of the contents: link the flow elements, release the ones gone.

        An object held twice keeps its first place; the later ones get copies.  *keep*:
        a container whose elements are left as they are (the one a new container is about
        to replace: ``detach`` moves them once the new one is stored).  *take*: a
        container whose elements move here.
        """
        seen: set[int] = set()
        for where, v in self._items():
            if not is_flow_object(v):
                continue
            box = v._vein.box
            if id(v) in seen:
                v = copy.deepcopy(v)
                self._put(where, v)
                box = None
            if box is not self and (keep is None or box is not keep):
                if take is not None and box is take:
                    v._vein.box = self
                    if v._vein.tree is not None:
                        from .layers import forget_tree

                        forget_tree(v)  # its ElementTree bumped the old container
                else:
                    linked = _link(self, v)
                    if linked is not v:
                        self._put(where, linked)
                        v = linked
            seen.add(id(v))
        for v in before:
            if is_flow_object(v) and id(v) not in seen:
                _release(self, v)

    def _elem(self, value: Any, where: Any = _NOWHERE) -> Any:
        """Check an element; *where* (a list index or a dict key) is named if it fails."""
        owner = self._owner
        if owner is None or owner[2] is None:
            return value
        try:
            return owner[2](value)
        except ConversionError as exc:
            from .write import type_error

            # Formatted only now: a successful check must not pay for the message.
            exc.subpath = ("" if where is _NOWHERE else f"[{where!r}]") + exc.subpath
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

    def _commit(self, mutate: Callable[[Any], Any], changes: bool | None) -> Any:
        """Run ``mutate(container)`` as one committed change of the field.

        *changes* is what the caller knows cheaply: ``True`` (it changes the contents or
        raises), ``False`` (it changes nothing) or ``None`` (only a comparison can tell).
        The contents are copied only when somebody needs the old value: a subscriber (here
        or above), an open batch or a policy (to roll back), an unknown outcome, or the
        field's validator (which judges the whole container as it would be).
        """
        owner = self._owner
        if owner is None:
            return mutate(self)
        obj, spec = owner[0], owner[1]
        node = obj._vein
        tree = node.tree or node.find_tree()
        name = spec.name
        if owner[6]:
            return self._commit_elements(mutate, tree)
        with tree.lock:
            if owner[4]:
                from .write import readonly_error

                raise readonly_error(obj, spec)
            if changes is False:
                return mutate(self)
            validator = owner[5]
            if validator is None:
                if changes and tree.batch is None and tree.policies_on is None and not heard(node):
                    # Nobody needs the old value: no copy, O(1) for append / item / add.
                    result = mutate(self)
                    self._rev += 1  # type: ignore[misc]
                    tree.version += 1
                    provs = node.prov
                    if provs is None:
                        provs = node.prov = {}
                    provs[name] = RUNTIME
                    return result
                old = self._plain()
                result = mutate(self)
                new = self._plain()
                if old == new:
                    return result
            else:
                # Every write runs the field's validator (SPEC section 3), an in-place one
                # too: the change is made on a copy, and only contents the validator
                # accepts are stored -- so no reader ever sees contents it rejected.
                old = self._plain()
                new = self._plain()
                result = mutate(new)
                if old == new:
                    return result
                self._store_validated(obj, spec, validator, new)
            if not self._committed(obj, node, spec, tree, old, new):
                return result  # an open batch holds the change and announces it later
        if node.subs is not None or node.parent is not None:
            emit(node, name, old, new, RUNTIME, spec.secret)
        return result

    def _store_validated(self, obj: Any, spec: Any, validator: Any, new: Any) -> None:
        """Store contents *new* (changed on a copy) if the field's validator accepts them."""
        try:
            validator(obj, spec.attribute, new)
        except Exception as exc:
            from .write import validator_error

            raise validator_error(obj, spec, exc) from None
        self._restore_contents(new)

    def _committed(self, obj: Any, node: Any, spec: Any, tree: Any, old: Any, new: Any) -> bool:
        """Count the change made (lock held): revision, version, then the batch (False: it
        announces the change itself) or the policies and provenance (True: emit now)."""
        self._rev += 1  # type: ignore[misc]
        tree.version += 1
        name = spec.name
        if tree.batch is not None:
            tree.batch.record(obj, node, name, old, new, RUNTIME, spec.secret)
            return False
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
        return True

    def _commit_elements(self, mutate: Callable[[Any], Any], tree: Any) -> Any:
        """``_commit`` for a container of flow objects: every change links and releases.

        No shortcut by what the caller guessed: an equal element may be another object,
        which must be linked (and the one it replaces released) all the same.
        """
        owner = self._owner
        assert owner is not None
        obj, spec = owner[0], owner[1]
        node = obj._vein
        name = spec.name
        with tree.lock:
            if owner[4]:
                from .write import readonly_error

                raise readonly_error(obj, spec)
            old = self._plain()
            validator = owner[5]
            if validator is None:
                result = mutate(self)
            else:
                new = self._plain()
                result = mutate(new)
                if _equal(old, new) and all(map(_is, _vals(old), _vals(new))):
                    return result
                self._store_validated(obj, spec, validator, new)
            self._settle(_vals(old))
            new = self._plain()
            if _equal(old, new):
                return result  # the same values (perhaps other, equal objects): no change
            if not self._committed(obj, node, spec, tree, old, new):
                return result  # an open batch holds the change and announces it later
        if node.subs is not None or node.parent is not None:
            emit(node, name, old, new, RUNTIME, spec.secret)
        return result


def _vals(contents: Any) -> Iterable[Any]:
    return contents.values() if isinstance(contents, dict) else contents


def _is(a: Any, b: Any) -> bool:
    return a is b


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


class EventedList(list[Any], _Owned):
    """A list field's value: in-place changes are validated and evented."""

    __slots__ = ("_owner", "_rev")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        list.__init__(self, *args, **kwargs)
        self._owner = None  # not attached to a field until wrap() says so
        self._rev = 0

    def _plain(self) -> list[Any]:
        return list(self)

    def _restore_contents(self, contents: Any) -> None:
        list.__init__(self, contents)

    def _values(self) -> list[Any]:
        return list(self)

    def _items(self) -> list[tuple[Any, Any]]:
        return list(enumerate(self))

    def _put(self, where: Any, value: Any) -> None:
        list.__setitem__(self, where, value)

    def append(self, value: Any) -> None:
        value = self._elem(value, len(self))
        self._commit(lambda c: list.append(c, value), True)

    def extend(self, values: Iterable[Any]) -> None:
        items = [self._elem(v, len(self) + i) for i, v in enumerate(values)]
        self._commit(lambda c: list.extend(c, items), bool(items))

    def __iadd__(self, values: Iterable[Any]) -> EventedList:  # type: ignore[misc]
        self.extend(values)
        return self

    def __imul__(self, n: SupportsIndex) -> EventedList:
        times = n.__index__()
        self._commit(lambda c: list.__imul__(c, n), bool(self) and times != 1)
        return self

    def insert(self, index: SupportsIndex, value: Any) -> None:
        value = self._elem(value, index)
        self._commit(lambda c: list.insert(c, index, value), True)

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            value = [self._elem(v, i) for i, v in enumerate(value)]
            self._commit(lambda c: list.__setitem__(c, index, value), None)
            return
        value = self._elem(value, index)
        try:
            current = list.__getitem__(self, index)
        except (IndexError, TypeError):
            changes: bool | None = True  # list.__setitem__ raises the same error
        else:
            changes = _differ(current, value)
        self._commit(lambda c: list.__setitem__(c, index, value), changes)

    def __delitem__(self, index: Any) -> None:
        self._commit(
            lambda c: list.__delitem__(c, index), None if isinstance(index, slice) else True
        )

    def pop(self, index: SupportsIndex = -1) -> Any:
        return self._commit(lambda c: list.pop(c, index), True)

    def remove(self, value: Any) -> None:
        self._commit(lambda c: list.remove(c, value), True)

    def clear(self) -> None:
        self._commit(list.clear, bool(self))

    def sort(self, *, key: Any = None, reverse: bool = False) -> None:
        self._commit(lambda c: list.sort(c, key=key, reverse=reverse), None)

    def reverse(self) -> None:
        self._commit(list.reverse, None)

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (list, (list(self),))

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(list(self), memo)


class EventedDict(dict[Any, Any], _Owned):
    """A dict field's value: in-place changes are validated and evented."""

    __slots__ = ("_owner", "_rev")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        dict.__init__(self, *args, **kwargs)
        self._owner = None  # not attached to a field until wrap() says so
        self._rev = 0

    def _plain(self) -> dict[Any, Any]:
        return dict(self)

    def _restore_contents(self, contents: Any) -> None:
        dict.clear(self)
        dict.update(self, contents)

    def _values(self) -> list[Any]:
        return list(dict.values(self))

    def _items(self) -> list[tuple[Any, Any]]:
        return list(dict.items(self))

    def _put(self, where: Any, value: Any) -> None:
        dict.__setitem__(self, where, value)

    def __setitem__(self, key: Any, value: Any) -> None:
        key = self._key(key)
        value = self._elem(value, key)
        current = dict.get(self, key, _ABSENT)
        if current is not _ABSENT and not _differ(current, value):
            self._commit(_nothing, False)  # an equal value: nothing to store
            return
        self._commit(lambda c: dict.__setitem__(c, key, value), True)

    def __delitem__(self, key: Any) -> None:
        self._commit(lambda c: dict.__delitem__(c, key), True)

    def pop(self, key: Any, *default: Any) -> Any:
        return self._commit(lambda c: dict.pop(c, key, *default), key in self)

    def popitem(self) -> tuple[Any, Any]:
        result: tuple[Any, Any] = self._commit(dict.popitem, True)
        return result

    def clear(self) -> None:
        self._commit(dict.clear, bool(self))

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        items = dict(*args, **kwargs)
        checked = {self._key(k): self._elem(v, k) for k, v in items.items()}
        verdicts = {_differ(dict.get(self, k, _ABSENT), v) for k, v in checked.items()}
        changes = True if True in verdicts else (None if None in verdicts else False)
        self._commit(lambda c: dict.update(c, checked), changes)

    def __ior__(self, other: Any) -> EventedDict:  # type: ignore[misc]
        self.update(other)
        return self

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (dict, (dict(self),))

    def __copy__(self) -> dict[Any, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        return copy.deepcopy(dict(self), memo)


def _hashed(items: list[Any]) -> list[Any]:
    """*items*, once each is known to hash: set.update() stops at an unhashable item
    after adding the ones before it -- half a change, which must never be committed."""
    for item in items:
        hash(item)
    return items


class EventedSet(set[Any], _Owned):
    """A set field's value: in-place changes are validated and evented."""

    __slots__ = ("_owner", "_rev")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        set.__init__(self, *args, **kwargs)
        self._owner = None  # not attached to a field until wrap() says so
        self._rev = 0

    def _plain(self) -> set[Any]:
        return set(self)

    def _restore_contents(self, contents: Any) -> None:
        set.clear(self)
        set.update(self, contents)

    def __repr__(self) -> str:
        # set's own repr names the subclass; lists and dicts print plain, so sets do too.
        return repr(set(self))

    def add(self, value: Any) -> None:
        value = self._elem(value)
        self._commit(lambda c: set.add(c, value), _absent_from(self, value))

    def discard(self, value: Any) -> None:
        self._commit(lambda c: set.discard(c, value), not _absent_from(self, value))

    def remove(self, value: Any) -> None:
        self._commit(lambda c: set.remove(c, value), True)

    def pop(self) -> Any:
        return self._commit(set.pop, True)

    def clear(self) -> None:
        self._commit(set.clear, bool(self))

    def update(self, *others: Iterable[Any]) -> None:
        items = _hashed([self._elem(v) for other in others for v in other])
        changes = any(_absent_from(self, v) for v in items)
        self._commit(lambda c: set.update(c, items), changes)

    def difference_update(self, *others: Iterable[Any]) -> None:
        items = _hashed([v for other in others for v in other])
        changes = any(not _absent_from(self, v) for v in items)
        self._commit(lambda c: set.difference_update(c, items), changes)

    def intersection_update(self, *others: Iterable[Any]) -> None:
        self._commit(lambda c: set.intersection_update(c, *others), None)

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        items = _hashed([self._elem(v) for v in other])
        # Every element of a non-empty other is either added or removed.
        self._commit(lambda c: set.symmetric_difference_update(c, items), bool(items))

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


_ABSENT: Any = object()


def _differ(current: Any, value: Any) -> bool | None:
    """Is *value* a change from *current* (``None``: cannot tell, the comparison failed)?"""
    if current is value:
        return False
    try:
        return bool(current != value) or type(current) is not type(value)
    except Exception:
        return None


def _absent_from(container: set[Any], value: Any) -> bool | None:
    try:
        return value not in container
    except TypeError:
        return True  # unhashable: the mutation itself raises


def copy_of(value: Any) -> Any:
    """A plain copy of an evented container (what events carry), else the value itself."""
    return value._plain() if isinstance(value, _Owned) else value


def revision(value: Any) -> int | None:
    """How many changes an evented container has had (``None`` for any other value)."""
    return value._rev if isinstance(value, _Owned) else None


def detach(value: Any) -> None:
    """A container replaced by another: later changes to it no longer reach the field.

    Its flow elements that the new value of the field holds move there; the others are
    released (trees of their own again).
    """
    if isinstance(value, _Owned):
        owner = value._owner
        value._owner = None  # type: ignore[misc]  # the concrete containers have the slot
        if owner is not None and owner[6]:
            current = getattr(owner[0], owner[1].name, None)
            if isinstance(current, _Owned) and current._owner is not None:
                current._settle((), take=value)
            for v in value._values():
                if is_flow_object(v):
                    _release(value, v)


def reattach(obj: Any, spec: FieldSpec, value: Any) -> Any:
    """Put a container back in its field (a rollback): the same object reports again."""
    if isinstance(value, _Owned) and value._owner is None:
        value._owner = owner = _owner_of(obj, spec)  # type: ignore[misc]
        if owner[6]:
            _settle_new(obj, spec, value)
        return value
    return wrap(obj, spec, value)


def _settle_new(obj: Any, spec: FieldSpec, new: Any) -> None:
    """Link the flow elements of *new*, about to be stored in field *spec* of *obj*.

    The elements of the container it replaces are left to ``detach`` (run once *new* is
    stored): if the store does not happen (an equal value), they stay where they are.
    """
    try:
        current = object.__getattribute__(obj, spec.name)
    except AttributeError:
        current = None
    keep = current if isinstance(current, _Owned) and current is not new else None
    new._settle((), keep=keep)


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
    new._owner = owner = _owner_of(obj, spec)
    if owner[6]:
        _settle_new(obj, spec, new)
    return new


def _owner_of(obj: Any, spec: FieldSpec) -> Owner:
    readonly = bool(spec.info.readonly)
    if readonly:
        # An in-place change of a read-only field is refused before its elements are
        # even checked: the element checks are the refusal.
        def refuse(_value: Any) -> Any:
            from .write import readonly_error

            raise readonly_error(obj, spec)

        return (obj, spec, refuse, refuse, True, None, bool(element_classes(spec)))
    checks = spec.container_checks
    if checks is None:
        checks = spec.container_checks = _container_checks(spec)
    return (obj, spec, *checks)


def _container_checks(spec: FieldSpec) -> tuple[Any, ...]:
    """The per-field part of an :data:`Owner`: (value check, key check, read-only,
    validator, holds flow objects)."""
    # Converters are not run: they turn a whole assigned value into another one, which an
    # in-place change of the stored container must not do (docs/collections.md).
    validator = spec.attribute.validator
    args = get_args(spec.type)
    elements = bool(element_classes(spec))
    if spec.collection == "dict":
        kcheck = runtime_check(args[0])[1] if args else None
        vcheck = runtime_check(args[1])[1] if len(args) > 1 else None
        return (vcheck, kcheck, False, validator, elements)
    return (runtime_check(args[0])[1] if args else None, None, False, validator, elements)
