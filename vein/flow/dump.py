"""Flow objects back to plain data (``to_dict``), the inverse of structuring."""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import attrs

from ..errors import VeinError
from .events import MISSING
from .schema import is_flow_class, schema_of

__all__ = ["plain", "self_containing", "to_dict"]

REDACTED = "***"


def to_dict(obj: Any, *, redact: bool = False) -> dict[str, Any]:
    """Plain data for *obj*: dicts, lists, text, numbers, booleans and ``None``.

    Keys are the source keys (``vein.field(key=...)``), enums become their values, paths
    text, dates ISO 8601 text.  A field holding :data:`vein.MISSING` (absent) is left out.
    With *redact*, secret values are replaced by ``'***'``.  A snapshot (``obj.snapshot()``)
    gives what the object gave when the snapshot was taken.
    ``vein.structure(vein.to_dict(x), type(x)) == x``.
    """
    try:
        schema = schema_of(type(obj))
    except TypeError:
        from .snapshot import Snapshot

        if isinstance(obj, Snapshot):  # a snapshot dumps itself: the object as it was then
            return obj.to_dict(redact=redact)
        raise
    if schema.open:  # the schema-less config keeps its keys itself
        found: dict[str, Any] = obj.to_dict(redact=redact)
        return found
    out: dict[str, Any] = {}
    for name, spec in schema.fields.items():
        if not hasattr(obj, name):
            continue
        value = getattr(obj, name)
        if value is MISSING:
            continue  # an absent key (``vein.MISSING`` default): not in the dump
        if spec.secret and redact and value not in (None, ""):
            out[spec.key] = REDACTED
        elif spec.nested is not None and value is not None:
            out[spec.key] = to_dict(value, redact=redact)
        else:
            try:
                out[spec.key] = plain(value, redact)
            except RecursionError:
                raise self_containing(obj, name) from None
    if schema.dynamic:
        d = getattr(obj, "__dict__", {})
        for key, value in list(d.items()):  # a writer may add one meanwhile
            if not key.startswith("_"):
                try:
                    out[key] = plain(value, redact)
                except RecursionError:
                    raise self_containing(obj, key) from None
    return out


def self_containing(obj: Any, name: str) -> VeinError:
    """The error for a value no copy or dump can be made of (``to_dict``, ``snapshot``).

    An ``Any``-typed field (or a dynamic attribute) may hold data that contains itself
    (``loop = []; loop.append(loop)``), or nests deeper than Python's stack: naming the
    field beats a ``RecursionError`` from deep inside the copy.
    """
    node = getattr(obj, "_vein", None)
    path = (node.path_prefix() if node is not None else "") + name
    return VeinError(
        f"{path}: the value nests too deeply or contains itself; it cannot be copied or "
        "turned into plain data"
    )


def plain(value: Any, redact: bool = False) -> Any:
    """One value as plain data."""
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, enum.Enum):
            return value.value
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if is_flow_class(type(value)):
        return to_dict(value, redact=redact)
    if attrs.has(type(value)):
        return {a.name: plain(getattr(value, a.name), redact) for a in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {k: plain(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v, redact) for v in value]
        if isinstance(value, set | frozenset):
            try:
                items.sort()
            except TypeError:
                pass
        return items
    if isinstance(value, PurePath):
        return str(value)
    # datetime and decimal are not imported with vein (import time): a value of theirs
    # exists only where its module was imported already.
    dt = sys.modules.get("datetime")
    if dt is not None and isinstance(value, dt.date | dt.time):
        return value.isoformat()
    dec = sys.modules.get("decimal")
    if dec is not None and isinstance(value, dec.Decimal):
        return str(value)
    return value
