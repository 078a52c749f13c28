"""``vein.field``: ``attrs.field`` plus what configuration needs (secret, env, merge, ...)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeVar, overload

import attrs

__all__ = ["MERGE_MODES", "FieldInfo", "field", "info_of"]

_T = TypeVar("_T")

MergeMode = Literal["replace", "extend", "extend_unique", "deep"]
MERGE_MODES: Final = ("replace", "extend", "extend_unique", "deep")

#: The key under which vein keeps its per-field options in ``attrs.Attribute.metadata``.
METADATA_KEY: Final = "vein"


@attrs.frozen
class FieldInfo:
    """vein's own options of one field (kept in the attrs metadata)."""

    secret: bool = False
    readonly: bool = False
    env: str | None = None
    merge: MergeMode | None = None
    doc: str | None = None
    key: str | None = None  # the key used in sources and dumps when it differs from the name


_PLAIN: Final = FieldInfo()


def info_of(attribute: attrs.Attribute[Any]) -> FieldInfo:
    """Return the vein options of *attribute* (defaults for plain attrs fields)."""
    found = attribute.metadata.get(METADATA_KEY)
    return found if isinstance(found, FieldInfo) else _PLAIN


def _masked_repr(_value: object) -> str:
    return "'***'"


# For type checkers: a field's type is its default's (or its factory's result's), so
# ``port: int = vein.field(default="x")`` is an error.  No default or factory (a required
# field), or a converter (the default may be of another type), gives Any.
@overload
def field(
    *,
    default: _T,
    validator: Any = ...,
    converter: None = ...,
    factory: None = ...,
    repr: bool | Callable[[Any], str] = ...,
    hash: bool | None = ...,
    init: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
    type: type | None = ...,
    kw_only: bool = ...,
    eq: bool | None = ...,
    order: bool | None = ...,
    on_setattr: Any = ...,
    alias: str | None = ...,
    secret: bool = ...,
    readonly: bool = ...,
    env: str | None = ...,
    merge: MergeMode | None = ...,
    doc: str | None = ...,
    key: str | None = ...,
) -> _T: ...
@overload
def field(
    *,
    validator: Any = ...,
    converter: None = ...,
    factory: Callable[[], _T],
    repr: bool | Callable[[Any], str] = ...,
    hash: bool | None = ...,
    init: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
    type: type | None = ...,
    kw_only: bool = ...,
    eq: bool | None = ...,
    order: bool | None = ...,
    on_setattr: Any = ...,
    alias: str | None = ...,
    secret: bool = ...,
    readonly: bool = ...,
    env: str | None = ...,
    merge: MergeMode | None = ...,
    doc: str | None = ...,
    key: str | None = ...,
) -> _T: ...
@overload
def field(
    *,
    validator: Any = ...,
    converter: None = ...,
    repr: bool | Callable[[Any], str] = ...,
    hash: bool | None = ...,
    init: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
    type: type | None = ...,
    kw_only: bool = ...,
    eq: bool | None = ...,
    order: bool | None = ...,
    on_setattr: Any = ...,
    alias: str | None = ...,
    secret: bool = ...,
    readonly: bool = ...,
    env: str | None = ...,
    merge: MergeMode | None = ...,
    doc: str | None = ...,
    key: str | None = ...,
) -> Any: ...
@overload
def field(
    *,
    default: Any = ...,
    validator: Any = ...,
    converter: Any,
    factory: Callable[[], Any] | None = ...,
    repr: bool | Callable[[Any], str] = ...,
    hash: bool | None = ...,
    init: bool = ...,
    metadata: Mapping[Any, Any] | None = ...,
    type: type | None = ...,
    kw_only: bool = ...,
    eq: bool | None = ...,
    order: bool | None = ...,
    on_setattr: Any = ...,
    alias: str | None = ...,
    secret: bool = ...,
    readonly: bool = ...,
    env: str | None = ...,
    merge: MergeMode | None = ...,
    doc: str | None = ...,
    key: str | None = ...,
) -> Any: ...


def field(
    *,
    default: Any = attrs.NOTHING,
    validator: Any = None,
    repr: bool | Callable[[Any], str] = True,
    hash: bool | None = None,
    init: bool = True,
    metadata: Mapping[Any, Any] | None = None,
    type: type | None = None,
    converter: Any = None,
    factory: Callable[[], Any] | None = None,
    kw_only: bool = False,
    eq: bool | None = None,
    order: bool | None = None,
    on_setattr: Any = None,
    alias: str | None = None,
    secret: bool = False,
    readonly: bool = False,
    env: str | None = None,
    merge: MergeMode | None = None,
    doc: str | None = None,
    key: str | None = None,
) -> Any:
    """Declare a field of a flow class.

    Accepts every argument of :func:`attrs.field`, plus:

    * *secret*: the value is masked (``'***'``) in ``repr``, errors, events, logs and the
      CLI;
    * *readonly*: sources may set it, a runtime assignment raises :class:`vein.ReadOnlyError`;
    * *env*: an exact environment variable name that also sets this field (no prefix);
    * *merge*: how a higher layer combines with a lower one for a list or dict field:
      ``"replace"`` (default), ``"extend"``, ``"extend_unique"`` or ``"deep"``;
    * *doc*: a description, shown by ``vein schema`` and ``vein show``;
    * *key*: the key that stands for this field in files and dumps, when it is not a valid
      Python name (``"allow-plugins"``, ``"class"``).
    """
    if merge is not None and merge not in MERGE_MODES:
        raise ValueError(f"merge must be one of {', '.join(MERGE_MODES)}, not {merge!r}")
    info = FieldInfo(secret=secret, readonly=readonly, env=env, merge=merge, doc=doc, key=key)
    md = dict(metadata or {})
    md[METADATA_KEY] = info
    if secret and repr is True:
        repr = _masked_repr
    return attrs.field(
        default=default,
        validator=validator,
        repr=repr,
        hash=hash,
        init=init,
        metadata=md,
        type=type,
        converter=converter,
        factory=factory,
        kw_only=kw_only,
        eq=eq,
        order=order,
        on_setattr=on_setattr,
        alias=alias,
    )
