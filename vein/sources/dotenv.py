"""``from_dotenv``: a ``.env`` file, read like the environment (python-dotenv parses it).

The file's variables go through the same name table and text conversion as
:func:`vein.from_env` (prefix, ``__`` nesting, ``env=`` names, empty policy, unknown names
warned), but they form a file layer of their own: named by the file's resolved path,
reloaded when the file changes, and located by line (``.env:3``).  Nothing is written to
``os.environ``.
"""

from __future__ import annotations

import io
import os
import re
from typing import TYPE_CHECKING

import attrs

from ..errors import SourceError, ValidationError
from ..flow.provenance import Provenance
from .base import Document, FileSource
from .env import EmptyPolicy, EnvSource

if TYPE_CHECKING:
    from ..flow.schema import Schema

__all__ = ["DotenvSource", "from_dotenv"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


class DotenvSource(FileSource):
    format_name = ".env"

    def __init__(
        self,
        path: str | os.PathLike[str],
        prefix: str = "",
        *,
        optional: bool = False,
        empty: EmptyPolicy = "unset",
        warn_unknown: bool = True,
        interpolate: bool = True,
    ) -> None:
        super().__init__(path, optional=optional)
        self.prefix = prefix
        self.key = f"dotenv:{self.resolved}:{prefix}"
        self._env = EnvSource(prefix, environ={}, empty=empty, warn_unknown=warn_unknown)
        self._env.key = self.key  # the variables' provenance names this layer
        self._env.suggest_prefix = True  # APP_DEBUG in a file read without "APP_" is a slip
        self._env.name_of = self._name_of  # type: ignore[method-assign]
        self.interpolate = interpolate
        self._lines: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"from_dotenv({str(self.path)!r}, {self.prefix!r})"

    def _name_of(self, var: str) -> str:
        line = self._lines.get(var)
        return f"variable {var} ({self.display}:{line})" if line else f"variable {var}"

    @property
    def warnings(self) -> list[str]:
        return self._env.warnings

    def parse(self, text: str) -> Document:  # pragma: no cover - read() is overridden
        raise NotImplementedError

    def read(self, schema: Schema | None) -> Document:
        try:
            text, fresh = self.read_text()
        except Exception:
            self._digest = None
            raise
        if text is None:
            return Document({}, self._locator({}), self.key, self.strict)
        if fresh or self._cached is None:
            try:
                from dotenv import dotenv_values
            except ImportError:  # pragma: no cover - python-dotenv is in the dev extra
                self._digest = None
                raise SourceError(
                    "reading .env files needs python-dotenv: pip install 'vein[dotenv]'",
                    source=self.display,
                ) from None
            from dotenv.parser import parse_stream

            # python-dotenv skips a line it cannot parse with a log line only: here that
            # is an error, with its place (a value silently left at its default is worse).
            lines: dict[str, int] = {}
            for binding in parse_stream(io.StringIO(text)):
                line = binding.original.line
                if binding.error or (binding.key is not None and not _NAME.match(binding.key)):
                    self._digest = None
                    what = binding.original.string.split("\n", 1)[0].split("=", 1)[0].strip()
                    raise SourceError(
                        f"cannot read this line of the .env file (expected NAME=value); "
                        f"it starts with {what[:40]!r}",
                        source=self.display,
                        line=line,
                        column=1,
                    )
                if binding.key is not None:
                    lines[binding.key] = line  # the last assignment of a name counts
            values = dotenv_values(stream=io.StringIO(text), interpolate=self.interpolate)
            # A bare "NAME" line (no "=") has no value: it sets nothing.
            self._cached = {k: v for k, v in values.items() if v is not None}
            self._lines = lines
        self._env.environ = self._cached
        try:
            doc = self._env.read(schema)
        except ValidationError as exc:  # empty="error", two names for one field...
            raise ValidationError(
                [attrs.evolve(e, source=self._at(e.source)) for e in exc.errors]
            ) from None
        return self._located(doc)

    def _at(self, prov: Provenance | None) -> Provenance | None:
        """An env provenance as the place of its variable in this file."""
        if prov is None or prov.kind != "env":
            return prov
        var = prov.name
        line = self._lines.get(var) if var is not None else None
        return Provenance("file", self.display, line, 1 if line else None, self.key, var)

    def _located(self, doc: Document) -> Document:
        """The env document with every variable located at its line in the file."""
        at = self._at
        env_locate = doc.locate

        def locate(path: tuple[str, ...]) -> Provenance:
            found = at(env_locate(path))
            assert found is not None
            return found

        leaves = doc.leaves
        if leaves:
            leaves = {path: (raw, at(prov) or prov) for path, (raw, prov) in leaves.items()}
        return attrs.evolve(doc, locate=locate, leaves=leaves)


def from_dotenv(
    path: str | os.PathLike[str] = ".env",
    prefix: str = "",
    *,
    optional: bool = False,
    empty: EmptyPolicy = "unset",
    warn_unknown: bool = True,
    interpolate: bool = True,
) -> DotenvSource:
    """A ``.env`` file as a layer, its variables read like :func:`vein.from_env` would.

    *prefix*, *empty*, *warn_unknown*: as for ``from_env``.  *optional*: a missing file
    sets nothing.  *interpolate*: expand ``${NAME}`` (from the file, then the process
    environment) as python-dotenv does.  Needs the ``dotenv`` extra (python-dotenv).
    """
    return DotenvSource(
        path,
        prefix,
        optional=optional,
        empty=empty,
        warn_unknown=warn_unknown,
        interpolate=interpolate,
    )
