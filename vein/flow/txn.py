"""Policies (class invariants) and batches (transactions) of one tree.

A *policy* is a method decorated ``@vein.policy`` that raises when the object is in a
state it must never be in.  Policies of an object and of every ancestor run after each
committed change (assignment, ``update``, end of a ``batch``, a watcher reload), with the
tree's lock held; a policy that raises rolls the whole change back.

A *batch* (``with obj.batch():``) holds the tree's lock for its block: writes are
validated one by one, policies run once at the end, and events fire after the block --
one per changed leaf, first old value to last new value.  An exception rolls every write
of the block back and fires nothing.  A nested batch joins the outer one, with a
savepoint: an exception leaving the inner block undoes the inner block's writes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ..errors import ErrorEntry, ValidationError, VeinError
from .collections import copy_of, detach, held_elements, reattach
from .events import MISSING, emit
from .provenance import DEFAULT, Provenance
from .schema import classes_below, held_values, schema_of
from .snapshot import batch_base
from .state import is_flow_object, touch_boxes

if TYPE_CHECKING:
    from .state import Node, Tree

__all__ = ["BatchContext", "policy"]

F = TypeVar("F", bound=Callable[..., Any])

POLICY_MARK: Final = "__vein_policy__"


def policy(fn: F) -> F:
    """Mark a method as a class invariant, checked after every committed change.

    The method takes only ``self`` and raises (``ValueError``, ``AssertionError``, ...)
    when the state is not allowed; the change is then rolled back and a
    :class:`vein.ValidationError` names the policy::

        @vein.flow
        class Pool:
            min_size: int = 1
            max_size: int = 10

            @vein.policy
            def sizes_ordered(self) -> None:
                if self.min_size > self.max_size:
                    raise ValueError("min_size must not exceed max_size")
    """
    setattr(fn, POLICY_MARK, True)
    return fn


@functools.cache
def policies_of(cls: type) -> tuple[Callable[[Any], Any], ...]:
    """The policy methods of *cls*, base classes first, each name once (cached per class)."""
    seen: dict[str, Callable[[Any], Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if callable(value) and getattr(value, POLICY_MARK, False):
                seen[name] = value
    return tuple(seen.values())


_tree_policies: dict[type, bool] = {}


def _class_tree_has_policies(cls: type, visiting: frozenset[type] = frozenset()) -> bool:
    """Do *cls* or the classes below it (nested sections, list/dict elements) declare any?

    Cached per class.  Elements may be of the class itself (a tree of ``Item`` with
    ``children: list[Item]``): a class already being looked at counts as none here.
    """
    found = _tree_policies.get(cls)
    if found is not None:
        return found
    if policies_of(cls):
        _tree_policies[cls] = True
        return True
    try:
        schema = schema_of(cls)
    except TypeError:
        return False
    visiting = visiting | {cls}
    below = classes_below(schema)
    found = any(c not in visiting and _class_tree_has_policies(c, visiting) for c in below)
    if found or not visiting - {cls}:
        # A verdict reached while an enclosing class was still open may have skipped it.
        _tree_policies[cls] = found
    return found


@functools.cache
def _class_tree_dynamic(cls: type) -> bool:
    """Can an instance of *cls* hold flow objects its class does not declare (dynamic state)?"""
    try:
        schema = schema_of(cls)
    except TypeError:
        return False
    return schema.dynamic or any(
        spec.nested is not None and _class_tree_dynamic(spec.nested)
        for spec in schema.fields.values()
    )


def tree_has_policies(obj: Any) -> bool:
    """Does any object in *obj*'s tree declare policies?

    Decided by the classes, except below dynamic state, whose attributes may hold flow
    objects of any class: those are looked at one by one.
    """
    stack = [obj]
    while stack:
        current = stack.pop()
        cls: type = type(current)
        if _class_tree_has_policies(cls):
            return True
        if not _class_tree_dynamic(cls):
            continue
        schema = schema_of(cls)
        stack.extend(c for c in (getattr(current, n, None) for n in schema.nested) if c is not None)
        for name, spec in schema.fields.items():
            if spec.collection:
                stack.extend(held_elements(getattr(current, name, None)))
        if schema.dynamic:
            d = getattr(current, "__dict__", None) or {}
            stack.extend(v for v in d.values() if is_flow_object(v))
    return False


def _restore(obj: Any, name: str, value: Any) -> None:
    spec = schema_of(type(obj)).fields.get(name)
    if spec is None:
        obj.__vein_put__(name, value)
        return
    if spec.collection is not None:
        current = getattr(obj, name, None)
        reset = getattr(current, "_reset", None)
        if reset is not None and not hasattr(value, "_reset"):
            reset(value)  # an in-place change: put the contents back, keep the container
            return
        if current is not value:  # a replaced container: the old one reports again
            object.__setattr__(obj, name, reattach(obj, spec, value))
            detach(current)
        return
    if spec.holds:  # the object put back is the child again, the one replaced is not
        from .layers import hold_value

        value = hold_value(obj, name, getattr(obj, name, None), value)
    object.__setattr__(obj, name, value)


def _restore_prov(node: Node, name: str, prov: Provenance | None) -> None:
    provs = node.prov
    if prov is None or prov is DEFAULT:
        if provs:
            provs.pop(name, None)
    else:
        if provs is None:
            provs = node.prov = {}
        provs[name] = prov


def check_all_policies(obj: Any) -> None:
    """Run every policy of a freshly built tree (construction, ``load``)."""
    if not tree_has_policies(obj):
        return
    nodes = []
    stack = [obj]
    while stack:
        current = stack.pop()
        nodes.append(current._vein)
        schema = schema_of(type(current))
        stack.extend(c for c in (getattr(current, n, None) for n in schema.nested) if c is not None)
        stack.extend(held_values(current, schema))
    PolicyRunner().check(nodes)


class PolicyRunner:
    """``tree.policies_on``: present only when some class of the tree declares policies."""

    def __call__(self, obj: Any, node: Node, name: str, old: Any) -> None:
        """After one runtime write (lock held): check, and undo the store on failure."""
        try:
            self.check((node,))
        except BaseException:
            _restore(obj, name, old)
            (node.tree or node.find_tree()).version += 1  # what was seen meanwhile is stale
            raise

    def check(self, nodes: Iterable[Node]) -> None:
        """Run the policies of *nodes* and of all their ancestors (each object once)."""
        seen: set[int] = set()
        errors: list[ErrorEntry] = []
        for start in nodes:
            n: Node | None = start
            while n is not None:
                if id(n) not in seen:
                    seen.add(id(n))
                    self._run(n, errors)
                n = n.parent
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _run(node: Node, errors: list[ErrorEntry]) -> None:
        obj = node.obj
        cls: type = type(obj)
        for fn in policies_of(cls):
            try:
                fn(obj)
            except VeinError:
                raise
            except Exception as exc:
                errors.append(_rejected(node, obj, fn, exc))


def _rejected(node: Node, obj: Any, fn: Callable[[Any], Any], exc: Exception) -> ErrorEntry:
    """The error entry of a failed policy: which fields it read, and its message.

    The message is the policy's own text, which may quote the values it read: it is
    hidden when the policy read a secret field, or when it quotes the current value of
    any secret in the object's tree (a policy may reach one without vein seeing the read,
    e.g. through an element of a list or a method of vein's own such as ``to_dict``).
    """
    where = node.path_prefix().rstrip(".")
    read, paths = _fields_read(obj, fn)
    head = f"policy {fn.__name__!r} rejected the change"
    if read:
        head += f" (fields: {', '.join(read)})"
    detail = str(exc) or type(exc).__name__
    if any(_secret_path(obj, p) for p in paths):
        why = "it reads secret fields"
    elif any(text in detail for text in _secret_texts(obj)):
        why = "it quotes a secret value"
    else:
        return ErrorEntry(where, f"{head}: {detail}")
    return ErrorEntry(where, f"{head}: {type(exc).__name__} (message hidden: {why})")


def _fields_read(obj: Any, fn: Callable[[Any], Any]) -> tuple[list[str], dict[str, None]]:
    """The fields a failed policy reads, in order: it runs once more against a recorder.

    Returns the fields to name (leaves: a dynamic attribute holding a flow object is
    recorded too, and the fields below it are named instead) and every path recorded.
    Only after a failure, so a policy that passes costs nothing extra.  (Policies are
    expected to depend on the state alone, so the second run reads what the first did.)
    """
    from .computed import record_reads

    paths: dict[str, None] = {}
    try:
        record_reads(obj, fn, paths)
    except Exception:
        pass  # the policy fails again, as expected: what it read so far is recorded
    return [p for p in paths if not any(q.startswith(p + ".") for q in paths)], paths


def _secret_path(obj: Any, path: str) -> bool:
    """Is the field at dotted *path* below *obj* secret (declared so, or by its name)?"""
    *parents, name = path.split(".")
    for part in parents:
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    try:
        spec = schema_of(type(obj)).fields.get(name)
    except TypeError:
        return False
    if spec is not None:
        return spec.secret
    is_secret = getattr(obj, "__vein_is_secret__", None)
    return bool(is_secret(name)) if is_secret is not None else False


#: Shorter secret texts are not looked for in a policy's message: one or two characters
#: occur in almost any text by chance (a policy that *reads* such a secret is still caught).
_MIN_SECRET_TEXT: Final = 3


def _secret_texts(obj: Any) -> set[str]:
    """The text forms of every secret value held in *obj*'s tree (failure path only)."""
    texts: set[str] = set()
    seen: set[int] = set()

    def add(value: Any, depth: int) -> None:
        if value is None or isinstance(value, bool) or depth > 100 or id(value) in seen:
            return
        if isinstance(value, str | bytes | int | float):
            for text in (str(value), repr(value)):
                if len(text) >= _MIN_SECRET_TEXT:
                    texts.add(text)
            return
        seen.add(id(value))
        if isinstance(value, Mapping):
            for k, v in list(value.items()):
                add(k, depth + 1)
                add(v, depth + 1)
        elif isinstance(value, list | tuple | set | frozenset):
            for v in list(value):
                add(v, depth + 1)
        else:
            add(str(value), depth + 1)  # a Path, a SecretStr-like wrapper, ...

    def walk(value: Any, depth: int) -> None:
        if depth > 100 or id(value) in seen:
            return
        if not hasattr(value, "_vein") or isinstance(value, type):
            # Not a flow object (which may read like a mapping): a container may hold some.
            if isinstance(value, list | tuple | set | frozenset | Mapping):
                seen.add(id(value))
                items = list(value.values()) if isinstance(value, Mapping) else list(value)
                for v in items:
                    walk(v, depth + 1)
            return
        seen.add(id(value))
        try:
            schema = schema_of(type(value))
        except TypeError:
            return
        for name, spec in schema.fields.items():
            field_value = getattr(value, name, None)
            if spec.secret:
                add(field_value, depth + 1)
            else:
                walk(field_value, depth + 1)
        extra = getattr(value, "_data", None) if schema.open else getattr(value, "__dict__", None)
        is_secret = getattr(value, "__vein_is_secret__", None)
        for key, v in list((extra or {}).items()):
            if not isinstance(key, str) or key.startswith("_"):
                continue
            if is_secret is not None and is_secret(key):
                add(v, depth + 1)
            else:
                walk(v, depth + 1)

    walk(obj, 0)
    return texts


_UNSET: Final = object()

Entry = tuple[Any, "Node", str, Any, "Provenance | None", Any, Provenance, bool]


class Batch:
    """The writes of an open batch, in order, with what is needed to undo them."""

    def __init__(self, tree: Tree, base: Any = None) -> None:
        self.tree = tree
        # The committed state when the batch began: what other threads' snapshot() give
        # while it is open (they never wait for it).
        self.base = base
        self.log: list[Entry] = []
        # (layers, a key, its flat before an update of the batch, None if it was new): undone
        # too.  The layers are those of the tree the update ran on: an update on an element
        # of a list/dict field keeps its own (vein.flow.state.ElementTree).
        self.layer_log: list[tuple[dict[str, Any], str, Any]] = []
        self.marks: list[tuple[int, int]] = []

    def mark(self) -> tuple[int, int]:
        """A savepoint: where the logs stand now."""
        return len(self.log), len(self.layer_log)

    def keep_layers(self, before: dict[str, Any], layers: dict[str, Any] | None = None) -> None:
        """Remember the layers an ``update`` inside the batch is about to change."""
        where = self.tree.layers if layers is None else layers
        self.layer_log.extend((where, k, flat) for k, flat in before.items())

    def record(
        self,
        obj: Any,
        node: Node,
        name: str,
        old: Any,
        new: Any,
        prov: Provenance,
        secret: bool,
        old_prov: Any = _UNSET,
    ) -> None:
        if old_prov is _UNSET:
            old_prov = node.prov.get(name) if node.prov else None
        self.log.append((obj, node, name, old, old_prov, new, prov, secret))
        _restore_prov(node, name, prov)

    def absorb(
        self, pending: list[Any], undo: list[tuple[Any, str, Any, Provenance | None]]
    ) -> None:
        """Take the changes of an ``update`` made inside the batch."""
        before = {(id(obj), name): (old, prov) for obj, name, old, prov in undo}
        changed = set()
        for node, name, old, new, prov, secret, _path in pending:
            # The value itself (a replaced container, not a copy): a rollback puts it back.
            old, old_prov = before.get((id(node.obj), name), (old, None))
            self.log.append((node.obj, node, name, old, old_prov, new, prov, secret))
            changed.add((id(node.obj), name))
        for obj, name, old, old_prov in undo:
            if (id(obj), name) not in changed:  # an equal value: only its provenance changed
                node = obj._vein
                prov = node.prov.get(name, DEFAULT) if node.prov else DEFAULT
                self.log.append((obj, node, name, old, old_prov, old, prov, False))

    def rollback(self, mark: tuple[int, int] = (0, 0)) -> None:
        at, layers_at = mark
        touched: dict[int, Node] = {}
        for obj, node, name, old, old_prov, _new, _prov, _secret in reversed(self.log[at:]):
            _restore(obj, name, old)
            _restore_prov(node, name, old_prov)
            touched[id(node)] = node
        for node in touched.values():
            touch_boxes(node)  # values inside list/dict elements: their containers changed
        del self.log[at:]
        for layers, key, flat in reversed(self.layer_log[layers_at:]):
            if flat is None:
                layers.pop(key, None)  # first applied inside: forgotten
            else:
                layers[key].flat = flat
        del self.layer_log[layers_at:]
        self.tree.version += 1  # snapshots (and computed values) taken meanwhile are stale

    def coalesced(self) -> list[tuple[Node, str, Any, Any, Provenance, bool]]:
        firsts: dict[tuple[int, str], list[Any]] = {}
        for _obj, node, name, old, _op, new, prov, secret in self.log:
            key = (id(node), name)
            entry = firsts.get(key)
            if entry is None:
                firsts[key] = [node, name, old, new, prov, secret]
            else:
                entry[3], entry[4] = new, prov
        out = []
        for node, name, old, new, prov, secret in firsts.values():
            # Events carry plain copies of containers, as outside a batch; the log keeps
            # the containers themselves for a rollback.
            old, new = copy_of(old), copy_of(new)
            if old is new or (old is not MISSING and new is not MISSING and _same(old, new)):
                continue
            out.append((node, name, old, new, prov, secret))
        return out

    def nodes(self) -> set[Node]:
        return {entry[1] for entry in self.log}


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


class BatchContext:
    """``with obj.batch():`` -- see the module docstring."""

    __slots__ = ("_mark", "_tree")

    def __init__(self, tree: Tree) -> None:
        self._tree = tree
        self._mark = (0, 0)

    def __enter__(self) -> BatchContext:
        tree = self._tree
        tree.lock.acquire()
        batch = tree.batch
        if batch is None:
            try:
                base = batch_base(tree)
            except BaseException:
                tree.lock.release()
                raise
            batch = tree.batch = Batch(tree, base)
        self._mark = batch.mark()
        batch.marks.append(self._mark)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tree = self._tree
        batch: Batch = tree.batch
        batch.marks.pop()
        events: list[Any] = []
        try:
            if batch.marks:  # an inner batch: the outer one decides
                if exc_type is not None:
                    batch.rollback(self._mark)
                return
            try:
                if exc_type is not None:
                    batch.rollback()
                    return
                if tree.policies_on is not None and batch.log:
                    try:
                        tree.policies_on.check(batch.nodes())
                    except BaseException:
                        batch.rollback()
                        raise
                events = batch.coalesced()
                tree.version += 1
            finally:
                # Only now: until the new state is final, readers keep the batch's base.
                tree.batch = None
        finally:
            tree.lock.release()
        for node, name, old, new, prov, secret in events:
            if node.subs is not None or node.parent is not None:
                emit(node, name, old, new, prov, secret)
