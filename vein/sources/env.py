"""``from_env``: environment variables.

Schema mode: a field's variable is ``PREFIX`` + its dotted path upper-cased with ``__``
between levels (``APP_DATABASE__HOST``), matched case-insensitively; ``vein.field(env=...)``
adds an exact name.  The name table is built once per (class, prefix).  Values are text,
converted by the declared type (see :mod:`vein.structuring`).  A variable under a
non-empty prefix that matches no field is reported as a :class:`vein.VeinWarning` with a
did-you-mean, and changes nothing.

Schema-less mode (``vein.config``): ``APP_DATABASE__HOST`` sets ``database.host``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from ..errors import ErrorEntry, SourceError, VeinWarning
from ..flow.provenance import Provenance, env_provenance
from ..flow.schema import SchemaError, did_you_mean, schema_of
from ..structuring import Plain
from .base import Document

if TYPE_CHECKING:
    from ..flow.schema import FieldSpec, Schema

__all__ = ["EnvSource", "from_env"]

EmptyPolicy = Literal["unset", "keep", "error"]

_LEAF, _SECTION, _DICT = 0, 1, 2
# What a variable name means to one EnvMap (``EnvMap.resolve``): a plain leaf, a mapping
# leaf given whole (JSON), a section given whole, one key of a dict field, or nothing.
_PLAIN, _WHOLE, _BLOCK, _KEY, _NONE = 0, 1, 2, 3, 4
Meaning = tuple[int, tuple[str, ...], "FieldSpec | None", str]
_UNKNOWN: Final[Meaning] = (_NONE, (), None, "")
#: Spellings remembered per EnvMap; past this the memo starts over (an ``environ`` mapping
#: made up per call, in a loop, must not grow it without bound).
_MEMO_SIZE: Final = 4096


class EnvMap:
    """Variable names of one (class, prefix): ``NAME -> (kind, path, spec)``."""

    def __init__(self, schema: Schema, prefix: str) -> None:
        self.prefix = prefix.upper()
        self.names: dict[str, tuple[int, tuple[str, ...], FieldSpec | None]] = {}
        self.dotted: dict[str, str] = {}  # variable name -> dotted path of its leaf
        self.exact: dict[str, tuple[tuple[str, ...], FieldSpec]] = {}
        self.by_path: dict[str, str] = {}
        self._add(schema, ())
        self._meanings: dict[str, Meaning] = {}

    def resolve(self, var: str) -> Meaning:
        """What the variable *var* (as spelled) sets: ``(kind, path, spec, key)``.

        *key* is the dotted path of a leaf, or the key (lower-cased) of a dict field for
        ``APP_FEATURES__NEW_UI``.  The table never changes, so the answer is remembered:
        loading again costs one dict lookup per variable, not a probe of every ``__``.
        """
        found = self._meanings.get(var)
        if found is None:
            if len(self._meanings) >= _MEMO_SIZE:
                self._meanings = {}
            found = self._meanings[var] = self._meaning(var.upper())
        return found

    def _meaning(self, upper: str) -> Meaning:
        entry = self.names.get(upper)
        if entry is not None:
            kind, path, spec = entry
            if kind == _SECTION:
                return (_BLOCK, path, spec, "")
            assert spec is not None  # a leaf always has its spec
            return (_WHOLE if _mapping_field(spec) else _PLAIN, path, spec, self.dotted[upper])
        # APP_FEATURES__NEW_UI -> the dict field "features", key "new_ui": the longest
        # name above it decides (a section or a non-mapping leaf there means no field).
        i = upper.rfind("__")
        while i > len(self.prefix):
            entry = self.names.get(upper[:i])
            if entry is not None:
                kind, path, spec = entry
                if kind == _LEAF and spec is not None and _mapping_field(spec):
                    return (_KEY, path, spec, upper[i + 2 :].lower())
                return _UNKNOWN
            i = upper.rfind("__", 0, i)
        return _UNKNOWN

    def _add(self, schema: Schema, path: tuple[str, ...]) -> None:
        for spec in schema.fields.values():
            here = (*path, spec.name)
            name = self.prefix + "__".join(here).upper()
            kind = _SECTION if spec.nested is not None else _LEAF
            self._claim(name, (kind, here, spec))
            if kind == _LEAF:
                self.by_path[".".join(here)] = name
                self.dotted[name] = ".".join(here)
            if spec.info.env:
                taken = self.exact.get(spec.info.env)
                other = taken[0] if taken else self.names.get(spec.info.env.upper(), (0, None))[1]
                if other is not None and other != here:  # not its own prefixed name
                    raise SchemaError(
                        f"fields {'.'.join(other)!r} and {'.'.join(here)!r} both map to the "
                        f"environment variable {spec.info.env}; rename one or change its env="
                    )
                self.exact[spec.info.env] = (here, spec)
                self.by_path.setdefault(".".join(here), spec.info.env)
            if spec.nested is not None:
                self._add(schema_of(spec.nested), here)

    def _claim(self, name: str, entry: tuple[int, tuple[str, ...], FieldSpec | None]) -> None:
        found = self.names.get(name)
        if found is None:  # an exact env= name declared earlier, spelled in another case
            found = next(((0, p, s) for e, (p, s) in self.exact.items() if e.upper() == name), None)
        if found is not None:
            raise SchemaError(
                f"fields {'.'.join(found[1])!r} and {'.'.join(entry[1])!r} both map to the "
                f"environment variable {name}; rename one or give it vein.field(env=...)"
            )
        self.names[name] = entry


#: The last scan of ``os.environ`` per (upper-cased) prefix: the names it had, and the
#: ``(undecoded, decoded)`` names that matched.
_scans: dict[str, tuple[frozenset[bytes], tuple[tuple[bytes, str], ...]]] = {}


def _scan(
    data: dict[bytes, bytes], pfx: str, enc: str
) -> tuple[frozenset[bytes], tuple[tuple[bytes, str], ...]]:
    bpfx = os.fsencode(pfx)
    n = len(bpfx)
    # The first byte, checked in both cases, rejects nearly all unrelated names cheaply.
    first = (bpfx[:1], bpfx[:1].lower())
    keys = list(data)  # in the environment's order, which the reading keeps
    matched = tuple(
        (k, k.decode(enc, "surrogateescape"))
        for k in keys
        if k[:1] in first and k[:n].upper() == bpfx
    )
    if len(_scans) >= 64:  # prefixes made up in a loop
        _scans.clear()
    scan = _scans[pfx] = (frozenset(keys), matched)
    return scan


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = value


class EnvSource:
    """Environment variables under a prefix, as one layer (named ``env <prefix>``)."""

    kind = "env"

    def __init__(
        self,
        prefix: str = "",
        *,
        environ: Mapping[str, str] | None = None,
        empty: EmptyPolicy = "unset",
        warn_unknown: bool = True,
    ) -> None:
        if empty not in ("unset", "keep", "error"):
            raise ValueError(f"empty must be 'unset', 'keep' or 'error', not {empty!r}")
        self.prefix = prefix
        self.environ = environ
        self.empty = empty
        self.warn_unknown = warn_unknown
        #: Without a prefix, unknown names are not warned about (the environment is full of
        #: unrelated variables), except those a prefix would make a field's name, when the
        #: variables come from a file written for this application (``from_dotenv``).
        self.suggest_prefix = False
        self.key = f"env:{prefix}"
        self.warnings: list[str] = []
        self._last: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"from_env({self.prefix!r})"

    def name_of(self, var: str) -> str:
        """How messages name a variable (a ``.env`` source says where it is)."""
        return f"environment variable {var}"

    # -- scanning ------------------------------------------------------------------------

    def _prefixed(self) -> dict[str, str]:
        """Every variable whose name starts with the prefix (case-insensitively)."""
        env = self.environ if self.environ is not None else os.environ
        pfx = self.prefix.upper()
        n = len(pfx)
        data = getattr(env, "_data", None)
        if env is os.environ and isinstance(data, dict) and os.name == "posix":
            # The undecoded keys: decoding every variable is most of the cost.
            enc = sys.getfilesystemencoding()
            if not n:
                out = {}
                for k, v in data.items():
                    out[k.decode(enc, "surrogateescape")] = v.decode(enc, "surrogateescape")
                return out
            # Which names match depends on the names alone, and they seldom change: while
            # they are the same (a set comparison, in C), the last scan's matches are the
            # matches, and only their values are read again.
            scan = _scans.get(pfx)
            if scan is None or data.keys() != scan[0]:
                scan = _scan(data, pfx, enc)
            out = {}
            for k, var in scan[1]:
                v = data.get(k)
                if v is not None:  # deleted by another thread meanwhile
                    out[var] = v.decode(enc, "surrogateescape")
            return out
        return {k: v for k, v in env.items() if k[:n].upper() == pfx}

    def changed(self) -> bool:
        return self._last != self._prefixed()

    def read(self, schema: Schema | None) -> Document:
        found = self._prefixed()
        self._last = found
        if schema is None or schema.open:
            return self._schemaless(found)
        emap: EnvMap | None = schema._env_maps.get(self.prefix)
        if emap is None:
            emap = schema._env_maps[self.prefix] = EnvMap(schema, self.prefix)
        data: dict[str, Any] = {}
        leaves: dict[str, tuple[Any, Provenance]] = {}
        where: dict[tuple[str, ...], str] = {}
        self.warnings = []
        errors: list[tuple[str, str]] = []
        patches: set[tuple[str, ...]] = set()
        patch_vars: dict[tuple[str, ...], str] = {}  # a dict set key by key -> a variable
        whole: dict[tuple[str, ...], str] = {}  # a whole dict (or section) by one variable
        layer = self.key
        meanings, resolve = emap._meanings, emap.resolve
        holders: dict[tuple[str, ...], dict[str, Any]] = {}  # dict fields set key by key
        for var, value in found.items():
            kind, path, spec, key = meanings.get(var) or resolve(var)
            if kind == _PLAIN:
                # Most variables: a plain leaf, straight to the flat result (no nested dict
                # to build and walk again).
                if path in where and where[path] != var:
                    errors.append((var, f"both {where[path]} and {var} are set; remove one"))
                    continue
                if value == "":
                    if not self._keep(var, value, spec, errors):
                        continue
                    value = self._text(value, spec)
                leaves[key] = (value, env_provenance(var, layer))
                where[path] = var
                continue
            if kind == _NONE:
                if self.warn_unknown and var not in emap.exact:
                    if emap.prefix:
                        self._unknown(var, emap)
                    elif self.suggest_prefix:
                        self._unprefixed(var, emap)
                continue
            if kind == _KEY:
                if value == "" and not self._keep(var, value, spec, errors):
                    continue
                # The dict itself, or a section above it, given whole (JSON) as well: which
                # one was meant is not vein's to guess (the result would hang on the order).
                owner = (
                    next(
                        (whole[path[:i]] for i in range(len(path), 0, -1) if path[:i] in whole),
                        None,
                    )
                    if whole  # sections and dicts given whole (JSON) only
                    else None
                )
                if owner is not None:
                    errors.append((var, f"both {owner} and {var} are set; remove one"))
                    continue
                holder = holders.get(path)
                if holder is None:
                    holder = _get_dict(data, path)
                    if holder is None:
                        continue
                    holders[path] = holder
                holder[key] = value
                where[(*path, key)] = var
                where.setdefault(path, var)
                patches.add(path)
                patch_vars.setdefault(path, var)
                continue
            # A section or a dict given whole (JSON): nothing below it key by key as well.
            if path in where and where[path] != var:
                errors.append((var, f"both {where[path]} and {var} are set; remove one"))
                continue
            below = (
                next((v for p, v in patch_vars.items() if p[: len(path)] == path), None)
                if patch_vars
                else None
            )
            if below is not None:
                errors.append((var, f"both {below} and {var} are set; remove one"))
                continue
            whole[path] = var
            if not self._keep(var, value, spec, errors):
                continue
            if kind == _BLOCK:
                import json  # not with vein: import time

                try:
                    parsed = json.loads(value)
                except (ValueError, RecursionError):
                    parsed = value  # structuring reports "expected a section"
                existing = _get_nested(data, path)
                if isinstance(parsed, dict) and isinstance(existing, dict):
                    parsed.update(existing)
                _set(data, path, parsed)
            else:
                leaves[key] = (self._text(value, spec), env_provenance(var, layer))
            where[path] = var
        env = self.environ if self.environ is not None else os.environ
        for exact, (path, spec) in emap.exact.items():
            exact_value = env.get(exact)
            if exact_value is None or not self._keep(exact, exact_value, spec, errors):
                continue
            leaves[".".join(path)] = (
                self._text(exact_value, spec),
                Provenance("env", exact, layer=layer),
            )
            where[path] = exact

        def locate(path: tuple[str, ...]) -> Provenance:
            var = where.get(path)
            if var is None:
                for i in range(len(path) - 1, 0, -1):
                    var = where.get(path[:i])
                    if var is not None:
                        break
            return Provenance("env", var or (emap.prefix + "__".join(path).upper()), layer=layer)

        if errors:
            from ..errors import ErrorEntry, ValidationError

            def path_of(var: str) -> str:
                kind, path, _spec, _key = emap.resolve(var)
                if kind == _NONE:
                    exact = emap.exact.get(var)
                    return ".".join(exact[0]) if exact else ""
                return ".".join(path)

            raise ValidationError(
                [ErrorEntry(path_of(var), msg, env_provenance(var, layer)) for var, msg in errors]
            )

        def env_name(path: str) -> str | None:
            return emap.by_path.get(path)

        return Document(
            data,
            locate,
            layer,
            strict=True,
            env_name=env_name,
            leaves=leaves,
            patches=frozenset(patches),
        )

    def _keep(
        self, var: str, value: str, spec: FieldSpec | None, errors: list[tuple[str, str]]
    ) -> bool:
        if value != "":
            return True
        if self.empty == "unset":
            return False
        if self.empty == "error":
            errors.append((var, f"{var} is set but empty"))
            return False
        return True

    def _text(self, value: str, spec: FieldSpec | None) -> Any:
        if value == "" and spec is not None and spec.type is not str:
            return Plain("")  # "keep": an empty value is a null for every non-text field
        return value

    def _unprefixed(self, var: str, emap: EnvMap) -> None:
        """No prefix given, and *var* is a field's name after some ``X_``: say so."""
        upper = var.upper()
        i = upper.find("_")
        while 0 < i < len(upper) - 1:
            if upper[i + 1 :] in emap.names:
                prefix = var[: i + 1]
                self._warn(
                    f"{self.name_of(var)} matches no field; it was ignored (with the prefix "
                    f"{prefix!r} it would set {'.'.join(emap.names[upper[i + 1 :]][1])!r}: "
                    f"give the prefix, e.g. from_dotenv(path, {prefix!r}))"
                )
                return
            i = upper.find("_", i + 1)

    def _unknown(self, var: str, emap: EnvMap) -> None:
        prefix = emap.prefix
        hint = ""
        if prefix and not prefix.endswith("_") and var[len(prefix) : len(prefix) + 1] == "_":
            # from_env("APP") with APP_TIMEOUT: the prefix lacks its separator.
            hint = f" (did you mean the prefix {prefix + '_'!r}? the prefix is matched as given)"
        if not hint:
            hint = did_you_mean(var.upper(), list(emap.names))
        self._warn(f"{self.name_of(var)} matches no field{hint}; it was ignored")

    def _warn(self, msg: str) -> None:
        self.warnings.append(msg)
        import logging  # here, not with vein: most processes never log anything

        logger = logging.getLogger("vein")
        if logger.hasHandlers():
            # Only where logging is set up: with no handler at all, Python's last-resort
            # handler would print the message a second time beside the warning.
            logger.warning("%s", msg)
        warnings.warn(msg, VeinWarning, stacklevel=_caller_level())

    def _schemaless(self, found: dict[str, str]) -> Document:
        pfx_len = len(self.prefix)
        data: dict[str, Any] = {}
        where: dict[tuple[str, ...], str] = {}
        sections: dict[tuple[str, ...], str] = {}  # a path made a section -> by which variable
        clashes: list[ErrorEntry] = []
        for var, value in sorted(found.items()):
            rest = var[pfx_len:]
            if not rest or (value == "" and self.empty == "unset"):
                continue
            path = tuple(p for p in rest.lower().split("__"))
            if any(not p for p in path):
                continue
            # APP_NEW=012 with APP_NEW__DEEP=1: 'new' cannot be a value and a section at
            # once, and which one was meant is not vein's to guess (nor is APP_X vs APP_x).
            other = where.get(path) or sections.get(path)
            if other is None:
                other = next(
                    (where[path[:i]] for i in range(1, len(path)) if path[:i] in where), None
                )
            if other is not None:
                clashes.append(
                    ErrorEntry(
                        ".".join(path),
                        f"set by both {other} and {var}; unset one of them",
                        Provenance("env", var, layer=self.key),
                    )
                )
                continue
            _set(data, path, value)
            where[path] = var
            for i in range(1, len(path)):
                sections.setdefault(path[:i], var)
        if clashes:
            raise SourceError(
                "environment variables that set the same key (one as a value, one as a "
                "section, or in two spellings)",
                source=f"env {self.prefix}",
                errors=clashes,
            )
        layer = self.key

        def locate(path: tuple[str, ...]) -> Provenance:
            return Provenance(
                "env", where.get(path) or self.prefix + "__".join(path).upper(), layer=layer
            )

        return Document(data, locate, layer, strict=False, text=True)


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside vein."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("vein"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _get_nested(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _get_dict(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    existing = _get_nested(data, path)
    if existing is None:
        _set(data, path, {})
        existing = _get_nested(data, path)
    elif isinstance(existing, str):
        import json

        try:
            parsed = json.loads(existing)
        except (ValueError, RecursionError):
            return None
        if not isinstance(parsed, dict):
            return None
        _set(data, path, parsed)
        existing = parsed
    return existing if isinstance(existing, dict) else None


def _mapping_field(spec: FieldSpec) -> bool:
    """Does *spec* hold a mapping (a dict field: set whole, or key by key)?

    Asked only while a name's meaning is worked out (``EnvMap.resolve`` remembers it).
    """
    from typing import get_origin

    tp = spec.type
    origin = get_origin(tp) or tp
    return origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping))


def from_env(
    prefix: str = "",
    *,
    environ: Mapping[str, str] | None = None,
    empty: EmptyPolicy = "unset",
    warn_unknown: bool = True,
) -> EnvSource:
    """Environment variables as a layer.

    *prefix*: only variables starting with it (case-insensitively); ``APP_`` with a field
    ``database.host`` reads ``APP_DATABASE__HOST``.
    *environ*: read this mapping instead of ``os.environ`` (tests).
    *empty*: an empty variable is ``"unset"`` (ignored, the default), ``"keep"`` (a value:
    ``""`` for text fields, null for the others) or ``"error"``.
    *warn_unknown*: warn about prefixed variables that match no field.
    """
    return EnvSource(prefix, environ=environ, empty=empty, warn_unknown=warn_unknown)
