"""What vein knows about a flow class, computed once per class.

:class:`Schema` holds one :class:`FieldSpec` per attrs field: the type check used by
assignments, the structure hook used by sources, the vein options, and the nested schema
when the field holds another flow class.  Built at class creation when the annotations can
be resolved, otherwise on first use (forward references).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, get_args

import attrs
import cattrs

from ..errors import VeinError
from ..structuring import _is_union, runtime_check, structure_hook
from .collections import collection_kind
from .fields import FieldInfo, info_of
from .state import is_flow_object

__all__ = ["RESERVED", "FieldSpec", "Schema", "did_you_mean", "is_flow_class", "schema_of"]

#: Names a field may not take: they are the methods every flow object has.
RESERVED: Final = frozenset(
    {
        "update",
        "on_change",
        "on_error",
        "explain",
        "to_dict",
        "from_dict",
        "batch",
        "snapshot",
        "watch",
        "changes",
        "get",
        "keys",
        "items",
        "values",
    }
)

SCHEMA_ATTR: Final = "__vein_schema__"


def is_flow_class(tp: Any) -> bool:
    if not isinstance(tp, type):
        return False
    # __vein_final__: a flow class whose schema is not built yet -- the one being built
    # (``child: Node | None`` inside Node) or one that refers back to it.
    return (
        SCHEMA_ATTR in tp.__dict__
        or "__vein_final__" in tp.__dict__
        or getattr(tp, SCHEMA_ATTR, None) is not None
    )


class FieldSpec:
    """One field of a flow class, ready for the write and load paths.

    (A plain class, not an attrs one: vein's internal records are made at import, where
    each attrs class would cost its code generation.)
    """

    __slots__ = (
        "attribute",
        "check",
        "collection",
        "container_checks",
        "fast_type",
        "holds",
        "info",
        "key",
        "name",
        "nested",
        "structure",
        "type",
    )

    def __init__(
        self,
        *,
        name: str,
        attribute: attrs.Attribute[Any],
        type: Any,
        info: FieldInfo,
        key: str,
        fast_type: type | None,
        check: Callable[[Any], Any] | None,
        nested: type | None,
        structure: Callable[[Any], Any],
        collection: str | None = None,
        holds: tuple[type, ...] = (),
    ) -> None:
        self.name = name
        self.attribute = attribute
        self.type = type
        self.info = info
        self.key = key  # the key in sources and dumps
        self.fast_type = fast_type
        self.check = check
        self.nested = nested  # a flow class held by this field (deep merge, relayed events)
        self.structure = structure
        self.collection = collection  # "list"/"dict"/"set": stored as an evented container
        #: The flow classes a ``Tls | None`` field may hold: the object it holds is a child
        #: of the owner (relayed events, the owner's lock, batches and policies).
        self.holds = holds
        #: What an evented container of this field checks (element checks, validator,
        #: whether it holds flow objects): worked out on first use, not for every one made.
        self.container_checks: tuple[Any, ...] | None = None

    def __repr__(self) -> str:
        return f"<FieldSpec {self.name!r}: {self.type!r}>"

    @property
    def secret(self) -> bool:
        return self.info.secret

    @property
    def required(self) -> bool:
        return self.attribute.default is attrs.NOTHING

    def default_value(self, instance: Any = None) -> Any:
        default = self.attribute.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            fac: Any = default
            return fac.factory(instance) if fac.takes_self else fac.factory()
        return default


class Schema:
    """All fields of one flow class."""

    def __init__(
        self, cls: type, fields: dict[str, FieldSpec], dynamic: bool, open: bool = False
    ) -> None:
        self.cls = cls
        self.fields = fields
        self.dynamic = dynamic
        # An open schema (the schema-less config) takes any key; nested mappings become
        # namespaces that merge deeply, like nested flow classes.
        self.open = open
        self.computed: frozenset[str] = frozenset()  # names of @vein.computed values
        self.by_key = {spec.key: spec for spec in fields.values()}
        self.nested = tuple(name for name, spec in fields.items() if spec.nested is not None)
        self.held = tuple(name for name, spec in fields.items() if spec.holds)
        self._env_maps: dict[str, Any] = {}
        self._leaf_map: dict[str, FieldSpec] | None = None

    def leaves(self, prefix: str = "") -> Iterator[tuple[str, FieldSpec]]:
        """Every leaf (non-nested field) below this class, as ``(dotted path, spec)``."""
        for spec in self.fields.values():
            if spec.nested is not None:
                yield from schema_of(spec.nested).leaves(f"{prefix}{spec.name}.")
            else:
                yield prefix + spec.name, spec

    def spec_at(self, path: str) -> tuple[Schema, FieldSpec] | None:
        """Find the field at a dotted *path* (``None`` when there is none)."""
        schema = self
        parts = path.split(".")
        for i, part in enumerate(parts):
            spec = schema.fields.get(part)
            if spec is None:
                return None
            if i == len(parts) - 1:
                return schema, spec
            if spec.nested is None:
                return None
            schema = schema_of(spec.nested)
        return None

    def leaf_map(self) -> dict[str, FieldSpec]:
        """``{dotted path: spec}`` of every leaf below this class (computed once)."""
        found = self._leaf_map
        if found is None:
            found = self._leaf_map = dict(self.leaves())
        return found

    def all_paths(self, prefix: str = "") -> Iterator[str]:
        for spec in self.fields.values():
            yield prefix + spec.name
            if spec.nested is not None:
                yield from schema_of(spec.nested).all_paths(f"{prefix}{spec.name}.")


def did_you_mean(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of *choices*, or ``""``."""
    import difflib  # only when there is a mistake to report (import time)

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {str(c).lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


class SchemaError(VeinError, TypeError):
    """A flow class is declared in a way vein cannot support (raised at class creation)."""

    __module__ = "vein"


def build_schema(cls: type, dynamic: bool) -> Schema:
    """Compile the schema of an attrs class (annotations must be resolvable)."""
    # Names first: a clash must be reported at class creation even when forward
    # references postpone the rest of the schema to first use.
    for a in attrs.fields(cls):
        if a.name in RESERVED:
            raise SchemaError(
                f"{cls.__qualname__}: field {a.name!r} clashes with the flow method "
                f"{a.name!r}; rename the field (use vein.field(key={a.name!r}) to keep the "
                "key in files)"
            )
        if a.name.startswith("_vein"):
            raise SchemaError(f"{cls.__qualname__}: field names starting with '_vein' are reserved")
    attrs.resolve_types(cls)
    fields: dict[str, FieldSpec] = {}
    for a in attrs.fields(cls):
        tp = a.type if a.type is not None else Any
        info = _with_on_setattr(cls, a, info_of(a))
        nested = tp if is_flow_class(tp) else None
        if nested is not None and info.secret:
            # A section is no value to mask: its leaves have their own events, errors and
            # CLI rows, which a flag on the section would not reach.
            raise SchemaError(
                f"{cls.__qualname__}.{a.name}: secret=True on a section ({tp.__qualname__}); "
                f"mark the secret fields of {tp.__qualname__} with vein.field(secret=True) "
                "instead"
            )
        fast, check = runtime_check(tp)
        collection = collection_kind(tp) if nested is None else None
        fields[a.name] = FieldSpec(
            name=a.name,
            attribute=a,
            type=tp,
            info=info,
            key=a.name if info.key is None else info.key,  # key="" is a key too
            fast_type=fast,
            check=check,
            nested=nested,
            # A section's source converter is built on first use: loads build sections
            # field by field, so most programs never need it (and it costs at import).
            structure=_structure_or_fallback(tp) if nested is None else _on_first_use(tp),
            collection=collection,
            holds=_flow_members(tp) if nested is None and collection is None else (),
        )
    return Schema(cls, fields, dynamic)


#: attrs' own on_setattr hooks that vein's write path already is (it converts and
#: validates every assignment).
_BUILT_IN_SETTERS: Final = (attrs.setters.NO_OP, attrs.setters.validate, attrs.setters.convert)


def _with_on_setattr(cls: type, a: attrs.Attribute[Any], info: FieldInfo) -> FieldInfo:
    """A field's ``on_setattr``: vein installs its own ``__setattr__``, so attrs would never
    call the hook.  ``attrs.setters.frozen`` means ``readonly=True``; attrs' validate and
    convert are what every assignment does anyway; any other hook is refused (it would be
    silently ignored)."""
    hook = a.on_setattr
    if hook is None or hook in _BUILT_IN_SETTERS:
        return info
    if hook is attrs.setters.frozen:
        return attrs.evolve(info, readonly=True)
    raise SchemaError(
        f"{cls.__qualname__}.{a.name}: on_setattr={getattr(hook, '__qualname__', hook)!r} is "
        "not supported: vein runs the field's converter and validators on every assignment "
        "itself; use converter=, validator= or @vein.validates, and readonly=True (or "
        "on_setattr=attrs.setters.frozen) for a field assignments may not change"
    )


def classes_below(schema: Schema) -> list[type]:
    """The flow classes whose objects an object of *schema* can have as children: its
    sections', its ``Tls | None`` fields' and its list/dict fields' element classes."""
    from .collections import element_classes

    below: list[type] = []
    for spec in schema.fields.values():
        if spec.nested is not None:
            below.append(spec.nested)
        below.extend(spec.holds)
        if spec.collection:
            below.extend(element_classes(spec))
    return below


def held_values(obj: Any, schema: Schema) -> list[Any]:
    """The flow objects that *obj*'s ``Tls | None`` fields hold (its children there)."""
    out = []
    for name in schema.held:
        value = getattr(obj, name, None)
        if is_flow_object(value):
            out.append(value)
    return out


def _flow_members(tp: Any) -> tuple[type, ...]:
    """The flow classes of a union (``Tls | None``, ``Union[A, B, str]``)."""
    if not _is_union(tp):
        return ()
    return tuple(a for a in get_args(tp) if is_flow_class(a))


def _on_first_use(tp: Any) -> Callable[[Any], Any]:
    """:func:`_structure_or_fallback` of *tp*, made the first time it is called."""
    made: list[Callable[[Any], Any]] = []

    def structure(value: Any) -> Any:
        if not made:
            made.append(_structure_or_fallback(tp))
        return made[0](value)

    return structure


def _structure_or_fallback(tp: Any) -> Callable[[Any], Any]:
    """The source converter for *tp*; for a type cattrs cannot build (``object``, an
    arbitrary class), one that accepts instances and rejects the rest."""
    if tp is object:
        return structure_hook(Any)
    try:
        return structure_hook(tp)
    except cattrs.errors.StructureHandlerNotFoundError:
        from ..structuring import instances_only

        accept = instances_only(tp)
        return lambda value: accept(value, tp)


def schema_of(cls: type) -> Schema:
    """The schema of a flow class (compiled on first use if it could not be at creation)."""
    found = cls.__dict__.get(SCHEMA_ATTR)
    if isinstance(found, Schema):
        return found
    finisher = getattr(cls, "__vein_finish__", None)
    if finisher is None:
        raise TypeError(f"{cls!r} is not a flow class")
    schema: Schema = finisher()
    return schema
