"""Module-level functions of the public API (``vein.load``, ``vein.structure``, ...)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ValidationError
from .flow import layers
from .flow.dump import to_dict as _to_dict
from .flow.schema import schema_of
from .sources.dict import DictSource

if TYPE_CHECKING:
    from .flow.provenance import Provenance

__all__ = ["explain", "load", "structure", "to_dict"]

T = TypeVar("T")


def load(cls: type[T], *sources: Any) -> T:
    """Build a *cls* instance from its defaults plus *sources*, in one atomic step.

    Sources are applied in order (later wins) and become the instance's layers, so later
    reloads and ``watch`` follow the same rules as :meth:`vein.Flow.update`.  Every problem
    (conversion, validation, unknown keys, missing required fields -- naming the env
    variable and file key that would set them) is reported at once in a
    :class:`vein.ValidationError`.
    """
    obj: T = layers.load(cls, sources)
    return obj


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalize_key(key: str) -> str:
    """``camelCase``, ``kebab-case``, ``UPPER_CASE`` and ``Pascal`` keys to ``snake_case``."""
    return _CAMEL.sub("_", key).replace("-", "_").replace(" ", "_").lower()


def _normalized(data: Any, cls: type) -> Any:
    if not isinstance(data, Mapping):
        return data
    schema = schema_of(cls)
    out: dict[Any, Any] = {}
    for key, value in data.items():
        target = key
        if isinstance(key, str) and key not in schema.by_key and key not in schema.fields:
            candidate = normalize_key(key)
            if candidate in schema.fields or candidate in schema.by_key:
                target = candidate
        spec = schema.by_key.get(target) or schema.fields.get(target)
        if spec is not None and spec.nested is not None:
            value = _normalized(value, spec.nested)
        out[target] = value
    return out


def structure(
    data: Mapping[str, Any], cls: type[T], *, strict: bool = True, normalize_keys: bool = False
) -> T:
    """Structure a plain (legacy) dict into *cls*, with vein's conversion rules.

    Unknown keys are an error with a did-you-mean (*strict* false ignores them).
    *normalize_keys* maps ``camelCase``, ``kebab-case`` and ``UPPER_CASE`` keys onto the
    declared snake_case names.  ``structure(to_dict(x), type(x)) == x``.
    """
    if not isinstance(data, Mapping):
        # Legacy data is often whatever json.load() or yaml.safe_load() gave: bad input,
        # reported like every other problem of the data.
        kinds = {"NoneType": "null", "str": "text", "int": "a number", "float": "a number"}
        got = kinds.get(type(data).__name__, f"a {type(data).__name__}")
        expected = f"a mapping of {getattr(cls, '__name__', cls)} fields (key: value)"
        raise ValidationError.single("", f"expected {expected} at the top level, got {got}")
    if normalize_keys:
        data = _normalized(data, cls)
    obj: T = layers.load(cls, [DictSource(data, name="structure", strict=strict)])
    return obj


def to_dict(obj: Any, *, redact: bool = False) -> dict[str, Any]:
    """Plain data for a flow object (secrets replaced by ``'***'`` with *redact*)."""
    return _to_dict(obj, redact=redact)


def explain(obj: Any, path: str) -> Provenance:
    """Where the value at *path* of *obj* came from (same as ``obj.explain(path)``)."""
    return layers.explain(obj, path)
