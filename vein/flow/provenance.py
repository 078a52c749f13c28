"""Where a value came from: a default, a runtime write, or a place in a source."""

from __future__ import annotations

from typing import Final

import attrs

__all__ = ["DEFAULT", "RUNTIME", "Provenance"]


@attrs.frozen(slots=True)
class Provenance:
    """The origin of a value, as :meth:`explain` and :class:`vein.Change` report it.

    *kind* is one of ``"default"``, ``"runtime"``, ``"env"``, ``"file"``, ``"dict"`` or
    ``"appconfig"``.  *layer* is the key of the source layer that brought the value (``None``
    for defaults and runtime writes); *name* is what a person looks for: the environment
    variable, the file path, the dict's name.  ``str()`` reads like ``env APP_TIMEOUT``,
    ``config.yml:12:3`` or ``runtime``.
    """

    kind: str
    name: str | None = None
    line: int | None = None
    column: int | None = None
    layer: str | None = None
    key: str | None = None  # the key path inside the source, when it is not obvious
    version: str | None = None  # AppConfig version label

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
        text = f"{kind} {self.name}" if self.name else kind
        if self.key and kind != "appconfig":
            text += f" (key {self.key})"
        if self.version is not None:
            text += f" version {self.version}"
        return text


DEFAULT: Final = Provenance("default")
RUNTIME: Final = Provenance("runtime")
