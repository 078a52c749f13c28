"""The schema-less config: ``vein.config`` and ``vein.Config()``.

The same engine as flow classes (events, layers, provenance, atomic updates), without a
schema: values keep the types their source gives (YAML 1.2 core schema; env text takes the
type of the value it replaces), nested mappings become namespaces that merge deeply.

Reading a missing name raises ``AttributeError`` (with a did-you-mean), so ``hasattr`` and
``getattr(config, name, default)`` answer correctly and a typo never creates a key -- yet
``config.a.b.c = 1`` on a fresh config creates the chain.  The two are reconciled by
looking at the calling code: a missing name read as part of an assignment target
(``config.a.b.c = ...``) yields a placeholder that creates the namespaces when the final
assignment happens; any other read raises.
"""

from __future__ import annotations

import dis
import re
import sys
import types
import typing
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar, overload

import attrs

from .declare import Flow, FlowMeta
from .events import MISSING
from .layers import KEY_DOT, Flat, _Targets, update
from .provenance import DEFAULT, Provenance
from .schema import SCHEMA_ATTR, Schema, SchemaError, did_you_mean, is_flow_class
from .state import new_node

__all__ = ["Config", "env_value", "redacted"]

T = TypeVar("T")

#: Keys whose values are masked like secret fields unless declared otherwise.
SECRET_NAMES: Final = re.compile(
    r"(pass(word|wd)?|secret|token|api_?key|private_?key|credential)", re.I
)

#: Per code object: the offsets of the attribute reads that belong to an assignment target.
_store_chains: weakref.WeakKeyDictionary[types.CodeType, frozenset[int]] = (
    weakref.WeakKeyDictionary()
)

# ``config.a.b.c = v`` compiles (after ``v``: Python evaluates the value first) to
# ``<load config> LOAD_ATTR a LOAD_ATTR b STORE_ATTR c`` on every version since 3.11, and
# through 3.13 these are the opcodes the detection relies on:
#
# * ``LOAD_ATTR`` -- in 3.12+ its oparg's low bit marks a method load (the old
#   LOAD_METHOD); same opname, and a method load is followed by a call, never a store;
# * ``STORE_ATTR`` ends the chain.
#
# Anything else between them means the read is not an assignment target (``+=`` puts COPY
# and BINARY_OP there, a call puts CALL).  ``LOAD_SUPER_ATTR`` (3.12+) can only start a
# chain (it pops super, the class and self), so it never needs to be recognised.  Not
# instructions of their own, skipped: ``EXTENDED_ARG`` prefixes an oparg over 255 (a code
# object with more than 255 names), ``CACHE`` entries (listed by dis with show_caches)
# and ``NOP``.  ``dis`` reads ``co_code``: the unspecialised, uninstrumented bytecode.
_NOT_INSTRUCTIONS: Final = frozenset({"CACHE", "EXTENDED_ARG", "NOP"})


def _store_chain_offsets(code: types.CodeType) -> frozenset[int]:
    """The offsets of the ``LOAD_ATTR``s followed by only ``LOAD_ATTR``s and a ``STORE_ATTR``."""
    found = _store_chains.get(code)
    if found is None:
        offsets: set[int] = set()
        to_store = False  # does the next real instruction continue a chain to a store?
        prefixed: int | None = None  # the chain read that an EXTENDED_ARG extends
        for ins in reversed(list(dis.get_instructions(code))):
            op = ins.opname
            if op == "EXTENDED_ARG" and prefixed is not None:
                # f_lasti points at the LOAD_ATTR itself on 3.11 (checked) and, by the
                # interpreter's design, on later versions; the prefix's offset is kept
                # too, in case a version reports where the instruction starts.
                offsets.add(ins.offset)
                continue
            if op in _NOT_INSTRUCTIONS:
                continue
            prefixed = None
            if op == "STORE_ATTR":
                to_store = True
            elif op == "LOAD_ATTR":
                if to_store:
                    offsets.add(ins.offset)
                    prefixed = ins.offset
            else:
                to_store = False
        found = _store_chains[code] = frozenset(offsets)
    return found


def _in_store_chain(depth: int = 2) -> bool:
    """Is the attribute being read part of an assignment target (``x.a.b = ...``)?"""
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover - no caller frame
        return False
    return frame.f_lasti in _store_chain_offsets(frame.f_code)


class _Pending:
    """``config.a.b`` inside ``config.a.b.c = 1``: creates the chain on assignment."""

    __slots__ = ("_owner", "_path")
    _owner: Config
    _path: tuple[str, ...]

    def __init__(self, owner: Config, path: tuple[str, ...]) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> _Pending:
        if name.startswith("__"):
            raise AttributeError(name)
        _check_key_name(Config, self._owner, (*self._path, name))
        return _Pending(self._owner, (*self._path, name))

    def __setattr__(self, name: str, value: Any) -> None:
        _check_key_name(Config, self._owner, (*self._path, name))
        data: Any = value
        for part in reversed((*self._path, name)):
            data = {part: data}
        update(self._owner, [data])

    def __repr__(self) -> str:
        return f"<vein pending namespace {'.'.join(self._path)!r}>"


def _check_key_name(cls: type, owner: Config, path: tuple[str, ...]) -> None:
    """The rules for a key set as an attribute, on every level of ``config.a.b.c = 1``.

    The key *path[-1]* (of a namespace of class *cls*) must read back as an attribute:
    not private (``_x``), not a method (``update``).  Such keys are set with ``[]``.
    """
    name = path[-1]
    if name.startswith("_"):
        why = f"config keys may not start with '_' ({name!r})"
    elif hasattr(cls, name):
        why = f"{name!r} is a method of the config"
    else:
        return
    names: list[str] = []
    node = owner._vein
    while node.parent is not None:
        names.append(node.name)
        node = node.parent
    where = "config" + "".join(f"[{p!r}]" for p in reversed(names))
    if len(path) == 1:
        how = f"{where}[{name!r}] = ..."
    else:  # the namespaces on the way do not exist yet: [] could not reach them
        nested = "..."
        for part in reversed(path):
            nested = f"{{{part!r}: {nested}}}"
        how = f"{where}.update({nested})"
    raise AttributeError(f"{why}; set the key with {how}", name=name, obj=owner)


class _ConfigTargets(_Targets):
    """Path navigation through namespaces; creates missing ones at commit time."""

    def get(self, path: str) -> tuple[Any, Any, str]:
        found = self.cache.get(path)
        if found is not None:
            return found
        obj: Any = self.root
        parts = _split(path)
        for part in parts[:-1]:
            nxt = obj._data.get(part)
            if not isinstance(nxt, Config):
                return (None, None, parts[-1])
            obj = nxt
        found = (obj, None, parts[-1])
        self.cache[path] = found
        return found

    def ensure(self, path: str) -> tuple[Any, Any, str]:
        obj: Any = self.root
        parts = _split(path)
        for part in parts[:-1]:
            nxt = obj._data.get(part)
            if not isinstance(nxt, Config):
                nxt = Config._child(obj, part)
                obj._data[part] = nxt
                self.created.append((obj, part))
            obj = nxt
        found = (obj, None, parts[-1])
        self.cache[path] = found
        return found

    def ordered(self, final: Flat) -> list[tuple[str, tuple[Any, Provenance]]]:
        """Removals first, and a key that turns between a value and a namespace emptied first.

        A reload that moves ``new: "012"`` to ``new: {deep: 1}`` plans both the removal
        of ``new`` and the write of ``new.deep``: committed the other way round, the
        removal would take the namespace just created with it.  A write may also displace
        what the plan does not mention (a value standing where a namespace must go, the
        leaves of a namespace a value replaces): those are removed explicitly, so each is
        announced, loses its provenance, and comes back if the update is rolled back.
        """
        removals: list[tuple[str, tuple[Any, Provenance]]] = []
        displaced: dict[str, tuple[Any, Provenance]] = {}
        writes: list[tuple[str, tuple[Any, Provenance]]] = []
        for path, entry in final.items():
            value, prov = entry
            if value is MISSING:
                if self.get(path)[0] is not None:  # else nothing there to remove
                    removals.append((path, entry))
                continue
            writes.append((path, entry))
            raw = path.split(".")
            obj: Any = self.root
            for i, part in enumerate(raw):
                current = obj._data.get(part.replace(KEY_DOT, "."), MISSING)
                if isinstance(current, Config):
                    obj = current
                    continue
                if current is not MISSING and i < len(raw) - 1:
                    here = ".".join(raw[: i + 1])  # a value where a namespace must go
                    if here not in final:
                        displaced[here] = (MISSING, prov)
                break
            else:  # a value replaces a namespace: its leaves go, each announced
                for keys in _leaf_keys(obj, ()):
                    below = ".".join([path, *(k.replace(".", KEY_DOT) for k in keys)])
                    if below not in final:
                        displaced[below] = (MISSING, prov)
        if not displaced and not removals:
            return writes
        return [*removals, *displaced.items(), *writes]


class _ConfigMeta(FlowMeta):
    """Subclasses of :class:`Config` stay schema-less configs (with their own methods and
    ``@vein.policy`` invariants): they are not made into attrs classes like other flow
    classes, whose generated ``__init__`` would replace the config's own."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **options: Any
    ) -> _ConfigMeta:
        if options:
            raise SchemaError(
                f"{name}: a Config subclass takes no class options (got {', '.join(options)})"
            )
        annotated = [k for k in ns.get("__annotations__", {}) if not k.startswith("_")]
        if annotated and "__vein_final__" not in ns:
            raise SchemaError(
                f"{name}: a Config subclass is schema-less and cannot declare fields "
                f"({', '.join(annotated)}); declare a schema with @vein.flow or vein.Flow "
                "and install it with vein.config.use()"
            )
        cls = type.__new__(mcls, name, bases, ns)
        setattr(cls, SCHEMA_ATTR, Schema(cls, {}, dynamic=True, open=True))
        return cls


class Config(Flow, metaclass=_ConfigMeta):
    """A schema-less, evented configuration tree (``vein.config`` is the shared one).

    Attribute and mapping access both work: ``config.database.host``,
    ``config["database"]["host"]``, ``config.get("database.host", default)``.  A key that
    clashes with a method name (``update``, ``get``, ``keys``...) is reachable with
    ``config["update"]``.
    """

    __slots__ = ("__weakref__", "_data", "_secrets", "_typed", "_vein")
    __vein_final__ = True
    __vein_targets__ = _ConfigTargets

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_vein", new_node(self))
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_secrets", set())
        object.__setattr__(self, "_typed", None)
        if data:
            update(self, [data])

    @classmethod
    def _child(cls, parent: Config, name: str) -> Config:
        child = object.__new__(cls)
        node = new_node(child)
        node.parent = parent._vein
        node.name = name
        object.__setattr__(child, "_vein", node)
        object.__setattr__(child, "_data", {})
        object.__setattr__(child, "_secrets", set())
        object.__setattr__(child, "_typed", None)
        return child

    # --- attribute access ---------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_vein", "_data", "_secrets", "_typed"):
            raise AttributeError(name)
        data = self._data
        if name in data:
            return data[name]
        if _in_store_chain():
            _check_key_name(type(self), self, (name,))
            return _Pending(self, (name,))
        raise AttributeError(
            f"config has no key {self._vein.path_prefix() + name!r}{did_you_mean(name, list(data))}",
            name=name,
            obj=self,
        )

    def __setattr__(self, name: str, value: Any) -> None:
        _check_key_name(type(self), self, (name,))
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    # --- mapping access -----------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Config):
            value = value.to_dict()
        existing = self._data.get(key, MISSING)
        if isinstance(value, Mapping) and value:
            # Assignment replaces the namespace: keys missing from the new mapping go.
            removals = _removals(existing, key, value) if isinstance(existing, Config) else []
            if removals:
                update(self, [_RemovalDoc.make(removals), {key: value}])
            else:
                update(self, [{key: value}])
            return
        # A value in place of a namespace: the update removes its leaves (see ordered()).
        update(self, [{key: dict(value) if isinstance(value, Mapping) else value}])

    def __delitem__(self, key: str) -> None:
        existing = self._data.get(key, MISSING)
        if existing is MISSING:
            raise KeyError(key)
        if isinstance(existing, Config):
            update(self, [_RemovalDoc.make(_removals(existing, key, {}))])
            self._data.pop(key, None)
        else:
            update(self, [_RemovalDoc.make([(key,)])])

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)  # a mapping: empty is false

    def keys(self) -> list[str]:
        return list(self._data)

    def values(self) -> list[Any]:
        return list(self._data.values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._data.items())

    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dotted *path* (``"database.host"``), or *default*."""
        obj: Any = self
        for part in path.split("."):
            if not isinstance(obj, Config):
                return default
            obj = obj._data.get(part, MISSING)
            if obj is MISSING:
                return default
        return obj

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """Plain nested data (with *redact*, secret keys masked at any depth, in lists too)."""
        from .dump import plain

        out: dict[str, Any] = {}
        for key, value in list(self._data.items()):
            if isinstance(value, Config):
                out[key] = value.to_dict(redact=redact)
            elif not redact:
                out[key] = plain(value)
            elif self.__vein_is_secret__(key) and not _blank(value):
                out[key] = "***"
            else:
                out[key] = redacted(value)
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling and copying keep the keys and the keys marked secret.

        Layers, provenance and subscriptions belong to the original: a copy starts with its
        values as runtime assignments and no subscribers.
        """
        return (_restore, (_export(self), type(self)))

    def __copy__(self) -> Config:
        return _restore(_export(self), type(self))

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        import copy

        return _restore(copy.deepcopy(_export(self), memo), type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict(redact=True)!r})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {k for k in self._data if k.isidentifier()})

    # --- engine hooks -------------------------------------------------------------------

    def __vein_get__(self, name: str) -> Any:
        found = self._data.get(name, MISSING)
        if isinstance(found, Config) and not found._data:
            # An emptied namespace is no value: a value written in its place reports
            # old=MISSING (its leaves have reported their removal).
            return MISSING
        return found

    def __vein_put__(self, name: str, value: Any) -> None:
        data = self._data
        if value is MISSING:
            data.pop(name, None)
            return
        if not data:
            self._reattach()
        data[name] = value

    def _reattach(self) -> None:
        """Put this (empty) namespace back in its parent if a value has replaced it since.

        Undoing ``new: {deep: 1}`` -> ``new: 5`` first removes the 5 (its old value is
        MISSING, see ``__vein_get__``), then puts ``deep`` back here: the namespace must
        stand in its parent again, subscriptions and all.
        """
        node = self._vein
        while node.parent is not None:
            parent = node.parent.obj
            if not isinstance(parent, Config) or parent._vein is not node.parent:
                return  # the parent was reset: this namespace belongs to no tree now
            if node.name in parent._data:
                return
            parent._data[node.name] = node.obj
            node = node.parent

    def __vein_is_secret__(self, name: str) -> bool:
        return name in self._secrets or bool(SECRET_NAMES.search(name))

    def __vein_secret_path__(self, path: str) -> bool:
        """Is the key at an engine *path* secret (by its name or :meth:`secret`)?"""
        obj: Any = self
        parts = _split(path)
        for part in parts[:-1]:
            obj = obj._data.get(part) if isinstance(obj, Config) else None
        if isinstance(obj, Config):
            return obj.__vein_is_secret__(parts[-1])
        return bool(SECRET_NAMES.search(parts[-1]))

    def __vein_lookup__(self, path: str) -> Any:
        found = self.__vein_current__(path)
        return MISSING if isinstance(found, Config) else found

    def __vein_current__(self, path: str) -> Any:
        """What an engine *path* holds now: a value, a namespace, or MISSING (see env_value)."""
        obj: Any = self
        for part in _split(path):
            if not isinstance(obj, Config):
                return MISSING
            obj = obj._data.get(part, MISSING)
        return obj

    def explain(self, path: str) -> Provenance:
        """Where the value at dotted *path* came from."""
        obj: Any = self
        parts = path.split(".")
        for part in parts[:-1]:
            obj = obj._data.get(part) if isinstance(obj, Config) else None
        if not isinstance(obj, Config) or parts[-1] not in obj._data:
            raise ValueError(
                f"config has no key {path!r}{did_you_mean(path, list(_all_paths(self)))}"
            )
        provs = obj._vein.prov
        return provs.get(parts[-1], DEFAULT) if provs else DEFAULT

    def secret(self, *keys: str) -> None:
        """Treat these keys (of this namespace) as secrets: masked in events, dumps, errors."""
        self._secrets.update(keys)

    # --- the process-wide config --------------------------------------------------------

    @overload
    def use(self, settings: type[T], /, *sources: Any) -> T: ...
    @overload
    def use(self, settings: T, /) -> T: ...

    def use(self, settings: Any, /, *sources: Any) -> Any:
        """Install a typed flow object as the process-wide config and return it.

        ``use(Settings, *sources)`` builds it first, like ``vein.load(Settings, *sources)``
        (defaults plus the sources, atomically); ``use(settings)`` installs an instance
        made elsewhere.  Anywhere in the program, ``vein.config.typed(Settings)`` gives
        it back with its type, so type checkers check every access.  The schema-less keys
        of this config are a separate store: the typed object is reached only through
        ``typed()``.
        """
        if isinstance(settings, type):
            _check_flow_class(settings, "use")
            from .layers import load

            settings = load(settings, sources)
        else:
            _check_flow_class(type(settings), "use", settings)
            if sources:
                raise TypeError(
                    "config.use() takes sources only with a class: use(Settings, *sources); "
                    f"to apply them to this {type(settings).__name__}, call its update()"
                )
        object.__setattr__(self, "_typed", settings)
        return settings

    def typed(self, cls: type[T]) -> T:
        """The typed config installed with :meth:`use`, checked to be a *cls*."""
        if not isinstance(cls, type):
            raise TypeError(
                f"config.typed() takes the class of the installed config (typed(Settings)), "
                f"not {_describe(cls)}"
            )
        typed = self._typed
        if not isinstance(typed, cls):
            installed = (
                "nothing is installed"
                if typed is None
                else f"{type(typed).__qualname__} is installed"
            )
            raise LookupError(
                f"no {cls.__name__} is installed as the config ({installed}); install one "
                f"with vein.config.use({cls.__name__}) or vein.config.use(instance)"
            )
        return typed

    def reset(self) -> None:
        """Forget every key, layer, subscription and installed typed config (for tests)."""
        object.__setattr__(self, "_vein", new_node(self))
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_secrets", set())
        object.__setattr__(self, "_typed", None)


Config.__vein_set_node__ = Config._vein.__set__  # type: ignore[attr-defined,misc]


def env_value(text: str, current: Any, layer: str | None = None) -> Any:
    """Environment text as the type of the value it replaces (the schema-less rule).

    Nothing to replace, ``None`` or text: the text as it is.  A list, tuple or set whose
    items share one type: a JSON array or comma-separated list of that type
    (``X_PORTS=3,4`` over ``[1, 2]`` gives ``[3, 4]``).  A namespace: refused -- one
    variable would wipe a whole section; its keys are set one by one (``X_DB__HOST``) --
    unless everything in it came from this same env *layer* (a reload that turns
    ``X_DB__HOST`` into ``X_DB``).  Anything else: converted by the current value's type.
    Raises :class:`~vein.structuring.ConversionError` saying what was expected and why.
    """
    from ..structuring import ConversionError, structure_value

    if current is MISSING or current is None or isinstance(current, str):
        return text
    if isinstance(current, Config):
        if not current._data or (layer is not None and _filled_only_by(current, layer)):
            return text  # nothing would be lost that another source or a write put there
        names = ", ".join(f"__{k.upper()}" for k in list(current._data)[:3])
        raise ConversionError(
            "no text: this key is a section",
            text,
            "set its keys with one variable each: this variable's name + " + (names or "__KEY"),
        )
    target: Any = type(current)
    if isinstance(current, list | tuple | set | frozenset) and current:
        kinds = {type(item) for item in current}
        if kinds == {int, float}:
            kinds = {float}
        if len(kinds) == 1 and next(iter(kinds)) in (bool, int, float, str):
            item = next(iter(kinds))
            target = target[item, ...] if isinstance(current, tuple) else target[item]
    try:
        return structure_value(text, target)
    except ConversionError as exc:
        shown = getattr(target, "__name__", None) if not typing.get_args(target) else None
        why = f"the type of the current value, {shown or _type_text(target)}"
        detail = f"{exc.detail}; {why}" if exc.detail else why
        raise ConversionError(
            exc.expected, exc.value, detail, exc.subpath, hidden=exc.hidden
        ) from None


def _filled_only_by(namespace: Config, layer: str) -> bool:
    """Did every value below *namespace* come from the layer *layer*?"""
    for key, value in list(namespace._data.items()):
        if isinstance(value, Config):
            if not _filled_only_by(value, layer):
                return False
            continue
        provs = namespace._vein.prov
        prov = provs.get(key) if provs else None
        if prov is None or prov.layer != layer:
            return False
    return True


def _type_text(tp: Any) -> str:
    args = typing.get_args(tp)
    if not args:
        return str(getattr(tp, "__name__", tp))
    inner = ", ".join("..." if a is Ellipsis else _type_text(a) for a in args)
    return f"{typing.get_origin(tp).__name__}[{inner}]"


def redacted(value: Any) -> Any:
    """*value* as plain data, with the value of every secret-looking key in it masked.

    Schema-less values are whatever the source gave, so a secret can sit at any depth:
    ``users: [{name: a, password: hunter2}]``.  Used by ``to_dict(redact=True)`` (and so
    ``repr`` and ``vein show``).
    """
    from .dump import plain

    if isinstance(value, Mapping):
        # A mapping under a secret-looking key is shown like a namespace of that name:
        # each of its keys by its own name (``credentials: {user: u, password: ***}``).
        return {
            k: "***"
            if isinstance(k, str)
            and SECRET_NAMES.search(k)
            and not _blank(v)
            and not (isinstance(v, Mapping) and v)
            else redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return plain(value, True)


def _blank(value: Any) -> bool:
    """Nothing to hide: shown as it is even under a secret key."""
    return value is None or (isinstance(value, str) and not value)


def _describe(value: Any) -> str:
    if type(value).__module__ != "builtins":
        return f"an instance of {type(value).__qualname__}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _check_flow_class(cls: type, method: str, value: Any = MISSING) -> None:
    """*cls* must be a flow class other than the schema-less config (for use())."""
    given = _describe(value) if value is not MISSING else f"the class {cls.__qualname__}"
    if issubclass(cls, Config):
        raise TypeError(
            f"config.{method}() installs a typed schema; {given} is a schema-less config "
            "(vein.config itself is the process-wide one)"
        )
    if is_flow_class(cls):
        return
    if value is not MISSING and isinstance(value, Mapping):
        hint = "; to add these keys to the schema-less config, call config.update(mapping)"
    elif value is MISSING or attrs.has(cls) or hasattr(cls, "__annotations__"):
        hint = f"; decorate {cls.__qualname__} with @vein.flow (or subclass vein.Flow)"
    else:
        hint = ""
    raise TypeError(
        f"config.{method}() takes a flow class (@vein.flow or a vein.Flow subclass) or an "
        f"instance of one, not {given}{hint}"
    )


def _split(path: str) -> list[str]:
    """The keys of an engine path (a literal dot in a key is escaped there)."""
    return [part.replace(KEY_DOT, ".") for part in path.split(".")]


class _Saved:
    """A namespace as pickled: its keys (nested namespaces as ``_Saved``) and secret marks."""

    __slots__ = ("data", "secrets")

    def __init__(self, data: dict[str, Any], secrets: list[str]) -> None:
        self.data = data
        self.secrets = secrets

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Saved, (self.data, self.secrets))


def _export(cfg: Config) -> _Saved:
    data = {k: _export(v) if isinstance(v, Config) else v for k, v in list(cfg._data.items())}
    return _Saved(data, sorted(cfg._secrets))


def _restore(saved: _Saved, cls: type[Config] = Config) -> Config:
    cfg = object.__new__(cls)  # like unpickling: a subclass's own __init__ does not run
    Config.__init__(cfg)
    _mark(cfg, saved)
    update(cfg, [_unsaved(saved)])
    return cfg


def _unsaved(saved: _Saved) -> dict[str, Any]:
    return {k: _unsaved(v) if isinstance(v, _Saved) else v for k, v in saved.data.items()}


def _mark(cfg: Config, saved: _Saved) -> None:
    """Mark the secret keys (creating the namespaces that hold them) before any value arrives."""
    cfg._secrets.update(saved.secrets)
    for key, value in saved.data.items():
        if isinstance(value, _Saved):
            child = cfg._data.get(key)
            if not isinstance(child, Config):
                child = cfg._data[key] = Config._child(cfg, key)
            _mark(child, value)


def _all_paths(cfg: Config, prefix: str = "") -> Iterator[str]:
    """Every leaf as a dotted path, for messages."""
    for key, value in list(cfg._data.items()):
        if isinstance(value, Config):
            yield from _all_paths(value, f"{prefix}{key}.")
        else:
            yield prefix + key


def _leaf_keys(cfg: Config, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for key, value in list(cfg._data.items()):
        if isinstance(value, Config):
            yield from _leaf_keys(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _removals(existing: Config, key: str, keep: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The leaves under *existing* (the value of *key*) that *keep* does not define."""
    out = []
    for keys in _leaf_keys(existing, (key,)):
        node: Any = {key: keep}
        for part in keys:
            node = node.get(part, MISSING) if isinstance(node, Mapping) else MISSING
        if node is MISSING:
            out.append(keys)
    return out


class _RemovalDoc:
    """A document that removes keys (as runtime writes of MISSING)."""

    @staticmethod
    def make(paths: list[tuple[str, ...]]) -> Any:
        return _RemovalSource(paths)


class _RemovalSource:
    key = "\0removal"

    def __init__(self, paths: list[tuple[str, ...]]) -> None:
        self.paths = paths

    def read(self, schema: Any) -> Any:
        from ..sources.base import Document
        from .provenance import RUNTIME

        data: dict[str, Any] = {}
        for parts in self.paths:
            node = data
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = MISSING
        return Document(data, lambda _p: RUNTIME, None, strict=True, runtime=True)

    def changed(self) -> bool:
        return False


_: Callable[..., Any] = _RemovalDoc.make
