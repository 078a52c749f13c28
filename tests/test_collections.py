"""Evented collections (issue 5): list, dict and set fields mutated in place validate their
elements and fire one Change on the field's path; they behave as plain containers for
equality, pickling, copying and dumping."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import vein
from vein.flow.collections import EventedDict, EventedList, EventedSet


@vein.flow
class Session:
    user: str = "ann"
    permissions: list[str] = vein.field(factory=list)
    limits: dict[str, int] = vein.field(factory=dict)
    groups: set[str] = vein.field(factory=set)
    token: list[str] = vein.field(factory=list, secret=True)


@vein.flow
class App:
    session: Session = vein.field(factory=Session)

    @vein.policy
    def no_root(self) -> None:
        if "root" in self.session.permissions or self.session.limits.get("max", 0) > 100:
            raise ValueError("root permission or limit above 100")


@vein.flow
class Holder:
    session: Session = vein.field(factory=Session)


def _log(got: list[vein.Change]) -> list[tuple[str, object, object]]:
    return [(c.path, c.old, c.new) for c in got]


def _session(**kw: Any) -> tuple[Session, list[vein.Change]]:
    s = Session(**kw)
    got: list[vein.Change] = []
    s.on_change(got.append)
    return s, got


# (method, arguments, start contents, expected contents)
LIST_CASES: list[tuple[str, Callable[[list[Any]], Any], list[str], list[str]]] = [
    ("append", lambda v: v.append("c"), ["a", "b"], ["a", "b", "c"]),
    ("extend", lambda v: v.extend(["c", "d"]), ["a", "b"], ["a", "b", "c", "d"]),
    ("iadd", lambda v: v.__iadd__(["c"]), ["a", "b"], ["a", "b", "c"]),
    ("imul", lambda v: v.__imul__(2), ["a", "b"], ["a", "b", "a", "b"]),
    ("insert", lambda v: v.insert(0, "z"), ["a", "b"], ["z", "a", "b"]),
    ("setitem", lambda v: v.__setitem__(1, "z"), ["a", "b"], ["a", "z"]),
    ("setslice", lambda v: v.__setitem__(slice(0, 1), ["x", "y"]), ["a", "b"], ["x", "y", "b"]),
    ("delitem", lambda v: v.__delitem__(0), ["a", "b"], ["b"]),
    ("delslice", lambda v: v.__delitem__(slice(0, 2)), ["a", "b", "c"], ["c"]),
    ("pop", lambda v: v.pop(), ["a", "b"], ["a"]),
    ("pop_index", lambda v: v.pop(0), ["a", "b"], ["b"]),
    ("remove", lambda v: v.remove("a"), ["a", "b"], ["b"]),
    ("clear", lambda v: v.clear(), ["a", "b"], []),
    ("sort", lambda v: v.sort(), ["b", "a"], ["a", "b"]),
    ("sort_key", lambda v: v.sort(key=len, reverse=True), ["a", "bbb", "cc"], ["bbb", "cc", "a"]),
    ("reverse", lambda v: v.reverse(), ["a", "b"], ["b", "a"]),
]

DICT_CASES: list[tuple[str, Callable[[dict[str, int]], Any], dict[str, int], dict[str, int]]] = [
    ("setitem_new", lambda d: d.__setitem__("c", 3), {"a": 1}, {"a": 1, "c": 3}),
    ("setitem_replace", lambda d: d.__setitem__("a", 9), {"a": 1}, {"a": 9}),
    ("delitem", lambda d: d.__delitem__("a"), {"a": 1, "b": 2}, {"b": 2}),
    ("pop", lambda d: d.pop("a"), {"a": 1, "b": 2}, {"b": 2}),
    ("pop_default", lambda d: d.pop("zz", 0), {"a": 1}, {"a": 1}),
    ("popitem", lambda d: d.popitem(), {"a": 1, "b": 2}, {"a": 1}),
    ("clear", lambda d: d.clear(), {"a": 1}, {}),
    ("setdefault_new", lambda d: d.setdefault("c", 3), {"a": 1}, {"a": 1, "c": 3}),
    ("setdefault_present", lambda d: d.setdefault("a", 3), {"a": 1}, {"a": 1}),
    ("update_mapping", lambda d: d.update({"b": 2}), {"a": 1}, {"a": 1, "b": 2}),
    ("update_kwargs", lambda d: d.update(b=2, a=0), {"a": 1}, {"a": 0, "b": 2}),
    ("update_pairs", lambda d: d.update([("b", 2)]), {"a": 1}, {"a": 1, "b": 2}),
    ("ior", lambda d: d.__ior__({"b": 2}), {"a": 1}, {"a": 1, "b": 2}),
]

SET_CASES: list[tuple[str, Callable[[set[str]], Any], set[str], set[str]]] = [
    ("add", lambda s: s.add("c"), {"a"}, {"a", "c"}),
    ("add_present", lambda s: s.add("a"), {"a"}, {"a"}),
    ("discard", lambda s: s.discard("a"), {"a", "b"}, {"b"}),
    ("discard_absent", lambda s: s.discard("z"), {"a"}, {"a"}),
    ("remove", lambda s: s.remove("a"), {"a", "b"}, {"b"}),
    ("pop", lambda s: s.pop(), {"a"}, set()),
    ("clear", lambda s: s.clear(), {"a", "b"}, set()),
    ("update", lambda s: s.update(["c"], {"d"}), {"a"}, {"a", "c", "d"}),
    ("difference_update", lambda s: s.difference_update({"a"}), {"a", "b"}, {"b"}),
    ("intersection_update", lambda s: s.intersection_update({"a"}), {"a", "b"}, {"a"}),
    ("symmetric_difference_update", lambda s: s.symmetric_difference_update({"a", "c"}), {"a", "b"}, {"b", "c"}),
    ("ior", lambda s: s.__ior__({"c"}), {"a"}, {"a", "c"}),
    ("iand", lambda s: s.__iand__({"a"}), {"a", "b"}, {"a"}),
    ("isub", lambda s: s.__isub__({"a"}), {"a", "b"}, {"b"}),
    ("ixor", lambda s: s.__ixor__({"a", "c"}), {"a", "b"}, {"b", "c"}),
]


class TestListMutations:
    """Every mutating list method fires exactly one Change (or none if nothing changed)."""

    @pytest.mark.parametrize(("name", "mutate", "start", "end"), LIST_CASES, ids=[c[0] for c in LIST_CASES])
    def test_method(self, name: str, mutate: Callable[[list[Any]], Any], start: list[str], end: list[str]):
        s, got = _session(permissions=list(start))
        field = s.permissions
        mutate(field)
        assert s.permissions == end
        assert s.permissions is field  # in place
        assert _log(got) == [("permissions", start, end)]
        assert type(got[0].old) is list and type(got[0].new) is list
        assert str(s.explain("permissions")) == "runtime"

    def test_augmented_assignment_is_one_change(self):
        """``s.permissions += [...]`` mutates in place, then assigns the same object: one event."""
        s, got = _session(permissions=["a"])
        s.permissions += ["b"]
        assert _log(got) == [("permissions", ["a"], ["a", "b"])]

    def test_no_change_no_event(self):
        """A mutation that changes nothing (sorting a sorted list) fires nothing."""
        s, got = _session(permissions=["a", "b"])
        s.permissions.sort()
        s.permissions.extend([])
        s.permissions[0:0] = []
        assert got == []

    def test_failed_mutation_no_event(self):
        """``remove`` of an absent element raises ValueError as for a list; nothing fires."""
        s, got = _session(permissions=["a"])
        with pytest.raises(ValueError):
            s.permissions.remove("zz")
        with pytest.raises(IndexError):
            s.permissions.pop(5)
        assert got == []
        assert s.permissions == ["a"]

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda v: v.append(1),
            lambda v: v.extend(["ok", 2]),
            lambda v: v.insert(0, None),
            lambda v: v.__setitem__(0, b"x"),
            lambda v: v.__setitem__(slice(0, 1), ["ok", 3]),
            lambda v: v.__iadd__([4]),
        ],
        ids=["append", "extend", "insert", "setitem", "setslice", "iadd"],
    )
    def test_element_type_checked(self, mutate: Callable[[list[Any]], Any]):
        """A wrong element type raises ValidationError naming the element; nothing changes."""
        s, got = _session(permissions=["a"])
        with pytest.raises(vein.ValidationError) as info:
            mutate(s.permissions)
        assert info.value.errors[0].path.startswith("permissions[")
        assert s.permissions == ["a"]
        assert got == []


class TestDictMutations:
    """Every mutating dict method fires exactly one Change (or none if nothing changed)."""

    @pytest.mark.parametrize(("name", "mutate", "start", "end"), DICT_CASES, ids=[c[0] for c in DICT_CASES])
    def test_method(self, name: str, mutate: Callable[[dict[str, int]], Any], start: dict[str, int], end: dict[str, int]):
        s, got = _session(limits=dict(start))
        field = s.limits
        mutate(field)
        assert s.limits == end
        assert s.limits is field
        expected = [] if start == end else [("limits", start, end)]
        assert _log(got) == expected
        for c in got:
            assert type(c.old) is dict and type(c.new) is dict

    def test_return_values_like_dict(self):
        """pop, popitem and setdefault return what dict's do."""
        s, _ = _session(limits={"a": 1, "b": 2})
        assert s.limits.pop("a") == 1
        assert s.limits.pop("zz", None) is None
        assert s.limits.popitem() == ("b", 2)
        assert s.limits.setdefault("c", 3) == 3
        assert s.limits.setdefault("c", 4) == 3
        with pytest.raises(KeyError):
            s.limits.pop("zz")
        with pytest.raises(KeyError):
            del s.limits["zz"]

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda d: d.__setitem__("a", "three"),
            lambda d: d.__setitem__(3, 3),
            lambda d: d.update({"a": 1.5}),
            lambda d: d.update(b=None),
            lambda d: d.setdefault("z", "x"),
            lambda d: d.__ior__({"a": "x"}),
        ],
        ids=["value", "key", "update", "update_kwargs", "setdefault", "ior"],
    )
    def test_key_and_value_types_checked(self, mutate: Callable[[dict[Any, Any]], Any]):
        """A wrong key or value type raises ValidationError; nothing changes."""
        s, got = _session(limits={"a": 1})
        with pytest.raises(vein.ValidationError) as info:
            mutate(s.limits)
        assert info.value.errors[0].path.startswith("limits[")
        assert s.limits == {"a": 1}
        assert got == []


class TestSetMutations:
    """Every mutating set method fires exactly one Change (or none if nothing changed)."""

    @pytest.mark.parametrize(("name", "mutate", "start", "end"), SET_CASES, ids=[c[0] for c in SET_CASES])
    def test_method(self, name: str, mutate: Callable[[set[str]], Any], start: set[str], end: set[str]):
        s, got = _session(groups=set(start))
        field = s.groups
        mutate(field)
        assert s.groups == end
        assert s.groups is field
        expected = [] if start == end else [("groups", start, end)]
        assert _log(got) == expected
        for c in got:
            assert type(c.old) is set and type(c.new) is set

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda s: s.add(1),
            lambda s: s.update(["ok", 2]),
            lambda s: s.__ior__({3}),
            lambda s: s.symmetric_difference_update({4}),
        ],
        ids=["add", "update", "ior", "symmetric_difference_update"],
    )
    def test_element_type_checked(self, mutate: Callable[[set[Any]], Any]):
        """A wrong element type raises ValidationError; nothing changes."""
        s, got = _session(groups={"a"})
        with pytest.raises(vein.ValidationError) as info:
            mutate(s.groups)
        assert info.value.errors[0].path.startswith("groups")
        assert s.groups == {"a"}
        assert got == []


class TestPlainBehaviour:
    """Equality, pickling, copying and dumping give plain containers."""

    def test_equality_with_plain_containers(self):
        """Evented containers compare equal to plain ones, both ways."""
        s = Session(permissions=["a"], limits={"k": 1}, groups={"g"})
        assert s.permissions == ["a"] and ["a"] == s.permissions
        assert s.limits == {"k": 1} and {"k": 1} == s.limits
        assert s.groups == {"g"} and {"g"} == s.groups
        assert s.groups == frozenset({"g"})
        assert s.permissions != ["b"]
        assert isinstance(s.permissions, list)
        assert isinstance(s.limits, dict)
        assert isinstance(s.groups, set)

    @pytest.mark.parametrize("field", ["permissions", "limits", "groups"])
    def test_pickle_copy_deepcopy_give_plain(self, field: str):
        """pickle, copy.copy and copy.deepcopy return the plain type with equal contents."""
        s = Session(permissions=["a"], limits={"k": 1}, groups={"g"})
        value = getattr(s, field)
        plain_type = {"permissions": list, "limits": dict, "groups": set}[field]
        for result in (
            pickle.loads(pickle.dumps(value)),
            copy.copy(value),
            copy.deepcopy(value),
            plain_type(value),
        ):
            assert type(result) is plain_type
            assert result == value
            assert result is not value

    def test_copies_are_independent(self):
        """Changing a copy changes nothing and fires nothing."""
        s, got = _session(permissions=["a"])
        c = copy.copy(s.permissions)
        c.append("b")
        assert s.permissions == ["a"]
        assert got == []

    def test_to_dict_gives_plain_containers(self):
        """``to_dict`` has plain list and dict (a set dumps as a sorted list)."""
        s = Session(permissions=["b", "a"], limits={"k": 1}, groups={"y", "x"})
        d = s.to_dict()
        assert type(d["permissions"]) is list and d["permissions"] == ["b", "a"]
        assert type(d["limits"]) is dict and d["limits"] == {"k": 1}
        assert d["groups"] == ["x", "y"] and type(d["groups"]) is list
        assert vein.to_dict(s) == d

    def test_object_pickle_and_copy_keep_working_fields(self):
        """A pickled or deep-copied flow object has its own evented fields."""
        s = Session(permissions=["a"])
        for other in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
            got: list[vein.Change] = []
            other.on_change(got.append)
            other.permissions.append("b")
            assert _log(got) == [("permissions", ["a"], ["a", "b"])]
            assert s.permissions == ["a"]

    def test_secret_collection_masked_in_change(self):
        """A secret list field's Change shows '***' in repr/str."""
        s, got = _session()
        s.token.append("hunter2")
        assert got and "hunter2" not in repr(got[0]) and "hunter2" not in str(got[0])


class TestOwnership:
    """A container reports only while it is the field's value."""

    def test_replaced_container_no_longer_reports(self):
        """After ``s.permissions = [...]`` the old list changes alone."""
        s, got = _session(permissions=["a"])
        old = s.permissions
        s.permissions = ["new"]
        got.clear()
        old.append("zz")
        assert got == []
        assert s.permissions == ["new"]
        s.permissions.append("b")
        assert _log(got) == [("permissions", ["new"], ["new", "b"])]

    def test_assigned_plain_list_is_wrapped(self):
        """Assigning a plain list stores an evented copy; the caller's list is not watched."""
        mine = ["a"]
        s, got = _session()
        s.permissions = mine
        got.clear()
        mine.append("b")
        assert s.permissions == ["a"] and got == []
        s.permissions.append("c")
        assert len(got) == 1

    def test_update_replaces_container(self):
        """A value from ``update`` is evented too; the replaced one stops reporting."""
        s, got = _session(limits={"a": 1})
        old = s.limits
        s.update({"limits": {"b": 2}})
        got.clear()
        old["x"] = 1
        assert got == []
        s.limits["c"] = 3
        assert _log(got) == [("limits", {"b": 2}, {"b": 2, "c": 3})]

    def test_same_container_in_two_objects(self):
        """Assigning one object's list to another gives the second its own container."""
        a, got_a = _session(permissions=["x"])
        b, got_b = _session()
        b.permissions = a.permissions
        got_b.clear()
        b.permissions.append("y")
        assert a.permissions == ["x"]
        assert got_a == []
        assert _log(got_b) == [("permissions", ["x"], ["x", "y"])]

    def test_nested_path(self):
        """A mutation in a child object reaches the root with the full path."""
        app = App()
        got: list[vein.Change] = []
        app.on_change(got.append)
        app.session.groups.add("g")
        assert _log(got) == [("session.groups", set(), {"g"})]


class TestTransactions:
    """Mutations take part in batches and policies like assignments."""

    def test_mutation_inside_batch_rolled_back(self):
        """An exception in the block puts the contents back (same container) and fires nothing."""
        app = App()
        app.session.permissions.append("read")
        perms = app.session.permissions
        got: list[vein.Change] = []
        app.on_change(got.append)
        with pytest.raises(RuntimeError), app.batch():
            app.session.permissions.append("write")
            app.session.limits["x"] = 1
            app.session.groups.add("g")
            del app.session.permissions[0]
            raise RuntimeError
        assert app.session.permissions == ["read"]
        assert app.session.permissions is perms
        assert app.session.limits == {} and app.session.groups == set()
        assert got == []
        app.session.permissions.append("again")
        assert _log(got) == [("session.permissions", ["read"], ["read", "again"])]

    def test_mutations_in_batch_coalesce(self):
        """Several mutations of one field in a block: one Change, from first to last."""
        app = App()
        got: list[vein.Change] = []
        app.on_change(got.append)
        with app.batch():
            app.session.limits["a"] = 1
            app.session.limits["b"] = 2
            del app.session.limits["a"]
        assert _log(got) == [("session.limits", {}, {"b": 2})]

    def test_policy_violation_rolled_back(self):
        """A mutation that breaks an (ancestor's) policy raises and is undone; nothing fires."""
        app = App()
        app.session.limits["max"] = 10
        got: list[vein.Change] = []
        app.on_change(got.append)
        with pytest.raises(vein.ValidationError, match="no_root"):
            app.session.permissions.append("root")
        with pytest.raises(vein.ValidationError, match="no_root"):
            app.session.limits["max"] = 1000
        with pytest.raises(vein.ValidationError, match="no_root"):
            app.session.limits.update(max=101)
        assert app.session.permissions == []
        assert app.session.limits == {"max": 10}
        assert got == []

    def test_policy_violation_at_end_of_batch(self):
        """The same violation inside a batch is found at its end, and everything is undone."""
        app = App()
        with pytest.raises(vein.ValidationError), app.batch():
            app.session.user = "bob"
            app.session.permissions.extend(["a", "root"])
        assert app.session.permissions == []
        assert app.session.user == "ann"

    def test_replaced_container_in_rejected_update_keeps_reporting(self):
        """An ``update`` rejected by a policy gives the field its old, still evented container."""
        app = App()
        perms = app.session.permissions
        with pytest.raises(vein.ValidationError):
            app.update({"session": {"permissions": ["root"]}})
        assert app.session.permissions is perms
        got: list[vein.Change] = []
        app.on_change(got.append)
        app.session.permissions.append("ok")
        assert _log(got) == [("session.permissions", [], ["ok"])]


@vein.flow
class Frozen:
    """Read-only containers: sources set them, runtime code may not change them in place."""

    hosts: list[str] = vein.field(factory=lambda: ["a"], readonly=True)
    limits: dict[str, int] = vein.field(factory=lambda: {"a": 1}, readonly=True)
    groups: set[str] = vein.field(factory=lambda: {"g"}, readonly=True)


READONLY_MUTATIONS: list[tuple[str, Callable[[Frozen], Any]]] = [
    ("list.append", lambda f: f.hosts.append("h")),
    ("list.extend", lambda f: f.hosts.extend(["h"])),
    ("list.iadd", lambda f: f.hosts.__iadd__(["h"])),
    ("list.insert", lambda f: f.hosts.insert(0, "h")),
    ("list.setitem", lambda f: f.hosts.__setitem__(0, "h")),
    ("list.setitem_equal", lambda f: f.hosts.__setitem__(0, "a")),
    ("list.delitem", lambda f: f.hosts.__delitem__(0)),
    ("list.pop", lambda f: f.hosts.pop()),
    ("list.remove", lambda f: f.hosts.remove("a")),
    ("list.clear", lambda f: f.hosts.clear()),
    ("list.sort", lambda f: f.hosts.sort()),
    ("list.reverse", lambda f: f.hosts.reverse()),
    ("list.imul", lambda f: f.hosts.__imul__(2)),
    ("dict.setitem", lambda f: f.limits.__setitem__("b", 2)),
    ("dict.setitem_equal", lambda f: f.limits.__setitem__("a", 1)),
    ("dict.delitem", lambda f: f.limits.__delitem__("a")),
    ("dict.pop", lambda f: f.limits.pop("a")),
    ("dict.popitem", lambda f: f.limits.popitem()),
    ("dict.clear", lambda f: f.limits.clear()),
    ("dict.update", lambda f: f.limits.update(b=2)),
    ("dict.setdefault", lambda f: f.limits.setdefault("b", 2)),
    ("set.add", lambda f: f.groups.add("h")),
    ("set.discard", lambda f: f.groups.discard("g")),
    ("set.remove", lambda f: f.groups.remove("g")),
    ("set.pop", lambda f: f.groups.pop()),
    ("set.clear", lambda f: f.groups.clear()),
    ("set.update", lambda f: f.groups.update({"h"})),
    ("set.difference_update", lambda f: f.groups.difference_update({"g"})),
    ("set.intersection_update", lambda f: f.groups.intersection_update(set())),
    ("set.symmetric_difference_update", lambda f: f.groups.symmetric_difference_update({"h"})),
]


FIELD_OF = {"list": "hosts", "dict": "limits", "set": "groups"}


class TestReadOnlyContainers:
    """``readonly=True`` list/dict/set fields refuse in-place changes at runtime."""

    @pytest.mark.parametrize(("name", "mutate"), READONLY_MUTATIONS, ids=[n for n, _ in READONLY_MUTATIONS])
    def test_mutation_raises_and_changes_nothing(self, name: str, mutate: Callable[[Frozen], Any]):
        """``vein.ReadOnlyError`` naming the field; contents, provenance and events unchanged."""
        f = Frozen()
        got: list[vein.Change] = []
        f.on_change(got.append)
        before = f.to_dict()
        field = FIELD_OF[name.split(".")[0]]
        with pytest.raises(vein.ReadOnlyError, match=field):
            mutate(f)
        assert f.to_dict() == before
        assert got == []
        assert str(f.explain(field)) == "default"

    def test_no_listener_and_inside_a_batch(self):
        """Without any subscriber, and inside a batch (which still commits its other writes)."""
        f = Frozen()
        with pytest.raises(vein.ReadOnlyError):
            f.hosts.append("h")
        with f.batch():
            with pytest.raises(vein.ReadOnlyError):
                f.limits["x"] = 1
        assert (f.hosts, f.limits) == (["a"], {"a": 1})

    def test_refused_before_the_element_check(self):
        """A wrong element type is refused as read-only too (nothing to validate)."""
        f = Frozen()
        with pytest.raises(vein.ReadOnlyError):
            f.hosts.append(3)

    def test_sources_set_it(self):
        """``load``, an ``update`` with a source layer: the field gets the new container."""
        f = vein.load(Frozen, vein.from_dict({"hosts": ["x", "y"], "groups": ["z"]}, name="d"))
        assert (f.hosts, f.groups) == (["x", "y"], {"z"})
        got: list[vein.Change] = []
        f.on_change(got.append)
        f.update(vein.from_dict({"hosts": ["q"], "limits": {"b": 2}}, name="d2"))
        assert (f.hosts, f.limits) == (["q"], {"b": 2})
        assert sorted(c.path for c in got) == ["hosts", "limits"]
        with pytest.raises(vein.ReadOnlyError):
            f.hosts.append("still not at runtime")
        assert f.hosts == ["q"]


class TestNoCopyWithoutListener:
    """A mutation copies the contents only when somebody needs the old value."""

    @pytest.fixture
    def copies(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """Counts the copies the containers make of themselves."""
        made: list[str] = []
        for cls in (EventedList, EventedDict, EventedSet):
            plain = cls._plain

            def counting(self: Any, _plain: Any = plain, _name: str = cls.__name__) -> Any:
                made.append(_name)
                return _plain(self)

            monkeypatch.setattr(cls, "_plain", counting)
        return made

    def test_append_setitem_add_do_not_copy(self, copies: list[str]):
        """No subscriber, no batch, no policy: append / item / add copy nothing."""
        s = Session(permissions=[f"p{i}" for i in range(1000)])
        copies.clear()
        s.permissions.append("x")
        s.permissions[0] = "y"
        s.permissions.extend(["z"])
        s.limits["a"] = 1
        s.limits["a"] = 1  # equal: no change
        s.groups.add("g")
        s.groups.add("g")
        assert copies == []
        assert (s.permissions[0], s.permissions[-1], s.limits, s.groups) == ("y", "z", {"a": 1}, {"g"})
        assert str(s.explain("permissions")) == "runtime"

    def test_nested_without_listener_anywhere(self, copies: list[str]):
        """The same in a child object whose ancestors have no subscribers."""
        app = Holder()
        app.session.permissions.append("a")
        assert copies == []

    def test_copies_when_old_value_is_needed(self, copies: list[str]):
        """A subscriber (here or on an ancestor), a batch or a policy gets old and new copies."""
        s, got = _session()
        s.permissions.append("a")
        assert copies and _log(got) == [("permissions", [], ["a"])]
        copies.clear()
        app = App()
        app.session.permissions.append("b")  # App has a policy: rollback needs the old value
        assert copies
        copies.clear()
        t = Session()
        with t.batch():
            t.permissions.append("c")
        assert copies

    def test_values_still_checked_and_versions_moved(self):
        """Element validation still runs, and snapshots / computed values see the change."""
        s = Session()
        snap = s.snapshot()
        with pytest.raises(vein.ValidationError, match=r"permissions\[0\]"):
            s.permissions.append(3)  # type: ignore[arg-type]
        s.permissions.append("a")
        s.limits["k"] = 2
        s.groups.add("g")
        assert snap.permissions == ()
        assert s.snapshot().permissions == ("a",)
        assert s.snapshot().limits == {"k": 2}
        assert s.snapshot().groups == frozenset({"g"})


class Visit(vein.Flow):
    """Dynamic state (its own ``__init__``) with declared container fields left at default."""

    pages: list[str] = vein.field(factory=list)
    seen: dict[str, int] = vein.field(factory=dict)

    def __init__(self, user: str) -> None:
        self.user = user


class TestDynamicStateContainers:
    """A declared list/dict field of dynamic state is evented from its default on."""

    def test_default_is_evented(self):
        """In-place changes of the default fire, take part in batches and roll back."""
        v = Visit("ann")
        got: list[vein.Change] = []
        v.on_change(got.append)
        v.pages.append("/")
        v.seen["/"] = 1
        assert _log(got) == [("pages", [], ["/"]), ("seen", {}, {"/": 1})]
        with pytest.raises(RuntimeError), v.batch():
            v.pages.append("/cart")
            raise RuntimeError
        assert v.pages == ["/"]
        with pytest.raises(vein.ValidationError):
            v.pages.append(3)  # type: ignore[arg-type]


# --- the field's own validator= runs on in-place changes too (SPEC §3) ----------------------

from attrs import validators as _v  # noqa: E402


def _no_dashes(_inst: Any, _attribute: Any, value: set[str]) -> None:
    if any("-" in item for item in value):
        raise ValueError("no dashes in tags")


def _secret_pin_rule(_inst: Any, _attribute: Any, value: list[str]) -> None:
    if len(value) > 1:
        raise ValueError(f"only one pin allowed, got {value!r}")


def _strip_all(value: list[str]) -> list[str]:
    return [v.strip() for v in value]


@vein.flow
class Limited:
    xs: list[int] = vein.field(factory=list, validator=_v.max_len(2))
    quotas: dict[str, int] = vein.field(
        factory=dict,
        validator=_v.deep_mapping(key_validator=_v.instance_of(str), value_validator=_v.ge(0)),
    )
    tags: set[str] = vein.field(factory=set, validator=_no_dashes)
    pins: list[str] = vein.field(factory=list, secret=True, validator=_secret_pin_rule)
    names: list[str] = vein.field(factory=list, converter=_strip_all)


LIMITED_CASES: list[tuple[str, Callable[[Limited], Any]]] = [
    ("xs", lambda o: o.xs.append(3)),
    ("xs", lambda o: o.xs.extend([3])),
    ("xs", lambda o: o.xs.insert(0, 3)),
    ("xs", lambda o: o.xs.__iadd__([3, 4])),
    ("xs", lambda o: o.xs.__imul__(2)),
    ("xs", lambda o: o.xs.__setitem__(slice(0, 1), [7, 8])),
    ("quotas", lambda o: o.quotas.__setitem__("a", -5)),
    ("quotas", lambda o: o.quotas.update(b=-1)),
    ("quotas", lambda o: o.quotas.__ior__({"c": -2})),
    ("quotas", lambda o: o.quotas.setdefault("d", -3)),
    ("tags", lambda o: o.tags.add("a-b")),
    ("tags", lambda o: o.tags.update(["ok", "x-y"])),
    ("tags", lambda o: o.tags.__ior__({"p-q"})),
    ("tags", lambda o: o.tags.symmetric_difference_update({"m-n"})),
]


class TestFieldValidatorOnInPlaceChanges:
    """An in-place change runs the field's validator on the contents it would leave."""

    def _limited(self) -> tuple[Limited, list[vein.Change]]:
        o = Limited(xs=[1, 2], quotas={"a": 1}, tags={"t"})
        got: list[vein.Change] = []
        o.on_change(got.append)
        return o, got

    @pytest.mark.parametrize(("field", "mutate"), LIMITED_CASES)
    def test_rejected_changes_nothing_fires_nothing(
        self, field: str, mutate: Callable[[Limited], Any]
    ):
        o, got = self._limited()
        before = copy.copy(getattr(o, field))
        container = getattr(o, field)
        with pytest.raises(vein.ValidationError) as info:
            mutate(o)
        assert [e.path for e in info.value.errors] == [field]
        assert "rejected by its validator" in info.value.errors[0].message
        assert getattr(o, field) == before and getattr(o, field) is container
        assert got == []
        assert o.snapshot().to_dict()[field] == vein.to_dict(o)[field]

    @pytest.mark.parametrize(("field", "mutate"), LIMITED_CASES)
    def test_rejected_without_any_listener(self, field: str, mutate: Callable[[Limited], Any]):
        """The O(1) path for unlistened fields does not skip the validator."""
        o = Limited(xs=[1, 2], quotas={"a": 1}, tags={"t"})
        before = copy.copy(getattr(o, field))
        with pytest.raises(vein.ValidationError):
            mutate(o)
        assert getattr(o, field) == before

    def test_rejected_inside_a_batch_keeps_the_batch(self):
        """Validators run per write inside a batch; the batch's other writes stand."""
        o, got = self._limited()
        with o.batch():
            o.quotas["b"] = 2
            with pytest.raises(vein.ValidationError):
                o.quotas["c"] = -1
            o.xs.pop()
        assert (o.quotas, o.xs) == ({"a": 1, "b": 2}, [1])
        assert _log(got) == [("quotas", {"a": 1}, {"a": 1, "b": 2}), ("xs", [1, 2], [1])]

    def test_accepted_changes_are_evented(self):
        o, got = self._limited()
        o.xs.pop()
        o.xs.append(9)
        o.quotas["z"] = 0
        o.tags.add("fine")
        assert (o.xs, o.quotas, o.tags) == ([1, 9], {"a": 1, "z": 0}, {"t", "fine"})
        assert [c.path for c in got] == ["xs", "xs", "quotas", "tags"]

    def test_validator_sees_the_contents_after_the_change(self):
        seen: list[Any] = []

        @vein.flow
        class Watched:
            xs: list[int] = vein.field(factory=list, validator=lambda _i, _a, v: seen.append(v))

        w = Watched(xs=[3, 1])
        seen.clear()
        w.xs.sort()
        w.xs.sort()  # already sorted: no change, nothing to judge
        w.xs.append(5)
        assert seen == [[1, 3], [1, 3, 5]]

    def test_secret_field_message_hidden(self):
        o = Limited(pins=["pin-4411"])
        with pytest.raises(vein.ValidationError) as info:
            o.pins.append("pin-9922")
        text = str(info.value) + repr(info.value.errors)
        assert "pin-4411" not in text and "pin-9922" not in text
        assert info.value.errors[0].path == "pins" and "secret" in text
        assert o.pins == ["pin-4411"]

    def test_nested_path_named(self):
        @vein.flow
        class Outer:
            inner: Limited = vein.field(factory=Limited)

        out = Outer()
        with pytest.raises(vein.ValidationError) as info:
            out.inner.quotas["q"] = -1
        assert info.value.errors[0].path == "inner.quotas"

    def test_converter_runs_on_assignment_only(self):
        """A converter turns an assigned value into another; in-place changes are not converted."""
        o = Limited()
        o.names = [" a "]
        assert o.names == ["a"]
        o.names.append(" b ")
        assert o.names == ["a", " b "]


class TestRepr:
    """Evented containers print like the plain ones, in a flow object's repr too."""

    def test_set_prints_plain(self):
        s = Session(permissions=["a"], limits={"k": 1}, groups={"g"})
        assert repr(s.groups) == "{'g'}" and str(s.groups) == "{'g'}"
        assert repr(Session().groups) == "set()"
        text = repr(s)
        assert "groups={'g'}" in text and "permissions=['a']" in text and "limits={'k': 1}" in text
        assert "Evented" not in text


@pytest.mark.parametrize("op", ["update", "ior", "difference_update", "symmetric_difference_update"])
def test_a_set_operation_stopped_by_an_unhashable_item_changes_nothing(op: str) -> None:
    @vein.flow
    class S:
        bag: set[Any] = vein.field(factory=lambda: {9})

    s = S()
    got: list[Any] = []
    s.on_change(got.append)
    snap = s.snapshot()
    items = [1, 2, [3], 4]
    with pytest.raises(TypeError):
        if op == "ior":
            s.bag |= items  # type: ignore[operator]
        else:
            getattr(s.bag, op)(items)
    assert s.bag == {9} and got == [] and s.snapshot() == snap
