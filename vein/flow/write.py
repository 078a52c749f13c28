"""The runtime write path: generated per-field setters and the class ``__setattr__``.

Everything that can be decided per field (type check, converter, validator, secret,
read-only, nested) is decided when the class is finished, and baked into one small
generated function per field, so an assignment is: one dict lookup, the check, the
validator, a short locked store, and -- only if someone listens -- the emit.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ErrorEntry, ReadOnlyError, ValidationError, reason_of
from ..structuring import ConversionError, describe_type
from .collections import copy_of, detach, wrap
from .events import MISSING, Change, callback_failed, emit, route
from .provenance import RUNTIME

if TYPE_CHECKING:
    from .schema import FieldSpec
    from .state import Node

__all__ = ["make_setattr", "make_setter"]


def field_path(obj: Any, name: str) -> str:
    node: Node | None = getattr(obj, "_vein", None)
    prefix = node.path_prefix() if node is not None else ""
    return prefix + name


def type_error(obj: Any, spec: FieldSpec, exc: ConversionError) -> ValidationError:
    path = field_path(obj, spec.name) + exc.subpath
    return ValidationError([ErrorEntry(path, exc.render(spec.secret), RUNTIME)])


def validator_error(
    obj: Any, spec: FieldSpec, exc: BaseException, step: str = "validator"
) -> ValidationError:
    path = field_path(obj, spec.name)
    if spec.secret:
        message = f"rejected by its {step} ({type(exc).__name__}; value hidden: secret field)"
    else:
        message = f"rejected by its {step}: {reason_of(exc)}"
    return ValidationError([ErrorEntry(path, message, RUNTIME)])


def converter_error(obj: Any, spec: FieldSpec, exc: BaseException) -> ValidationError:
    return validator_error(obj, spec, exc, "converter")


def readonly_error(obj: Any, spec: FieldSpec) -> ReadOnlyError:
    return ReadOnlyError(
        f"{field_path(obj, spec.name)} is read-only at runtime; set it from a source "
        "(update/load) instead"
    )


_counter = 0


def _compile(src: str, name: str, ns: dict[str, Any]) -> Callable[..., Any]:
    global _counter
    _counter += 1
    filename = f"<vein generated {name} #{_counter}>"
    # Register the source so tracebacks through generated code show real lines.
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), ns)
    fn: Callable[..., Any] = ns[name]
    return fn


_COMPARE_OPS = frozenset(("<", "<=", ">=", ">"))


def _inline_test(validator: Any, ns: dict[str, Any]) -> str | None:
    """An expression true exactly when *validator* accepts ``value``, or ``None``.

    For attrs' own ``lt/le/ge/gt``, ``min_len/max_len`` and ``instance_of`` (alone or in an
    ``and_``/list): a comparison inline costs a fraction of the calls through the validator
    objects, on every assignment.  Anything else is called as it is.
    """
    parts = getattr(validator, "_validators", None)
    if type(validator).__name__ != "_AndValidator" or not isinstance(parts, tuple):
        parts = (validator,)
    tests = []
    for i, v in enumerate(parts):
        kind = type(v)
        if kind.__module__ != "attr.validators":
            return None
        name = f"_vb{i}"
        if kind.__name__ == "_NumberValidator" and v.compare_op in _COMPARE_OPS:
            ns[name] = v.bound
            tests.append(f"value {v.compare_op} {name}")
        elif kind.__name__ == "_MaxLengthValidator":
            ns[name] = v.max_length
            tests.append(f"len(value) <= {name}")
        elif kind.__name__ == "_MinLengthValidator":
            ns[name] = v.min_length
            tests.append(f"len(value) >= {name}")
        elif kind.__name__ == "_InstanceOfValidator":
            ns[name] = v.type
            tests.append(f"isinstance(value, {name})")
        else:
            return None
    return " and ".join(tests) if tests else None


def make_setter(
    cls: type, spec: FieldSpec, assign_nested: Callable[..., Any]
) -> Callable[..., Any]:
    """Generate the setter of one field."""
    name = spec.name
    a = spec.attribute
    descriptor = getattr(cls, name)
    ns: dict[str, Any] = {
        "_spec": spec,
        "_check": spec.check,
        "_fast": spec.fast_type,
        "_conv": a.converter,
        "_validator": a.validator,
        "_attr": a,
        "_get": descriptor.__get__,
        "_set": descriptor.__set__,
        "_emit": emit,
        "_RUNTIME": RUNTIME,
        "_MISSING": MISSING,
        "_Conversion": ConversionError,
        "_type_error": type_error,
        "_validator_error": validator_error,
        "_readonly_error": readonly_error,
        "_assign_nested": assign_nested,
    }
    if spec.holds:
        from .layers import hold_value

        ns["_hold"] = hold_value
    fn_name = f"set_{name}"
    if spec.info.readonly:
        src = f"def {fn_name}(self, value):\n    raise _readonly_error(self, _spec)\n"
        return _compile(src, fn_name, ns)
    lines = [f"def {fn_name}(self, value):"]
    body = []
    conv_line = None
    if a.converter is not None:
        conv: Any = a.converter  # attrs' stubs do not declare Converter's attributes
        if hasattr(conv, "converter") and hasattr(conv, "takes_self"):  # attrs.Converter
            ns["_conv"] = conv.converter
            if conv.takes_self or conv.takes_field:
                args = ["value"]
                if conv.takes_self:
                    args.append("self")
                if conv.takes_field:
                    args.append("_attr")
                conv_line = f"value = _conv({', '.join(args)})"
            else:
                conv_line = "value = _conv(value)"
        else:
            conv_line = "value = _conv(value)"
    if conv_line is not None:
        # Its own try: a failing converter is named as such (a try costs nothing in 3.11).
        ns["_converter_error"] = converter_error
        lines += [
            "    try:",
            f"        {conv_line}",
            "    except Exception as exc:",
            "        raise _converter_error(self, _spec, exc) from None",
        ]
    lines.append("    try:")
    if spec.check is not None and spec.nested is None:
        if spec.fast_type is not None:
            body.append("if type(value) is not _fast:")
            body.append("    value = _check(value)")
        else:
            body.append("value = _check(value)")
    if spec.nested is not None:
        # A nested flow field takes an instance of its class or a mapping; the values are
        # copied into the existing child by assign_nested (runtime rules: no text coercion).
        ns["_nested_ok"] = (spec.nested, Mapping)
        ns["_not_nested"] = ConversionError(describe_type(spec.type), None)
        body.append("if not isinstance(value, _nested_ok):")
        body.append("    raise _Conversion(_not_nested.expected, value)")
    if a.validator is not None:
        test = _inline_test(a.validator, ns)
        if test is None:
            body.append("_validator(self, _attr, value)")
        else:
            # attrs' bounds, lengths and types as one expression: the validator objects
            # are called only when it fails, to raise their own error.
            body.append(f"if not ({test}):")
            body.append("    _validator(self, _attr, value)")
    if spec.collection is not None:
        ns["_wrap"] = wrap
        body.append("value = _wrap(self, _spec, value)")
    if not body:
        body.append("pass")
    lines.extend("        " + b for b in body)
    lines.append("    except _Conversion as exc:")
    lines.append("        raise _type_error(self, _spec, exc) from None")
    lines.append("    except Exception as exc:")  # any failing validator rejects the value
    lines.append("        raise _validator_error(self, _spec, exc) from None")
    if spec.nested is not None:
        lines.append(f"    _assign_nested(self, {name!r}, value)")
    else:
        secret = bool(spec.secret)
        shown = "value"
        if spec.collection is not None:
            # The replaced container stops reporting to this field; events carry copies.
            ns["_detach"] = detach
            shown = "value._plain() if value is not None else None"
            ns["_copy_of"] = copy_of
        lines.extend(
            [
                "    node = self._vein",
                "    tree = node.tree or node.find_tree()",
                "    lock = tree.lock",
                "    lock.acquire()",  # explicit calls: half the cost of a with-statement
                "    try:",
                "        try:",
                "            old = _get(self)",
                "        except AttributeError:",  # a dynamic class's field not set yet
                "            old = _MISSING",
                "        if old is value or old == value:",
                "            return",
                *(  # a Tls | None field: the flow object it holds is a child of this one
                    [f"        value = _hold(self, {name!r}, old, value)"] if spec.holds else []
                ),
                "        _set(self, value)",
                *(["        _detach(old)"] if spec.collection is not None else []),
                "        tree.version += 1",
                "        if tree.batch is not None:",
                f"            tree.batch.record(self, node, {name!r}, old, value, _RUNTIME, {secret})",
                "            return",
                "        if tree.policies_on is not None:",  # raises after undoing the store
                f"            tree.policies_on(self, node, {name!r}, old)",
                "        prov = node.prov",
                "        if prov is None:",
                "            prov = node.prov = {}",
                f"        prov[{name!r}] = _RUNTIME",
                "    finally:",
                "        lock.release()",
            ]
        )
        old_shown = "_copy_of(old)" if spec.collection else "old"
        if spec.collection is None:
            # The common case inline: subscribers on this very object and no parent to
            # relay to.
            ns["_Change"] = Change
            ns["_new_change"] = tuple.__new__
            ns["_route"] = route
            ns["_failed"] = callback_failed
            lines.extend(
                [
                    "    subs = node.subs",
                    "    if subs is not None and node.parent is None:",
                    f"        found = subs.routes.get({name!r})",
                    "        if found is None:",
                    f"            found = _route(subs, {name!r})",
                    "        if found:",
                    f"            change = _new_change(_Change, ({name!r}, old, value, _RUNTIME, {secret}))",
                    "            for sub in found:",
                    "                cb = sub._callback if sub._ref is None else sub._ref()",
                    "                if cb is not None:",
                    "                    try:",
                    "                        cb(change)",
                    "                    except Exception as exc:",
                    "                        _failed(node, exc, cb, change)",
                    "        return",
                ]
            )
        lines.extend(
            [
                "    if subs is not None or node.parent is not None:"
                if spec.collection is None
                else "    if node.subs is not None or node.parent is not None:",
                f"        _emit(node, {name!r}, {old_shown}, {shown}, _RUNTIME, {secret})",
            ]
        )
    src = "\n".join(lines) + "\n"
    return _compile(src, fn_name, ns)


def make_setattr(setters: dict[str, Any], other: Callable[[Any, str, Any], None]) -> Any:
    get = setters.get

    def __setattr__(self: Any, name: str, value: Any) -> None:
        setter = get(name)
        if setter is None:
            other(self, name, value)
        else:
            setter(self, value)

    return __setattr__
