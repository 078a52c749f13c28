"""Declaring state: ``@vein.flow`` and ``vein.Flow``.

``@vein.flow`` turns a plain annotated class (or an attrs class) into a *flow class*: an
attrs class whose instances validate and type-check every assignment and tell subscribers
about every change.  Three classes take part:

1. the user's class, made an attrs class (slotted) whose ``__init__`` stores fields without
   going through ``__setattr__`` -- construction stays as cheap as attrs;
2. the *flow class* returned to the user, a subclass of it with one extra slot ``_vein``
   (its :class:`~vein.flow.state.Node`), the generated ``__setattr__`` and an ``__init__``
   that type-checks and wires nested flow objects to their parent.

Reads are plain slot reads: nothing of vein sits on the read path.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar, dataclass_transform, overload

import attrs

from ..errors import ValidationError
from ..structuring import ConversionError
from . import fields as _fields
from .collections import wrap
from .events import MISSING, Change, Subscription, subscribe
from .provenance import RUNTIME
from .schema import SCHEMA_ATTR, Schema, SchemaError, build_schema, did_you_mean, schema_of
from .state import is_flow_object, new_node
from .write import _compile, make_setattr, make_setter, type_error

if TYPE_CHECKING:
    from ..watch import Watcher
    from .aio import ChangeStream
    from .provenance import Provenance
    from .snapshot import Snapshot
    from .txn import BatchContext

__all__ = ["Flow", "flow"]

T = TypeVar("T")
C = TypeVar("C", bound=Callable[[Change], Any])  # an on_change callback
_F = TypeVar("_F", bound="Flow")


def _passthrough(_inst: Any, _attribute: Any, value: Any) -> Any:
    # Any on_setattr hook makes attrs' generated __init__ store through
    # object.__setattr__, so construction never runs vein's write path.
    return value


class FlowMeta(type):
    """Metaclass of :class:`Flow`: instruments each subclass written with ``class X(Flow)``."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **options: Any
    ) -> FlowMeta:
        if "__attrs_attrs__" in ns or "__vein_final__" in ns or not bases:
            # attrs rebuilding a class, vein's own flow class, or Flow itself.
            return super().__new__(mcls, name, bases, ns)
        dynamic = options.pop("dynamic", None)
        if options:  # never dropped silently (class X(vein.Flow, kw_only=True))
            raise TypeError(
                f"class {name}(vein.Flow, ...) takes only the keyword 'dynamic', not "
                f"{', '.join(map(repr, options))}; attrs options such as kw_only are set "
                "per field: vein.field(kw_only=True)"
            )
        if dynamic is None:
            dynamic = "__init__" in ns or _inherited_init(bases) is not None
        # Fields go to the attrs class; methods go to the flow class the user gets back,
        # so that zero-argument super() in them starts above it (no recursion through
        # vein's __init__).  attrs' own hooks must be seen by attrs, so they stay.
        classcell = ns.pop("__classcell__", None)
        annotations = ns.get("__annotations__", {})
        field_ns: dict[str, Any] = {}
        methods: dict[str, Any] = {}
        for key, value in ns.items():
            if (
                key in ("__module__", "__qualname__", "__annotations__", "__doc__")
                or key in annotations
                or type(value).__name__ == "_CountingAttr"
                or key.startswith("__attrs_")
            ):
                field_ns[key] = value
            elif key != "__slots__":
                methods[key] = value
        raw = super().__new__(mcls, name, bases, field_ns)
        result: FlowMeta = _instrument(raw, dynamic=dynamic, methods=methods)
        if classcell is not None:
            classcell.cell_contents = result
        return result

    def __init__(
        cls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **options: Any
    ) -> None:
        super().__init__(name, bases, ns)


@dataclass_transform(field_specifiers=(attrs.field, _fields.field))
class Flow(metaclass=FlowMeta):
    """Base class of every flow class; subclass it with annotations to declare state.

    ``class Settings(vein.Flow)`` with annotated fields is the same as decorating the class
    with ``@vein.flow``.  A subclass that defines its own ``__init__`` is *dynamic*: every
    public attribute its instances set is tracked and evented, declared or not.
    """

    __slots__ = ()

    if TYPE_CHECKING:
        _vein: Any
        # Lets type checkers see every flow class as an attrs class (attrs.fields, asdict).
        __attrs_attrs__: ClassVar[tuple[attrs.Attribute[Any], ...]]

    # --- events ---------------------------------------------------------------------

    @overload
    def on_change(self, path: Callable[[Change], Any], /) -> Subscription: ...
    @overload
    def on_change(
        self, path: str, callback: Callable[[Change], Any], /, *, weak: bool = ...
    ) -> Subscription: ...
    @overload
    def on_change(self, path: str = ..., /, *, weak: bool = ...) -> Callable[[C], C]: ...

    def on_change(
        self,
        path: str | Callable[[Change], Any] = "*",
        callback: Callable[[Change], Any] | None = None,
        /,
        *,
        weak: bool = False,
    ) -> Any:
        """Call *callback* with a :class:`vein.Change` after each change under *path*.

        *path* is a dotted field path (``"database.host"``), a subtree (``"database"``) or
        ``"*"`` for everything.  Without *callback* it is a decorator.  Returns a
        :class:`vein.Subscription` (``cancel()``, or use it as a context manager).
        *weak* holds bound methods and functions weakly.
        """
        if callable(path):
            callback, path = path, "*"
        _check_path(self, path)
        if callback is not None and not callable(callback):
            raise TypeError(
                f"on_change({path!r}, ...) takes a callable, not {type(callback).__name__}"
            )
        if callback is None:

            def decorator(fn: C) -> C:
                self.on_change(path, fn, weak=weak)
                return fn

            return decorator
        if _has_computed(type(self)):
            from .computed import prime

            prime(self, path)  # so that computed values under *path* are watched and heard
        if inspect.iscoroutinefunction(callback):
            from .aio import subscribe_async

            return subscribe_async(self._vein, path, callback, weak)
        return subscribe(self._vein, path, callback, weak)

    def changes(self, path: str = "*") -> ChangeStream:
        """``async for change in obj.changes("database"):`` -- changes as an async stream."""
        from .aio import ChangeStream

        _check_path(self, path)
        return ChangeStream(self, path)

    def on_error(self, handler: Callable[[BaseException], Any]) -> Subscription:
        """Call *handler* with every error a callback or a watcher of this tree raises."""
        return subscribe(self._vein, "\0error", handler, False)

    # --- sources ----------------------------------------------------------------------

    def update(self, *sources: Any) -> list[Change]:
        """Apply sources (and plain mappings) atomically; return the changes made.

        Everything is read, structured, merged and validated first; on any problem a
        :class:`vein.ValidationError` (or :class:`vein.SourceError`) lists every one of them
        and nothing changes.  Each changed leaf then fires one event.
        """
        from .layers import update

        return update(self, sources)

    def watch(
        self,
        *sources: Any,
        interval: float = 1.0,
        on_error: Callable[[BaseException], Any] | None = None,
        clock: Any = None,
        start: bool = True,
    ) -> Watcher:
        """Apply *sources* as layers, then keep them live in a background thread.

        Each poll re-applies the sources that changed with the same atomic ``update``; a
        bad version keeps the last good state and is reported to *on_error* and the
        tree's ``on_error`` handlers.  Returns a :class:`vein.Watcher` (``stop()``, or use
        it as a context manager; ``poll()`` runs one cycle synchronously).
        """
        from ..watch import Watcher

        return Watcher(
            self, sources, interval=interval, on_error=on_error, clock=clock, start=start
        )

    def snapshot(self) -> Snapshot:
        """An immutable, consistent copy of this object and everything below it.

        Never mixes two updates; cached until the next change, so taking one per request
        is cheap.  Reads like the object, compares and hashes by value, ``to_dict()``.
        """
        from .snapshot import take_snapshot

        return take_snapshot(self)

    def batch(self) -> BatchContext:
        """Group writes: ``with settings.batch(): ...``.

        Validators run per write, policies once at the end, events after the block (one
        per changed leaf, first old to last new); an exception rolls every write back and
        fires nothing.  Nested batches join the outer one.  The tree's lock is held for
        the block, so other threads' writes wait (reads never do).
        """
        from .txn import BatchContext

        node = self._vein
        return BatchContext(node.tree or node.find_tree())

    def explain(self, path: str) -> Provenance:
        """Where the current value at *path* came from."""
        from .layers import explain

        return explain(self, path)

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """The state as plain data (secrets replaced by ``'***'`` with *redact*)."""
        from .dump import to_dict

        return to_dict(self, redact=redact)

    @classmethod
    def from_dict(
        cls: type[_F], data: Mapping[str, Any], *, strict: bool = True, normalize_keys: bool = False
    ) -> _F:
        """Structure a plain (legacy) dict into this class (see :func:`vein.structure`)."""
        from ..api import structure

        return structure(data, cls, strict=strict, normalize_keys=normalize_keys)

    def __getitem__(self, key: str) -> Any:
        """Dict-style read access (``settings["database"]["host"]``) for legacy code."""
        schema = schema_of(type(self))
        spec = schema.by_key.get(key) or schema.fields.get(key)
        if spec is None:
            if schema.dynamic and not key.startswith("_") and key in _dynamic(self):
                return _dynamic(self)[key]
            raise KeyError(key)
        value = getattr(self, spec.name)
        if value is MISSING:  # an absent key (a ``vein.MISSING`` default)
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        schema = schema_of(type(self))
        if key in schema.by_key or key in schema.fields:
            spec = schema.by_key.get(key) or schema.fields[key]
            return getattr(self, spec.name, MISSING) is not MISSING
        return bool(schema.dynamic and isinstance(key, str) and key in _dynamic(self))

    # The rest of a read-only mapping, for legacy code that iterates what used to be a dict
    # (``dict(settings)``, ``for key in settings``).  Keys are as in files and dumps; nested
    # sections stay flow objects (mappings too).  Plain methods: attribute reads and writes
    # never see them.

    def keys(self) -> list[str]:
        """The keys this object holds: set fields (by their key in files), then dynamic ones."""
        schema = schema_of(type(self))
        keys = [
            spec.key
            for name, spec in schema.fields.items()
            if getattr(self, name, MISSING) is not MISSING
        ]
        if schema.dynamic:
            keys.extend(_dynamic(self))
        return keys

    def values(self) -> list[Any]:
        return [self[key] for key in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self[key]) for key in self.keys()]

    def get(self, key: str, default: Any = None) -> Any:
        """The value at *key* (a key, or a dotted path of keys), or *default*."""
        try:
            return self[key]
        except KeyError:
            pass
        obj: Any = self
        for part in key.split("."):
            try:
                obj = obj[part]
            except (KeyError, TypeError):
                return default
        return obj

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __bool__(self) -> bool:
        return True  # an object, even with no keys set (``__len__`` must not make it falsy)

    # --- storage of undeclared (dynamic) attributes, used by the engine --------------------

    def __vein_get__(self, name: str) -> Any:
        d = getattr(self, "__dict__", None)
        return d.get(name, MISSING) if d is not None else MISSING

    def __vein_put__(self, name: str, value: Any) -> None:
        from .layers import put_dynamic

        put_dynamic(self, name, value)  # a flow object becomes a child (MISSING removes)

    def __vein_is_secret__(self, name: str) -> bool:
        return False

    def __delattr__(self, name: str) -> None:
        schema = schema_of(type(self))
        if name in schema.fields:
            raise AttributeError(f"cannot delete the field {name!r}; assign a value instead")
        if schema.dynamic and not name.startswith("_") and name in _dynamic(self):
            # A removal is a change like any other: evented, provenance dropped.
            self.update({name: MISSING})
            return
        object.__delattr__(self, name)

    # --- pickling / copying keep the node out ---------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        cls: Any = type(self)  # a concrete flow class, always an attrs class
        state = {a.name: getattr(self, a.name) for a in attrs.fields(cls) if hasattr(self, a.name)}
        # Dynamic attributes, and private ones (``self._cache``): untracked, but state.
        state.update(getattr(self, "__dict__", {}))
        prov = self._vein.prov
        if prov:  # where each value came from: a copy explains its values as the original
            state[_PROV_KEY] = dict(prov)
        return state

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        set_vein = _slot_setter(type(self))
        node = new_node(self)
        set_vein(self, node)
        fields = schema_of(type(self)).fields
        prov = state.get(_PROV_KEY)
        if prov:
            node.prov = dict(prov)
        for key, value in state.items():
            if key == _PROV_KEY:
                continue
            spec = fields.get(key)
            if spec is None and not key.startswith("_") and hasattr(value, "_vein"):
                from .layers import put_dynamic

                put_dynamic(self, key, value)  # a dynamic attribute's flow object: a child
                continue
            object.__setattr__(self, key, wrap(self, spec, value) if spec is not None else value)
        for name in schema_of(type(self)).nested:
            _adopt(self, node, name)
        for name in schema_of(type(self)).held:
            _adopt_held(self, name)

    def __copy__(self) -> Any:
        new = object.__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        new = object.__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new


#: The provenance of a flow object's values in its pickled (and copied) state: not a
#: valid attribute name, so it never meets a field or a dynamic attribute.
_PROV_KEY: Final = "\0vein provenance"


def _dynamic_repr(self: Any) -> str:
    from .dump import plain

    parts = []
    for name, spec in schema_of(type(self)).fields.items():
        if hasattr(self, name):
            value = getattr(self, name)
            parts.append(f"{name}={'***' if spec.secret else repr(value)}")
    for k, v in _dynamic(self).items():
        try:
            shown = repr(plain(v))
        except RecursionError:  # data that contains itself: repr marks the loop ([...])
            shown = repr(v)
        parts.append(f"{k}={shown}")
    return f"{type(self).__qualname__}({', '.join(parts)})"


def _dynamic_eq(self: Any, other: object) -> Any:
    if type(other) is not type(self):
        return NotImplemented
    return bool(self.to_dict() == other.to_dict())  # type: ignore[attr-defined]


def _inherited_init(bases: tuple[type, ...]) -> Any:
    """The hand-written ``__init__`` of the nearest flow class among *bases*, if any."""
    for base in bases:
        for klass in base.__mro__:
            if "__vein_final__" in klass.__dict__:
                return klass.__dict__.get("__vein_user_init__")
    return None


def _dynamic(obj: Any) -> dict[str, Any]:
    d = getattr(obj, "__dict__", None)
    if not d:
        return {}
    # list(): one C-level copy, so a writer adding an attribute meanwhile cannot make
    # this reader fail ("dictionary changed size during iteration").
    return {k: v for k, v in list(d.items()) if not k.startswith("_")}


@functools.cache
def _has_computed(cls: type) -> bool:
    """Can a subscription on a *cls* object hear of a ``@vein.computed`` value below it?

    Decided by the classes (*cls* and the classes nested in it), except that dynamic state
    may hold a flow object of any class in any attribute: for it, the answer is yes, and
    ``prime`` looks at the objects actually there (at subscription time, never on writes).
    """
    try:
        schema = schema_of(cls)
    except TypeError:
        return False
    if schema.computed or schema.dynamic:
        return True
    return any(
        spec.nested is not None and _has_computed(spec.nested) for spec in schema.fields.values()
    )


def _check_path(obj: Any, path: str) -> None:
    if path == "*":
        return
    schema = schema_of(type(obj))
    if schema.dynamic or schema.open:
        return
    head, _, rest = path.rpartition(".")
    owner = schema.spec_at(head) if head else None
    target = schema_of(owner[1].nested) if owner is not None and owner[1].nested else schema
    if rest in target.computed and (not head or owner is not None):
        return
    if schema.spec_at(path) is None and not _below_dynamic(schema, path):
        raise ValueError(
            f"{type(obj).__name__} has no field {path!r}"
            f"{did_you_mean(path, list(schema.all_paths()))}"
        )


def _below_dynamic(schema: Schema, path: str) -> bool:
    """Does *path* go through a nested field holding dynamic state (any name may be below)?"""
    for part in path.split(".")[:-1]:
        spec = schema.fields.get(part)
        if spec is None or spec.nested is None:
            return False
        schema = schema_of(spec.nested)
        if schema.dynamic or schema.open:
            return True
    return False


def _slot_setter(cls: type) -> Callable[[Any, Any], None]:
    klass: Any = cls  # the generated slot setter is not declared on the class
    setter: Callable[[Any, Any], None] = (
        klass.__dict__.get("__vein_set_node__") or klass.__vein_set_node__
    )
    return setter


def _adopt_held(obj: Any, name: str) -> None:
    """Make the flow object a ``Tls | None`` field *name* holds a child of *obj*."""
    value = getattr(obj, name, None)
    if is_flow_object(value):
        from .layers import hold_value

        stored = hold_value(obj, name, None, value)
        if stored is not value:
            object.__setattr__(obj, name, stored)


def _define(cls: type, **options: Any) -> type:
    """``attrs.define``, with its one error users of pydantic hit first said in vein's words."""
    try:
        return attrs.define(cls, **options)
    except ValueError as exc:
        text = str(exc)
        if not text.startswith("No mandatory attributes allowed after"):
            raise
        found = re.search(r"Attribute\(name='([^']+)'", text)
        which = f" {found.group(1)!r}" if found else ""
        raise SchemaError(
            f"{cls.__qualname__}: the required field{which} (no default) comes after fields "
            "with defaults; as in attrs, put required fields first, or declare it "
            "vein.field(kw_only=True)"
        ) from None


def _adopt(obj: Any, node: Any, name: str) -> None:
    """Make the nested flow object in field *name* a child of *obj* (copy it if it has a parent)."""
    child = getattr(obj, name, None)
    if child is None:
        return
    cnode = child._vein
    shared_default = schema_of(type(obj)).fields[name].attribute.default is child
    if shared_default or (
        cnode.parent is not None and (cnode.parent is not node or cnode.name != name)
    ):
        # ``database: Database = Database()``: that one object is the default of every
        # instance (attrs hands it to each); each gets its own copy, or a write to one
        # instance (or a load) would change the default of all the others.
        child = copy.deepcopy(child)
        object.__setattr__(obj, name, child)
        cnode = child._vein
    cnode.parent = node
    cnode.name = name
    if cnode.tree is not None:  # a tree cached anywhere below means one is cached here too
        from .layers import forget_tree

        forget_tree(child)  # also below flow objects held by dynamic attributes


@overload
def flow(cls: type[T], /) -> type[T]: ...
@overload
def flow(*, dynamic: bool | None = ...) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(attrs.field, _fields.field))
def flow(cls: type[T] | None = None, /, *, dynamic: bool | None = None) -> Any:
    """Turn an annotated class (or an attrs class) into a flow class.

    Usable bare (``@vein.flow``) or with options (``@vein.flow(dynamic=True)``).  The
    result is an attrs class (``attrs.fields`` and cattrs work on it) and a subclass of
    :class:`vein.Flow`, with the same name, qualname and module.

    *dynamic*: track every public attribute set on instances, declared or not (default:
    only when the class defines its own ``__init__``).
    """
    if cls is None:
        return lambda c: _instrument(c, dynamic=dynamic)
    return _instrument(cls, dynamic=dynamic)


def _instrument(
    cls: type, dynamic: bool | None = None, methods: dict[str, Any] | None = None
) -> Any:
    if SCHEMA_ATTR in cls.__dict__ or "__vein_final__" in cls.__dict__:
        return cls  # already a flow class
    # An attrs class's __init__ is attrs' own, not a hand-written one.
    own_init = "__init__" in cls.__dict__ and "__attrs_attrs__" not in cls.__dict__
    methods = dict(methods or {})
    user_init = methods.pop("__init__", None)
    if user_init is None and "__init__" not in cls.__dict__:
        # A subclass of a dynamic class without an __init__ of its own runs the inherited
        # hand-written one (not one generated by attrs), and is dynamic too.
        user_init = _inherited_init(cls.__bases__)
    if dynamic is None:
        dynamic = own_init or user_init is not None
    name, qualname, module = cls.__name__, cls.__qualname__, cls.__module__
    if "__attrs_attrs__" in cls.__dict__:
        # An attrs class: subclass it so attrs regenerates an __init__ that bypasses
        # __setattr__ (the user's class itself is left untouched).
        body = {"__module__": module, "__qualname__": qualname, "__doc__": cls.__doc__}
        sub = type(cls)(name, (cls,), body)
        mid = _define(sub, slots=True, on_setattr=_passthrough)
    else:
        mid = _define(cls, slots=True, on_setattr=_passthrough, init=user_init is None)
    has_node_slot = any("_vein" in getattr(b, "__slots__", ()) for b in mid.__mro__)
    slots: tuple[str, ...] = () if has_node_slot else ("_vein",)
    if dynamic and mid.__dictoffset__ == 0:
        slots += ("__dict__",)  # dynamic state keeps undeclared attributes here
    ns: dict[str, Any] = {
        "__module__": module,
        "__qualname__": qualname,
        "__doc__": cls.__doc__,
        "__slots__": slots,
        "__vein_final__": True,
        # attrs gives slotted classes their own __getstate__/__setstate__, which would win
        # over Flow's in the MRO and leave copies and unpickled objects without a node.
        "__getstate__": Flow.__getstate__,
        "__setstate__": Flow.__setstate__,
    }
    if dynamic:
        # Dynamic attributes are part of the state: show and compare them too.
        ns["__repr__"] = _dynamic_repr
        ns["__eq__"] = _dynamic_eq
        ns["__hash__"] = None
    for key, value in methods.items():
        if key not in ("__module__", "__qualname__", "__doc__"):
            ns[key] = value
    bases = (mid,) if issubclass(mid, Flow) else (mid, Flow)
    final = FlowMeta(name, bases, ns)
    final.__vein_set_node__ = final._vein.__set__  # type: ignore[attr-defined]
    final.__vein_dynamic__ = dynamic  # type: ignore[attr-defined]
    final.__vein_user_init__ = user_init or (cls.__dict__["__init__"] if own_init else None)  # type: ignore[attr-defined]
    final.__vein_base_init__ = user_init if user_init is not None else mid.__init__  # type: ignore[attr-defined,misc]

    def finish() -> Schema:
        return _finish(final, mid, dynamic)

    final.__vein_finish__ = staticmethod(finish)  # type: ignore[attr-defined]
    try:
        _finish(final, mid, dynamic)
    except NameError:
        # Forward references not resolvable yet: finish on first use.
        final.__init__ = _bootstrap_init(final)  # type: ignore[misc]
        final.__setattr__ = _bootstrap_setattr(final)  # type: ignore[method-assign]
    return final


def _bootstrap_init(final: type) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        schema_of(final)
        final.__init__(self, *args, **kwargs)  # type: ignore[misc]

    return __init__


def _bootstrap_setattr(final: Any) -> Any:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        schema_of(final)
        final.__setattr__(self, name, value)

    return __setattr__


def _finish(final: type, mid: type, dynamic: bool) -> Schema:
    found = final.__dict__.get(SCHEMA_ATTR)
    if isinstance(found, Schema):
        return found
    schema = build_schema(final, dynamic)
    from .layers import assign_nested, dynamic_write

    # Setters are generated on the first write of each field: loading never needs them,
    # and compiling ~30 of them would double the cost of a program's first load.
    setters: dict[str, Any] = {}
    final.__vein_setters__ = setters  # type: ignore[attr-defined]
    other = _make_other(final, schema, dynamic_write, setters, assign_nested)
    final.__setattr__ = make_setattr(setters, other)  # type: ignore[method-assign]
    final.__init__ = _make_init(final, mid, schema)  # type: ignore[misc]
    from .computed import computed

    schema.computed = frozenset(
        name for name in dir(final) if isinstance(getattr(final, name, None), computed)
    )
    setattr(final, SCHEMA_ATTR, schema)
    return schema


def _make_other(
    final: type,
    schema: Schema,
    dynamic_write: Callable[..., None],
    setters: dict[str, Any],
    assign_nested: Callable[..., Any],
) -> Any:
    osa = object.__setattr__
    has_dict = schema.dynamic and final.__dictoffset__ != 0
    fields = schema.fields
    # Names the class itself defines (methods, properties, computed values): an instance
    # attribute of that name would hide them (``self.update = 2`` and ``update()`` is gone).
    taken = frozenset(
        name
        for klass in final.__mro__
        for name, value in vars(klass).items()
        if not name.startswith("_") and name not in fields and hasattr(type(value), "__get__")
    )
    final.__vein_taken__ = taken  # type: ignore[attr-defined]  # sources check it too

    def other(self: Any, name: str, value: Any) -> None:
        spec = fields.get(name)
        if spec is not None:  # first write of this field: generate its setter now
            setter = setters[name] = make_setter(final, spec, assign_nested)
            setter(self, value)
            return
        if name.startswith("_"):
            osa(self, name, value)
            return
        if name in taken:
            _class_attribute_write(self, name, value)
            return
        if has_dict:
            dynamic_write(self, name, value)
            return
        raise AttributeError(
            f"{type(self).__name__!r} has no field {name!r}"
            f"{did_you_mean(name, list(schema.fields))}; declare it in the class to set it",
            name=name,
            obj=self,
        )

    return other


def _class_attribute_write(obj: Any, name: str, value: Any) -> None:
    """An assignment to a name the class defines: a property's setter, else an error."""
    from .computed import computed

    attr = inspect.getattr_static(type(obj), name)
    if isinstance(attr, computed):
        raise AttributeError(
            f"{name!r} is computed; assign the fields it is derived from", name=name, obj=obj
        )
    if hasattr(type(attr), "__set__"):  # a property with a setter (or a custom descriptor)
        object.__setattr__(obj, name, value)
        return
    owner = next(k for k in type(obj).__mro__ if name in vars(k))
    where = "vein.Flow" if owner is Flow else type(obj).__qualname__
    raise AttributeError(
        f"cannot set {name!r} on {type(obj).__qualname__}: {name!r} is a method of {where}, "
        f"which an attribute of that name would hide; rename the attribute (e.g. {name + '_'!r})",
        name=name,
        obj=obj,
    )


def _init_names(cls: type, schema: Schema) -> tuple[tuple[str, ...], dict[str, str]]:
    """The leaf fields ``__init__`` takes by position, in order, and by keyword (alias)."""
    leaves = [a for a in attrs.fields(cls) if a.init and schema.fields[a.name].nested is None]
    return (
        tuple(a.name for a in leaves if not a.kw_only),
        {(a.alias or a.name): a.name for a in leaves},
    )


def _mark_given(
    names: tuple[tuple[str, ...], dict[str, str]],
    node: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    positional, by_alias = names
    given = [*positional[: len(args)], *(by_alias[k] for k in kwargs if k in by_alias)]
    if given:
        prov = node.prov
        if prov is None:
            prov = node.prov = {}
        for name in given:
            prov[name] = RUNTIME


def _make_init(final: type, mid: Any, schema: Schema) -> Any:
    ns: dict[str, Any] = {
        "_new_node": new_node,
        "_set_vein": final.__vein_set_node__,  # type: ignore[attr-defined]
        "_base_init": final.__vein_base_init__,  # type: ignore[attr-defined]
        "_Conversion": ConversionError,
        "_type_error": type_error,
        "_adopt": _adopt,
    }
    lines = [
        "def __init__(self, *args, **kwargs):",
        "    node = _new_node(self)",
        "    _set_vein(self, node)",
        "    _base_init(self, *args, **kwargs)",
    ]
    if schema.dynamic:
        # A subclass's own __init__ calling super().__init__() runs this again: keep the
        # node the subclass's __init__ made (nested objects are adopted by it).
        ns["_get_vein"] = final._vein.__get__  # type: ignore[attr-defined]
        lines[1:3] = [
            "    try:",
            "        node = _get_vein(self)",
            "    except AttributeError:",
            "        node = _new_node(self)",
            "        _set_vein(self, node)",
        ]
        # The user's own __init__ runs instead of attrs': give declared fields their
        # defaults first, so a field it does not set still reads as its default.
        specs_with_default = [spec for spec in schema.fields.values() if not spec.required]
        if specs_with_default:
            ns["_defaults"] = specs_with_default
            ns["_osa"] = object.__setattr__
            ns["_wrap"] = wrap  # a list/dict/set default is evented, as in a declared class
            lines[-1:] = [
                "    for spec in _defaults:",
                "        _osa(self, spec.name, _wrap(self, spec, spec.default_value(self)))",
                "    _base_init(self, *args, **kwargs)",
            ]
    else:
        # attrs' __init__ runs the validators: report a failure like an assignment would
        # (a ValidationError, secret values hidden) instead of the validator's own text.
        ns["_init_failed"] = _init_failed
        lines[-1:] = [
            "    try:",
            "        _base_init(self, *args, **kwargs)",
            "    except Exception as exc:",
            "        found = _init_failed(self, exc)",
            "        if found is None:",
            "            raise",
            "        raise found from None",
        ]
        # One try for all the checks, *at* naming the field being checked: the code stays
        # short (compiling it is most of what a class definition costs vein).
        checks: list[str] = []
        for i, spec in enumerate(schema.fields.values()):
            a = spec.attribute
            if spec.check is None:  # nested fields too: a mapping is structured, junk rejected
                continue
            if not a.init and a.default is attrs.NOTHING:
                continue
            d = getattr(final, spec.name)
            ns[f"_get{i}"] = d.__get__
            ns[f"_set{i}"] = d.__set__
            ns[f"_check{i}"] = spec.check
            ns[f"_fast{i}"] = spec.fast_type
            ns[f"_spec{i}"] = spec
            checks.append(f"        at = _spec{i}")
            if spec.fast_type is not None:
                checks += [
                    f"        v = _get{i}(self)",
                    f"        if type(v) is not _fast{i}:",
                    f"            _set{i}(self, _check{i}(v))",
                ]
            else:
                checks.append(f"        _set{i}(self, _check{i}(_get{i}(self)))")
        if checks:
            lines += [
                "    try:",
                *checks,
                "    except _Conversion as exc:",
                "        raise _type_error(self, at, exc) from None",
            ]
        # A value given to the constructor was set by code: explain() says "runtime", not
        # "default" (attrs.evolve, which passes every value, too).
        ns["_given"] = functools.partial(_mark_given, _init_names(final, schema))
        lines += ["    if args or kwargs:", "        _given(node, args, kwargs)"]
    if not schema.dynamic:
        ns["_wrap"] = wrap
        for i, spec in enumerate(schema.fields.values()):
            if spec.collection is None:
                continue
            d = getattr(final, spec.name)
            ns[f"_cget{i}"] = d.__get__
            ns[f"_cset{i}"] = d.__set__
            ns[f"_cspec{i}"] = spec
            lines.append(f"    _cset{i}(self, _wrap(self, _cspec{i}, _cget{i}(self)))")
    for name in schema.nested:
        lines.append(f"    _adopt(self, node, {name!r})")
    for name in schema.held:
        ns["_adopt_held"] = _adopt_held
        lines.append(f"    _adopt_held(self, {name!r})")
    from .txn import PolicyRunner, policies_of

    if not schema.dynamic and policies_of(final):
        # A new object must satisfy its invariants too (children checked theirs already).
        ns["_policies"] = PolicyRunner().check
        lines.append("    _policies((node,))")
    fn = _compile("\n".join(lines) + "\n", "__init__", ns)
    fn.__qualname__ = f"{final.__qualname__}.__init__"
    base_init = final.__vein_base_init__  # type: ignore[attr-defined]
    fn.__wrapped__ = base_init  # type: ignore[attr-defined]  # inspect.signature follows it
    fn.__doc__ = base_init.__doc__
    return fn


def _init_failed(obj: Any, exc: BaseException) -> ValidationError | None:
    """Find which fields made attrs' ``__init__`` fail (wrong type or rejected by a validator).

    Returns ``None`` when no field explains *exc* (e.g. a missing argument): it is re-raised.
    """
    from .write import validator_error

    entries = []
    for spec in schema_of(type(obj)).fields.values():
        try:
            value = object.__getattribute__(obj, spec.name)
        except AttributeError:
            continue
        try:
            if spec.check is not None and type(value) is not spec.fast_type:
                spec.check(value)
            a = spec.attribute
            if a.validator is not None:
                a.validator(obj, a, value)
        except ConversionError as err:
            entries.extend(type_error(obj, spec, err).errors)
        except Exception as err:
            entries.extend(validator_error(obj, spec, err).errors)
    if not entries and _raised_inside(exc):
        # attrs sets fields in order, each after its converter: the first unset field
        # with a converter is the one whose converter failed (a missing argument fails
        # before attrs' __init__ runs at all, and is re-raised as it is).
        for spec in schema_of(type(obj)).fields.values():
            if spec.attribute.converter is None or not spec.attribute.init:
                continue
            try:
                object.__getattribute__(obj, spec.name)
            except AttributeError:
                error = validator_error(obj, spec, exc)
                entry = error.errors[0]
                message = entry.message.replace("its validator", "its converter")
                return ValidationError([attrs.evolve(entry, message=message)])
    return ValidationError(entries) if entries else None


def _raised_inside(exc: BaseException) -> bool:
    """Was *exc* raised inside attrs' ``__init__`` (not by the call's argument binding)?"""
    tb = exc.__traceback__
    return tb is not None and tb.tb_next is not None


def iter_flow_children(obj: Any) -> Iterator[tuple[str, Any]]:
    for name in schema_of(type(obj)).nested:
        child = getattr(obj, name, None)
        if child is not None:
            yield name, child
