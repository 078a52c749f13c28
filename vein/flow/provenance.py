"""Where a value came from: a default, a runtime write, or a place in a source."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final

__all__ = ["DEFAULT", "RUNTIME", "Provenance", "env_provenance", "file_provenance"]


_tuple_new = tuple.__new__


class Provenance(
    tuple[str, "str | None", "int | None", "int | None", "str | None", "str | None", "str | None"]
):
    """The origin of a value, as :meth:`explain` and :class:`vein.Change` report it.

    *kind* is one of ``"default"``, ``"runtime"``, ``"env"``, ``"file"``, ``"dict"`` or
    ``"appconfig"``.  *layer* is the key of the source layer that brought the value (``None``
    for defaults and runtime writes); *name* is what a person looks for: the environment
    variable, the file path, the dict's name.  ``str()`` reads like ``env APP_TIMEOUT``,
    ``config.yml:12:3`` or ``runtime``.  Immutable and hashable (a tuple underneath: one
    is made per loaded value, so it must be cheap).
    """

    __slots__ = ()

    def __new__(
        cls,
        kind: str,
        name: str | None = None,
        line: int | None = None,
        column: int | None = None,
        layer: str | None = None,
        key: str | None = None,
        version: str | None = None,
    ) -> Provenance:
        return _tuple_new(cls, (kind, name, line, column, layer, key, version))

    if TYPE_CHECKING:  # read-only properties to type checkers too

        @property
        def kind(self) -> str: ...
        @property
        def name(self) -> str | None: ...
        @property
        def line(self) -> int | None: ...
        @property
        def column(self) -> int | None: ...
        @property
        def layer(self) -> str | None: ...
        @property
        def key(self) -> str | None: ...
        @property
        def version(self) -> str | None: ...

    else:
        kind = property(itemgetter(0))
        name = property(itemgetter(1))
        line = property(itemgetter(2))
        column = property(itemgetter(3))
        layer = property(itemgetter(4))
        key = property(itemgetter(5))
        version = property(itemgetter(6))

    def __repr__(self) -> str:
        fields = ("kind", "name", "line", "column", "layer", "key", "version")
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True) if v is not None)
        return f"Provenance({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Provenance, tuple(self))

    def __str__(self) -> str:
        kind = self.kind
        if kind in ("default", "runtime"):
            return kind
        if kind == "env":
            return f"env {self.name}"
        if kind == "file":
            text = str(self.name)
            if self.line is not None:
                text += f":{self.line}"
                if self.column is not None:
                    text += f":{self.column}"
            elif self.key:
                text += f" (key {self.key})"
            return text
        text = f"{kind} {self.name}" if self.name and self.name != kind else kind
        if self.key and kind != "appconfig":
            text += f" (key {self.key})"
        if self.version is not None:
            text += f" version {self.version}"
        return text


def env_provenance(var: str, layer: str) -> Provenance:
    """``Provenance("env", var, layer=layer)``, without the keyword handling (one is made
    per variable on every load)."""
    return _tuple_new(Provenance, ("env", var, None, None, layer, None, None))


def file_provenance(
    name: str, line: int | None, column: int | None, layer: str, key: str | None
) -> Provenance:
    """``Provenance("file", name, line, column, layer, key)``, likewise."""
    return _tuple_new(Provenance, ("file", name, line, column, layer, key, None))


DEFAULT: Final = Provenance("default")
RUNTIME: Final = Provenance("runtime")
