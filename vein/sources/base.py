"""What every source hands to the engine: a :class:`Document` of raw data with locations."""

from __future__ import annotations

import os
import stat as _stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from ..errors import SourceError
from ..flow.provenance import Provenance, file_provenance

if TYPE_CHECKING:
    from ..flow.schema import Schema

__all__ = ["Document", "FileSource", "Source"]

#: A file modified this recently (ns) when it was read may change again without a new stat
#: (timestamps are coarse on many file systems): ``changed()`` answers yes until it is older.
_RACY_NS = 2_000_000_000


@attrs.define(eq=False)
class Document:
    """Raw data read from one source, before it is structured.

    *data* is a nested mapping of raw values (native values, ``str`` to be converted by
    the declared type, or :class:`vein.structuring.Plain` YAML scalars).  *locate* maps a key
    path to the :class:`~vein.Provenance` of the value there.  *layer* is the layer key
    (``None`` for a plain mapping applied like runtime assignments).  *strict*: unknown keys
    are errors.  *text*: values are text to convert (env); *runtime*: values are applied
    like assignments (no text conversion).
    """

    data: Mapping[str, Any]
    locate: Callable[[tuple[str, ...]], Provenance]
    layer: str | None
    strict: bool = True
    runtime: bool = False
    env_name: Callable[[str], str | None] | None = None  # env: the variable for a path
    # Schema-less env: text takes the type of the current value at a dotted path.
    current: Callable[[str], Any] | None = None
    # Schema-less env: is the key at a dotted path secret (its text hidden in errors)?
    secret: Callable[[str], bool] | None = None
    text: bool = False  # every value is text from the environment
    # Leaves a source already located: {dotted path: (raw value, provenance)}, applied
    # after ``data`` (the env source fills it; it spares building and walking dicts).
    leaves: dict[str, tuple[Any, Provenance]] | None = None
    # Key paths of dict fields this source sets key by key (env ``APP_FEATURES__NEW_UI``):
    # their keys are set on the value below instead of replacing it.
    patches: frozenset[tuple[str, ...]] = frozenset()


@runtime_checkable
class Source(Protocol):
    """Anything that can be applied with ``update``/``load``/``watch``.

    *key* names the layer (stable across reloads).  ``read(schema)`` returns a fresh
    :class:`Document` or raises :class:`vein.SourceError`; ``changed()`` says, cheaply,
    whether a new read could give something new (watchers poll it).
    """

    key: str

    def read(self, schema: Schema | None) -> Document: ...

    def changed(self) -> bool: ...


class FileSource:
    """Base of the file sources: path handling, UTF-8/BOM decoding and the parse cache.

    An unchanged file (same stat, else same content hash) is not parsed again.
    """

    kind = "file"
    format_name = "file"

    def __init__(
        self, path: str | os.PathLike[str], *, optional: bool = False, strict: bool = True
    ) -> None:
        self.path = Path(path)
        self.optional = optional
        self.strict = strict
        self.key = f"file:{self.resolved}"
        self._stat: tuple[int, int, int] | None = None
        self._digest: bytes | None = None
        self._cached: Any = None
        self._racy = False  # read within the timestamp granularity of its mtime

    @property
    def resolved(self) -> str:
        try:
            # What Path.resolve() gives for a file that exists, without making a Path and
            # stat-ing the file once more (file system calls are most of its cost).
            return os.path.realpath(self.path, strict=True)
        except OSError:  # missing, a symlink loop...: as Path.resolve() says
            pass
        try:
            return str(self.path.resolve())
        except (OSError, RuntimeError):  # a symlink loop: RuntimeError before Python 3.13
            return str(self.path.absolute())

    @property
    def display(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _stat_key(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceError(
                f"cannot read {self.format_name} file: {exc.strerror}", source=self.display
            ) from None
        if not _stat.S_ISREG(st.st_mode) and not _stat.S_ISDIR(st.st_mode):
            # A FIFO or a device (/dev/zero) would block the read or never end.
            raise SourceError(
                f"not a regular file (a pipe or a device?); give a {self.format_name} file",
                source=self.display,
            )
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def changed(self) -> bool:
        try:
            return self._racy or self._stat_key() != self._stat or self._stat is None
        except SourceError:
            return True

    def read_text(self) -> tuple[str | None, bool]:
        """Return ``(text, fresh)``; *text* is ``None`` for a missing optional file."""
        stat = self._stat_key()
        if stat is None:
            if self.optional:
                self._stat, self._digest, self._cached = None, None, None
                return None, True
            raise SourceError(f"{self.format_name} file not found", source=self.display)
        try:
            with open(self.path, "rb") as f:  # Path.read_bytes() does this, with more calls
                raw = f.read()
        except FileNotFoundError:
            if self.optional:
                return None, True
            raise SourceError(f"{self.format_name} file not found", source=self.display) from None
        except IsADirectoryError:
            raise SourceError(
                f"is a directory, not a {self.format_name} file", source=self.display
            ) from None
        except OSError as exc:
            raise SourceError(
                f"cannot read {self.format_name} file: {exc.strerror}", source=self.display
            ) from None
        import hashlib  # here, not at import: OpenSSL's start-up is not free

        digest = hashlib.blake2b(raw, digest_size=16).digest()
        fresh = digest != self._digest
        self._stat = stat
        self._digest = digest
        self._racy = time.time_ns() - stat[0] < _RACY_NS
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if b"\x00" in raw:
            raise SourceError(
                f"not a {self.format_name} file: it contains NUL bytes (binary data?)",
                source=self.display,
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise SourceError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                source=self.display,
                line=line,
                column=col,
            ) from None
        return text, fresh

    def parse(self, text: str) -> Document:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, schema: Schema | None) -> Document:
        try:
            text, fresh = self.read_text()
            if text is None:
                return Document({}, self._locator({}), self.key, self.strict)
            if not fresh and self._cached is not None:
                cached: Document = self._cached
                return cached
            doc = self.parse(text)
        except Exception:
            # A version that cannot be read is never taken for the last good one: reading
            # the same bytes again fails again (not the cached document of an older version).
            self._digest = None
            raise
        self._cached = doc
        return doc

    def _locator(
        self, marks: Mapping[tuple[str, ...], tuple[int, int]]
    ) -> Callable[[tuple[str, ...]], Provenance]:
        name = self.display
        layer = self.key

        def locate(path: tuple[str, ...]) -> Provenance:
            mark = marks.get(path)
            key = ".".join(path) or None
            if mark is None:
                return file_provenance(name, None, None, layer, key)
            return file_provenance(name, mark[0], mark[1], layer, key)

        return locate


def check_mapping_root(data: Any, display: str, what: str) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        kind = "str" if isinstance(data, str) else type(data).__name__  # also a YAML Plain
        kind = {
            "list": "a list",
            "str": "a string",
            "int": "a number",
            "float": "a number",
            "bool": "a boolean",
        }.get(kind, kind)
        raise SourceError(
            f"the top level of a {what} must be a mapping (key: value), not {kind}", source=display
        )
    return data
