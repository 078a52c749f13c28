"""Text and raw data into typed values: the one cattrs converter every source uses.

Sources hand over raw data: native values (JSON, TOML, Python dicts), ``str`` from the
environment, and :class:`Plain` for YAML plain scalars (whose type the schema decides).
The rules, in one place:

* a ``str`` field keeps the text exactly as written (``007``, ``1.10``, ``NO``);
* ``bool`` accepts ``true/false yes/no on/off 1/0 t/f y/n`` in any case, nothing else;
* ``int`` and ``float`` parse the text (``0x``/``0o``/``0b`` prefixes allowed for ints);
  a finite spelling that overflows to ``inf`` is an error;
* ``list``/``set``/``tuple`` take a JSON array, or comma-separated items;
* ``dict`` and classes take a JSON object;
* ``X | None`` takes a YAML null (``null``, ``~``, empty); a union tries its members in
  declaration order and takes the first that accepts the value;
* ``Any`` takes YAML plain scalars with their YAML 1.2 core type, everything else as is.

Runtime assignments go through :func:`runtime_check` instead, which checks types and does
not coerce text.
"""

from __future__ import annotations

import enum
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path, PosixPath, PurePath, PurePosixPath, PureWindowsPath, WindowsPath
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

if TYPE_CHECKING:
    import datetime as _dt
    from decimal import Decimal

__all__ = [
    "ConversionError",
    "Plain",
    "converter",
    "describe_type",
    "is_null",
    "resolve_plain",
    "runtime_check",
    "structure_value",
]

T = TypeVar("T")


# datetime, decimal and json are not imported with vein (they are a good part of its import
# time, and most schemas use none of them): a field can only be of a datetime or decimal
# type if the application imported that module, so vein looks for it in sys.modules.


def _stdlib_type(tp: Any, module: str, name: str) -> bool:
    """Is *tp* the class *name* of the standard library *module* (never importing it)?"""
    found = sys.modules.get(module)
    return found is not None and tp is getattr(found, name)


def _stdlib_subclass(module: str, name: str, but_not: str = "") -> Callable[[Any], bool]:
    """A hook predicate: a subclass of *module*.*name* (and not of *module*.*but_not*)."""

    def matches(tp: Any) -> bool:
        found = sys.modules.get(module)
        if found is None or not isinstance(tp, type) or not issubclass(tp, getattr(found, name)):
            return False
        return not (but_not and issubclass(tp, getattr(found, but_not)))

    return matches


class Plain(str):
    """Text from a YAML plain (unquoted) scalar: its type is decided by the target field.

    Into ``Any`` (and the schema-less config) it takes its YAML 1.2 core type.
    """

    __slots__ = ()


_NULLS: Final = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE: Final = frozenset(("true", "yes", "on", "1", "t", "y"))
_FALSE: Final = frozenset(("false", "no", "off", "0", "f", "n"))
#: The spellings of booleans as usually written (lower, upper or capitalized, no blanks),
#: for a lookup before the general rule.
_BOOL_TEXT: Final = {
    spelling: word in _TRUE
    for word in _TRUE | _FALSE
    for spelling in (word, word.upper(), word.capitalize())
}
_CORE_BOOL: Final = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_CORE_INT: Final = re.compile(r"[-+]?[0-9]+\Z")
_CORE_OCT: Final = re.compile(r"0o[0-7]+\Z")
_CORE_HEX: Final = re.compile(r"0x[0-9a-fA-F]+\Z")
_CORE_FLOAT: Final = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_CORE_INF: Final = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_CORE_NAN: Final = re.compile(r"\.(nan|NaN|NAN)\Z")


class ConversionError(Exception):
    """A raw value does not fit the declared type.

    *expected* says what would have fit; *value* is kept so the message can show it,
    unless the field is secret.  *subpath* points inside containers (``[2]``, ``.host``).
    """

    def __init__(
        self,
        expected: str,
        value: object,
        detail: str = "",
        subpath: str = "",
        *,
        hidden: bool = False,
    ) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.detail = detail
        self.subpath = subpath
        # Set where the value belongs to a secret (a secret field of a class inside a
        # list, a union member with secrets...): the outer field may not be secret itself.
        self.hidden = hidden

    def render(self, secret: bool = False) -> str:
        if secret or self.hidden:
            shown = "'***'"
        else:
            shown = _show(self.value)
        text = f"expected {self.expected}, got {shown}"
        if self.detail:
            text += f" ({self.detail})"
        return text


def _show(value: object) -> str:
    if isinstance(value, str):
        text = repr(str(value))
        return text if len(text) <= 80 else text[:77] + "...'"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, set | frozenset):
        return "a set"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_null(value: object) -> bool:
    """Is *value* a null: ``None`` or a YAML plain null spelling?"""
    return value is None or (type(value) is Plain and value in _NULLS)


def resolve_plain(text: str) -> Any:
    """Type a YAML plain scalar by the YAML 1.2 core schema (``on``, ``no`` stay text)."""
    if text in _NULLS:
        return None
    b = _CORE_BOOL.get(text)
    if b is not None:
        return b
    if _CORE_INT.match(text):
        try:
            return int(text, 10)
        except ValueError:  # over Python's limit on digits (sys.set_int_max_str_digits)
            raise ConversionError(
                "an integer of at most 4300 digits", text, "too long to convert"
            ) from None
    if _CORE_OCT.match(text):
        return int(text[2:], 8)
    if _CORE_HEX.match(text):
        return int(text[2:], 16)
    if _CORE_FLOAT.match(text):
        return float(text)
    if _CORE_INF.match(text):
        return -math.inf if text[0] == "-" else math.inf
    if _CORE_NAN.match(text):
        return math.nan
    return str(text)


_SIMPLE_NAMES: Final[dict[Any, str]] = {
    str: "text",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    Path: "a path",
    type(None): "null",
}
_STDLIB_NAMES: Final = {
    ("datetime", "datetime"): "an ISO 8601 date-time",
    ("datetime", "date"): "an ISO 8601 date",
    ("decimal", "Decimal"): "a decimal number",
}


def describe_type(tp: Any) -> str:
    """A short human name for a type, as used in messages (``an integer``, ``list[str]``)."""
    if tp in _SIMPLE_NAMES:
        return _SIMPLE_NAMES[tp]
    for (module, name), text in _STDLIB_NAMES.items():
        if _stdlib_type(tp, module, name):
            return text
    if tp is Any:
        return "any value"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if _is_union(tp):
        return " or ".join(describe_type(a) for a in get_args(tp) if not _is_absent(a))
    if isinstance(tp, type) and attrs.has(tp):
        return f"a mapping for {tp.__name__}"
    return (getattr(tp, "__name__", None) and origin is None and tp.__name__) or str(tp).replace(
        "typing.", ""
    )


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


# --- scalar hooks ------------------------------------------------------------------------


def _text_of(value: object, expected: str) -> str:
    if not isinstance(value, str):
        raise ConversionError(expected, value)
    if type(value) is Plain and value in _NULLS:
        raise ConversionError(expected, value, "null is not allowed here")
    return value.strip()


@cache
def _subclass_hook(tp: Any, base_hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The hook for a subclass of ``str``/``int``/``float`` (cattrs dispatches those by MRO).

    An ``IntEnum``/``StrEnum`` must be structured as the enum (never as a bare ``int`` or,
    worse, any text at all); other subclasses get the base type's rules.
    """
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_hook(tp)
    base = next(b for b in (bool, int, float, str) if isinstance(tp, type) and issubclass(tp, b))
    return lambda value, _tp: base_hook(value, base)


def _struct_str(value: Any, tp: Any) -> str:
    if tp is not str:
        return _subclass_hook(tp, _struct_str)(value, tp)  # type: ignore[no-any-return]
    if type(value) is str:
        return value
    if isinstance(value, str):
        if type(value) is Plain and value in _NULLS:
            raise ConversionError("text", None, "null is not allowed here; quote it for text")
        return str(value)
    if type(value) is int:
        # JSON and TOML integers: the decimal text is what the user wrote (JSON) or means.
        return str(value)
    if value is None:
        raise ConversionError("text", None, "null is not allowed here")
    raise ConversionError("text", value)


def _struct_int(value: Any, tp: Any) -> int:
    if tp is not int:
        return _subclass_hook(tp, _struct_int)(value, tp)  # type: ignore[no-any-return]
    if type(value) is int:
        return value
    if type(value) is str or type(value) is Plain:
        # Most text is a decimal integer, which int() takes as the rules below would (it
        # strips the same blanks; a 0x/0o/0b prefix or a null is never decimal).
        try:
            return int(value, 10)
        except ValueError:
            pass
    if isinstance(value, bool):
        raise ConversionError("an integer", value)
    if isinstance(value, int):
        return int(value)
    text = _text_of(value, "an integer")
    try:
        if text[:2].lower() in ("0x", "0o", "0b") or text[1:3].lower() in ("0x", "0o", "0b"):
            return int(text, 0)
        return int(text, 10)
    except ValueError:
        raise ConversionError("an integer", value) from None


def _struct_float(value: Any, tp: Any) -> float:
    if tp is not float:
        return _subclass_hook(tp, _struct_float)(value, tp)  # type: ignore[no-any-return]
    if type(value) is float:
        return value
    if type(value) is str or type(value) is Plain:
        # Most text is a finite number, which float() reads as the rules below would (the
        # spellings of infinity and nan, and overflows, are left to them).
        try:
            result = float(value)
        except ValueError:
            pass
        else:
            if result - result == 0.0:  # finite
                return result
    if isinstance(value, bool):
        raise ConversionError("a number", value)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer too large for a float (JSON/TOML 1e400 as int)
            raise ConversionError("a number", value, "too large for a number") from None
    text = _text_of(value, "a number")
    low = text.lower().lstrip("+-")
    if low in (".inf", "inf", "infinity", ".nan", "nan"):
        sign = -1.0 if text.startswith("-") else 1.0
        return math.nan if "nan" in low else sign * math.inf
    try:
        result = float(text)
    except ValueError:
        raise ConversionError("a number", value) from None
    if math.isinf(result):
        raise ConversionError("a number", value, "too large: it overflows to infinity")
    return result


def _struct_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    found = _BOOL_TEXT.get(value) if type(value) is str or type(value) is Plain else None
    if found is not None:  # the usual spellings, as written (no blanks to strip)
        return found
    if isinstance(value, str):
        text = _text_of(value, "a boolean").lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ConversionError("a boolean (true/false, yes/no, on/off, 1/0)", value)


def _struct_decimal(value: Any, _: Any) -> Decimal:
    from decimal import Decimal, InvalidOperation  # imported already: a field needs it

    if isinstance(value, bool):
        raise ConversionError("a decimal number", value)
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = _text_of(value, "a decimal number")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ConversionError("a decimal number", value) from None


def _struct_path(value: Any, tp: Any) -> PurePath:
    if isinstance(value, PurePath):
        return tp(value)  # type: ignore[no-any-return]
    if is_null(value):
        raise ConversionError("a path", None, "null is not allowed here")
    if isinstance(value, str):
        if not value.strip():  # Path("") is Path("."): an empty value is no path
            raise ConversionError("a path", value, "empty")
        return tp(str(value))  # type: ignore[no-any-return]
    raise ConversionError("a path", value)


def _struct_datetime(value: Any, _: Any) -> _dt.datetime:
    import datetime as _dt  # imported already: a field needs it

    if isinstance(value, _dt.datetime):
        return value
    text = _text_of(value, "an ISO 8601 date-time")
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConversionError("an ISO 8601 date-time", value) from None


def _struct_date(value: Any, _: Any) -> _dt.date:
    import datetime as _dt  # imported already: a field needs it

    if isinstance(value, _dt.datetime):
        raise ConversionError("an ISO 8601 date", value)
    if isinstance(value, _dt.date):
        return value
    text = _text_of(value, "an ISO 8601 date")
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ConversionError("an ISO 8601 date", value) from None


def _resolve_any(value: Any) -> Any:
    if type(value) is Plain:
        return resolve_plain(value)
    # YAML plain scalars (and JSON/TOML float text) nested in untyped data get their core
    # type too: a list or mapping under ``Any`` must not keep ``'1'`` for ``1``.  (map():
    # one Python frame per level, so deep documents go as deep as the parsers allow.)
    if type(value) is list:
        return list(map(_resolve_any, value))
    if type(value) is dict:
        return dict(zip(value, map(_resolve_any, value.values()), strict=True))
    return value


def _struct_any(value: Any, _: Any) -> Any:
    return _resolve_any(value)


def _enum_hook(tp: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    by_text: dict[str, enum.Enum] = {}
    for member in tp:
        by_text.setdefault(str(member.value), member)
    by_name = {m.name.lower(): m for m in tp}
    expected = describe_type(tp)

    def hook(value: Any, _: Any) -> enum.Enum:
        if isinstance(value, tp):
            return value
        if isinstance(value, str):
            text = value.strip()
            found = by_text.get(text) or by_name.get(text.lower())
            if found is not None:
                return found
            raise ConversionError(expected, value)
        if isinstance(value, bool):
            raise ConversionError(expected, value)
        try:
            return tp(value)
        except ValueError:
            raise ConversionError(expected, value) from None

    return hook


def _literal_hook(tp: Any) -> Callable[[Any, Any], Any]:
    allowed = get_args(tp)
    expected = describe_type(tp)

    def hook(value: Any, _: Any) -> Any:
        for lit in allowed:
            if type(value) is type(lit) and value == lit:
                return lit
        if isinstance(value, str):
            text = str(value)
            for lit in allowed:
                if isinstance(lit, bool):
                    if text.strip().lower() in (_TRUE if lit else _FALSE):
                        return lit
                elif isinstance(lit, enum.Enum):
                    if text == str(lit.value) or text == lit.name:
                        return lit
                elif str(lit) == text or (not isinstance(lit, str) and str(lit) == text.strip()):
                    return lit
        raise ConversionError(expected, value)

    return hook


# --- containers --------------------------------------------------------------------------


def _split_text(value: str, expected: str, hide: bool = False) -> list[Any]:
    text = value.strip()
    if text.startswith("["):
        import json

        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ConversionError(
                expected, value, f"not a valid JSON array: {_json_error(exc)}", hidden=hide
            ) from None
        if not isinstance(parsed, list):
            raise ConversionError(expected, value, hidden=hide)
        return parsed
    if not text:
        return []
    return [item.strip() for item in text.split(",")]


def _json_error(exc: ValueError) -> str:
    # Only JSONDecodeError has .msg; a number over Python's digit limit raises a plain
    # ValueError whose text says so.
    message = getattr(exc, "msg", None)
    return message if isinstance(message, str) else str(exc).split(";")[0]


def _json_object(value: str, expected: str, hide: bool = False) -> dict[str, Any]:
    import json

    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ConversionError(
            expected, value, f"not a valid JSON object: {_json_error(exc)}", hidden=hide
        ) from None
    if not isinstance(parsed, dict):
        raise ConversionError(expected, value, hidden=hide)
    return parsed


def _items_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    origin = get_origin(tp) or tp
    args = get_args(tp)
    expected = describe_type(tp)
    hide = has_secret(tp)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        hooks = [_fresh(conv, a) for a in args]

        def fixed(value: Any, _: Any) -> Any:
            _refuse_null(value, expected)
            seq = _split_text(value, expected, hide) if isinstance(value, str) else value
            if not isinstance(seq, list | tuple) or len(seq) != len(hooks):
                raise ConversionError(f"{len(hooks)} items ({expected})", value, hidden=hide)
            return tuple(_each(hooks, args, seq))

        return fixed
    elem = args[0] if args else Any
    hook = _fresh(conv, elem)
    build: Callable[[Any], Any]
    if origin in (set, frozenset) or origin is typing.AbstractSet:
        build = frozenset if origin is frozenset else set
    elif origin is tuple:
        build = tuple
    else:
        build = list

    def items(value: Any, _: Any) -> Any:
        if isinstance(value, str):
            _refuse_null(value, expected)
            seq: Any = _split_text(value, expected, hide)
        elif isinstance(value, list | tuple | set | frozenset):
            seq = value
        else:
            raise ConversionError(expected, value, hidden=hide)
        return build(_each([hook] * len(seq), [elem] * len(seq), seq))

    return items


def _refuse_null(value: Any, expected: str) -> None:
    # A YAML null (``~``, ``null``, nothing) is no list: never ``['~']``, never ``[]``.
    if type(value) is Plain and value in _NULLS:
        raise ConversionError(
            expected,
            None,
            "null is not allowed here; write [] for an empty one"
            if expected.startswith(("list", "set", "tuple", "frozenset"))
            else "null is not allowed here",
        )


def _each(hooks: Sequence[Any], tps: Sequence[Any], seq: Any) -> list[Any]:
    out = []
    for i, (hook, tp, item) in enumerate(zip(hooks, tps, seq, strict=True)):
        try:
            out.append(hook(item, tp))
        except ConversionError as exc:
            exc.subpath = f"[{i}]{exc.subpath}"
            raise
    return out


def _mapping_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    args = get_args(tp)
    kt, vt = (args + (Any, Any))[:2] if args else (Any, Any)
    khook = _fresh(conv, kt)
    vhook = _fresh(conv, vt)
    expected = describe_type(tp)
    hide = has_secret(tp)

    def mapping(value: Any, _: Any) -> Any:
        if isinstance(value, str):
            _refuse_null(value, expected)
            value = _json_object(value, expected, hide)
        if not isinstance(value, Mapping):
            raise ConversionError(expected, value, hidden=hide)
        out = {}
        for k, v in value.items():
            try:
                out[khook(k, kt)] = vhook(v, vt)
            except ConversionError as exc:
                exc.subpath = f".{k}{exc.subpath}"
                raise
        return out

    return mapping


def _is_absent(tp: Any) -> bool:
    """``vein.MissingType``: a field that may be absent; no source value is one."""
    from .flow.events import MissingType

    return tp is MissingType


def _union_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    members = [a for a in get_args(tp) if a is not type(None) and not _is_absent(a)]
    nullable = type(None) in get_args(tp)
    hooks = [(_fresh(conv, m), m) for m in members]
    expected = describe_type(tp)
    hide = has_secret(tp)

    classes = [m for m in members if isinstance(m, type) and attrs.has(m)]
    # ``Cred | None`` given a mapping: what is wrong inside it (an unknown key, a bad
    # value) says more than "expected a mapping for Cred or null".
    only_class = classes[0] if len(classes) == 1 else None

    def union(value: Any, _: Any) -> Any:
        if nullable and is_null(value):
            return None
        inner: ConversionError | None = None
        for hook, member in hooks:
            try:
                return hook(value, member)
            except ConversionError as exc:
                if member is only_class and (
                    isinstance(value, Mapping)
                    or (isinstance(value, str) and value.lstrip().startswith("{"))  # env JSON
                ):
                    inner = exc
                continue
            except (ValueError, TypeError, cattrs.BaseValidationError):
                continue
        if inner is not None:
            raise inner
        raise ConversionError(expected, value, hidden=hide)

    return union


def has_secret(tp: Any, _seen: frozenset[Any] = frozenset()) -> bool:
    """Does a value of *tp* hold a secret field anywhere (``list[Cred]``, ``Cred | None``)?

    Such a value is never quoted whole in a message: only its non-secret leaves are.
    """
    from .flow.fields import info_of

    if tp in _seen:
        return False
    if isinstance(tp, type) and attrs.has(tp):
        try:
            fields = attrs.fields(tp)
        except TypeError:  # pragma: no cover - attrs.has() said it is one
            return False
        seen = _seen | {tp}
        return any(info_of(a).secret or has_secret(a.type, seen) for a in fields)
    return any(has_secret(a, _seen) for a in get_args(tp) if not isinstance(a, str))


def _hiding(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """*hook* for a secret field of a class: whatever fails, the value is not shown."""

    def secret_hook(value: Any, tp: Any) -> Any:
        try:
            return hook(value, tp)
        except ConversionError as exc:
            exc.hidden = True
            raise
        except (ValueError, TypeError, cattrs.BaseValidationError) as exc:
            # The error text of a converter may quote the value: keep only its kind.
            raise ConversionError(
                describe_type(tp), value, type(exc).__name__, hidden=True
            ) from None

    return secret_hook


#: The classes whose hooks are being built (by this thread: hooks are built under the GIL
#: at class creation or first use), so that a class reached again is not built again.
_BUILDING: set[Any] = set()


def _mentions(tp: Any, classes: set[Any]) -> bool:
    """Does the type expression *tp* name one of *classes* (``list[Item] | None``)?"""
    if tp in classes:
        return True
    return any(_mentions(a, classes) for a in get_args(tp) if a is not Ellipsis)


def _lazy(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """The hook for *tp*, built the first time it is used."""
    found: list[Callable[[Any, Any], Any]] = []

    def lazy(value: Any, t: Any) -> Any:
        if not found:
            found.append(_fresh(conv, tp))
        return found[0](value, t)

    return lazy


def _attrs_hook(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    _BUILDING.add(tp)
    try:
        return _attrs_hook_of(tp, conv)
    finally:
        _BUILDING.discard(tp)


def _attrs_hook_of(tp: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    from .flow.fields import info_of

    # vein.field(key=...): the class is read by its keys in files (``"class"``, ``"a-b"``).
    overrides: dict[str, Any] = {}
    for a in attrs.fields(tp):
        info = info_of(a)
        options: dict[str, Any] = {}
        if info.key is not None and info.key != a.name:
            options["rename"] = info.key
        if _mentions(a.type, _BUILDING):
            # ``children: list[Item]`` inside Item (or a class that leads back to one being
            # built): the hook is built on first use, when the classes are complete.
            if _holds_union(a.type) or info.secret:
                options["struct_hook"] = _lazy(conv, a.type)
        elif _holds_union(a.type):
            options["struct_hook"] = _fresh(conv, a.type)
        elif a.type is not None and not isinstance(a.type, str):
            try:
                conv.get_structure_hook(a.type)
            except cattrs.errors.StructureHandlerNotFoundError:
                # A type sources cannot build (IPv4Address, a custom class): instances only,
                # as for a top-level field of that type.
                options["struct_hook"] = instances_only(a.type)
        if info.secret:
            options["struct_hook"] = _hiding(options.get("struct_hook") or _fresh(conv, a.type))
        if options:
            overrides[a.name] = override(**options)
    forbid = bool(getattr(conv, "forbid_extra_keys", True))  # the lenient one ignores them
    inner = make_dict_structure_fn(tp, conv, _cattrs_forbid_extra_keys=forbid, **overrides)
    expected = describe_type(tp)
    hide = has_secret(tp)

    def cls_hook(value: Any, _: Any) -> Any:
        if isinstance(value, tp):
            return value
        if isinstance(value, str):
            value = _json_object(value, expected, hide)
        if not isinstance(value, Mapping):
            raise ConversionError(expected, value, hidden=hide)
        try:
            made = inner(value, tp)
        except cattrs.BaseValidationError as exc:
            raise _from_cattrs(exc, expected, value, tp) from None
        node = getattr(made, "_vein", None)
        if node is not None:
            # A flow object made from a source's data: its values are the source's (where
            # it is held says which), not constructor arguments given by code.
            node.prov = None
        return made

    return cls_hook


class UnknownKeys(ConversionError):
    """Keys a class inside a value does not declare (``things[1].hots``)."""

    def render(self, secret: bool = False) -> str:
        return self.detail


def _unknown_keys(exc: cattrs.ForbiddenExtraKeysError, path: str) -> ConversionError:
    from .flow.fields import info_of
    from .flow.schema import did_you_mean

    cl: Any = exc.cl
    known = [info_of(a).key or a.name for a in attrs.fields(cl)] if attrs.has(cl) else []
    extra = sorted(exc.extra_fields)
    if len(extra) == 1:
        key = extra[0]
        detail = f"unknown key{did_you_mean(key, known)}"
        return UnknownKeys("", None, detail, f"{path}.{key}")
    detail = "unknown keys " + ", ".join(f"{k!r}{did_you_mean(k, known)}" for k in extra)
    return UnknownKeys("", None, detail, path)


def instances_only(tp: Any) -> Callable[[Any, Any], Any]:
    """The hook for a type sources cannot build from data: its instances, nothing else."""
    expected = describe_type(tp)

    def accept(value: Any, _: Any) -> Any:
        if isinstance(tp, type) and isinstance(value, tp):
            return value
        raise ConversionError(expected, value, "vein cannot build this type from data")

    return accept


def _secret_at(tp: Any, steps: Sequence[str | int]) -> bool:
    """Is the field reached from class *tp* by *steps* (names and indexes) a secret?"""
    from .flow.fields import info_of

    current: Any = tp
    for step in steps:
        if isinstance(step, int):
            args = [a for a in get_args(current) if a is not Ellipsis]
            current = args[-1] if args else Any
            continue
        while not (isinstance(current, type) and attrs.has(current)):
            members = [a for a in get_args(current) if isinstance(a, type) and attrs.has(a)]
            if not members:
                return False
            current = members[0]
        found = attrs.fields_dict(current).get(step)
        if found is None:
            return False
        if info_of(found).secret:
            return True
        current = found.type
    return False


def _from_cattrs(exc: BaseException, expected: str, value: Any, tp: Any = None) -> ConversionError:
    # Keep the first leaf problem with its path inside the class.
    path = ""
    steps: list[str | int] = []
    cur: BaseException = exc
    while isinstance(cur, BaseExceptionGroup) and cur.exceptions:
        sub = cur.exceptions[0]
        for note in getattr(sub, "__notes__", ()):
            name = getattr(note, "name", None)
            index = getattr(note, "index", None)
            if name is not None:
                path += f".{name}"
                steps.append(name)
            elif index is not None:
                path += f"[{index}]"
                steps.append(index)
        cur = sub
    if isinstance(cur, ConversionError):
        cur.subpath = path + cur.subpath
        return cur
    if isinstance(cur, cattrs.ForbiddenExtraKeysError):
        return _unknown_keys(cur, path)
    if isinstance(cur, KeyError):
        return ConversionError(expected, value, f"missing required key {path.lstrip('.')}")
    if tp is not None and _secret_at(tp, steps):
        # A validator of a secret field: its message may quote the value.
        detail = f"rejected by its validator ({type(cur).__name__}; value hidden: secret field)"
        return ConversionError(expected, value, detail, path, hidden=True)
    return ConversionError(expected, value, str(cur), path)


# Named predicates, not lambdas: mypy infers get_origin() of an unannotated lambda
# parameter as ParamSpec and then rejects the comparisons.
def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _is_items(t: Any) -> bool:
    return (get_origin(t) or t) in (list, set, frozenset, tuple, typing.AbstractSet) or get_origin(
        t
    ) in (Sequence, typing.MutableSequence, typing.MutableSet)


def _is_mapping(t: Any) -> bool:
    return (get_origin(t) or t) in (dict, Mapping, typing.MutableMapping)


def _make_converter(*, forbid_extra_keys: bool = True) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=forbid_extra_keys)
    for tp, fn in (
        (str, _struct_str),
        (int, _struct_int),
        (float, _struct_float),
        (bool, _struct_bool),
    ):
        conv.register_structure_hook(tp, fn)
    conv.register_structure_hook_func(_stdlib_subclass("decimal", "Decimal"), _struct_decimal)
    conv.register_structure_hook_func(_stdlib_subclass("datetime", "datetime"), _struct_datetime)
    conv.register_structure_hook_func(
        _stdlib_subclass("datetime", "date", but_not="datetime"), _struct_date
    )
    conv.register_structure_hook_func(lambda t: t is Any or t is object, _struct_any)
    # By class, each concrete one: cattrs registers Path itself (as ``Path(value)``, which
    # takes a null or an empty text), and its class dispatch picks the most specific class.
    for path_cls in (PurePath, PurePosixPath, PureWindowsPath, Path, PosixPath, WindowsPath):
        conv.register_structure_hook(path_cls, _struct_path)
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
    )
    conv.register_structure_hook_factory(_is_literal, _literal_hook)
    conv.register_structure_hook_factory(_is_union, _union_hook)
    conv.register_structure_hook_factory(_is_items, _items_hook)
    conv.register_structure_hook_factory(_is_mapping, _mapping_hook)
    conv.register_structure_hook_factory(
        lambda t: isinstance(t, type) and attrs.has(t), _attrs_hook
    )
    return conv


#: The converter every source uses (text-aware; see the module docstring).
converter: Final = _make_converter()
_lenient: cattrs.Converter | None = None


def _lenient_converter() -> cattrs.Converter:
    """The same rules, but keys a class does not declare are ignored (``strict=False``)."""
    global _lenient
    if _lenient is None:
        _lenient = _make_converter(forbid_extra_keys=False)
    return _lenient


def _order_key(tp: Any) -> Any:
    # ``int | str == str | int``: caches keyed by the type alone would hand one union the
    # hook built for the other, losing the declaration order the union rule depends on.
    args = get_args(tp)
    return tuple((a, _order_key(a)) for a in args) if args else None


def _holds_union(tp: Any) -> bool:
    return _is_union(tp) or any(_holds_union(a) for a in get_args(tp) if a is not Ellipsis)


def _fresh(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """The hook for *tp*, built here (not taken from cattrs' dispatch cache) when a union
    is inside it: the cache keys by type equality, and ``list[int | str]`` equals
    ``list[str | int]``, whose union rule (declaration order) differs."""
    if _BUILDING and _mentions(tp, _BUILDING):
        # A class whose hook is being built, reached again (``children: list[Item]``):
        # its hook exists once that build is done -- look it up then.
        return _lazy(conv, tp)
    if _is_union(tp):
        return _union_hook(tp, conv)
    if _holds_union(tp):
        if _is_items(tp):
            return _items_hook(tp, conv)
        if _is_mapping(tp):
            return _mapping_hook(tp, conv)
    return conv.get_structure_hook(tp)


def structure_hook(tp: Any, *, strict: bool = True) -> Callable[[Any], Any]:
    """A one-argument function that structures raw data into *tp* (cached per type).

    With *strict* false, keys that a class inside *tp* does not declare are ignored.
    """
    return _structure_hook(tp, _order_key(tp), strict)


@cache
def _structure_hook(tp: Any, _order: Any, strict: bool = True) -> Callable[[Any], Any]:
    conv = converter if strict else _lenient_converter()
    hook = _fresh(conv, tp)
    hide = has_secret(tp)

    def run(value: Any) -> Any:
        try:
            return hook(value, tp)
        except ConversionError:
            raise
        except cattrs.BaseValidationError as exc:
            raise _from_cattrs(exc, describe_type(tp), value, tp) from None
        except (ValueError, TypeError, ArithmeticError) as exc:
            detail = type(exc).__name__ if hide else str(exc)
            raise ConversionError(describe_type(tp), value, detail, hidden=hide) from None
        except RecursionError:
            raise ConversionError(describe_type(tp), value, "nested too deeply") from None

    return run


def structure_value(value: Any, tp: Any) -> Any:
    """Structure one raw value into *tp* by the rules above."""
    return structure_hook(tp)(value)


# --- runtime type checks -----------------------------------------------------------------

Check = Callable[[Any], Any]


@cache
def runtime_check(tp: Any) -> tuple[type | None, Check | None]:
    """Build the assignment check for *tp*: ``(fast_type, check)``.

    A value whose ``type()`` is *fast_type* needs no check.  Otherwise ``check(value)``
    returns the value to store (``int`` widened to ``float``, a mapping structured into a
    class) or raises :class:`ConversionError`.  ``(None, None)`` means anything goes.
    """
    if tp is Any or tp is object:
        return None, None
    expected = describe_type(tp)
    if tp is float:

        def check_float(v: Any) -> Any:
            if isinstance(v, int | float) and not isinstance(v, bool):
                try:
                    return float(v)
                except OverflowError:
                    raise ConversionError(expected, v, "too large for a number") from None
            raise ConversionError(expected, v)

        return float, check_float
    if tp is int:

        def check_int(v: Any) -> Any:
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            raise ConversionError(expected, v)

        return int, check_int
    if (
        tp is bool
        or tp is str
        or _stdlib_type(tp, "decimal", "Decimal")
        or _stdlib_type(tp, "datetime", "date")
        or _stdlib_type(tp, "datetime", "datetime")
    ):
        return tp, _isinstance_check(tp, expected)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        # No coercion at runtime: the member itself (a source may give its value).
        member = next(iter(tp), None)
        example = f", e.g. {tp.__name__}.{member.name}" if member is not None else ""
        return None, _isinstance_check(tp, f"a member of {tp.__name__}{example}")
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return None, _isinstance_check(tp, expected)
    if isinstance(tp, type) and attrs.has(tp):
        hook = structure_hook(tp)

        def check_cls(v: Any) -> Any:
            if isinstance(v, tp):
                return v
            if isinstance(v, Mapping):
                return hook(v)
            raise ConversionError(expected, v)

        return None, check_cls
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Literal:

        def check_literal(v: Any) -> Any:
            for lit in args:
                if type(v) is type(lit) and v == lit:
                    return v
            raise ConversionError(expected, v)

        return None, check_literal
    if _is_union(tp):
        checks = [runtime_check(a) for a in args]
        classes = [i for i, a in enumerate(args) if isinstance(a, type) and attrs.has(a)]
        # ``Tls | None`` given a mapping: what is wrong inside it says more (as in sources).
        only_class = checks[classes[0]][1] if len(classes) == 1 else None

        def check_union(v: Any) -> Any:
            for fast, chk in checks:
                if chk is None or type(v) is fast:
                    return v
            inner: ConversionError | None = None
            for _fast, chk in checks:
                try:
                    return chk(v)  # type: ignore[misc]
                except ConversionError as exc:
                    if chk is only_class and isinstance(v, Mapping):
                        inner = exc
                    continue
            if inner is not None:
                raise inner
            raise ConversionError(expected, v)

        return None, check_union
    if tp is type(None):
        return type(None), _isinstance_check(type(None), expected)
    container = origin or tp
    if container in (list, set, frozenset, tuple) or container in (
        Sequence,
        typing.MutableSequence,
        typing.AbstractSet,
        typing.MutableSet,
    ):
        concrete = {
            Sequence: (list, tuple),
            typing.MutableSequence: list,
            typing.AbstractSet: (set, frozenset),
            typing.MutableSet: set,
        }.get(container, container)
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            elem_checks = [runtime_check(a)[1] for a in args]

            def check_tuple(v: Any) -> Any:
                if not isinstance(v, tuple) or len(v) != len(elem_checks):
                    raise ConversionError(expected, v)
                return tuple(_check_items(elem_checks, v))

            return None, check_tuple
        elem_check = runtime_check(args[0])[1] if args else None

        def check_items(v: Any) -> Any:
            if not isinstance(v, concrete):  # type: ignore[arg-type]
                raise ConversionError(expected, v)
            if elem_check is None:
                return v
            return type(v)(_check_items([elem_check] * len(v), v))

        return None, check_items
    if container in (dict, Mapping, typing.MutableMapping):
        kcheck = runtime_check(args[0])[1] if args else None
        vcheck = runtime_check(args[1])[1] if len(args) > 1 else None

        def check_mapping(v: Any) -> Any:
            if not isinstance(v, Mapping):
                raise ConversionError(expected, v)
            if kcheck is None and vcheck is None:
                return v
            out = {}
            for k, item in v.items():
                try:
                    out[kcheck(k) if kcheck else k] = vcheck(item) if vcheck else item
                except ConversionError as exc:
                    exc.subpath = f".{k}{exc.subpath}"
                    raise
            return out

        return None, check_mapping
    if isinstance(tp, type):
        return None, _isinstance_check(tp, expected)
    return None, None  # a typing construct we cannot check at runtime: accept


def _check_items(checks: Sequence[Check | None], seq: Any) -> list[Any]:
    out = []
    for i, (chk, item) in enumerate(zip(checks, seq, strict=True)):
        try:
            out.append(chk(item) if chk is not None else item)
        except ConversionError as exc:
            exc.subpath = f"[{i}]{exc.subpath}"
            raise
    return out


def _isinstance_check(tp: type, expected: str) -> Check:
    # A date-time is not a date (datetime is a subclass of date).
    not_this = sys.modules["datetime"].datetime if _stdlib_type(tp, "datetime", "date") else ()

    def check(v: Any) -> Any:
        if isinstance(v, tp) and not (
            (tp is not bool and isinstance(v, bool) and tp in (int, float))
            or isinstance(v, not_this)
        ):
            return v
        raise ConversionError(expected, v)

    return check
