"""Typed classes from a legacy document: ``vein.infer_schema`` and ``vein convert``.

:func:`infer_schema` reads a document as the schema-less loader gives it (dicts, lists,
text, numbers, booleans, ``None``) and writes the Python source of ``@vein.flow`` classes
that load the same document and dump it back unchanged (``vein.to_dict``).  The rules:

* every mapping becomes a class; the root class is named by *name*, the others after their
  key (``database`` -> ``Database``; list items by the singular of the list's key,
  ``servers`` -> ``Server``, else ``<Key>Item``), prefixed with their parent class's name
  when that name is taken (``RedisHealthcheck``), numbered as a last resort.  Mappings with
  the same key and the same fields share one class.  An empty mapping is a
  ``dict[str, Any]``;
* the mappings of one list (and of the same key in every item of a list) merge into one
  class with the union of their keys;
* fields keep the document's order (so do dumps);
* a key present in every mapping it belongs to is a *required* field (no default: the
  generated code never copies a value -- a password, say -- out of the document); a key
  missing from some of them defaults to :data:`vein.MISSING`, which means *absent*: such a
  field is left out of ``to_dict``, so an item without the key dumps without it (never as
  ``null``); it is keyword-only when a required field follows it;
* types are what the values are: ``bool``, ``int``, ``float``, ``str``, ``list[X]``
  (``list[Any]`` when every list is empty), the class, honest unions of what was seen
  (``int | str``, ``list[int | str]``) and ``| None`` where a ``null`` was seen (``Any |
  None`` when only ``null`` was).  A union of scalars is ordered so that vein's union rule
  (first member that accepts the value) gives every value back as it was; where no order
  can (the text ``"yes"`` next to booleans, ``0``/``1`` next to booleans) the type is
  ``Any``, which keeps each value's own type.  Other values (a TOML date) are ``Any``;
* a key that is not a Python name -- a keyword (``class``, ``from``, ``global``), dotted or
  dashed, starting with a digit or ``_``, empty, not ASCII -- or that clashes with a Flow
  method (``update``, ``get``, ``keys``, ...) gets a snake_case name (a trailing ``_`` for
  keywords and clashes, ``field_386`` for ``386``, numbered when two keys meet), and the
  original key is kept with ``vein.field(key=...)``, used by loading and dumping.
  Keys that are already Python names are kept as they are (``camelCase`` too);
* text under a key that names a secret (``password``, ``db_password``, ``token``,
  ``apiKey``, ``private_key``, ...) is a ``secret=True`` field (masked in ``repr``, errors and
  ``vein show``).

The output is deterministic, formatted for ``ruff`` (lines of at most 100 characters) and
passes ``mypy --strict``.
"""

from __future__ import annotations

import keyword
import os
import re
import unicodedata
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

__all__ = [
    "FORMATS",
    "class_name_problem",
    "format_of",
    "infer_schema",
    "read_document",
    "valid_class_name",
]

#: File formats :func:`read_document` reads, by extension.
FORMATS: Final = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}

MAX_DEPTH: Final = 200  # as the sources: deeper documents are refused, not a RecursionError
LINE: Final = 100  # the project's ruff line length
NAME_MAX: Final = 60  # longer names are shortened

# Names a field never takes: class-body names that would shadow what the annotations and
# defaults use, ``self`` (attrs' __init__), and what pycodestyle calls ambiguous.
_SHADOWING: Final = frozenset(
    {"vein", "Any", "str", "int", "float", "bool", "list", "dict", "self", "l", "O", "I"}
)
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM: Final = re.compile(r"[^A-Za-z0-9]+")
_SCALARS: Final = ("bool", "int", "float", "str")


def _flow_names() -> frozenset[str]:
    """Every public attribute of a flow object: a field of that name would hide it."""
    from .flow.declare import Flow
    from .flow.schema import RESERVED

    return RESERVED | {n for n in dir(Flow) if not n.startswith("_")}


# --- reading -----------------------------------------------------------------------------


def format_of(path: str | os.PathLike[str]) -> str:
    """``"yaml"``, ``"json"`` or ``"toml"`` by the file's extension (``ValueError`` if none)."""
    suffix = Path(path).suffix.lower()
    found = FORMATS.get(suffix)
    if found is None:
        raise ValueError(
            f"cannot tell the format of {os.fspath(path)!r} from its extension "
            f"({suffix or 'none'}); expected .yaml, .yml, .json or .toml"
        )
    return found


def read_document(
    path: str | os.PathLike[str], *, format: str | None = None, document: int | None = None
) -> dict[str, Any]:
    """Read a YAML, JSON or TOML file as the schema-less config does: plain data.

    The file is read with vein's own sources (UTF-8, safe YAML, YAML 1.2 core types, keys as
    text); *format* overrides the extension; *document* picks one document of a
    multi-document YAML file.  Raises :class:`vein.SourceError` when the file cannot be read.
    """
    from .errors import SourceError
    from .sources import from_json, from_toml, from_yaml
    from .structuring import structure_value

    kind = format or format_of(path)
    if kind == "yaml":
        source: Any = from_yaml(path, document=document)
    elif document is not None:
        raise ValueError(f"only YAML files hold several documents, not {kind.upper()} files")
    elif kind == "json":
        source = from_json(path)
    elif kind == "toml":
        source = from_toml(path)
    else:
        raise ValueError(f"unknown format {kind!r}; expected yaml, json or toml")
    doc = source.read(None)
    try:
        data = structure_value(doc.data, Any)  # YAML plain scalars: their core types
    except RecursionError:
        raise SourceError(f"{kind.upper()} nested too deeply", source=os.fspath(path)) from None
    return dict(data)


def yaml11_differences(
    path: str | os.PathLike[str], *, document: int | None = None, limit: int = 20
) -> list[str]:
    """Where a YAML 1.1 reader (``yaml.safe_load``) reads *path* differently from vein.

    vein reads YAML 1.2 (``off`` and ``yes`` are text, ``0644`` is 644, ``22:30`` and dates
    are text); code written against ``yaml.safe_load`` saw ``False``, ``420``, ``1350`` or
    a ``date``.  One line per such plain scalar (at most *limit*), for ``vein convert`` to
    warn about: the generated types follow vein, the old code may not.
    """
    import yaml

    from .sources import from_yaml
    from .structuring import Plain, resolve_plain

    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if type(value) is Plain:
            new = resolve_plain(value)
            try:
                old = yaml.safe_load(str(value))
            except yaml.YAMLError:
                return
            if type(old) is not type(new) or old != new:
                found.append(
                    f"{where or '(top)'}: {str(value)!r} is {new!r} to vein (YAML 1.2); "
                    f"yaml.safe_load read {old!r}"
                )
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    walk(from_yaml(path, document=document).read(None).data, "")
    return found


# --- what the document holds: shapes -----------------------------------------------------


class _Shape:
    """Every value seen at one place of the document (one key of a class, or list items)."""

    __slots__ = ("items", "kinds", "obj", "small_ints", "texts")

    def __init__(self) -> None:
        self.kinds: set[str] = set()  # bool int float str none any
        self.texts: set[str] = set()
        self.small_ints = False  # an int 0 or 1 (YAML's 0/1 would read as booleans)
        self.items: _Shape | None = None  # the elements of every list seen here
        self.obj: _Obj | None = None  # every mapping seen here, merged


class _Field:
    __slots__ = ("count", "key", "name", "shape")

    def __init__(self, key: str) -> None:
        self.key = key
        self.name = ""
        self.count = 0
        self.shape = _Shape()


class _Obj:
    """The mappings seen at one place, merged: a class (or ``dict`` when all are empty)."""

    __slots__ = ("canon", "count", "fields", "hint", "name", "parent", "where")

    def __init__(self, hint: str, parent: _Obj | None, where: str) -> None:
        self.hint = hint
        self.parent = parent
        self.where = where
        self.count = 0
        self.fields: dict[str, _Field] = {}
        self.canon: _Obj = self
        self.name = ""

    def required(self, f: _Field) -> bool:
        return f.count == self.count


class _Refused(Exception):
    """What makes a document unconvertible; :func:`infer_schema` turns it into a SourceError."""


def _at(where: str) -> str:
    where = where or "the top level"
    return where if len(where) <= 60 else where[:57] + "..."


def _add(
    shape: _Shape,
    value: Any,
    hint: str,
    *,
    parent: _Obj | None,
    where: str,
    depth: int,
    open_: set[int] | None = None,
) -> None:
    if depth > MAX_DEPTH:
        raise _Refused(f"the document is nested deeper than {MAX_DEPTH} levels (at {_at(where)})")
    if value is None:
        shape.kinds.add("none")
    elif isinstance(value, bool):
        shape.kinds.add("bool")
    elif isinstance(value, int):
        shape.kinds.add("int")
        shape.small_ints = shape.small_ints or value in (0, 1)
    elif isinstance(value, float):
        shape.kinds.add("float")
    elif isinstance(value, str):
        shape.kinds.add("str")
        shape.texts.add(str(value))
    elif isinstance(value, Mapping):
        if shape.obj is None:
            shape.obj = _Obj(hint, parent, where)
        _add_mapping(shape.obj, value, depth, open_)
    elif isinstance(value, list | tuple):
        if shape.items is None:
            shape.items = _Shape()
        item_hint = _singular(hint)
        open_ = _enter(value, where, open_)
        for item in value:
            _add(
                shape.items,
                item,
                item_hint,
                parent=parent,
                where=where + "[]",
                depth=depth + 1,
                open_=open_,
            )
        open_.discard(id(value))
    else:
        shape.kinds.add("any")


def _enter(container: Any, where: str, open_: set[int] | None) -> set[int]:
    """Mark *container* as being read; one that is already being read contains itself."""
    if open_ is None:
        open_ = set()
    if id(container) in open_:
        # A Python structure (not a file: YAML's recursive aliases are refused on reading).
        raise _Refused(f"the document contains itself (at {_at(where)})")
    open_.add(id(container))
    return open_


def _add_mapping(
    obj: _Obj, data: Mapping[Any, Any], depth: int, open_: set[int] | None = None
) -> None:
    obj.count += 1
    open_ = _enter(data, obj.where, open_)
    for key, value in data.items():
        if not isinstance(key, str):
            raise _Refused(
                f"keys must be text, not {type(key).__name__} {key!r} (at {_at(obj.where)}); "
                "read files with vein.infer.read_document, which keeps such keys as their text"
            )
        f = obj.fields.get(key)
        if f is None:
            f = obj.fields[key] = _Field(key)
        f.count += 1
        where = f"{obj.where}.{key}" if obj.where else key
        _add(f.shape, value, _pascal(key), parent=obj, where=where, depth=depth + 1, open_=open_)
    open_.discard(id(data))


# --- names -------------------------------------------------------------------------------


def _words(key: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode("ascii")
    return [w for w in _NOT_ALNUM.split(_CAMEL.sub("_", folded)) if w]


def _pascal(key: str) -> str:
    return "".join(w[:1].upper() + w[1:].lower() for w in _words(key))


def _singular(hint: str) -> str:
    """The class name hint of a list's items: ``Servers`` -> ``Server``, ``Nav`` -> ``NavItem``."""
    if len(hint) > 4 and hint.endswith("ies"):
        return hint[:-3] + "y"
    if len(hint) > 4 and hint.endswith(("sses", "shes", "ches")):
        return hint[:-2]
    if len(hint) > 3 and hint.endswith("s") and not hint.endswith(("ss", "us", "is", "xes")):
        return hint[:-1]
    return hint + "Item"


def _is_name(text: str) -> bool:
    return text.isidentifier() and text.isascii() and not keyword.iskeyword(text)


def valid_class_name(name: str) -> bool:
    """Can *name* be the root class of :func:`infer_schema` (see :func:`class_name_problem`)?"""
    return class_name_problem(name) is None


#: Names the generated module itself uses, and names ruff refuses for a class (E742).
_USED_BY_THE_MODULE: Final = {
    "Any": "the generated module imports typing.Any",
    "vein": "the generated module imports vein",
    **{t: f"the generated annotations use the built-in {t}" for t in _SCALARS + ("list", "dict")},
    **dict.fromkeys(("l", "O", "I"), "ruff refuses it as an ambiguous class name (E742)"),
}


def class_name_problem(name: str) -> str | None:
    """Why *name* cannot be the root class of :func:`infer_schema` (``None`` if it can)."""
    if not isinstance(name, str) or not name.isidentifier():
        return f"{name!r} is not a Python name (letters, digits and _, not starting with a digit)"
    if not name.isascii():
        return f"{name!r} is not ASCII (the generated code keeps to ASCII names)"
    if keyword.iskeyword(name):
        return f"{name!r} is a Python keyword"
    why = _USED_BY_THE_MODULE.get(name)
    if why is not None:
        return f"{name!r} cannot name the class: {why}"
    return None


def _name_fields(obj: _Obj, taken_globally: frozenset[str]) -> None:
    """Give every field of *obj* its Python name (keys that are good names keep them)."""
    used: set[str] = set()
    pending: list[_Field] = []
    for f in obj.fields.values():
        key = f.key
        if (
            _is_name(key)
            and not key.startswith("_")
            and key not in taken_globally
            and len(key) <= NAME_MAX
        ):
            f.name = key
            used.add(key)
        else:
            pending.append(f)
    for f in pending:
        base = "_".join(w.lower() for w in _words(f.key))[:NAME_MAX].strip("_") or "field"
        if base[0].isdigit():
            base = f"field_{base}"[:NAME_MAX]
        if keyword.iskeyword(base) or base in taken_globally or base == f.key:
            base += "_"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}" if not base.endswith("_") else f"{base}{n}"
        f.name = name
        used.add(name)


# --- types -------------------------------------------------------------------------------

# A type expression: a name (``"int"``), ``("list", inner)`` or ``("|", [members])``.
TypeExpr = str | tuple[str, Any]


def _unsafe(shape: _Shape) -> bool:
    """Would vein's union rule read some value here back as another type?"""
    from .structuring import ConversionError, structure_value

    kinds = shape.kinds
    if "bool" in kinds and shape.small_ints:
        return True  # YAML's 0 and 1 are booleans to a bool member
    if "str" in kinds:
        lenient = [tp for tp in (bool, int, float) if tp.__name__ in kinds]
        for text in sorted(shape.texts):
            for tp in lenient:
                try:
                    structure_value(text, tp)
                except ConversionError:
                    continue
                return True  # e.g. "yes" next to booleans, "0x10" next to ints
    return False


def _type(shape: _Shape, optional: bool = False) -> TypeExpr:
    members: list[TypeExpr] = []
    kinds = shape.kinds
    if "any" in kinds or _unsafe(shape):
        members.append("Any")
    else:
        members.extend(k for k in _SCALARS if k in kinds)
        if shape.items is not None:
            members.append(("list", _type(shape.items)))
        if shape.obj is not None:
            obj = shape.obj.canon
            members.append(obj.name if obj.fields else "dict[str, Any]")
        if not members:
            members.append("Any")
    if optional:
        members.append("vein.MissingType")
    if "none" in kinds:
        members.append("None")
    return members[0] if len(members) == 1 else ("|", members)


def _flat(tp: TypeExpr) -> str:
    if isinstance(tp, str):
        return tp
    if tp[0] == "list":
        return f"list[{_flat(tp[1])}]"
    return " | ".join(_flat(m) for m in tp[1])


def _wrapped(tp: TypeExpr, indent: int) -> list[str]:
    """*tp* over several lines (inside brackets or parentheses), each within :data:`LINE`."""
    pad = " " * indent
    flat = _flat(tp)
    if len(pad) + len(flat) <= LINE or isinstance(tp, str):
        return [pad + flat]
    if tp[0] == "list":
        return [pad + "list[", *_wrapped(tp[1], indent + 4), pad + "]"]
    lines: list[str] = []
    for i, member in enumerate(tp[1]):
        part = _wrapped(member, indent + (2 if i else 0))
        if i:
            part[0] = pad + "| " + part[0].lstrip()
        lines.extend(part)
    return lines


def _shapes(shape: _Shape) -> Iterator[_Obj]:
    """The classes a field's type refers to (canonical), in order."""
    if shape.items is not None:
        yield from _shapes(shape.items)
    if shape.obj is not None and shape.obj.fields:
        yield shape.obj.canon


def _signature(obj: _Obj, memo: dict[int, Any]) -> Any:
    found = memo.get(id(obj))
    if found is None:
        fields = tuple(
            (f.key, obj.required(f), _shape_sig(f.shape, memo)) for f in obj.fields.values()
        )
        found = memo[id(obj)] = (obj.hint, fields)
    return found


def _shape_sig(shape: _Shape, memo: dict[int, Any]) -> Any:
    items = _shape_sig(shape.items, memo) if shape.items is not None else None
    obj = _signature(shape.obj, memo) if shape.obj is not None else None
    return (tuple(sorted(shape.kinds)), _unsafe(shape), items, obj)


def _all_objs(obj: _Obj) -> Iterator[_Obj]:
    """Every class below *obj* (itself first), depth first, in document order."""
    yield obj
    for f in obj.fields.values():
        yield from _objs_in(f.shape)


def _objs_in(shape: _Shape) -> Iterator[_Obj]:
    if shape.items is not None:
        yield from _objs_in(shape.items)
    if shape.obj is not None:
        yield from _all_objs(shape.obj)


# --- source text -------------------------------------------------------------------------


def _literal(text: str, quote: str = "") -> str:
    """A Python string literal for *text*, ASCII only, quoted as ``ruff format`` would."""
    q = quote or ("'" if text.count('"') > text.count("'") else '"')
    out = [q]
    for ch in text:
        code = ord(ch)
        if ch in (q, "\\"):
            out.append("\\" + ch)
        elif 32 <= code < 127:
            out.append(ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(q)
    return "".join(out)


def _literal_lines(text: str, indent: int) -> list[str]:
    """*text* as implicitly concatenated literals, each line within :data:`LINE`."""
    pad = " " * indent
    room = LINE - indent
    lines: list[str] = []
    piece = ""
    for ch in text:
        if piece and len(_literal(piece + ch)) > room:
            lines.append(pad + _literal(piece))
            piece = ""
        piece += ch
    lines.append(pad + _literal(piece))
    return lines


def _arg_lines(f: _Field, args: list[tuple[str, str | None]], indent: int) -> list[str]:
    """The arguments of ``vein.field(...)``, one per line."""
    pad = " " * indent
    lines: list[str] = []
    for n, v in args:
        if v is not None:
            lines.append(f"{pad}{n}={v},")
            continue
        lit = _literal(f.key)
        if indent + len(n) + len(lit) + 2 <= LINE:
            lines.append(f"{pad}{n}={lit},")
        else:
            lines.extend([f"{pad}{n}=(", *_literal_lines(f.key, indent + 4), f"{pad}),"])
    return lines


_SECRET_WORDS: Final = frozenset({"password", "passwd", "secret", "token", "apikey", "credential"})
_SECRET_PAIRS: Final = frozenset({("api", "key"), ("private", "key"), ("secret", "key")})


def _looks_secret(f: _Field) -> bool:
    """Text under a key that names a secret: ``password``, ``db_password``, ``apiKey``..."""
    words = [w.lower() for w in _words(f.key)]
    if not words or f.shape.kinds - {"none"} != {"str"} or f.shape.items or f.shape.obj:
        return False
    return words[-1] in _SECRET_WORDS or tuple(words[-2:]) in _SECRET_PAIRS


def _field_lines(obj: _Obj, f: _Field, kw_only: bool) -> list[str]:
    required = obj.required(f)
    tp = _type(f.shape, optional=not required)
    args: list[tuple[str, str | None]] = []  # (name, value); value None: the key literal
    if f.name != f.key:
        args.append(("key", None))
    if _looks_secret(f):
        args.append(("secret", "True"))
    if not required:
        args.append(("default", "vein.MISSING"))
        if kw_only:
            args.append(("kw_only", "True"))
    call = bool(args) and args != [("default", "vein.MISSING")]
    if call:
        listed = ", ".join(f"{n}={_literal(f.key) if v is None else v}" for n, v in args)
        default = f" = vein.field({listed})"
    else:
        default = " = vein.MISSING" if args else ""
    head = f"    {f.name}: {_flat(tp)}"
    if len(head) + len(default) <= LINE:
        return [head + default]
    # Too long: laid out as ``ruff format`` does.
    if call and len(head) + len(" = vein.field(") <= LINE:
        return [head + " = vein.field(", *_arg_lines(f, args, 8), "    )"]
    if call and len(head) + len(" = (") <= LINE:
        inner = default[3:]
        if 8 + len(inner) <= LINE:
            return [head + " = (", " " * 8 + inner, "    )"]
        return [
            head + " = (",
            "        vein.field(",
            *_arg_lines(f, args, 12),
            "        )",
            "    )",
        ]
    # The type itself is too long: in parentheses, over several lines.
    lines = [f"    {f.name}: (", *_wrapped(tp, 8)]
    if call:
        lines.extend(["    ) = vein.field(", *_arg_lines(f, args, 8), "    )"])
    else:
        lines.append("    )" + default)
    return lines


def _docstring(text: str) -> str:
    room = LINE - 10  # the indent and the quotes
    body = _literal(text, '"')[1:-1]
    if len(body) > room:
        cut = ""
        for ch in text:
            if len(_literal(cut + ch, '"')) - 2 > room - 3:
                break
            cut += ch
        body = _literal(cut, '"')[1:-1] + "..."
    return f'    """{body}"""'


def _class_lines(obj: _Obj) -> list[str]:
    lines = ["@vein.flow", f"class {obj.name}:"]
    if obj.parent is not None:
        lines.extend([_docstring(f"`{obj.where}` in the document."), ""])
    # Document order (dumps keep it); a field with a default that comes before a required
    # one is keyword-only, as attrs wants.
    fields = list(obj.fields.values())
    last_required = max((i for i, f in enumerate(fields) if obj.required(f)), default=-1)
    for i, f in enumerate(fields):
        lines.extend(_field_lines(obj, f, kw_only=i < last_required))
    if not obj.fields:
        lines.append("    pass")
    return lines


# --- the whole module --------------------------------------------------------------------


def infer_schema(
    data: Mapping[str, Any], name: str = "Settings", *, source: str | None = None
) -> str:
    """Python source of ``@vein.flow`` classes for *data*; the root class is *name*.

    *data* is a document as the schema-less config reads it (``vein.Config().to_dict()``,
    :func:`read_document`, ``json.load``): mappings with text keys, lists, text, numbers,
    booleans and ``None``.  *source* (a file name) is mentioned in the module docstring.
    Loading the document with the root class and dumping it with ``vein.to_dict`` gives
    *data* back.  See the module documentation of :mod:`vein.infer` for the rules.
    """
    from .errors import SourceError

    problem = class_name_problem(name)
    if problem is not None:
        raise ValueError(f"infer_schema(name=...): {problem}")
    if not isinstance(data, Mapping):
        kinds = {"NoneType": "null", "str": "text", "int": "a number", "float": "a number"}
        got = kinds.get(type(data).__name__, f"a {type(data).__name__}")
        raise SourceError(
            f"the top level must be a mapping (key: value) to become a class, not {got}",
            source=source,
        )
    root = _Obj(name, None, "")
    try:
        _add_mapping(root, data, 0)
    except _Refused as exc:
        raise SourceError(str(exc), source=source) from None

    taken_globally = _flow_names() | _SHADOWING | {name}
    objs = list(_all_objs(root))
    # Same key and same fields: one class.
    memo: dict[int, Any] = {}
    canon: dict[Any, _Obj] = {}
    for obj in objs:
        obj.canon = canon.setdefault(_signature(obj, memo), obj)
    unique = [o for o in objs if o.canon is o and (o.fields or o is root)]
    for obj in unique:
        _name_fields(obj, taken_globally)
    field_names = {f.name for o in unique for f in o.fields.values()}

    # Class names, breadth first so that shallow sections get the short names.
    root.name = name
    taken = {name, "Any", "I", "O"} | field_names
    seen = {id(root)}
    queue: deque[_Obj] = deque([root])
    while queue:
        obj = queue.popleft()
        for f in obj.fields.values():
            for child in _shapes(f.shape):
                if id(child) in seen:
                    continue
                seen.add(id(child))
                child.name = _class_name(child.hint, obj.name, taken)
                taken.add(child.name)
                queue.append(child)

    # Children before parents: every annotation names a class defined above it.
    emitted: list[_Obj] = []
    done: set[int] = set()

    def visit(obj: _Obj) -> None:
        done.add(id(obj))
        for f in obj.fields.values():
            for child in _shapes(f.shape):
                if id(child) not in done:
                    visit(child)
        emitted.append(obj)

    visit(root)

    body: list[str] = []
    for obj in emitted:
        body.extend(["", "", *_class_lines(obj)])
    text = "\n".join(body)
    header = ['"""Configuration classes inferred by vein convert.', ""]
    if source and source.isascii() and source.isprintable() and len(source) <= LINE - 22:
        header.append(f"Source document: {_literal(source, chr(34))[1:-1]}.")
    header += [
        f"Load it with ``vein.load({name}, ...)``; ``vein.to_dict`` dumps it back. Fields",
        "without a default are required; ``vein.MISSING`` marks a key that some items lack.",
        '"""',
        "",
    ]
    if re.search(r"\bAny\b", text):
        header.append("from typing import Any")
        header.append("")
    header.append("import vein")
    return "\n".join(header) + "\n" + text + "\n"


def _class_name(hint: str, parent: str, taken: set[str]) -> str:
    base = hint[:NAME_MAX]
    if not base or base[0].isdigit():
        base = (parent + base)[:NAME_MAX]
    candidates = [base, (parent + base)[:NAME_MAX]]
    for cand in candidates:
        if cand not in taken and _is_name(cand):
            return cand
    stem = candidates[1]
    n = 2
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"
