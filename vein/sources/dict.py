"""``from_dict``: a plain mapping as a named, reloadable layer."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..flow.provenance import Provenance
from .base import Document

if TYPE_CHECKING:
    from ..flow.schema import Schema

__all__ = ["DictSource", "from_dict"]


class DictSource:
    """A mapping applied as a layer named *name* (values converted like file values)."""

    kind = "dict"

    def __init__(
        self, mapping: Mapping[str, Any], *, name: str = "dict", strict: bool = True
    ) -> None:
        if not isinstance(mapping, Mapping):
            raise TypeError(f"from_dict() takes a mapping, not {type(mapping).__name__}")
        self.mapping = mapping
        self.name = name
        self.strict = strict
        self.key = f"dict:{name}"
        self._last: Any = None

    def __repr__(self) -> str:
        return f"from_dict(name={self.name!r})"

    def changed(self) -> bool:
        return self._last is None or self._last != self.mapping

    def read(self, schema: Schema | None) -> Document:
        try:
            self._last = copy.deepcopy(dict(self.mapping))
        except Exception:
            self._last = None
        name, layer = self.name, self.key

        def locate(path: tuple[str, ...]) -> Provenance:
            return Provenance("dict", name, layer=layer, key=".".join(path) or None)

        return Document(self.mapping, locate, layer, self.strict)


def from_dict(mapping: Mapping[str, Any], *, name: str = "dict", strict: bool = True) -> DictSource:
    """A plain mapping as a named layer (``explain`` says ``dict <name>``).

    Unlike a mapping given straight to ``update`` (applied like runtime assignments), this
    is a layer: re-applying it is a reload, and its text values are converted by the
    declared types like file values.
    """
    return DictSource(mapping, name=name, strict=strict)
