"""``from_toml``: a TOML file (read with the standard library's ``tomllib``)."""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import SourceError
from ..structuring import Plain
from .base import Document, FileSource

__all__ = ["TomlSource", "from_toml"]

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def _float(text: str) -> Any:
    # Plain keeps the text for str fields ("1.10"); the forms the YAML 1.2 core schema
    # would not type as floats under Any (inf, nan, 1_000.5) are normalized or made floats.
    text = text.replace("_", "")
    if text.lstrip("+-") in ("inf", "nan"):
        return float(text)
    return Plain(text)


class TomlSource(FileSource):
    format_name = "TOML"

    def parse(self, text: str) -> Document:
        import tomllib

        try:
            data = tomllib.loads(text, parse_float=_float)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            m = _AT.search(msg)
            line = col = None
            if m:
                line, col = int(m.group(1)), int(m.group(2))
                msg = msg[: m.start()]
            elif msg.endswith("(at end of document)"):  # e.g. an unclosed [ or string
                msg = msg[: -len("(at end of document)")].rstrip()
                line = text.count("\n") + 1
                col = len(text) - (text.rfind("\n") + 1) + 1
            raise SourceError(
                f"invalid TOML: {msg}", source=self.display, line=line, column=col
            ) from None
        except RecursionError:
            raise SourceError("TOML nested too deeply", source=self.display) from None
        except ValueError:  # an integer longer than Python converts (4300 digits)
            raise SourceError(
                "invalid TOML: a number has more digits than can be converted (over 4300)",
                source=self.display,
            ) from None
        return Document(data, self._locator({}), self.key, self.strict)


def from_toml(
    path: str | os.PathLike[str], *, optional: bool = False, strict: bool = True
) -> TomlSource:
    """A TOML file as a layer.  Unknown keys are errors unless *strict* is false."""
    return TomlSource(path, optional=optional, strict=strict)
