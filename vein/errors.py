"""Every exception and warning vein raises.

Messages are written for the person who has to fix the configuration: each problem names
the dotted path, what was expected, and where the bad value came from.  Secret values never
appear in them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .flow.provenance import Provenance

__all__ = [
    "ErrorEntry",
    "ReadOnlyError",
    "SourceError",
    "ValidationError",
    "VeinError",
    "VeinWarning",
]


def reason_of(exc: BaseException) -> str:
    """The text of a validator's (or converter's) exception, for a message.

    attrs raises ``TypeError(message, attribute, type, value)``: its ``str()`` is a tuple
    with the whole Attribute; the first argument is what the person needs.
    """
    args = exc.args
    if len(args) > 1 and isinstance(args[0], str):
        return args[0]
    return str(exc) or type(exc).__name__


class VeinError(Exception):
    """Base class of every error vein raises."""

    __module__ = "vein"


@attrs.frozen
class ErrorEntry:
    """One problem: where (*path*), what (*message*) and which source brought the value."""

    path: str
    message: str
    source: Provenance | None = None

    def __str__(self) -> str:
        where = self.path or "(root)"
        text = f"{where}: {self.message}"
        if self.source is not None:
            text += f" (from {self.source})"
        return text


def _render(headline: str, errors: Iterable[ErrorEntry]) -> str:
    lines = [headline]
    lines.extend(f"  - {e}" for e in errors)
    return "\n".join(lines)


class ValidationError(VeinError, ValueError):
    """One or more values were rejected; nothing was changed.

    ``errors`` lists every problem found, not only the first one.
    """

    __module__ = "vein"

    def __init__(self, errors: Iterable[ErrorEntry]) -> None:
        self.errors: list[ErrorEntry] = list(errors)
        n = len(self.errors)
        head = "1 invalid value" if n == 1 else f"{n} invalid values"
        super().__init__(_render(head + "; nothing was changed:", self.errors))

    @classmethod
    def single(cls, path: str, message: str, source: Provenance | None = None) -> ValidationError:
        return cls([ErrorEntry(path, message, source)])


class SourceError(VeinError):
    """A source could not be read or parsed (missing file, syntax error, network fault).

    *transient*: no new version was received at all (a network fault, throttling); a
    watcher reports it as a failed poll and tries again, rather than as a rejected version.
    """

    __module__ = "vein"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        errors: Iterable[ErrorEntry] = (),
        transient: bool = False,
    ) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.transient = transient
        self.errors: list[ErrorEntry] = list(errors)
        where = source or ""
        if source is not None and line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        text = f"{where}: {message}" if where else message
        if self.errors:
            text = _render(text, self.errors)
        self.message = message
        super().__init__(text)


class ReadOnlyError(VeinError, AttributeError):
    """A runtime assignment to a field declared ``readonly=True``."""

    __module__ = "vein"


class VeinWarning(UserWarning):
    """Something vein ignored but you probably want to know about (e.g. an unknown env var)."""

    __module__ = "vein"
