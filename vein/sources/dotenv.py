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

from ..errors import SourceError
from ..flow.provenance import Provenance
from .base import Document, FileSource
from .env import EmptyPolicy, EnvSource

if TYPE_CHECKING:
    from ..flow.schema import Schema

__all__ = ["DotenvSource", "from_dotenv"]

_ASSIGNMENT = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=", re.M)


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
            values = dotenv_values(stream=io.StringIO(text), interpolate=self.interpolate)
            # A bare "NAME" line (no "=") has no value: it sets nothing.
            self._cached = {k: v for k, v in values.items() if v is not None}
            self._lines = {}
            for found in _ASSIGNMENT.finditer(text):
                # The last assignment of a name is the one that counts (as in dotenv).
                self._lines[found.group(1)] = text.count("\n", 0, found.start()) + 1
        self._env.environ = self._cached
        doc = self._env.read(schema)
        return self._located(doc)

    def _located(self, doc: Document) -> Document:
        """The env document with every variable located at its line in the file."""
        name, layer, lines = self.display, self.key, self._lines

        def at(prov: Provenance) -> Provenance:
            var = prov.name
            line = lines.get(var) if var is not None else None
            return Provenance("file", name, line, 1 if line else None, layer, var)

        env_locate = doc.locate

        def locate(path: tuple[str, ...]) -> Provenance:
            return at(env_locate(path))

        leaves = doc.leaves
        if leaves:
            leaves = {path: (raw, at(prov)) for path, (raw, prov) in leaves.items()}
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
