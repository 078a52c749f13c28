"""Layers, merging, atomic updates, loading and provenance.

Data flows one way: source -> :class:`~vein.sources.base.Document` (raw) -> structured
leaves (``flatten``) -> a plan of writes (``_plan``: layer order and merge modes) ->
validation -> commit under the tree's lock -> events after the lock is released.

The layering rule ("the latest intent wins, sources keep their order among themselves"):

* every source is a named layer, ordered by when it was first applied; re-applying it (a
  reload) keeps its place;
* a runtime write, or a source bringing a *new* value for a key, replaces the current
  value -- except that a source never overrides a key that a later-ordered layer defines;
* a reload writes only the keys whose value *in that source* changed; a key it no longer
  defines falls back to the next layer that defines it, or to the default, if (and only
  if) its current value still came from that source.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import ErrorEntry, ValidationError, reason_of
from ..structuring import ConversionError, Plain, is_null, structure_hook
from .collections import copy_of, detach, held_elements, reattach, wrap
from .events import MISSING, Change, emit
from .provenance import DEFAULT, RUNTIME, Provenance
from .schema import FieldSpec, Schema, did_you_mean, held_values, schema_of
from .state import Node, is_flow_object, new_node

if TYPE_CHECKING:
    from ..sources.base import Document

__all__ = ["Layer", "assign_nested", "explain", "load", "update"]

#: Deeper documents are refused with a clear error instead of a RecursionError.
MAX_DEPTH: Final = 200

Flat = dict[str, tuple[Any, Provenance]]

#: Stands for a literal "." inside a schema-less key within a dotted path.
KEY_DOT: Final = "\x1f"


class Layer:
    """What one source currently defines, by full dotted path from the root."""

    __slots__ = ("flat", "key")

    def __init__(self, key: str, flat: Flat) -> None:
        self.key = key
        self.flat = flat

    def __repr__(self) -> str:
        return f"<Layer {self.key!r}: {len(self.flat)} values>"


# --- reading sources ---------------------------------------------------------------------


def _as_document(source: Any, schema: Schema | None) -> Document:
    from ..sources.base import Document

    if isinstance(source, Document):
        return source
    if isinstance(source, Mapping):
        return Document(source, lambda _p: RUNTIME, None, strict=True, runtime=True)
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(
            f"update() takes sources (vein.from_env(), vein.from_yaml(), ...) or mappings, "
            f"not {type(source).__name__}"
        )
    doc: Document = read(schema)
    return doc


def read_documents(sources: Iterable[Any], schema: Schema | None) -> list[Document]:
    """Read every source; if some cannot be read, one SourceError lists all of them."""
    from ..errors import SourceError

    docs: list[Document] = []
    failed: list[SourceError] = []
    for source in sources:
        try:
            docs.append(_as_document(source, schema))
        except SourceError as exc:
            failed.append(exc)
    if len(failed) == 1:
        raise failed[0]
    if failed:
        entries = [entry for exc in failed for entry in (exc.errors or [_entry_of(exc)])]
        raise SourceError(
            f"{len(failed)} sources cannot be read",
            errors=entries,
            transient=all(exc.transient for exc in failed),
        )
    return docs


def _entry_of(exc: Any) -> ErrorEntry:
    """One unreadable source as an error entry: ``config.json:3:5: invalid JSON ...``."""
    where = exc.source or "(source)"
    if exc.source is not None and exc.line is not None:
        where += f":{exc.line}" + (f":{exc.column}" if exc.column is not None else "")
    return ErrorEntry(where, exc.message)


def flatten(
    schema: Schema, doc: Document, errors: list[ErrorEntry], prefix: str = "", obj: Any = None
) -> Flat:
    """Structure *doc* against *schema* into leaves: ``{dotted path: (value, provenance)}``."""
    out: Flat = {}
    _flatten(schema, doc.data, doc, (), prefix, out, errors, 0, obj)
    if doc.leaves:
        leaf_map = schema.leaf_map()
        for path, (raw, prov) in doc.leaves.items():
            spec = leaf_map[path]
            try:
                value = spec.structure(raw)
                if (
                    type(value) not in _SCALARS
                    and _unbounded(spec.type)
                    and _too_deep(value, MAX_DEPTH)
                ):
                    errors.append(ErrorEntry(prefix + path, _TOO_DEEP, prov))
                    continue
                out[prefix + path] = (value, prov)
            except ConversionError as exc:
                errors.append(
                    ErrorEntry(prefix + path + exc.subpath, exc.render(spec.secret), prov)
                )
    return out


def _flatten(
    schema: Schema,
    data: Mapping[Any, Any],
    doc: Document,
    keys: tuple[str, ...],
    prefix: str,
    out: Flat,
    errors: list[ErrorEntry],
    depth: int,
    obj: Any = None,
) -> None:
    if depth > MAX_DEPTH:
        errors.append(
            ErrorEntry(
                prefix.rstrip("."), f"nested deeper than {MAX_DEPTH} levels", doc.locate(keys)
            )
        )
        return
    by_key = schema.by_key
    fields = schema.fields
    runtime = doc.runtime
    for key, raw in data.items():
        if not isinstance(key, str):
            errors.append(ErrorEntry(prefix + str(key), "keys must be text", doc.locate(keys)))
            continue
        spec = by_key.get(key) or fields.get(key)
        here = keys + (key,)
        if spec is None:
            if schema.open:
                _open_entry(schema, key, raw, doc, here, prefix, out, errors, depth)
            elif schema.dynamic and not key.startswith("_"):
                if key in getattr(schema.cls, "__vein_taken__", ()):
                    errors.append(
                        ErrorEntry(
                            prefix + key,
                            f"is a method of {schema.cls.__qualname__}, which an attribute "
                            "of that name would hide; rename the key",
                            doc.locate(here),
                        )
                    )
                    continue
                held = obj.__dict__.get(key) if obj is not None else None
                if held is not None and hasattr(held, "_vein") and isinstance(raw, Mapping):
                    # A flow object the attribute holds: the mapping merges into it, like
                    # a nested section (its policies and events, nothing else replaced).
                    child_schema = schema_of(type(held))
                    _flatten(
                        child_schema,
                        raw,
                        doc,
                        here,
                        f"{prefix}{key}.",
                        out,
                        errors,
                        depth + 1,
                        held,
                    )
                    continue
                if runtime and _too_deep(raw, MAX_DEPTH - depth):
                    errors.append(ErrorEntry(prefix + key, _TOO_DEEP, doc.locate(here)))
                    continue
                value = raw if runtime else _plain_value(raw)
                out[prefix + key] = (value, doc.locate(here))
            elif doc.strict:
                head, dot, rest = key.partition(".")
                if dot and (head in by_key or head in fields):
                    # {"database.host": ...}: keys are not paths (a key may contain dots).
                    message = (
                        f"unknown key; a dotted key is not a path: nest it as "
                        f"{{{head!r}: {{{rest.split('.')[0]!r}: ...}}}}"
                    )
                else:
                    message = f"unknown key{did_you_mean(key, list(by_key))}"
                errors.append(ErrorEntry(prefix + key, message, doc.locate(here)))
            continue
        path = prefix + spec.name
        if spec.nested is not None:
            if is_null(raw):
                continue  # an empty section (all of it commented out) defines nothing
            if isinstance(raw, spec.nested):
                raw = {s: getattr(raw, s) for s in schema_of(spec.nested).fields if hasattr(raw, s)}
            elif isinstance(raw, str) and not runtime:
                import json  # not with vein: import time

                try:
                    raw = json.loads(raw)
                except (ValueError, RecursionError):
                    raw = None
            if not isinstance(raw, Mapping):
                errors.append(
                    ErrorEntry(
                        path,
                        f"expected a section (a mapping of {spec.nested.__name__} fields)",
                        doc.locate(here),
                    )
                )
                continue
            child = getattr(obj, spec.name, None) if obj is not None else None
            _flatten(
                schema_of(spec.nested), raw, doc, here, path + ".", out, errors, depth + 1, child
            )
            continue
        try:
            if runtime:
                value = (
                    spec.check(raw)
                    if spec.check is not None
                    and type(raw) is not spec.fast_type
                    and spec.attribute.converter is None  # else: checked after it runs
                    else raw
                )
            elif doc.strict:
                value = spec.structure(raw)
            else:  # strict=False reaches classes inside lists and dicts too
                value = structure_hook(spec.type, strict=False)(raw)
        except ConversionError as exc:
            where = _locate_inside(doc, here, exc.subpath)
            errors.append(ErrorEntry(path + exc.subpath, exc.render(spec.secret), where))
            continue
        # (A scalar, most values, is never too deep: no need to ask about its type.)
        if (
            type(value) not in _SCALARS
            and _unbounded(spec.type)
            and _too_deep(value, MAX_DEPTH - depth)
        ):
            # An Any/dict[str, Any] field takes any data: held to the same depth as the
            # schema-less config, or every later snapshot, copy and pickle would fail.
            errors.append(ErrorEntry(path, _TOO_DEEP, doc.locate(here)))
            continue
        if doc.patches and here in doc.patches and isinstance(value, dict):
            value = Patch(value)
        out[path] = (value, doc.locate(here))


_SUBPATH_STEP: Final = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _locate_inside(doc: Document, here: tuple[str, ...], subpath: str) -> Provenance:
    """Where the bad item inside a value is (``creds[0].pin``: its own line), if known."""
    if subpath:
        steps = tuple(a or b for a, b in _SUBPATH_STEP.findall(subpath))
        deeper = doc.locate(here + steps)
        if deeper.line is not None:
            return deeper
    return doc.locate(here)


def _open_entry(
    schema: Schema,
    key: str,
    raw: Any,
    doc: Document,
    here: tuple[str, ...],
    prefix: str,
    out: Flat,
    errors: list[ErrorEntry],
    depth: int,
) -> None:
    """One key of a schema-less document: a nested mapping is a namespace, else a leaf."""
    # A key may itself contain dots ("editor.fontSize"): they are escaped in the dotted
    # paths the engine uses, so the key stays one key.
    path = prefix + key.replace(".", KEY_DOT)
    if isinstance(raw, Mapping) and raw:
        _flatten(schema, raw, doc, here, path + ".", out, errors, depth + 1)
        return
    if doc.runtime:
        if _too_deep(raw, MAX_DEPTH - depth):
            errors.append(ErrorEntry(path, _TOO_DEEP, doc.locate(here)))
            return
        value = raw
    elif doc.current is not None and isinstance(raw, str) and type(raw) is str:
        # Env text takes the type of the value it replaces (schema-less rule: list items
        # typed too, a section refused -- see vein.flow.config.env_value).
        from .config import env_value

        try:
            value = env_value(raw, doc.current(path), doc.layer)
        except ConversionError as exc:
            from .config import SECRET_NAMES

            # The text may be JSON holding a secret-looking key ('[{"password": ...}]').
            secret = (doc.secret is not None and doc.secret(path)) or bool(SECRET_NAMES.search(raw))
            errors.append(ErrorEntry(path, exc.render(secret), doc.locate(here)))
            return
    else:
        try:
            value = _plain_value(raw)
        except ConversionError as exc:  # e.g. an integer of more digits than Python converts
            errors.append(ErrorEntry(path, exc.render(False), doc.locate(here)))
            return
    out[path] = (dict(value) if isinstance(value, Mapping) else value, doc.locate(here))


_TOO_DEEP: Final = f"nested deeper than {MAX_DEPTH} levels (or contains itself)"


_SCALARS: Final = frozenset((str, int, float, bool, type(None), Plain))


@functools.cache
def _unbounded(tp: Any) -> bool:
    """Can a value of *tp* nest without bound (``Any``, ``dict[str, Any]``, a bare ``list``)?

    Only those are checked for depth on loading: a ``list[str]`` cannot nest at all.
    """
    if tp is Any or tp is object:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is None:
        return tp in (list, dict, tuple, set, frozenset) or (
            isinstance(tp, type) and issubclass(tp, Mapping) and not attrs.has(tp)
        )
    return not args or any(_unbounded(a) for a in args if a is not Ellipsis)


def _too_deep(value: Any, limit: int) -> bool:
    """Do the mappings/lists in a runtime *value* nest deeper than *limit* (or in a cycle)?

    Runtime values are stored as given; one nested too deeply would make every later dump
    fail with a ``RecursionError``.  Checked without recursion.
    """
    if type(value) in _SCALARS or not isinstance(value, Mapping | list | tuple):
        return False
    deepest: dict[int, int] = {}
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if type(item) in _SCALARS:  # most items: no isinstance against the Mapping ABC
            continue
        if isinstance(item, Mapping | list | tuple) and deepest.get(id(item), -1) < depth:
            deepest[id(item)] = depth
            inner = item.values() if isinstance(item, Mapping) else item
            stack.extend((v, depth + 1) for v in inner)
    return False


def _plain_value(raw: Any) -> Any:
    from ..structuring import structure_value

    return structure_value(raw, Any)


# --- merging -----------------------------------------------------------------------------


class Patch(dict[str, Any]):
    """Keys for a dict field from variables that each name one key (``APP_FEATURES__NEW_UI``):
    set on the value below (lower layers, or the default), not replacing it whole."""

    __slots__ = ()


def _combine(mode: str | None, lower: Any, higher: Any) -> Any:
    if mode == "extend":
        if isinstance(lower, set | frozenset):
            return type(lower)(lower | set(higher))
        if isinstance(lower, list | tuple):
            return type(lower)([*lower, *higher])
    elif mode == "extend_unique":
        if isinstance(lower, list | tuple):
            seen = list(lower)
            seen.extend(x for x in higher if x not in lower)
            return type(lower)(seen)
        if isinstance(lower, set | frozenset):
            return type(lower)(lower | set(higher))
    elif mode == "deep" and isinstance(lower, Mapping) and isinstance(higher, Mapping):
        return _deep_merge(lower, higher)
    return higher


def _deep_merge(lower: Mapping[Any, Any], higher: Mapping[Any, Any]) -> dict[Any, Any]:
    out = dict(lower)
    for k, v in higher.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def leaf_spec(schema: Schema, path: str) -> FieldSpec | None:
    """The spec of the leaf at a dotted path (``None`` for schema-less/dynamic keys)."""
    return schema.leaf_map().get(path)


class _Targets:
    """Finds the object and spec behind a dotted path from the root (cached per update).

    ``get`` may return ``None`` as the object for a path whose parents do not exist yet
    (schema-less namespaces); ``ensure`` creates them, at commit time only.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self.cache: dict[str, tuple[Any, FieldSpec | None, str]] = {}
        self.created: list[tuple[Any, str]] = []

    def ensure(self, path: str) -> tuple[Any, FieldSpec | None, str]:
        return self.get(path)

    def ordered(self, final: Flat) -> Iterable[tuple[str, tuple[Any, Provenance]]]:
        """The planned writes in the order to commit them (the schema-less config reorders)."""
        return final.items()

    def get(self, path: str) -> tuple[Any, FieldSpec | None, str]:
        found = self.cache.get(path)
        if found is not None:
            return found
        obj = self.root
        parts = path.split(".")
        for part in parts[:-1]:
            obj = getattr(obj, part)
        name = parts[-1]
        spec = schema_of(type(obj)).fields.get(name)
        found = (obj, spec, name)
        self.cache[path] = found
        return found


def _current_prov(targets: _Targets, path: str) -> Provenance:
    obj, _spec, name = targets.get(path)
    if obj is None:
        return DEFAULT
    prov = obj._vein.prov
    return prov.get(name, DEFAULT) if prov else DEFAULT


def _plan(
    tree_layers: dict[str, Layer],
    targets: _Targets,
    root_schema: Schema,
    entries: list[tuple[Document, Flat]],
) -> tuple[Flat, dict[str, Flat], list[str]]:
    new_flats: dict[str, Flat] = {}
    order = list(tree_layers)
    for doc, flat in entries:
        if doc.layer is None:
            continue
        new_flats[doc.layer] = flat
        if doc.layer not in tree_layers and doc.layer not in order:
            order.append(doc.layer)
    index = {k: i for i, k in enumerate(order)}

    def flat_of(k: str) -> Flat:
        found = new_flats.get(k)
        return found if found is not None else tree_layers[k].flat

    def defined_later(path: str, i: int) -> bool:
        return any(path in flat_of(k) for k in order[i + 1 :])

    def patched(path: str) -> bool:
        return any(type(flat_of(k).get(path, (None,))[0]) is Patch for k in order)

    def merging(spec: FieldSpec | None, path: str) -> bool:
        return spec is not None and (
            spec.info.merge not in (None, "replace")
            or (spec.collection == "dict" and patched(path))
        )

    def folded(
        path: str, spec: FieldSpec | None, value: Any, prov: Provenance
    ) -> tuple[Any, Provenance]:
        # A merge= field is the combination of every layer that defines it, whichever of
        # them changed; its provenance is the topmost of them.  A Patch (env variables
        # naming keys of a dict field) sets its keys on what is below it, the default
        # included.
        if not merging(spec, path):
            return value, prov
        assert spec is not None
        result: Any = MISSING
        for k in order:
            found = flat_of(k).get(path)
            if found is None:
                continue
            if type(found[0]) is Patch:
                if result is MISSING:
                    obj, _spec, _name = targets.get(path)
                    result = spec.default_value(obj)
                result = _deep_merge(result if isinstance(result, Mapping) else {}, found[0])
            else:
                result = (
                    found[0] if result is MISSING else _combine(spec.info.merge, result, found[0])
                )
            prov = found[1]
        return (value, prov) if result is MISSING else (result, prov)

    planned: Flat = {}
    for doc, flat in entries:
        if doc.layer is None:
            planned.update(flat)
            continue
        k = doc.layer
        i = index[k]
        old = tree_layers[k].flat if k in tree_layers else None
        for path, (value, prov) in flat.items():
            if old is not None:
                before = old.get(path)
                if before is not None and (before[0] is value or before[0] == value):
                    continue  # unchanged in this source: never revert what came since
            spec = leaf_spec(root_schema, path) if "." in path else root_schema.fields.get(path)
            if defined_later(path, i) and not merging(spec, path):
                continue
            planned[path] = folded(path, spec, value, prov)
        if old:
            for path in old.keys() - flat.keys():
                current = planned[path][1] if path in planned else _current_prov(targets, path)
                spec = leaf_spec(root_schema, path) if "." in path else root_schema.fields.get(path)
                if merging(spec, path) and current.layer is not None:
                    combined = folded(path, spec, MISSING, DEFAULT)
                    if combined[0] is not MISSING:
                        planned[path] = combined
                        continue
                elif current.layer != k:
                    continue
                fallback: tuple[Any, Provenance] | None = None
                for other in reversed(order):
                    if other == k:
                        continue
                    fallback = flat_of(other).get(path)
                    if fallback is not None:
                        break
                if fallback is None:
                    obj, spec, _name = targets.get(path)
                    if spec is None:
                        fallback = (MISSING, DEFAULT)  # a dynamic key: removed
                    else:
                        fallback = (spec.default_value(obj), DEFAULT)
                planned[path] = fallback
    return planned, new_flats, order


# --- validating and committing -----------------------------------------------------------


def _validate(targets: _Targets, planned: Flat, errors: list[ErrorEntry]) -> Flat:
    """Run converters and validators of every planned leaf; return the final values."""
    final: Flat = {}
    for path, (value, prov) in planned.items():
        obj, spec, _name = targets.get(path)
        if spec is None or value is MISSING:
            final[path] = (value, prov)
            continue
        a = spec.attribute
        if spec.info.readonly and prov is RUNTIME:
            # A plain mapping is applied like assignments: it may not change a read-only
            # field (an unchanged value, e.g. when a section is assigned whole, is fine).
            current = getattr(obj, spec.name, MISSING)
            if current is MISSING or not _equal(current, value):
                errors.append(
                    ErrorEntry(path, "is read-only at runtime; set it from a source instead", prov)
                )
                continue
        step = "converter"
        try:
            conv: Any = a.converter  # attrs' stubs do not declare Converter's attributes
            if conv is not None:
                inner = getattr(conv, "converter", None)
                if inner is not None and hasattr(conv, "takes_self"):
                    args: list[Any] = [value]
                    if conv.takes_self:
                        args.append(obj)
                    if conv.takes_field:
                        args.append(a)
                    value = inner(*args)
                else:
                    value = conv(value)
                if prov is RUNTIME and spec.check is not None and type(value) is not spec.fast_type:
                    # Like an assignment: the converter first, then the type check (which
                    # flatten left for here).
                    value = spec.check(value)
            step = "validator"
            if a.validator is not None:
                a.validator(obj, a, value)
        except ConversionError as exc:
            errors.append(ErrorEntry(path, exc.render(spec.secret), prov))
            continue
        except Exception as exc:
            if spec.secret:
                msg = f"rejected by its {step} ({type(exc).__name__}; value hidden: secret field)"
            else:
                msg = f"rejected by its {step}: {reason_of(exc)}"
            errors.append(ErrorEntry(path, msg, prov))
            continue
        final[path] = (value, prov)
    return final


Pending = list[tuple[Node, str, Any, Any, Provenance, bool, str]]


def _commit(
    targets: _Targets, final: Flat
) -> tuple[Pending, list[tuple[Any, str, Any, Provenance | None]]]:
    """Store every value (lock held); return the changes and an undo log."""
    changes: Pending = []
    undo: list[tuple[Any, str, Any, Provenance | None]] = []
    osa = object.__setattr__
    for path, (value, prov) in targets.ordered(final):
        obj, spec, name = targets.ensure(path)
        node: Node = obj._vein
        provs = node.prov
        if provs is None:
            provs = node.prov = {}
        before_prov = provs.get(name)
        if spec is None:  # a dynamic attribute or a schema-less key
            old = obj.__vein_get__(name)
        else:
            old = getattr(obj, name)
        if prov is DEFAULT or value is MISSING:
            provs.pop(name, None)
        else:
            provs[name] = prov
        same = old is value or (old is not MISSING and value is not MISSING and _equal(old, value))
        undo.append((obj, name, old, before_prov))
        if same:
            continue
        if spec is None:
            obj.__vein_put__(name, value)  # MISSING removes the key
        elif spec.collection:
            stored = wrap(obj, spec, value)
            osa(obj, name, stored)
            detach(old)
            old, value = copy_of(old), copy_of(stored)  # events carry plain copies
        else:
            value = _leaf(obj, spec, old, value, prov)
            osa(obj, name, value)
        secret = spec.secret if spec is not None else obj.__vein_is_secret__(name)
        changes.append((node, name, old, value, prov, secret, path))
    return changes, undo


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(copy_of(a)) is type(copy_of(b))  # evented list == list
    except Exception:
        return False


def rollback(
    undo: list[tuple[Any, str, Any, Provenance | None]], targets: _Targets | None = None
) -> None:
    osa = object.__setattr__
    for obj, name, old, prov in reversed(undo):
        spec = schema_of(type(obj)).fields.get(name)
        if spec is None:
            obj.__vein_put__(name, old)
        elif spec.collection:
            current = getattr(obj, name, None)
            if current is not old:  # the replaced container reports again, the new one not
                osa(obj, name, reattach(obj, spec, old))
                detach(current)
        else:
            if spec.holds:
                old = hold_value(obj, name, getattr(obj, name, None), old)
            osa(obj, name, old)
        provs = obj._vein.prov
        if provs is not None:
            if prov is None:
                provs.pop(name, None)
            else:
                provs[name] = prov


def update(obj: Any, sources: Iterable[Any]) -> list[Change]:
    """``obj.update(*sources)``: see :meth:`vein.Flow.update`."""
    schema = schema_of(type(obj))
    node: Node = obj._vein
    tree = node.tree or node.find_tree()
    # Paths from the root -- or from the nearest list/dict element, whose tree keeps the
    # layers of updates made below it (vein.flow.state.ElementTree).
    top, prefix = node.layer_root()
    docs = read_documents(sources, schema)
    errors: list[ErrorEntry] = []
    if schema.open:
        # Env text takes the type of the value it replaces -- including a value that an
        # earlier source of this same update brings.
        lookup = obj.__vein_current__  # a value, a namespace, or MISSING
        earlier: dict[str, Any] = {}

        def current(path: str) -> Any:
            found = earlier.get(path, MISSING)
            return lookup(path) if found is MISSING else found

        is_secret = getattr(obj, "__vein_secret_path__", None)
        entries = []
        for doc in docs:
            if doc.text:
                doc.current = current
                doc.secret = is_secret
            flat = flatten(schema, doc, errors, "", obj)
            earlier.update((p, v[0]) for p, v in flat.items())
            entries.append((doc, flat))
    else:
        entries = [(doc, flatten(schema, doc, errors, "", obj)) for doc in docs]
    if prefix:
        entries = [(doc, {prefix + p: v for p, v in flat.items()}) for doc, flat in entries]
        errors = [attrs.evolve(e, path=prefix + e.path) for e in errors]
    # No early exit on conversion errors: planning and validating change nothing, and the
    # validators' verdicts on the other values belong in the same report.
    root = top.obj
    targets: _Targets = getattr(type(root), "__vein_targets__", _Targets)(root)
    with tree.lock:
        layers = (top.tree or top.find_tree()).layers
        planned, new_flats, order = _plan(layers, targets, schema_of(type(root)), entries)
        final = _validate(targets, planned, errors)
        if errors:
            raise ValidationError(errors)
        pending, undo = _commit(targets, final)
        batch = tree.batch
        if batch is None and tree.policies_on is not None and pending:
            try:
                tree.policies_on.check({n for n, *_rest in pending})
            except BaseException:
                # Created namespaces go first: one may stand where a value was removed,
                # which the undo log then puts back.
                for parent, key in reversed(targets.created):
                    parent.__vein_put__(key, MISSING)
                rollback(undo, targets)
                tree.version += 1  # what readers saw meanwhile (snapshots, computed) is stale
                raise
        if batch is not None:  # the batch's rollback must restore the layers too
            batch.keep_layers(
                {k: layers[k].flat if k in layers else None for k in new_flats}, layers
            )
        for k in order:
            if k in new_flats:
                if k in layers:
                    layers[k].flat = new_flats[k]
                else:
                    layers[k] = Layer(k, new_flats[k])
        if pending or targets.created:  # nothing changed: cached snapshots stay valid
            tree.version += 1
        if batch is not None:
            batch.absorb(pending, undo)
            # Namespaces this update created go too if the batch rolls back (an entry
            # from MISSING to MISSING: never announced), before the values logged above
            # are put back (one may stand where a value was removed).
            for parent, key in targets.created:
                batch.log.append(
                    (parent, parent._vein, key, MISSING, None, MISSING, RUNTIME, False)
                )
            pending = []
    for n, name, old, new, prov, secret, _path in pending:
        if n.subs is not None or n.parent is not None:
            emit(n, name, old, new, prov, secret)
    plen = len(prefix)
    return [
        Change(p[plen:].replace(KEY_DOT, "."), old, new, prov, secret)
        for _n, _name, old, new, prov, secret, p in pending
    ]


def assign_nested(obj: Any, name: str, value: Any) -> None:
    """``parent.child = Child(...)`` or ``= {...}``: copy the values into the existing child.

    The child object keeps its identity (and the subscriptions made on it); every leaf is
    written like a runtime assignment, atomically, with one event per changed leaf.
    """
    schema = schema_of(type(obj))
    spec = schema.fields[name]
    try:
        child = object.__getattribute__(obj, name)
    except AttributeError:
        child = None
    if child is None:
        from .declare import _adopt

        object.__setattr__(obj, name, value)
        _adopt(obj, obj._vein, name)
        return
    assert spec.nested is not None
    if isinstance(value, Mapping):
        # Assignment replaces the whole section: what the mapping leaves out is reset to
        # its default, like constructing the class from the mapping would.
        value = _with_defaults(schema_of(spec.nested), value, child)
    else:
        value = _leaves_of(value)
    _check_readonly(schema_of(spec.nested), value, child)
    update(child, [value])


def _check_readonly(schema: Schema, data: Mapping[str, Any], current: Any) -> None:
    """A section assignment is a runtime write: it may not change a ``readonly`` field."""
    for name, spec in schema.fields.items():
        given = data.get(spec.key, data.get(name, MISSING))
        if given is MISSING or current is None:
            continue
        if spec.nested is not None:
            if isinstance(given, Mapping):
                _check_readonly(schema_of(spec.nested), given, getattr(current, name, None))
        elif spec.info.readonly and not _equal(given, getattr(current, name, MISSING)):
            from .write import readonly_error

            raise readonly_error(current, spec)


def _with_defaults(schema: Schema, data: Mapping[str, Any], current: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in schema.fields.items():
        given = data.get(spec.key, data.get(name, MISSING))
        if spec.nested is not None:
            sub = given if isinstance(given, Mapping) else {}
            child = getattr(current, name, None)
            out[spec.key] = (
                _with_defaults(schema_of(spec.nested), sub, child)
                if given is MISSING or isinstance(given, Mapping)
                else given
            )
        elif given is not MISSING:
            out[spec.key] = given
        elif spec.info.readonly and hasattr(current, name):
            continue  # left out: kept as it is (a runtime write never resets it)
        elif not spec.required:
            out[spec.key] = spec.default_value(current)
    for key, value in data.items():
        if key not in out and key not in schema.fields:
            out[key] = value  # unknown keys: reported by flatten with a did-you-mean
    return out


def _leaves_of(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    schema = schema_of(type(obj))
    for name, spec in schema.fields.items():
        if not hasattr(obj, name):
            continue
        value = getattr(obj, name)
        out[name] = _leaves_of(value) if spec.nested is not None and value is not None else value
    return out


def dynamic_write(obj: Any, name: str, value: Any) -> None:
    """A write to an undeclared attribute of a dynamic flow object."""
    node: Node = obj._vein
    tree = node.tree or node.find_tree()
    with tree.lock:
        d = obj.__dict__
        old = d.get(name, MISSING)
        if old is value or (old is not MISSING and _equal(old, value)):
            return
        value = put_dynamic(obj, name, value)
        tree.version += 1
        if tree.batch is not None:
            tree.batch.record(obj, node, name, old, value, RUNTIME, False)
            return
        if tree.policies_on is not None:
            tree.policies_on(obj, node, name, old)
        provs = node.prov
        if provs is None:
            provs = node.prov = {}
        provs[name] = RUNTIME
    if node.subs is not None or node.parent is not None:
        emit(node, name, old, value, RUNTIME, False)


def put_dynamic(obj: Any, name: str, value: Any) -> Any:
    """Store *value* as the dynamic attribute *name* of *obj* (lock held); return it.

    A flow object stored this way becomes a child, like a declared nested field's: its
    writes run the tree's policies, join its batches and reach its subscribers (path
    ``name.field``), and it is in snapshots and ``to_dict``.  One that already belongs to
    another tree (or is *obj* or an ancestor of it) is copied first, as ``_adopt`` does.
    The flow object it replaces becomes a tree of its own again.  ``MISSING`` removes.
    """
    d = obj.__dict__
    value = hold_value(obj, name, d.get(name, MISSING), value)
    if value is MISSING:
        d.pop(name, None)
    else:
        d[name] = value
    return value


def _leaf(obj: Any, spec: FieldSpec, current: Any, value: Any, prov: Provenance | None) -> Any:
    """What a load or an update stores in leaf field *spec* of *obj* for *value*: an
    evented container, the held child of a ``Tls | None`` field, or *value* itself."""
    if spec.collection:
        return wrap(obj, spec, value)
    if spec.holds:
        return hold_value(obj, spec.name, current, _sourced(value, prov))
    return value


def _sourced(value: Any, prov: Provenance | None) -> Any:
    """The object to hold for a source's flow object *value* (a ``Tls | None`` field):
    a copy, so that the layer keeps what the source gave (a reload compares with that, not
    with the live object runtime writes change), whose values explain as *prov*."""
    if not is_flow_object(value) or prov is None or prov.layer is None:
        return value  # a default, or a runtime value: held as it is, as by an assignment
    import copy

    made = copy.deepcopy(value)
    stack = [made]
    while stack:
        current = stack.pop()
        schema = schema_of(type(current))
        current._vein.prov = {
            name: prov for name, spec in schema.fields.items() if spec.nested is None
        }
        stack.extend(getattr(current, n) for n in schema.nested)
        stack.extend(held_values(current, schema))
    return made


def hold_value(obj: Any, name: str, current: Any, value: Any) -> Any:
    """What to store as *obj*'s *name* (a dynamic attribute, or a ``Tls | None`` field)
    in place of *current*; the caller stores it (lock held).

    A flow object becomes a child of *obj* under *name*, copied first if it belongs to
    another tree or is *obj* or an ancestor of it; the flow object *current* held stops
    being a child (a tree of its own again).  Anything else is returned as it is.
    """
    node: Node = obj._vein
    if current is not value and is_flow_object(current):
        cnode = current._vein
        if cnode.parent is node and cnode.name == name and cnode.box is None:
            cnode.parent, cnode.name = None, ""
            forget_tree(current)
    if not is_flow_object(value):
        return value
    cnode = value._vein
    ancestor: Node | None = node
    while ancestor is not None and ancestor is not cnode:
        ancestor = ancestor.parent
    spec = schema_of(type(obj)).fields.get(name)
    if (
        ancestor is not None
        or (cnode.parent is not None and (cnode.parent is not node or cnode.name != name))
        # ``tls: Tls | None = Tls()``: the default object is every instance's (attrs hands
        # it to each); each gets a copy, or a write to one would change all the others.
        or (spec is not None and value is spec.attribute.default)
    ):
        import copy

        value = copy.deepcopy(value)
        cnode = value._vein
    cnode.parent, cnode.name, cnode.box = node, name, None
    if cnode.tree is not None:  # a tree cached anywhere below means one is cached here
        forget_tree(value)
    tree = node.tree or node.find_tree()
    if tree.policies_on is None:
        from .txn import PolicyRunner, tree_has_policies

        if tree_has_policies(value):
            tree.policies_on = PolicyRunner()
    return value


def forget_tree(obj: Any) -> None:
    """Forget the cached tree of *obj* and everything below it (it was moved elsewhere):
    the nested fields' objects and the flow objects its dynamic attributes hold."""
    stack = [obj]
    while stack:
        current = stack.pop()
        node: Node = current._vein
        node.tree = None
        schema = schema_of(type(current))
        stack.extend(c for c in (getattr(current, n, None) for n in schema.nested) if c is not None)
        stack.extend(held_values(current, schema))
        for name, spec in schema.fields.items():
            if spec.collection:  # the flow objects a list or dict field holds as elements
                stack.extend(held_elements(getattr(current, name, None)))
        if schema.dynamic:
            d = getattr(current, "__dict__", None) or {}
            stack.extend(v for v in d.values() if is_flow_object(v) and v._vein.parent is node)


# --- load --------------------------------------------------------------------------------


def load(cls: type, sources: Iterable[Any]) -> Any:
    """``vein.load(Settings, *sources)``: defaults plus sources, in one atomic step."""
    if not isinstance(cls, type):
        raise TypeError(
            f"vein.load() takes a flow class (e.g. vein.load(Settings, ...)), not "
            f"{type(cls).__name__!r} object; to apply sources to an existing object, call "
            "obj.update(...)"
        )
    schema = schema_of(cls)
    if schema.dynamic:
        try:
            obj = cls()
        except TypeError as exc:
            if "argument" not in str(exc):
                raise
            raise TypeError(
                f"vein.load({cls.__qualname__}, ...) makes the object with no arguments, and "
                f"its __init__ needs some ({exc}); make it yourself and apply the sources: "
                f"obj = {cls.__qualname__}(...); obj.update(...)"
            ) from None
        update(obj, sources)
        return obj
    docs = read_documents(sources, schema)
    errors: list[ErrorEntry] = []
    entries = [(doc, flatten(schema, doc, errors, "")) for doc in docs]
    merged: Flat = {}
    new_layers: dict[str, Flat] = {}
    for doc, flat in entries:
        if doc.layer is not None:
            new_layers[doc.layer] = flat
    for _doc, flat in entries:
        for path, item in flat.items():
            value, prov = item
            if type(value) is Patch or path in merged:  # else: nothing to combine it with
                spec = leaf_spec(schema, path)
                mode = spec.info.merge if spec is not None else None
                if type(value) is Patch:
                    base = merged[path][0] if path in merged else _plain_default(spec)
                    value = _deep_merge(base if isinstance(base, Mapping) else {}, value)
                elif mode not in (None, "replace"):
                    value = _combine(mode, merged[path][0], value)
                item = (value, prov)
            merged[path] = item
    env_names = [d.env_name for d in docs if d.env_name is not None]
    obj = _build(cls, schema, merged, "", errors, env_names, None)
    if errors:
        raise ValidationError(errors)
    from .txn import check_all_policies

    check_all_policies(obj)
    tree = obj._vein.find_tree()
    for k, flat in new_layers.items():
        tree.layers[k] = Layer(k, flat)
    return obj


def _plain_default(spec: FieldSpec | None) -> Any:
    """The default of a field that needs no instance (``None`` for one that does)."""
    if spec is None:
        return None
    default = spec.attribute.default
    if getattr(default, "takes_self", False):  # an attrs.Factory(..., takes_self=True)
        return None
    return spec.default_value(None)


def _missing_message(path: str, env_names: list[Any], spec: FieldSpec, key: str) -> str:
    """What would set a required field: the env variables of the env sources given, the
    field's own ``env=`` name (even when no env source was given), and the file key."""
    hints: list[str] = []
    for env_name in env_names:
        var = env_name(path)
        if var and f"env {var}" not in hints:
            hints.append(f"env {var}")
    own = spec.info.env
    if own and not any(h.lower() == f"env {own}".lower() for h in hints):
        hints.append(f"env {own}")
    hints.append(f"key {key!r} in a file")
    return "required, but no source sets it (set " + " or ".join(hints) + ")"


def _key_path(node: Node, spec: FieldSpec) -> str:
    """The dotted path of keys (``vein.field(key=...)``) a file uses for *spec* below *node*."""
    keys = [spec.key]
    n = node
    while n.parent is not None:
        parent = n.parent
        owner = schema_of(type(parent.obj)).fields.get(n.name)
        keys.append(owner.key if owner is not None else n.name)
        n = parent
    return ".".join(reversed(keys))


def _build(
    cls: type,
    schema: Schema,
    merged: Flat,
    prefix: str,
    errors: list[ErrorEntry],
    env_names: list[Any],
    parent: tuple[Node, str] | None,
) -> Any:
    obj: Any = object.__new__(cls)
    node = new_node(obj)
    cls.__vein_set_node__(obj, node)  # type: ignore[attr-defined]
    if parent is not None:
        node.parent, node.name = parent
    osa = object.__setattr__
    provs: dict[str, Provenance] = {}
    validated: list[FieldSpec] = []  # the fields set here that have validators, in order
    for name, spec in schema.fields.items():
        path = prefix + name
        if spec.nested is not None:
            if spec.required:
                child = _build(
                    spec.nested,
                    schema_of(spec.nested),
                    merged,
                    path + ".",
                    errors,
                    env_names,
                    (node, name),
                )
            else:
                child = spec.default_value(obj)
                if child is not None:
                    # A shared default object (``db: Db = Db()``) is copied, as by __init__.
                    if child._vein.parent is not None or child is spec.attribute.default:
                        import copy

                        child = copy.deepcopy(child)
                    child._vein.parent, child._vein.name = node, name
                    _overlay(child, merged, path + ".", errors)
            osa(obj, name, child)
            continue
        found = merged.get(path)
        a = spec.attribute
        if found is not None:
            value, prov = found
            provs[name] = prov
        elif spec.required:
            # A value that was given but refused is reported as such, not also as missing.
            refused = any(
                e.path == path or e.path.startswith((path + ".", path + "[")) for e in errors
            )
            if a.init and not refused:
                message = _missing_message(path, env_names, spec, _key_path(node, spec))
                errors.append(ErrorEntry(path, message, None))
            continue
        else:
            value = spec.default_value(obj)
        if a.converter is not None:
            value = _convert(a, obj, value, path, spec, errors, found)
            if value is MISSING:
                continue
        osa(obj, name, _leaf(obj, spec, None, value, found[1] if found else None))
        if a.validator is not None:
            validated.append(spec)
    if provs:
        node.prov = provs
    _run_validators(obj, validated, prefix, errors)
    post = getattr(cls, "__attrs_post_init__", None)
    if post is not None and not errors:
        post(obj)
    return obj


def _convert(
    a: Any, obj: Any, value: Any, path: str, spec: FieldSpec, errors: list[ErrorEntry], found: Any
) -> Any:
    conv = a.converter
    try:
        inner = getattr(conv, "converter", None)
        if inner is not None and hasattr(conv, "takes_self"):
            args: list[Any] = [value]
            if conv.takes_self:
                args.append(obj)
            if conv.takes_field:
                args.append(a)
            return inner(*args)
        return conv(value)
    except Exception as exc:
        msg = "rejected by its converter" + ("" if spec.secret else f": {exc}")
        errors.append(ErrorEntry(path, msg, found[1] if found else None))
        return MISSING


def _run_validators(
    obj: Any, specs: list[FieldSpec], prefix: str, errors: list[ErrorEntry]
) -> None:
    provs = obj._vein.prov or {}
    for spec in specs:
        a = spec.attribute
        if a.validator is None:
            continue
        try:
            a.validator(obj, a, getattr(obj, spec.name))
        except Exception as exc:
            if spec.secret:
                msg = (
                    f"rejected by its validator ({type(exc).__name__}; value hidden: secret field)"
                )
            else:
                msg = f"rejected by its validator: {reason_of(exc)}"
            errors.append(ErrorEntry(prefix + spec.name, msg, provs.get(spec.name)))


def _overlay(obj: Any, merged: Flat, prefix: str, errors: list[ErrorEntry]) -> None:
    schema = schema_of(type(obj))
    node: Node = obj._vein
    osa = object.__setattr__
    validated: list[FieldSpec] = []  # the fields set here that have validators, in order
    for name, spec in schema.fields.items():
        path = prefix + name
        if spec.nested is not None:
            child = getattr(obj, name, None)
            if child is not None:
                _overlay(child, merged, path + ".", errors)
            continue
        found = merged.get(path)
        if found is None:
            continue
        value, prov = found
        if spec.attribute.converter is not None:
            value = _convert(spec.attribute, obj, value, path, spec, errors, found)
            if value is MISSING:
                continue
        osa(obj, name, _leaf(obj, spec, getattr(obj, name, None), value, prov))
        if node.prov is None:
            node.prov = {}
        node.prov[name] = prov
        if spec.attribute.validator is not None:
            validated.append(spec)
    _run_validators(obj, validated, prefix, errors)


# --- provenance --------------------------------------------------------------------------


def explain(obj: Any, path: str) -> Provenance:
    """``obj.explain(path)``: the provenance of the value at *path*."""
    target = obj
    parts = path.split(".")
    for i, part in enumerate(parts):
        schema = schema_of(type(target))
        spec = schema.fields.get(part) or schema.by_key.get(part)
        is_last = i == len(parts) - 1
        if spec is None:
            held = getattr(target, "__dict__", {}).get(part, MISSING) if schema.dynamic else MISSING
            if held is not MISSING and is_last:
                provs = target._vein.prov
                return provs.get(part, DEFAULT) if provs else DEFAULT
            if held is not MISSING and is_flow_object(
                held
            ):  # a flow object a dynamic attribute holds
                target = held
                continue
            if is_last and part in schema.computed:
                raise ValueError(
                    f"{path!r} is a computed value: it has no source of its own; explain the "
                    "fields it is derived from"
                )
            raise ValueError(
                f"{type(obj).__name__} has no field {path!r}"
                f"{did_you_mean(path, list(schema_of(type(obj)).all_paths()))}"
            )
        if is_last:
            if spec.nested is not None:
                raise ValueError(
                    f"{path!r} is a section; explain one of its fields (e.g. {path}.{next(iter(schema_of(spec.nested).fields), 'x')})"
                )
            provs = target._vein.prov
            return provs.get(spec.name, DEFAULT) if provs else DEFAULT
        held = getattr(target, spec.name, None) if spec.holds else None
        if held is not None and is_flow_object(held):
            # A ``Tls | None`` field's object: its own provenance, where a value was set
            # inside it; otherwise where the object as a whole came from.
            rest = ".".join(parts[i + 1 :])
            inner = explain(held, rest)
            if inner is DEFAULT:
                provs = target._vein.prov
                return provs.get(spec.name, DEFAULT) if provs else DEFAULT
            return inner
        if spec.nested is None:
            where = ".".join(parts[: i + 1])
            hint = (
                f"; explain({where!r}) tells where the {spec.collection} as a whole came from"
                if spec.collection is not None
                else ""
            )
            raise ValueError(f"{where!r} is not a section{hint}")
        target = getattr(target, spec.name)
    raise ValueError(path)  # pragma: no cover - loop always returns
