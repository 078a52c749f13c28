"""Module-level functions of the public API (``vein.load``, ``vein.structure``, ...)."""

from __future__ import annotations

import collections.abc as cabc
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar, Union

from .errors import ErrorEntry, ValidationError, VeinError, reason_of
from .flow import layers
from .flow.config import Config
from .flow.dump import to_dict as _to_dict
from .flow.events import MISSING
from .flow.schema import SchemaError, did_you_mean, is_flow_class, schema_of
from .flow.txn import policy
from .sources.dict import DictSource

if TYPE_CHECKING:
    from .flow.provenance import Provenance

__all__ = ["HookedAttribute", "explain", "load", "structure", "to_dict", "validates"]

T = TypeVar("T")


def load(cls: type[T], *sources: Any) -> T:
    """Build a *cls* instance from its defaults plus *sources*, in one atomic step.

    Sources are applied in order (later wins) and become the instance's layers, so later
    reloads and ``watch`` follow the same rules as :meth:`vein.Flow.update`.  Every problem
    (conversion, validation, unknown keys, missing required fields -- naming the env
    variable and file key that would set them) is reported at once in a
    :class:`vein.ValidationError`.
    """
    obj: T = layers.load(cls, sources)
    return obj


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalize_key(key: str) -> str:
    """``camelCase``, ``kebab-case``, ``UPPER_CASE`` and ``Pascal`` keys to ``snake_case``."""
    return _CAMEL.sub("_", key).replace("-", "_").replace(" ", "_").lower()


def _normalized(data: Any, tp: Any, path: str, errors: list[ErrorEntry], depth: int = 0) -> Any:
    """*data* with its keys renamed onto the declared names of *tp*, wherever *tp* holds
    flow classes: nested sections, list/tuple/set items, dict values, optionals, unions.

    A key that normalizes to a field already given (``max-pool-size`` and
    ``MAX_POOL_SIZE``) is reported in *errors*: which of the two was meant is not ours to
    guess.  Keys that match nothing are left as written, for ``structure`` to report
    with a did-you-mean (or to ignore, with ``strict=False``).
    """
    if depth > layers.MAX_DEPTH:
        return data  # too deep for vein anyway: load reports it
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if is_flow_class(tp):
        return (
            _normalized_section(data, tp, path, errors, depth)
            if isinstance(data, Mapping)
            else data
        )
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        classes = [a for a in args if _holds_sections(a)]
        for arg in classes:
            if len(classes) == 1 or _fits(data, arg):
                return _normalized(data, arg, path, errors, depth)
        return data
    if not args or isinstance(data, str | bytes):
        return data
    if isinstance(data, Mapping) and origin in _MAPPINGS and len(args) == 2:
        return {
            k: _normalized(v, args[1], f"{path}.{k}" if path else str(k), errors, depth + 1)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple) and origin in _SEQUENCES:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            item_types = list(args) + [Any] * (len(data) - len(args))
        else:
            item_types = [args[0]] * len(data)
        return [
            _normalized(v, t, f"{path}[{i}]", errors, depth + 1)
            for i, (v, t) in enumerate(zip(data, item_types, strict=False))
        ]
    return data


_MAPPINGS: Final = (dict, Mapping, cabc.MutableMapping)
_SEQUENCES: Final = (list, tuple, set, frozenset, cabc.Sequence, cabc.MutableSequence, cabc.Set)


def _normalized_section(
    data: Mapping[Any, Any], cls: type, path: str, errors: list[ErrorEntry], depth: int
) -> dict[Any, Any]:
    schema = schema_of(cls)
    out: dict[Any, Any] = {}
    given: dict[str, Any] = {}  # field name -> the key that set it
    for key, value in data.items():
        target = key
        spec = None
        if isinstance(key, str):
            spec = schema.by_key.get(key) or schema.fields.get(key)
            if spec is None:
                candidate = normalize_key(key)
                spec = schema.by_key.get(candidate) or schema.fields.get(candidate)
                if spec is not None:
                    target = spec.key
        if spec is None:
            out[target] = value
            continue
        here = f"{path}.{spec.name}" if path else spec.name
        first = given.get(spec.name)
        if first is not None:
            errors.append(
                ErrorEntry(
                    here,
                    f"given twice, as {first!r} and as {key!r} (both name the field "
                    f"{spec.name!r}); keep one of them",
                )
            )
            continue
        given[spec.name] = key
        out[target] = _normalized(value, spec.type, here, errors, depth + 1)
    return out


def _holds_sections(tp: Any) -> bool:
    """Does *tp* (a union member) hold flow classes anywhere?"""
    if is_flow_class(tp):
        return True
    return any(_holds_sections(a) for a in typing.get_args(tp) if a is not Ellipsis)


def _fits(data: Any, tp: Any) -> bool:
    """Is *data* shaped like *tp* (for choosing a union member to normalize against)?"""
    if is_flow_class(tp):
        if not isinstance(data, Mapping):
            return False
        schema = schema_of(tp)
        return all(
            isinstance(k, str)
            and (
                k in schema.by_key
                or k in schema.fields
                or normalize_key(k) in schema.by_key
                or normalize_key(k) in schema.fields
            )
            for k in data
        )
    origin = typing.get_origin(tp)
    if origin in _MAPPINGS:
        return isinstance(data, Mapping)
    if origin in _SEQUENCES:
        return isinstance(data, list | tuple)
    return False


def structure(
    data: Mapping[str, Any], cls: type[T], *, strict: bool = True, normalize_keys: bool = False
) -> T:
    """Structure a plain (legacy) dict into *cls*, with vein's conversion rules.

    Unknown keys are an error with a did-you-mean (*strict* false ignores them).
    *normalize_keys* maps ``camelCase``, ``kebab-case`` and ``UPPER_CASE`` keys onto the
    declared snake_case names.  ``structure(to_dict(x), type(x)) == x``.
    """
    if not isinstance(data, Mapping):
        # Legacy data is often whatever json.load() or yaml.safe_load() gave: bad input,
        # reported like every other problem of the data.
        kinds = {"NoneType": "null", "str": "text", "int": "a number", "float": "a number"}
        got = kinds.get(type(data).__name__, f"a {type(data).__name__}")
        expected = f"a mapping of {getattr(cls, '__name__', cls)} fields (key: value)"
        raise ValidationError.single("", f"expected {expected} at the top level, got {got}")
    if normalize_keys:
        errors: list[ErrorEntry] = []
        data = _normalized(data, cls, "", errors)
        if errors:
            raise ValidationError(errors)
    obj: T = layers.load(cls, [DictSource(data, name="structure", strict=strict)])
    return obj


class HookedAttribute:
    """What a :func:`validates` hook gets as *attribute* for an undeclared name.

    It has the ``name`` attrs' own validators read, so they can be used as hooks.
    """

    __slots__ = ("name",)
    name: str

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        return type(other) is HookedAttribute and other.name == self.name

    def __hash__(self) -> int:
        return hash((HookedAttribute, self.name))

    def __repr__(self) -> str:
        return f"HookedAttribute(name={self.name!r})"


Hook = Callable[[Any, Any, Any], Any]


def validates(*names: str) -> Callable[[Hook], Callable[[Any], None]]:
    """Attach a validation hook to attributes by name, declared or dynamic::

        class UserSession(vein.Flow):
            def __init__(self):
                self.user_id = None

            @vein.validates("user_id")
            def _check_user_id(self, attribute, value):
                if value is not None and not value.isdigit():
                    raise ValueError("must be digits")

    The hook has the signature of an attrs validator, ``(self, attribute, value)``, so
    attrs' validators are hooks too: ``_id = vein.validates("user_id")(instance_of(str))``.
    It runs for each named attribute that is set, after every committed change of the
    object (an assignment, ``update``, the end of a ``batch``), like a ``@vein.policy``:
    when it raises, the change is rolled back, no event fires, and a
    :class:`vein.ValidationError` names the attribute.  On a :class:`vein.Config`
    subclass the names are dotted paths (``"database.port"``).
    """
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError(
            "validates() takes the names of the attributes it checks, as text: "
            "@vein.validates('user_id', 'email')"
        )

    def decorate(fn: Hook) -> Callable[[Any], None]:
        if not callable(fn):
            raise TypeError(
                f"validates({', '.join(map(repr, names))}) decorates a method "
                f"(self, attribute, value) or takes an attrs validator, not {fn!r}"
            )

        def hook(self: Any) -> None:
            errors: list[ErrorEntry] = []
            prefix = self._vein.path_prefix()
            for name in names:
                attribute, value, secret = _hooked(self, name)
                if value is MISSING:
                    continue  # not set (yet): nothing to check
                try:
                    fn(self, attribute, value)
                except VeinError:
                    raise
                except Exception as exc:
                    if secret:
                        message = (
                            f"rejected by its validator ({type(exc).__name__}; "
                            "value hidden: secret)"
                        )
                    else:
                        message = f"rejected by its validator: {reason_of(exc)}"
                    errors.append(ErrorEntry(prefix + name, message))
            if errors:
                raise ValidationError(errors)

        hook.__name__ = getattr(fn, "__name__", "validates")
        hook.__qualname__ = getattr(fn, "__qualname__", hook.__name__)
        hook.__doc__ = getattr(fn, "__doc__", None)
        hook.__wrapped__ = fn  # type: ignore[attr-defined]
        return policy(hook)

    return decorate


def _hooked(obj: Any, name: str) -> tuple[Any, Any, bool]:
    """``(attribute, value, secret)`` of the attribute a hook checks (value MISSING if unset)."""
    if isinstance(obj, Config):
        return HookedAttribute(name), obj.get(name, MISSING), obj.__vein_secret_path__(name)
    schema = schema_of(type(obj))
    spec = schema.fields.get(name) or schema.by_key.get(name)
    if spec is not None:
        return spec.attribute, getattr(obj, spec.name, MISSING), spec.secret
    if not schema.dynamic:
        raise SchemaError(
            f"{type(obj).__qualname__}: validates({name!r}) names no field"
            f"{did_you_mean(name, list(schema.fields))}"
        )
    return HookedAttribute(name), obj.__vein_get__(name), False


def to_dict(obj: Any, *, redact: bool = False) -> dict[str, Any]:
    """Plain data for a flow object (secrets replaced by ``'***'`` with *redact*)."""
    return _to_dict(obj, redact=redact)


def explain(obj: Any, path: str) -> Provenance:
    """Where the value at *path* of *obj* came from (same as ``obj.explain(path)``)."""
    return layers.explain(obj, path)
