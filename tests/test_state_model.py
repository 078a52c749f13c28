"""A model-based test of the transaction rules (issue 5), with hypothesis.

Random sequences of writes (valid and invalid), in-place mutations and whole assignments
of list, dict and set fields (also inside batches), ``update`` calls
(plain mappings and fresh source layers, some invalid), batches (some raising, some nested
with an inner block that fails, some ending in a policy violation) and policy violations
are run against a flow object and against a plain model that applies only what must
commit.  After every step:

* the object's values, its snapshot and its provenance (``explain``) equal the model's;
* the events emitted so far, replayed in order onto a plain dict (each one's ``old`` must be
  what the replica holds), give the model's values -- so no event was lost, none was
  fired for a rolled-back change, and coalescing kept first-old/last-new.

At the end the events are also replayed onto a fresh object, which must equal the object.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import vein


@vein.flow
class Inner:
    x: int = 0
    y: int = 10

    @vein.policy
    def x_not_above_y(self) -> None:
        if self.x > self.y:
            raise ValueError("x above y")


@vein.flow
class State:
    a: int = vein.field(default=0, validator=attrs.validators.ge(0))
    b: int = 0
    tags: list[str] = vein.field(factory=list)
    limits: dict[str, int] = vein.field(factory=dict)
    flags: set[str] = vein.field(factory=set)
    inner: Inner = vein.field(factory=Inner)

    @vein.policy
    def sum_limited(self) -> None:
        if self.a + self.b > 100:
            raise ValueError("a + b above 100")

    @vein.policy
    def no_bad_tag(self) -> None:
        if "bad" in self.tags or "bad" in self.flags:
            raise ValueError("bad tag")

    @vein.policy
    def limit_bounded(self) -> None:
        if self.limits.get("max", 0) > 50:
            raise ValueError("max above 50")


INT_PATHS = ("a", "b", "inner.x", "inner.y")
CONTAINERS = ("tags", "limits", "flags")
PATHS = (*INT_PATHS, *CONTAINERS)
DEFAULTS: dict[str, Any] = {"a": 0, "b": 0, "tags": [], "limits": {}, "flags": set(), "inner.x": 0, "inner.y": 10}
PLAIN = {"tags": list, "limits": dict, "flags": set}


def fresh(value: Any) -> Any:
    """A copy of a container value (the model never shares one with the object)."""
    return type(value)(value) if isinstance(value, list | dict | set) else value

# values: mostly valid ints around the policy limits, some of the wrong type
values = st.one_of(
    st.integers(min_value=-5, max_value=120),
    st.sampled_from(["7", 1.5, None]),
)
tags = st.one_of(st.sampled_from(["ok", "x", "bad"]), st.just(3))
limit_keys = st.sampled_from(["max", "min", "n"])
limit_values = st.one_of(st.integers(min_value=0, max_value=60), st.just("7"))
flag_values = st.one_of(st.sampled_from(["on", "off", "bad"]), st.just(3))
whole = {
    "tags": st.lists(tags, max_size=3),
    "limits": st.dictionaries(limit_keys, limit_values, max_size=3),
    "flags": st.sets(flag_values, max_size=3),
}
# One in-place change or whole assignment of a container field: (path, operation, args).
container_ops = st.one_of(
    st.tuples(st.just("tags"), st.just("append"), tags),
    st.tuples(st.just("tags"), st.just("assign"), whole["tags"]),
    st.tuples(st.just("limits"), st.just("set"), st.tuples(limit_keys, limit_values)),
    st.tuples(st.just("limits"), st.just("del"), limit_keys),
    st.tuples(st.just("limits"), st.just("assign"), whole["limits"]),
    st.tuples(st.just("flags"), st.just("add"), flag_values),
    st.tuples(st.just("flags"), st.just("discard"), flag_values),
    st.tuples(st.just("flags"), st.just("assign"), whole["flags"]),
)


def type_ok(path: str, value: Any) -> bool:
    if path == "tags":
        return isinstance(value, list) and all(isinstance(t, str) for t in value)
    if path == "limits":
        return isinstance(value, dict) and all(type(v) is int for v in value.values())
    if path == "flags":
        return isinstance(value, set) and all(isinstance(t, str) for t in value)
    return type(value) is int


def after(current: Any, op: str, arg: Any) -> Any:
    """What a container field holds after *op* (``KeyError`` if *op* raises it)."""
    if op == "assign":
        return fresh(arg)
    new = fresh(current)
    if op == "append":
        new.append(arg)
    elif op == "set":
        new[arg[0]] = arg[1]
    elif op == "del":
        del new[arg]
    elif op == "add":
        new.add(arg)
    elif op == "discard":
        new.discard(arg)
    return new


def run_op(obj: Any, path: str, op: str, arg: Any) -> None:
    target = getattr(obj, path)
    if op == "assign":
        setattr(obj, path, fresh(arg))
    elif op == "set":
        target[arg[0]] = arg[1]
    elif op == "del":
        del target[arg]
    else:
        getattr(target, op)(arg)


def field_ok(path: str, value: Any) -> bool:
    """What the per-write checks (type, validator) accept."""
    return type_ok(path, value) and not (path == "a" and value < 0)


def as_source(path: str, value: Any) -> Any:
    """What a source layer (``from_dict``) makes of *value* for the field at *path*."""
    if path == "tags" and isinstance(value, list):
        return [str(t) for t in value]
    if path == "tags" and isinstance(value, str):
        return value.split(",")  # text: a comma-separated list
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def policies_ok(m: dict[str, Any]) -> bool:
    return (
        m["a"] + m["b"] <= 100
        and "bad" not in m["tags"]
        and "bad" not in m["flags"]
        and m["limits"].get("max", 0) <= 50
        and m["inner.x"] <= m["inner.y"]
    )


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        parts = path.split(".")
        target = out
        for p in parts[:-1]:
            target = target.setdefault(p, {})
        target[parts[-1]] = value
    return out


def read(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def write(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


class StateMachine(RuleBasedStateMachine):
    layer_names = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.obj = State()
        self.model: dict[str, Any] = {k: fresh(v) for k, v in DEFAULTS.items()}
        self.prov: dict[str, str] = dict.fromkeys(PATHS, "default")
        self.events: list[vein.Change] = []
        self.obj.on_change(self.events.append)
        self.replica: dict[str, Any] = {k: fresh(v) for k, v in DEFAULTS.items()}
        self.replayed = 0

    # --- single operations (outside a batch) -------------------------------------------

    @rule(path=st.sampled_from(INT_PATHS), value=values)
    def assign(self, path: str, value: Any) -> None:
        candidate = {**self.model, path: value}
        expect = field_ok(path, value) and (value == self.model[path] or policies_ok(candidate))
        if expect:
            write(self.obj, path, value)
            if value != self.model[path]:
                self.model[path] = value
                self.prov[path] = "runtime"
        else:
            with pytest.raises(vein.ValidationError):
                write(self.obj, path, value)

    @rule(tag=tags)
    def append_tag(self, tag: Any) -> None:
        new = [*self.model["tags"], tag]
        if type_ok("tags", new) and policies_ok({**self.model, "tags": new}):
            self.obj.tags.append(tag)
            self.model["tags"] = new
            self.prov["tags"] = "runtime"
        else:
            with pytest.raises(vein.ValidationError):
                self.obj.tags.append(tag)

    @rule(step=container_ops)
    def change_container(self, step: tuple[str, str, Any]) -> None:
        """One in-place change or whole assignment of a list, dict or set field."""
        path, op, arg = step
        try:
            new = after(self.model[path], op, arg)
        except KeyError:
            with pytest.raises(KeyError):
                run_op(self.obj, path, op, arg)
            return
        if not type_ok(path, new) or (new != self.model[path] and not policies_ok({**self.model, path: new})):
            with pytest.raises(vein.ValidationError):
                run_op(self.obj, path, op, arg)
            return
        run_op(self.obj, path, op, arg)
        if new != self.model[path]:
            self.model[path] = new
            self.prov[path] = "runtime"

    @rule()
    def pop_tag(self) -> None:
        if not self.model["tags"]:
            with pytest.raises(IndexError):
                self.obj.tags.pop()
            return
        self.obj.tags.pop()
        self.model["tags"] = self.model["tags"][:-1]
        self.prov["tags"] = "runtime"

    @rule(
        changes=st.dictionaries(st.sampled_from((*INT_PATHS, "tags")), st.one_of(values, st.lists(tags, max_size=2)), min_size=1, max_size=3),
        layer=st.booleans(),
    )
    def update(self, changes: dict[str, Any], layer: bool) -> None:
        # a source layer converts text by the declared type ("7" -> 7, a tag 3 -> "3");
        # a plain mapping is applied like runtime assignments (no conversion)
        expected = {p: as_source(p, v) for p, v in changes.items()} if layer else changes
        ok = all(field_ok(p, v) for p, v in expected.items()) and policies_ok({**self.model, **expected})
        if layer:
            name = f"L{next(self.layer_names)}"
            source: Any = vein.from_dict(nested(changes), name=name)
        else:
            source = nested(changes)
        if ok:
            self.obj.update(source)
            for p, v in expected.items():
                self.model[p] = list(v) if isinstance(v, list) else v
                self.prov[p] = f"dict {name} (key {p})" if layer else "runtime"
        else:
            with pytest.raises(vein.ValidationError):
                self.obj.update(source)

    @rule(path=st.sampled_from(CONTAINERS), data=st.data())
    def update_container(self, path: str, data: st.DataObject) -> None:
        """A plain mapping replacing a whole list, dict or set (applied like an assignment)."""
        value = data.draw(whole[path])
        ok = type_ok(path, value) and (value == self.model[path] or policies_ok({**self.model, path: value}))
        if ok:
            self.obj.update({path: fresh(value)})
            self.model[path] = fresh(value)
            self.prov[path] = "runtime"  # an update marks even an equal value as its own
        else:
            with pytest.raises(vein.ValidationError):
                self.obj.update({path: fresh(value)})

    @rule(value=st.integers(min_value=0, max_value=20))
    def assign_section(self, value: int) -> None:
        """``obj.inner = {"x": value}``: y falls back to its default; one atomic change."""
        candidate = {**self.model, "inner.x": value, "inner.y": 10}
        if policies_ok(candidate):
            self.obj.inner = {"x": value}
            for p in ("inner.x", "inner.y"):
                self.model[p] = candidate[p]
                self.prov[p] = "runtime"
        else:
            with pytest.raises(vein.ValidationError):
                self.obj.inner = {"x": value}

    # --- batches -------------------------------------------------------------------------

    def _batch_body(self, ops: list[tuple[str, Any]], scratch: dict[str, Any], prov: dict[str, str]) -> None:
        """Run *ops* inside an open batch: per-write checks raise at once and are caught."""
        for path, value in ops:
            if path == "container":
                cpath, op, arg = value
                try:
                    new = after(scratch[cpath], op, arg)
                except KeyError:
                    with pytest.raises(KeyError):
                        run_op(self.obj, cpath, op, arg)
                    continue
                if type_ok(cpath, new):
                    run_op(self.obj, cpath, op, arg)
                    if new != scratch[cpath]:
                        scratch[cpath] = new
                        prov[cpath] = "runtime"
                else:
                    with pytest.raises(vein.ValidationError):
                        run_op(self.obj, cpath, op, arg)
            elif path == "tags":
                new = [*scratch["tags"], value]
                if type_ok("tags", new):
                    self.obj.tags.append(value)
                    scratch["tags"] = new
                    prov["tags"] = "runtime"
                else:
                    with pytest.raises(vein.ValidationError):
                        self.obj.tags.append(value)
            elif field_ok(path, value):
                write(self.obj, path, value)
                if value != scratch[path]:
                    scratch[path] = value
                    prov[path] = "runtime"
            else:
                with pytest.raises(vein.ValidationError):
                    write(self.obj, path, value)

    batch_ops = st.lists(
        st.one_of(
            st.tuples(st.sampled_from(INT_PATHS), values),
            st.tuples(st.just("tags"), tags),
            st.tuples(st.just("container"), container_ops),
        ),
        max_size=5,
    )

    @rule(ops=batch_ops, fail=st.booleans())
    def batch(self, ops: list[tuple[str, Any]], fail: bool) -> None:
        scratch = {k: fresh(v) for k, v in self.model.items()}
        prov = dict(self.prov)
        commits = not fail and policies_ok(scratch | {})  # recomputed after the body
        try:
            with self.obj.batch():
                self._batch_body(ops, scratch, prov)
                commits = not fail and policies_ok(scratch)
                if fail:
                    raise KeyError("fail")
        except KeyError:
            assert fail
        except vein.ValidationError:
            assert not commits and not fail  # a policy failed at the end
        else:
            assert commits
        if commits:
            self.model, self.prov = scratch, prov

    @rule(outer=batch_ops, inner=batch_ops, with_update=st.booleans())
    def nested_batch_inner_fails(self, outer: list[tuple[str, Any]], inner: list[tuple[str, Any]], with_update: bool) -> None:
        scratch = {k: fresh(v) for k, v in self.model.items()}
        prov = dict(self.prov)
        try:
            with self.obj.batch():
                self._batch_body(outer, scratch, prov)
                try:
                    with self.obj.batch():
                        throwaway = {k: fresh(v) for k, v in scratch.items()}
                        self._batch_body(inner, throwaway, dict(prov))
                        if with_update:
                            self.obj.update(vein.from_dict({"b": 1, "a": 1}, name=f"L{next(self.layer_names)}"))
                        raise LookupError("inner fails")
                except LookupError:
                    pass
                commits = policies_ok(scratch)
        except vein.ValidationError:
            assert not commits
        else:
            assert commits
        if commits:
            self.model, self.prov = scratch, prov

    @precondition(lambda self: self.model["a"] + self.model["b"] <= 90)
    @rule()
    def policy_violation_by_update(self) -> None:
        """An update with only valid values that together break a policy."""
        with pytest.raises(vein.ValidationError, match="sum_limited"):
            self.obj.update({"a": 60, "b": 60})

    # --- checks --------------------------------------------------------------------------

    @invariant()
    def object_equals_model(self) -> None:
        for path in PATHS:
            assert read(self.obj, path) == self.model[path], path
        snap = self.obj.snapshot()
        for path in PATHS:
            got = read(snap, path)
            assert (PLAIN[path](got) if path in PLAIN else got) == self.model[path], path

    @invariant()
    def provenance_equals_model(self) -> None:
        for path in PATHS:
            assert str(self.obj.explain(path)) == self.prov[path], path

    @invariant()
    def events_replay_to_model(self) -> None:
        for change in self.events[self.replayed:]:
            assert change.path in self.replica, change
            assert change.old == self.replica[change.path], change  # first old
            assert change.new != change.old, change  # never an event without a change
            if change.path in PLAIN:  # plain copies, never the live evented container
                assert type(change.old) is PLAIN[change.path], change
                assert type(change.new) is PLAIN[change.path], change
            self.replica[change.path] = change.new
        self.replayed = len(self.events)
        assert self.replica == self.model

    def teardown(self) -> None:
        fresh = State()
        with fresh.batch():  # events in order may pass through states a policy forbids
            for change in self.events:
                write(fresh, change.path, change.new)
        assert fresh.to_dict() == self.obj.to_dict()
        assert fresh.snapshot() == self.obj.snapshot()


StateMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStateModel = StateMachine.TestCase
