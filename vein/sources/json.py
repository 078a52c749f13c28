"""``from_json``: a JSON file (strict JSON: no comments, no trailing commas)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from ..errors import SourceError
from ..structuring import Plain
from .base import Document, FileSource, check_mapping_root

__all__ = ["JsonSource", "from_json", "parse_json"]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


class _Duplicate(Exception):
    pass


def _too_long(exc: ValueError) -> str:
    text = str(exc)
    if "digits" in text:
        return "a number has more digits than can be converted (over 4300)"
    return text.split(";", maxsplit=1)[0]


_COMMENT_LINE = re.compile(r"^[ \t]*(//|/\*)", re.MULTILINE)


def parse_json(text: str, display: str, *, what: str = "JSON file") -> Mapping[str, Any]:
    """Parse JSON *text* into raw data (floats keep their text); *display* names it in errors."""
    import json  # not with vein: import time

    try:
        # Floats keep their text so a str field gets "1.10", not "1.1".
        data = json.loads(text, parse_float=Plain, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        # Say what broke it: a URL's "//" in a string is no comment, a 'quoted' key no comma.
        rest = text[exc.pos :].lstrip()
        hints = []
        if exc.msg.startswith("Illegal trailing comma") or (
            text[: exc.pos].rstrip().endswith(",") and rest[:1] in ("]", "}")
        ):
            hints.append("no trailing commas")
        if rest.startswith(("//", "/*")) or _COMMENT_LINE.search(text):
            hints.append("no comments")
        hint = f" (JSON allows {' and '.join(hints)}; is this JSONC or JSON5?)" if hints else ""
        raise SourceError(
            f"invalid JSON: {exc.msg}{hint}", source=display, line=exc.lineno, column=exc.colno
        ) from None
    except _Duplicate as exc:
        raise SourceError(f"invalid JSON: duplicate key {exc.args[0]!r}", source=display) from None
    except ValueError as exc:  # an integer longer than Python converts (4300 digits)
        raise SourceError(f"invalid JSON: {_too_long(exc)}", source=display) from None
    except RecursionError:
        raise SourceError("JSON nested too deeply", source=display) from None
    return check_mapping_root(data, display, what)


class JsonSource(FileSource):
    format_name = "JSON"

    def parse(self, text: str) -> Document:
        data = parse_json(text, self.display)
        return Document(data, self._locator({}), self.key, self.strict)


def from_json(
    path: str | os.PathLike[str], *, optional: bool = False, strict: bool = True
) -> JsonSource:
    """A JSON file as a layer.  Unknown keys are errors unless *strict* is false."""
    return JsonSource(path, optional=optional, strict=strict)
