"""The ``vein`` command line: ``show``, ``check`` and ``schema`` of a configuration.

Layout, so that more subcommands slot in without touching the others: each subcommand is
a ``_setup_<name>(subparsers)`` function that declares its parser and sets ``run`` to a
``cmd_<name>(args) -> exit code`` function, and is listed in :data:`COMMANDS`.  The shared
pieces -- the source options (:func:`add_source_options` / :func:`make_sources`), the
TARGET loader (:func:`load_target`), loading with every problem and warning collected
(:func:`resolve`) and the problem report (:func:`render_problems`) -- are plain functions a
new command reuses.

Exit codes: 0 good, 1 the configuration is not valid (or cannot be read), 2 usage error
(bad option, bad TARGET, import failure), 130 interrupted (Ctrl-C).  Output is written for
the person fixing the configuration; secret values are never printed unless
``--show-secrets`` asks for them.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import enum
import importlib
import importlib.util
import inspect
import json
import logging
import math
import os
import re
import sys
import traceback
import types
import typing
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, Final, Literal, TextIO, Union, get_args, get_origin

import attr
import attrs

from .errors import SourceError, ValidationError, VeinError, VeinWarning
from .flow.dump import REDACTED, plain
from .flow.schema import did_you_mean, is_flow_class, schema_of

__all__ = [
    "COMMANDS",
    "Leaf",
    "Outcome",
    "Problem",
    "UsageError",
    "add_source_options",
    "build_parser",
    "json_schema",
    "leaves_of",
    "load_target",
    "main",
    "make_sources",
    "render_problems",
    "resolve",
]

EXIT_OK: Final = 0
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

JSON_SCHEMA_DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"


class UsageError(Exception):
    """The command was called wrongly (bad TARGET, unusable option): exit code 2."""


# --- TARGET ------------------------------------------------------------------------------

TARGET_HELP: Final = (
    "the schema: module:Class (imported from the current directory or sys.path) or "
    "path/to/file.py:Class"
)
TARGET_OPTIONAL_HELP: Final = TARGET_HELP + " (default: the schema-less config)"


def load_target(target: str) -> type:
    """Import the flow class named by *target* (``module:Class`` or ``file.py:Class``).

    Every failure is a :class:`UsageError` with a message that says what to fix.
    """
    where, sep, attr = target.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(
            f"TARGET {target!r} must be module:Class or path/to/file.py:Class "
            "(for example app:Settings)"
        )
    if where.endswith(".py") or "/" in where or os.sep in where:
        module = _import_file(Path(where))
    else:
        module = _import_module(where)
    obj: Any = module
    for part in attr.split("."):
        found = getattr(obj, part, None)
        if found is None:
            choices = _flow_classes(module)
            hint = did_you_mean(part, choices)
            listing = f"; flow classes there: {', '.join(choices)}" if choices and not hint else ""
            raise UsageError(f"{where} has no {attr!r}{hint}{listing}")
        obj = found
    if not isinstance(obj, type):
        raise UsageError(f"{target} is a {type(obj).__name__}, not a class")
    if not is_flow_class(obj):
        what = "an attrs class" if attrs.has(obj) else "a plain class"
        raise UsageError(f"{target} is {what}, not a vein flow class: decorate it with @vein.flow")
    return obj


def _flow_classes(module: Any) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and is_flow_class(value) and not name.startswith("_")
    )


def _import_module(name: str) -> Any:
    # The console script does not put the working directory on sys.path (python -m
    # does); a user running `vein show app:Settings` next to app.py expects it found.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise UsageError(
                f"no module named {name!r} (run vein from the directory that contains it, "
                "or give TARGET as path/to/file.py:Class)"
            ) from None
        raise UsageError(_import_failure(name, exc)) from None
    except Exception as exc:
        raise UsageError(_import_failure(name, exc)) from None


def _import_file(path: Path) -> Any:
    if not path.exists():
        raise UsageError(f"file not found: {path}")
    if not path.is_file():
        raise UsageError(f"not a Python file: {path}")
    resolved = path.resolve()
    # Sibling imports (``from .models import ...`` aside) work as if the file were run.
    directory = str(resolved.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = resolved.stem
    existing = sys.modules.get(name)
    if existing is not None:
        file = getattr(existing, "__file__", None)
        if file is not None and Path(file).resolve() == resolved:
            return existing
    if existing is not None or not name.isidentifier():
        # Never shadow a module already imported under that name (``json.py``, ``vein.py``).
        name = "_vein_target_" + re.sub(r"\W", "_", name)
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered before running: attrs and typing resolve annotations through sys.modules.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if isinstance(exc, Exception):
            raise UsageError(_import_failure(str(path), exc)) from None
        raise
    return module


_INTERNAL_DIRS: Final = tuple(
    str(Path(file).resolve().parent) + os.sep
    for file in (attr.__file__, attrs.__file__, importlib.__file__, __file__)
    if file is not None
)


def _import_failure(what: str, exc: BaseException) -> str:
    """A one-paragraph message for an exception raised while importing the user's module."""
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else what
        return f"cannot import {what}: syntax error at {where}: {exc.msg}"
    where = ""
    # Point at the user's line, not at attrs' or vein's internals.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        fname = str(Path(frame.filename).resolve()) if not frame.filename.startswith("<") else ""
        if fname and not fname.startswith(_INTERNAL_DIRS):
            where = f" (at {frame.filename}:{frame.lineno})"
            break
    return f"cannot import {what}: {type(exc).__name__}: {exc}{where}"


# --- sources -----------------------------------------------------------------------------

SOURCE_KINDS: Final = ("yaml", "json", "toml", "env", "dotenv", "appconfig")


class _SourceAction(argparse.Action):
    """Appends ``(kind, value)`` to one shared list, so the order across kinds is kept."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        found: list[tuple[str, str]] = list(getattr(namespace, "sources", None) or [])
        found.append((str(self.const), str(values)))
        namespace.sources = found


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """The source options of ``show``/``check`` (and any command that loads sources)."""
    group = parser.add_argument_group(
        "sources",
        "Applied in the order given on the command line; a later source overrides an "
        "earlier one. Each option may be repeated.",
    )
    group.set_defaults(sources=[])
    for kind in ("yaml", "json", "toml"):
        group.add_argument(
            f"--{kind}",
            metavar="FILE",
            action=_SourceAction,
            const=kind,
            help=f"a {kind.upper()} file",
        )
    group.add_argument(
        "--env",
        metavar="PREFIX",
        action=_SourceAction,
        const="env",
        help="environment variables starting with PREFIX (APP_ reads APP_DATABASE__HOST "
        "for database.host); --env '' reads them without a prefix",
    )
    group.add_argument(
        "--dotenv",
        metavar="FILE",
        action=_SourceAction,
        const="dotenv",
        help="a .env file, its variables read like the environment's, with the PREFIX of "
        "the last --env given (none without --env): --dotenv .env --env APP_",
    )
    group.add_argument(
        "--appconfig",
        metavar="APP/ENV[/PROFILE]",
        action=_SourceAction,
        const="appconfig",
        help="an AWS AppConfig configuration profile (profile 'default' when omitted)",
    )


def make_sources(specs: Sequence[tuple[str, str]]) -> list[Any]:
    """vein sources for the ``(kind, value)`` pairs collected by :func:`add_source_options`."""
    from . import sources as _sources

    out: list[Any] = []
    # A .env file holds the same names as the environment: it takes --env's prefix.
    prefixes = [value for kind, value in specs if kind == "env"]
    for kind, value in specs:
        if kind == "yaml":
            out.append(_sources.from_yaml(value))
        elif kind == "json":
            out.append(_sources.from_json(value))
        elif kind == "toml":
            out.append(_sources.from_toml(value))
        elif kind == "env":
            out.append(_sources.from_env(value))
        elif kind == "dotenv":
            out.append(_sources.from_dotenv(value, prefixes[-1] if prefixes else ""))
        elif kind == "appconfig":
            out.append(_appconfig(value))
        else:  # pragma: no cover - the parser only produces the kinds above
            raise UsageError(f"unknown source kind {kind!r}")
    return out


def _appconfig(value: str) -> Any:
    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"--appconfig {value!r}: expected APPLICATION/ENVIRONMENT[/PROFILE]")
    try:
        module = importlib.import_module("vein.sources.appconfig")
    except ModuleNotFoundError as exc:
        if exc.name != "vein.sources.appconfig":
            raise UsageError(f"--appconfig: {exc} (install vein[aws])") from None
        raise UsageError(
            "--appconfig: AWS AppConfig is not available yet in this version of vein"
        ) from None
    return module.from_appconfig(*parts)


def _source_label(source: Any) -> str:
    """How a person names a source in a summary: ``config.yml``, ``env APP_*``."""
    from .sources.base import FileSource
    from .sources.env import EnvSource

    if isinstance(source, FileSource):
        return source.display
    if isinstance(source, EnvSource):
        return f"env {source.prefix}*" if source.prefix else "env"
    return str(getattr(source, "key", source))


# --- loading, with every problem and warning collected -----------------------------------


@attrs.frozen
class Problem:
    """One thing wrong with the configuration: what (*message*), at which field (*path*),
    and where the bad value is (*where*: ``config.yml:4:3``, ``env APP_PORT``)."""

    message: str
    path: str = ""
    where: str | None = None
    # A source that could not be read is "in" a place; a rejected value came "from" one.
    unreadable: bool = False

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.where:
            text += f" ({'in' if self.unreadable else 'from'} {self.where})"
        return text


def problems_of(exc: VeinError) -> list[Problem]:
    """Every problem an exception of vein carries (secret values are already masked)."""
    if isinstance(exc, ValidationError):
        return [
            Problem(e.message, e.path, str(e.source) if e.source is not None else None)
            for e in exc.errors
        ]
    if isinstance(exc, SourceError):
        where = exc.source
        if where is not None and exc.line is not None:
            where += f":{exc.line}" + (f":{exc.column}" if exc.column is not None else "")
        found = [Problem(exc.message, "", where, unreadable=True)]
        found.extend(
            Problem(e.message, e.path, str(e.source) if e.source is not None else where, True)
            for e in exc.errors
        )
        return found
    return [Problem(str(exc))]


class _LogCollector(logging.Handler):
    """Takes vein's log records while a command runs (they are reported, not printed raw)."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


class _Capture:
    """Collects :class:`vein.VeinWarning` warnings and vein's log records; others pass."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._handler = _LogCollector(self.messages)
        self._catcher = warnings.catch_warnings(record=True)
        self._caught: list[warnings.WarningMessage] = []

    def __enter__(self) -> _Capture:
        logging.getLogger("vein").addHandler(self._handler)
        self._caught = self._catcher.__enter__() or []
        warnings.simplefilter("always", VeinWarning)
        return self

    def __exit__(self, *exc: object) -> None:
        self._catcher.__exit__(None, None, None)
        logging.getLogger("vein").removeHandler(self._handler)
        for w in self._caught:
            if issubclass(w.category, VeinWarning):
                self.messages.append(str(w.message))
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


@attrs.define
class Outcome:
    """The result of loading TARGET from the sources: the object, or the problems."""

    label: str  # how the command names what it loaded ("app:Settings")
    sources: list[Any]
    obj: Any = None
    problems: list[Problem] = attrs.Factory(list)
    warnings: list[str] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _schemaless_class() -> type:
    from .flow.config import Config  # the schema-less config (SPEC §6)

    return Config


def resolve(target: str | None, source_specs: Sequence[tuple[str, str]]) -> Outcome:
    """Load *target* (``None``: the schema-less config) from the sources, atomically.

    Raises :class:`UsageError` for a bad TARGET or option; a configuration that cannot be
    read or is not valid comes back as an :class:`Outcome` listing *every* problem.
    """
    cls = load_target(target) if target else _schemaless_class()
    sources = make_sources(source_specs)
    outcome = Outcome(target or "the configuration", sources)
    with _Capture() as capture:
        try:
            outcome.obj = _load(cls, sources, target is None)
        except _Invalid as exc:
            outcome.problems = exc.problems
        except VeinError as exc:
            outcome.problems = problems_of(exc)
        except (ValueError, TypeError) as exc:
            # Raised by the user's own class (``__attrs_post_init__``, a converter).
            outcome.problems = [Problem(f"{outcome.label} rejected the values: {exc}")]
    found = list(capture.messages)
    for source in sources:  # env and .env sources keep their unknown-name warnings
        found.extend(getattr(source, "warnings", ()))
    outcome.warnings = list(dict.fromkeys(found))  # each once, in order
    return outcome


class _Invalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def _load(cls: type, sources: list[Any], schemaless: bool) -> Any:
    from .flow.layers import load
    from .sources.base import FileSource

    # Read every file first, so that two broken files are both reported in one run; the
    # sources cache what they parsed, so the load below does not parse them again.
    schema = None if schemaless else schema_of(cls)
    problems: list[Problem] = []
    for source in sources:
        if isinstance(source, FileSource):
            try:
                source.read(schema)
            except SourceError as exc:
                problems.extend(problems_of(exc))
    if problems:
        raise _Invalid(problems)
    if schemaless:
        obj = cls()
        obj.update(*sources)
        return obj
    return load(cls, sources)


def render_problems(outcome: Outcome, headline: str, out: TextIO) -> None:
    """The report of an invalid configuration: every problem, then the warnings."""
    n = len(outcome.problems)
    out.write(f"{headline}: {n} problem{'s' if n != 1 else ''}\n")
    for p in outcome.problems:
        out.write(f"  {p.path}: {p.message}\n" if p.path else f"  {p.message}\n")
        if p.where:
            out.write(f"      {'in' if p.unreadable else 'from'} {p.where}\n")
    render_warnings(outcome, out)


def render_warnings(outcome: Outcome, out: TextIO) -> None:
    for message in outcome.warnings:
        out.write(f"warning: {message}\n")


# --- leaves ------------------------------------------------------------------------------


@attrs.frozen
class Leaf:
    """One value of a loaded configuration, ready to print."""

    path: str  # the dotted attribute path, as ``explain`` and error messages name it
    keys: tuple[str, ...]  # the keys that lead to it in a file (``vein.field(key=...)``)
    value: Any  # plain data; ``'***'`` for a hidden secret
    source: str  # ``str(obj.explain(path))``
    secret: bool = False
    doc: str | None = None
    hidden: bool = False  # *value* is the mask, not the secret


def _explain(obj: Any, path: str) -> str:
    try:
        return str(obj.explain(path))
    except (ValueError, AttributeError, KeyError):
        return "?"


def leaves_of(obj: Any, *, show_secrets: bool = False) -> list[Leaf]:
    """Every leaf of a loaded flow object, with its value and where it came from."""
    schema = schema_of(type(obj))
    if schema.dynamic and not schema.fields:
        return _dynamic_leaves(obj, show_secrets)
    out: list[Leaf] = []
    _walk(obj, obj, "", (), show=show_secrets, out=out)
    return out


def _walk(
    root: Any, obj: Any, prefix: str, keys: tuple[str, ...], *, show: bool, out: list[Leaf]
) -> None:
    schema = schema_of(type(obj))
    for name, spec in schema.fields.items():
        path, here = prefix + name, (*keys, spec.key)
        value = getattr(obj, name, None)
        if spec.nested is not None and value is not None:
            _walk(root, value, path + ".", here, show=show, out=out)
            continue
        hide = spec.secret and not show and value is not None and value != ""
        # plain(redact=): secret fields of flow objects inside lists and dicts are masked.
        data = REDACTED if hide else plain(value, not show)
        source = _explain(root, path)
        out.append(Leaf(path, here, data, source, spec.secret, spec.info.doc, hide))
    if schema.dynamic:
        for name, value in getattr(obj, "__dict__", {}).items():
            if name.startswith("_") or name in schema.fields:
                continue
            path = prefix + name
            out.append(Leaf(path, (*keys, name), plain(value, not show), _explain(root, path)))


def _dynamic_leaves(obj: Any, show_secrets: bool) -> list[Leaf]:
    """Leaves of a schema-less object (``vein.Config``): walk its plain data.

    The config knows which of its keys are secret (by name, or ``config.secret(...)``):
    its ``to_dict(redact=True)`` masks them, and a leaf that differs there is one.
    """
    to_dict = getattr(obj, "to_dict", None)
    if not callable(to_dict):
        return []
    raw: Any = to_dict()
    masked: Any = to_dict(redact=True)
    out: list[Leaf] = []

    def walk(node: Mapping[Any, Any], mask: Any, keys: tuple[str, ...]) -> None:
        for key, value in node.items():
            here = (*keys, str(key))
            hidden_value = mask.get(key) if isinstance(mask, Mapping) else None
            if isinstance(value, Mapping) and value:
                walk(value, hidden_value, here)
                continue
            path = ".".join(here)
            secret = hidden_value != value
            hide = secret and not show_secrets
            shown = hidden_value if hide else value
            out.append(Leaf(path, here, shown, _explain(obj, path), secret, None, hide))

    if isinstance(raw, Mapping):
        walk(raw, masked, ())
    return out


# --- rendering values --------------------------------------------------------------------

_YAML_WORDS: Final = frozenset(
    ("", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", ".nan")
)
_PLAIN_TEXT: Final = re.compile(r"[^\s\"'\[\]{}#&*!|>%@`,?:-][^\n\r\t]*\Z")


def display_value(value: Any) -> str:
    """A value as one line of text for the table.

    Text is shown as is when it cannot be mistaken for another type; otherwise (empty,
    surrounding spaces, ``007``, ``true``, ``null``...) it is shown quoted, like JSON.
    Numbers, booleans (``true``/``false``), ``null``, lists and mappings are shown as JSON.
    """
    if isinstance(value, str):
        if (
            _PLAIN_TEXT.match(value)
            and value == value.strip()
            and value.lower() not in _YAML_WORDS
            and not _is_number(value)
        ):
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_number(text: str) -> bool:
    try:
        float(text.replace("_", "x"))  # "1_000" is text, not a number, to Python's float
    except ValueError:
        return text.lower().startswith(("0x", "0o", "0b"))
    return True


def _yaml_value(value: Any) -> str:
    """One value in YAML flow style, on one line."""
    import yaml

    if isinstance(value, str) and not value.isprintable():
        return json.dumps(value, ensure_ascii=False)  # a JSON string is valid YAML
    text: str = yaml.safe_dump(
        value, default_flow_style=True, width=2**31 - 1, allow_unicode=True, sort_keys=False
    )
    # A scalar is dumped as a document of its own, closed by "...".
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    if "\n" in text:
        return json.dumps(value, ensure_ascii=False, default=str)
    return text


def _nest(leaves: Sequence[Leaf]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for leaf in leaves:
        node = data
        for key in leaf.keys[:-1]:
            node = node.setdefault(key, {})
        node[leaf.keys[-1]] = leaf.value
    return data


def render_table(leaves: Sequence[Leaf], out: TextIO) -> None:
    rows = [("PATH", "VALUE", "SOURCE")]
    rows.extend(
        (leaf.path, REDACTED if leaf.hidden else display_value(leaf.value), leaf.source)
        for leaf in leaves
    )
    w_path = max(len(r[0]) for r in rows)
    # A very long value (a big list) is let overflow its column rather than push every
    # source far to the right.
    w_value = max(len(r[1]) for r in rows if len(r[1]) <= 40)
    for path, value, source in rows:
        out.write(f"{path:<{w_path}}  {value:<{w_value}}  {source}".rstrip() + "\n")


def render_yaml(leaves: Sequence[Leaf], out: TextIO) -> None:
    """Nested YAML; each value ends with a comment naming its source."""
    lines: list[tuple[str, str | None]] = []
    done: set[tuple[str, ...]] = set()
    for leaf in leaves:
        for depth in range(len(leaf.keys) - 1):
            section = leaf.keys[: depth + 1]
            if section not in done:
                done.add(section)
                lines.append((f"{'  ' * depth}{_yaml_value(section[-1])}:", None))
        depth = len(leaf.keys) - 1
        text = f"{'  ' * depth}{_yaml_value(leaf.keys[-1])}: {_yaml_value(leaf.value)}"
        lines.append((text, leaf.source))
    width = max((len(t) for t, c in lines if c is not None and len(t) <= 60), default=0)
    for text, comment in lines:
        out.write(f"{text:<{width}}  # {comment}\n" if comment is not None else text + "\n")


def render_json(leaves: Sequence[Leaf], out: TextIO) -> None:
    """``{"values": nested data, "sources": {"dotted.key": "where"}}``."""
    doc = {
        "values": _nest(leaves),
        "sources": {".".join(leaf.keys): leaf.source for leaf in leaves},
    }
    json.dump(doc, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")


RENDERERS: Final[dict[str, Callable[[Sequence[Leaf], TextIO], None]]] = {
    "table": render_table,
    "yaml": render_yaml,
    "json": render_json,
}


# --- JSON Schema -------------------------------------------------------------------------


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a flow class, for editors' completion.

    Nested flow classes are nested objects; fields are named by their key in files; a
    field without a default is ``required``; undeclared keys are not allowed (except in
    dynamic classes); ``description`` comes from ``vein.field(doc=...)``; a secret's
    default is never written (secrets are marked ``writeOnly``).  attrs' number, length,
    ``in_`` and regex validators become ``minimum``/``maximum``/``minLength``/``enum``/
    ``pattern``.
    """
    out: dict[str, Any] = {"$schema": JSON_SCHEMA_DRAFT, "title": cls.__name__}
    out.update(_object_schema(cls, ()))
    return out


def _class_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if doc is None:
        for base in cls.__mro__[1:]:
            if base.__name__ == cls.__name__ and base.__module__ == cls.__module__:
                doc = base.__dict__.get("__doc__")  # the user's class behind @vein.flow
                break
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _object_schema(cls: type, stack: tuple[type, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object"}
    doc = _class_doc(cls)
    if doc:
        out["description"] = doc
    if cls in stack:  # a class that contains itself: stop, do not recurse forever
        return out
    stack = (*stack, cls)
    if not is_flow_class(cls):
        fields = attrs.fields(cls) if attrs.has(cls) else ()
        out["properties"] = {a.name: _type_schema(a.type, stack) for a in fields}
        required = [a.name for a in fields if a.default is attrs.NOTHING]
        if required:
            out["required"] = required
        out["additionalProperties"] = False
        return out
    schema = schema_of(cls)
    properties: dict[str, Any] = {}
    required = []
    for spec in schema.fields.values():
        if spec.nested is not None:
            prop = _object_schema(spec.nested, stack)
            needed = bool(prop.get("required"))
        else:
            prop = _type_schema(spec.type, stack)
            prop.update(_constraints(spec.attribute.validator, prop))
            needed = spec.required
            if not spec.required and not spec.secret:
                default = _json_default(spec)
                if default is not _NO_DEFAULT:
                    prop["default"] = default
        if spec.info.doc:
            # The field's own doc wins over its class's docstring, and comes first.
            prop.pop("description", None)
            prop = {"description": inspect.cleandoc(spec.info.doc), **prop}
        if spec.secret:
            prop["writeOnly"] = True
        properties[spec.key] = prop
        if needed:
            required.append(spec.key)
    out["properties"] = properties
    if required:
        out["required"] = required
    out["additionalProperties"] = schema.dynamic
    return out


_NO_DEFAULT: Final = object()


def _json_default(spec: Any) -> Any:
    default = spec.attribute.default
    if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
        return _NO_DEFAULT  # depends on the instance: no single default to show
    try:
        value = plain(spec.default_value(None))
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return _NO_DEFAULT
    return value


_SIMPLE: Final[dict[Any, dict[str, Any]]] = {
    str: {"type": "string"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    type(None): {"type": "null"},
    Decimal: {"type": ["number", "string"]},
    bytes: {"type": "string"},
    _dt.datetime: {"type": "string", "format": "date-time"},
    _dt.date: {"type": "string", "format": "date"},
    _dt.time: {"type": "string", "format": "time"},
}


def _type_schema(tp: Any, stack: tuple[type, ...]) -> dict[str, Any]:
    if tp is Any or tp is object:
        return {}
    if tp is None:
        return {"type": "null"}
    if isinstance(tp, str):
        return {}  # an unresolved forward reference: accept anything
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return _type_schema(supertype, stack)
    if tp in _SIMPLE:
        return dict(_SIMPLE[tp])
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is typing.Annotated:
        return _type_schema(args[0], stack)
    if origin is Literal:
        return _enum_schema([plain(a) for a in args])
    if origin is Union or origin is types.UnionType:
        members = [_type_schema(a, stack) for a in args]
        if all(set(m) == {"type"} and isinstance(m["type"], str) for m in members):
            return {"type": [m["type"] for m in members]}
        return {"anyOf": members}
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return _enum_schema([plain(m.value) for m in tp])
        if issubclass(tp, PurePath):
            return {"type": "string"}
        if attrs.has(tp):
            return _object_schema(tp, stack)
        if issubclass(tp, bool):
            return {"type": "boolean"}
        if issubclass(tp, int):
            return {"type": "integer"}
        if issubclass(tp, float):
            return {"type": "number"}
        if issubclass(tp, str):
            return {"type": "string"}
    container = origin if isinstance(origin, type) else tp if isinstance(tp, type) else None
    if container is not None:
        from collections.abc import Mapping as _Mapping
        from collections.abc import Set as _Set

        if issubclass(container, _Mapping):
            obj: dict[str, Any] = {"type": "object"}
            if len(args) == 2 and args[1] is not Any:
                obj["additionalProperties"] = _type_schema(args[1], stack)
            return obj
        if issubclass(container, tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": _type_schema(args[0], stack)}
            if args:
                return {
                    "type": "array",
                    "prefixItems": [_type_schema(a, stack) for a in args],
                    "items": False,
                    "minItems": len(args),
                }
            return {"type": "array"}
        if issubclass(container, (list, _Set, Sequence)) and not issubclass(container, str):
            arr: dict[str, Any] = {"type": "array"}
            if args:
                item = _type_schema(args[0], stack)
                if item:
                    arr["items"] = item
            if issubclass(container, _Set):
                arr["uniqueItems"] = True
            return arr
    return {}


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": values}
    kinds = {_json_type(v) for v in values}
    if len(kinds) == 1 and None not in kinds:
        out = {"type": kinds.pop(), **out}  # editors complete better knowing the type
    return out


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _validators(validator: Any) -> Iterator[Any]:
    """The validators inside ``and_``, ``optional`` and lists."""
    if validator is None:
        return
    if isinstance(validator, list | tuple):
        for v in validator:
            yield from _validators(v)
        return
    inner = getattr(validator, "_validators", None)
    if isinstance(inner, tuple | list):  # attrs.validators.and_
        for v in inner:
            yield from _validators(v)
        return
    if type(validator).__name__ == "_OptionalValidator":
        yield from _validators(validator.validator)
        return
    yield validator


_BOUNDS: Final = {
    ">=": "minimum",
    ">": "exclusiveMinimum",
    "<=": "maximum",
    "<": "exclusiveMaximum",
}


def _constraints(validator: Any, prop: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema keywords for attrs' own validators (others are not expressible)."""
    out: dict[str, Any] = {}
    kind = prop.get("type")
    for v in _validators(validator):
        name = type(v).__name__
        if name == "_NumberValidator":
            keyword = _BOUNDS.get(getattr(v, "compare_op", ""))
            bound = getattr(v, "bound", None)
            if (
                keyword
                and isinstance(bound, int | float)
                and not isinstance(bound, bool)
                and math.isfinite(bound)
            ):
                out[keyword] = bound
        elif name == "_InValidator" and "enum" not in prop:
            options = getattr(v, "options", None)
            if isinstance(options, list | tuple | set | frozenset):
                values = [plain(o) for o in options]
                try:
                    json.dumps(values)
                except (TypeError, ValueError):
                    continue
                if isinstance(options, set | frozenset):
                    values.sort(key=repr)  # a stable schema from an unordered set
                out["enum"] = values
        elif name == "_MatchesReValidator":
            pattern = getattr(getattr(v, "pattern", None), "pattern", None)
            if isinstance(pattern, str):
                out["pattern"] = pattern
        elif name in ("_MinLengthValidator", "_MaxLengthValidator"):
            lower = name == "_MinLengthValidator"
            n = getattr(v, "min_length" if lower else "max_length", None)
            if not isinstance(n, int):
                continue
            noun = {"array": "Items", "object": "Properties"}.get(str(kind), "Length")
            out[("min" if lower else "max") + noun] = n
    return out


# --- commands ----------------------------------------------------------------------------


def _summary(outcome: Outcome, leaves: Sequence[Leaf]) -> str:
    """``24 values: 6 from config.yml, 2 from env APP_*, 16 defaults``."""
    labels = {getattr(s, "key", None): _source_label(s) for s in outcome.sources}
    counts: dict[str, int] = {}
    defaults = 0
    for leaf in leaves:
        prov = _provenance(outcome.obj, leaf.path)
        layer = getattr(prov, "layer", None)
        if prov is None or getattr(prov, "kind", "default") == "default":
            defaults += 1
            continue
        label = labels.get(layer) or str(getattr(prov, "kind", "?"))
        counts[label] = counts.get(label, 0) + 1
    parts = [f"{n} from {label}" for label, n in counts.items()]
    if defaults:
        parts.append(f"{defaults} default{'s' if defaults != 1 else ''}")
    n = len(leaves)
    return f"{n} value{'s' if n != 1 else ''}" + (": " + ", ".join(parts) if parts else "")


def _provenance(obj: Any, path: str) -> Any:
    try:
        return obj.explain(path)
    except (ValueError, AttributeError, KeyError):
        return None


def cmd_show(args: argparse.Namespace) -> int:
    outcome = resolve(args.target, args.sources)
    if not outcome.ok:
        render_problems(outcome, f"cannot show {outcome.label}", sys.stderr)
        return EXIT_INVALID
    render_warnings(outcome, sys.stderr)
    leaves = leaves_of(outcome.obj, show_secrets=args.show_secrets)
    RENDERERS[args.format](leaves, sys.stdout)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    outcome = resolve(args.target, args.sources)
    out = sys.stdout
    if not outcome.ok:
        render_problems(outcome, f"FAILED {outcome.label}", out)
        return EXIT_INVALID
    render_warnings(outcome, out)
    leaves = leaves_of(outcome.obj)
    n = len(outcome.warnings)
    if args.strict and n:
        out.write(f"FAILED {outcome.label}: {n} warning{'s' if n != 1 else ''} (--strict)\n")
        return EXIT_INVALID
    note = f" ({n} warning{'s' if n != 1 else ''})" if n else ""
    out.write(f"OK {outcome.label}: {_summary(outcome, leaves)}{note}\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    cls = load_target(args.target)
    json.dump(json_schema(cls), sys.stdout, indent=args.indent, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def _setup_show(sub: Any) -> None:
    p = sub.add_parser(
        "show",
        help="print every value of the configuration and where it came from",
        description="Load TARGET from the sources and print every value with its source "
        "(file:line:column, env VARIABLE, or default). Secret values are shown as *** "
        "unless --show-secrets is given.",
        epilog="Formats: 'table' (default) has the columns PATH, VALUE and SOURCE; "
        "'yaml' prints the nested configuration as YAML, each value followed by a "
        "comment naming its source (it loads back as a config file; secrets read *** "
        "unless --show-secrets is given); 'json' "
        'prints {"values": <the nested configuration>, "sources": {"<dotted.key>": '
        '"<source>", ...}}. Exit status: 0 shown, 1 the configuration is not valid, '
        "2 usage error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", nargs="?", metavar="TARGET", help=TARGET_OPTIONAL_HELP)
    add_source_options(p)
    p.add_argument(
        "--format",
        "-f",
        choices=tuple(RENDERERS),
        default="table",
        help="output format (default: table)",
    )
    p.add_argument("--show-secrets", action="store_true", help="print secret values instead of ***")
    p.set_defaults(run=cmd_show)


def _setup_check(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="validate the configuration (exit 0 if valid, 1 if not: for CI)",
        description="Load TARGET from the sources and report every problem at once: the "
        "field, what is wrong and where the bad value came from. Unknown environment "
        "variables under a prefix are reported as warnings.",
        epilog="Exit status: 0 valid, 1 not valid (or a source cannot be read), 2 usage "
        "error (bad TARGET, unknown option, import failure).",
    )
    p.add_argument("target", nargs="?", metavar="TARGET", help=TARGET_OPTIONAL_HELP)
    add_source_options(p)
    p.add_argument("--strict", action="store_true", help="fail (exit 1) on warnings too")
    p.set_defaults(run=cmd_check)


def _setup_schema(sub: Any) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of TARGET (for editors' YAML/JSON completion)",
        description="Print the JSON Schema (draft 2020-12) of TARGET: nested sections as "
        "nested objects, descriptions from vein.field(doc=...), defaults (never a "
        "secret's), required fields, and no unknown keys.",
    )
    p.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    p.add_argument("--indent", type=int, default=2, help="JSON indentation (default: 2)")
    p.set_defaults(run=cmd_schema)


def cmd_convert(args: argparse.Namespace) -> int:
    from .infer import class_name_problem, format_of, infer_schema, read_document

    problem = class_name_problem(args.name)
    if problem is not None:
        raise UsageError(f"--name: {problem}")
    try:
        kind = args.format or format_of(args.file)
    except ValueError as exc:
        raise UsageError(f"{exc}, or give --format") from None
    if args.document is not None and kind != "yaml":
        raise UsageError(f"--document: only YAML files hold several documents, not {kind.upper()}")
    try:
        data = read_document(args.file, format=kind, document=args.document)
    except SourceError as exc:  # exit 1; a multi-document file names this command's option
        if args.document is None and "YAML documents" in exc.message:
            raise SourceError(
                exc.message.partition(";")[0] + "; choose one with --document N (0-based)",
                source=exc.source,
            ) from None
        raise
    try:
        source = infer_schema(data, args.name, source=Path(args.file).name)
    except (TypeError, ValueError) as exc:
        raise SourceError(str(exc), source=args.file) from None
    sys.stdout.write(source)
    if kind == "yaml":
        from .infer import yaml11_differences

        # Code that read this file with yaml.safe_load (YAML 1.1) saw other values here.
        for line in yaml11_differences(args.file, document=args.document):
            sys.stderr.write(f"warning: {line}\n")
    return EXIT_OK


def _setup_convert(sub: Any) -> None:
    p = sub.add_parser(
        "convert",
        help="print @vein.flow classes inferred from a JSON, YAML or TOML document",
        description="Read FILE as the schema-less config does and print the Python source of "
        "@vein.flow classes for it: nested sections become nested classes, keys that are "
        "not Python names keep their key with vein.field(key=...), keys some list items "
        "lack default to vein.MISSING (absent). Loading FILE with the root class and "
        "dumping it with vein.to_dict gives the document back.",
        epilog="Exit status: 0 printed, 1 FILE cannot be read, 2 usage error.",
    )
    p.add_argument("file", metavar="FILE", help="a .yaml/.yml, .json or .toml file")
    p.add_argument("--name", default="Settings", help="the root class's name (default: Settings)")
    p.add_argument(
        "--format",
        choices=("yaml", "json", "toml"),
        help="the file's format (default: from its extension)",
    )
    p.add_argument(
        "--document",
        type=int,
        metavar="N",
        help="the document of a multi-document YAML file to read (0-based)",
    )
    p.set_defaults(run=cmd_convert)


# --- watch -------------------------------------------------------------------------------


class _WatchPrinter:
    """Prints each change (stdout) and each rejected version (stderr) as it happens.

    Runs in the watcher's thread; a closed output ends the watch (*done*).
    """

    def __init__(self, out: TextIO, err: TextIO, show_secrets: bool) -> None:
        import threading

        self.out, self.err = out, err
        self.show_secrets = show_secrets
        self.done = threading.Event()
        self.broken = False

    def _value(self, value: Any, secret: bool) -> str:
        from .flow.events import MISSING

        if value is MISSING:
            return "(unset)"
        if secret and not self.show_secrets and value not in (None, ""):
            return REDACTED
        if not self.show_secrets and isinstance(value, Mapping | list | tuple):
            from .flow.config import redacted  # secret-looking keys inside plain data

            return display_value(redacted(plain(value, True)))
        return display_value(plain(value, not self.show_secrets))

    def _write(self, stream: TextIO, text: str) -> None:
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # the reader went away
            self.broken = True
            self.done.set()

    def change(self, change: Any) -> None:
        old = self._value(change.old, change.secret)
        new = self._value(change.new, change.secret)
        self._write(self.out, f"{change.path}: {old} -> {new} ({change.source})\n")

    def rejected(self, exc: BaseException) -> None:
        if isinstance(exc, VeinError):
            lines = [str(p) for p in problems_of(exc)]
        else:
            lines = [f"{type(exc).__name__}: {exc}"]
        # A poll that brought no version (network, throttling) is not a rejected version.
        label = "poll failed" if getattr(exc, "transient", False) else "rejected"
        self._write(self.err, "".join(f"{label}: {line}\n" for line in lines))


def cmd_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .watch import Watcher

    interval = args.interval
    if not (interval > 0 and math.isfinite(interval)):
        raise UsageError(f"--interval {interval:g}: give a positive number of seconds")
    main_thread = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if main_thread:  # a polite kill (SIGTERM) ends the watch like Ctrl-C
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Rejections are printed below; the vein logger must not print them a second time (nor
    # watchdog's complaint about an event that arrives while its thread stops).
    quiet = logging.NullHandler()
    loggers = [logging.getLogger(name) for name in ("vein", "watchdog")]
    for logger in loggers:
        logger.addHandler(quiet)
    watcher: Watcher | None = None
    printer = _WatchPrinter(sys.stdout, sys.stderr, args.show_secrets)
    try:
        outcome = resolve(args.target, args.sources)
        if not outcome.ok:
            render_problems(outcome, f"cannot watch {outcome.label}", sys.stderr)
            return EXIT_INVALID
        render_warnings(outcome, sys.stderr)
        obj = outcome.obj
        leaves = leaves_of(obj, show_secrets=args.show_secrets)
        sys.stdout.write(
            f"watching {outcome.label}: {_summary(outcome, leaves)} "
            f"(every {interval:g} s; Ctrl-C to stop)\n"
        )
        sys.stdout.flush()
        obj.on_change(printer.change)
        # The sources were just applied: the watcher only follows them from here on.
        watcher = Watcher(
            obj, outcome.sources, interval=interval, on_error=printer.rejected, apply=False
        )
        while not printer.done.wait(0.5) and watcher.running:
            pass
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a watch ends: exit 0, no traceback
    finally:
        if watcher is not None:
            # Ctrl-C should end promptly: a poll still waiting on the network is
            # abandoned (its thread is a daemon; nothing it brings is applied).
            watcher.stop(timeout=2.0)
        for logger in loggers:
            logger.removeHandler(quiet)
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if printer.broken:
        raise BrokenPipeError
    return EXIT_OK


def _setup_watch(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="apply the sources, then print every change as it happens (Ctrl-C to stop)",
        description="Load TARGET from the sources, print a summary, then keep following the "
        "sources: each change of a value is printed as 'path: old -> new (source)' on "
        "standard output, each rejected version (unreadable, not valid) as 'rejected: "
        "<problem>' on standard error -- the last good values are kept. Secret values "
        "are shown as *** unless --show-secrets is given.",
        epilog="Exit status: 0 stopped with Ctrl-C (or SIGTERM), 1 the configuration is not "
        "valid at the start, 2 usage error.",
    )
    p.add_argument("target", nargs="?", metavar="TARGET", help=TARGET_OPTIONAL_HELP)
    add_source_options(p)
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between two looks at the sources (default: 1)",
    )
    p.add_argument("--show-secrets", action="store_true", help="print secret values instead of ***")
    p.set_defaults(run=cmd_watch)


#: Every subcommand's setup, in the order ``vein --help`` lists them.
COMMANDS: list[Callable[[Any], None]] = [
    _setup_show,
    _setup_check,
    _setup_watch,
    _setup_schema,
    _setup_convert,
]


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vein",
        description="Show, check and describe typed configuration declared with @vein.flow.",
        epilog="Examples:\n"
        "  vein show app:Settings --yaml config.yml --env APP_\n"
        "  vein check src/app.py:Settings --yaml config.yml --env APP_\n"
        "  vein schema app:Settings > settings.schema.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vein {_version()}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an unexpected error, print the Python traceback",
    )
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    sub.required = True
    for setup in COMMANDS:
        setup(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vein`` command; returns the exit status."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")  # never die on a console's encoding
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        code: int = args.run(args)
        sys.stdout.flush()
        return code
    except UsageError as exc:
        sys.stderr.write(f"vein: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``vein show ... | head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INVALID
    except VeinError as exc:
        sys.stderr.write(f"vein: error: {exc}\n")
        return EXIT_INVALID
    except Exception as exc:
        if args is not None and args.traceback:
            traceback.print_exc()
        else:
            sys.stderr.write(
                f"vein: unexpected error: {type(exc).__name__}: {exc}\n"
                "(run again with --traceback for the details)\n"
            )
        return EXIT_INVALID


if __name__ == "__main__":  # pragma: no cover - `python -m vein.cli`
    sys.exit(main())
