"""Snapshots (SPEC §8; issue 5): ``obj.snapshot()`` is an immutable, consistent copy,
cached while nothing changes, that reads like the object, dumps, compares and hashes."""

from __future__ import annotations

import copy
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

import vein

JOIN = 30.0


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    name: str = "app"
    low: int = 0
    high: int = 0
    hosts: list[str] = vein.field(factory=list)
    limits: dict[str, int] = vein.field(factory=dict)
    roles: set[str] = vein.field(factory=set)
    path: Path = Path("/srv")
    database: Database = vein.field(factory=Database)

    @vein.policy
    def ordered(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


def _filled() -> Settings:
    s = Settings()
    s.hosts.extend(["a", "b"])
    s.limits["x"] = 1
    s.roles.add("admin")
    s.database.host = "db"
    return s


class TestImmutable:
    """Nothing in a snapshot can be changed."""

    def test_assignment_raises(self):
        """Setting or deleting an attribute raises, at every level."""
        snap = _filled().snapshot()
        with pytest.raises(AttributeError):
            snap.name = "x"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            snap.database.host = "x"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            del snap.name  # type: ignore[misc]
        with pytest.raises(AttributeError):
            snap.new_attribute = 1  # type: ignore[attr-defined]

    def test_containers_are_frozen(self):
        """Lists become tuples, sets frozensets, dicts read-only mappings."""
        snap = _filled().snapshot()
        assert snap.hosts == ("a", "b")
        assert snap.roles == frozenset({"admin"})
        assert snap.limits == {"x": 1}
        with pytest.raises(TypeError):
            snap.limits["y"] = 2  # type: ignore[index]
        with pytest.raises(AttributeError):
            snap.hosts.append("c")  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            snap.roles.add("c")  # type: ignore[attr-defined]

    def test_object_changes_do_not_reach_the_snapshot(self):
        """Later writes (also in-place mutations) leave an existing snapshot as it was."""
        s = _filled()
        snap = s.snapshot()
        s.name = "changed"
        s.hosts.append("c")
        s.limits["x"] = 99
        s.roles.clear()
        s.database.host = "elsewhere"
        assert snap.name == "app"
        assert snap.hosts == ("a", "b")
        assert snap.limits == {"x": 1}
        assert snap.roles == frozenset({"admin"})
        assert snap.database.host == "db"


class TestReads:
    """A snapshot reads like the object."""

    def test_attribute_reads(self):
        """Fields and nested fields by attribute; a missing one raises with a suggestion."""
        snap = _filled().snapshot()
        assert (snap.name, snap.database.host, snap.database.port, snap.path) == ("app", "db", 5432, Path("/srv"))
        with pytest.raises(AttributeError, match="hosts"):
            _ = snap.hostz  # type: ignore[attr-defined]
        assert getattr(snap, "missing", "default") == "default"
        assert not hasattr(snap, "missing")

    def test_item_reads_and_iteration(self):
        """``snap["name"]`` and iteration over field names."""
        snap = _filled().snapshot()
        assert snap["name"] == "app"
        assert list(snap) == ["name", "low", "high", "hosts", "limits", "roles", "path", "database"]

    def test_to_dict(self):
        """``to_dict()`` gives plain data equal to the object's ``to_dict()``."""
        s = _filled()
        d = s.snapshot().to_dict()
        assert d == s.to_dict()
        assert type(d["hosts"]) is list
        assert type(d["limits"]) is dict
        assert type(d["database"]) is dict

    def test_secret_masked_in_repr(self):
        """A secret value never shows in a snapshot's repr."""
        s = Settings()
        s.database.password = "hunter2"
        snap = s.snapshot()
        assert snap.database.password == "hunter2"  # readable on purpose, like the object
        assert "hunter2" not in repr(snap)

    def test_snapshot_of_child(self):
        """A child's snapshot is the same as the child part of the root's snapshot."""
        s = _filled()
        assert s.database.snapshot() == s.snapshot().database


class TestEqualityAndHashing:
    """Snapshots compare and hash by value and type."""

    def test_equal_states_equal_snapshots(self):
        """Two objects in the same state give equal snapshots with equal hashes."""
        a, b = _filled(), _filled()
        assert a.snapshot() == b.snapshot()
        assert hash(a.snapshot()) == hash(b.snapshot())
        assert len({a.snapshot(), b.snapshot()}) == 1

    def test_different_states_differ(self):
        """A change of any leaf (also deep or in a container) makes them differ."""
        base = _filled().snapshot()
        for change in (
            lambda s: setattr(s, "name", "x"),
            lambda s: s.hosts.append("z"),
            lambda s: s.limits.update(y=2),
            lambda s: s.roles.add("z"),
            lambda s: setattr(s.database, "port", 1),
        ):
            s = _filled()
            change(s)
            assert s.snapshot() != base

    def test_different_classes_differ(self):
        """Snapshots of different classes with the same fields are not equal."""

        @vein.flow
        class A:
            v: int = 0

        @vein.flow
        class B:
            v: int = 0

        assert A().snapshot() != B().snapshot()

    def test_usable_as_dict_key(self):
        """Hashable: a cache keyed by configuration state works."""
        s = _filled()
        cache = {s.snapshot(): "first"}
        s.name = "other"
        cache[s.snapshot()] = "second"
        s.name = "app"
        assert cache[s.snapshot()] == "first"


class TestCaching:
    """The same snapshot is returned while nothing changes."""

    def test_same_object_when_unchanged(self):
        """Twice without a change: the very same object."""
        s = _filled()
        assert s.snapshot() is s.snapshot()

    def test_new_snapshot_after_change(self):
        """After a change (write, mutation, update, batch) a new snapshot shows it."""
        s = _filled()
        first = s.snapshot()
        s.name = "x"
        second = s.snapshot()
        assert second is not first and second.name == "x"
        s.hosts.append("c")
        third = s.snapshot()
        assert third.hosts == ("a", "b", "c")
        s.update({"database": {"port": 1}})
        assert s.snapshot().database.port == 1
        with s.batch():
            s.low = 5
            s.high = 6
        assert (s.snapshot().low, s.snapshot().high) == (5, 6)

    def test_equal_write_keeps_cache(self):
        """Writing an equal value is no change: the cached snapshot stays."""
        s = _filled()
        first = s.snapshot()
        s.name = "app"
        s.update({"database": {"host": "db"}})
        assert s.snapshot() is first

    def test_rejected_change_does_not_leak_into_snapshot(self):
        """A rejected write leaves the snapshot equal to the state before it."""
        s = _filled()
        first = s.snapshot()
        with pytest.raises(vein.ValidationError):
            s.low = 10
        assert s.snapshot() == first
        assert s.snapshot().low == 0

    def test_child_write_invalidates_root_snapshot(self):
        """A write in a child gives a new root snapshot."""
        s = _filled()
        first = s.snapshot()
        s.database.port = 7
        assert s.snapshot().database.port == 7
        assert first.database.port == 5432


class TestCopying:
    """Snapshots survive copy and pickle as plain data via to_dict."""

    def test_copy_is_equal(self):
        """``copy.copy`` and ``copy.deepcopy`` give equal snapshots (or the same object)."""
        snap = _filled().snapshot()
        assert copy.copy(snap) == snap
        assert copy.deepcopy(snap) == snap

    def test_to_dict_pickles(self):
        """The plain dump pickles and restores the state."""
        s = _filled()
        data = pickle.loads(pickle.dumps(s.snapshot().to_dict()))
        restored = vein.structure(data, Settings)
        assert restored.snapshot() == s.snapshot()


class TestConfig:
    """A snapshot of the schema-less ``vein.Config``."""

    def test_config_snapshot(self):
        """Namespaces read as attributes; values are frozen; to_dict round-trips."""
        c = vein.Config()
        c.database.host = "db"
        c.name = "x"
        c["ports"] = [1, 2]
        snap = c.snapshot()
        assert (snap.database.host, snap.name, snap.ports) == ("db", "x", (1, 2))
        assert snap.to_dict() == {"database": {"host": "db"}, "name": "x", "ports": [1, 2]}
        with pytest.raises(AttributeError):
            snap.name = "y"  # type: ignore[misc]
        # A plain list is held (no write tells when it changes in place): copied again.
        assert c.snapshot() == snap and c.snapshot() is not snap
        assert c.database.snapshot() is c.database.snapshot()  # nothing plain in there
        c.database.host = "other"
        assert c.snapshot().database.host == "other"
        assert snap.database.host == "db"

    def test_plain_lists_changed_in_place_are_seen_by_the_next_snapshot(self):
        """A plain list (schema-less key, nested namespace, dynamic attribute, Any field)
        changes in place without a write: the next snapshot shows it, before and after a
        later commit, and the earlier snapshot keeps what it had."""
        c = vein.Config({"hosts": ["a"], "db": {"hosts": ["x"]}})
        first = c.snapshot()
        c.hosts.append("b")
        c.db.hosts.append("y")
        assert c.snapshot().hosts == ("a", "b") and c.snapshot().db.hosts == ("x", "y")
        c.unrelated = 1
        assert c.snapshot().to_dict()["hosts"] == c.to_dict()["hosts"] == ["a", "b"]
        assert first.hosts == ("a",) and first.db.hosts == ("x",)
        assert "hosts=('a', 'b')" in repr(c.snapshot())  # frozen values shown frozen

        class Session(vein.Flow):
            def __init__(self) -> None:
                super().__init__()
                self.roles = ["user"]

        s = Session()
        before = s.snapshot()
        s.roles.append("admin")
        assert s.snapshot().roles == ("user", "admin") and before.roles == ("user",)

        o = LooseOuter()  # an Any field of a section (classes below)
        o.loose.data = [1]
        taken = o.snapshot()
        o.loose.data.append(2)
        assert o.snapshot().loose.data == (1, 2) and taken.loose.data == (1,)

    def test_plain_containers_inside_list_and_dict_elements(self):
        """An element of a list[...] or dict[str, ...] field holding a plain dict in an Any
        field: the owner's next snapshot shows an in-place change there too."""

        @vein.flow
        class Owner:
            many: list[Loose] = vein.field(factory=list)
            named: dict[str, Loose] = vein.field(factory=dict)

        o = Owner()
        o.many.append(Loose(data={"k": 1}))
        o.named["a"] = Loose(data={"k": 1})
        first = o.snapshot()
        o.many[0].data["k"] = 2
        o.named["a"].data["k"] = 3
        snap = o.snapshot()
        assert snap.to_dict() == o.to_dict()
        assert snap.many[0].data["k"] == 2 and snap.named["a"].data["k"] == 3
        assert first.many[0].data["k"] == 1

    def test_config_snapshots_compare(self):
        """Equal configs give equal, equally hashed snapshots."""
        a, b = vein.Config(), vein.Config()
        for c in (a, b):
            c.x.y = 1
        assert a.snapshot() == b.snapshot()
        assert hash(a.snapshot()) == hash(b.snapshot())


class TestConsistency:
    """A snapshot never mixes two updates (real threads)."""

    def test_never_half_an_update(self):
        """A writer keeps ``low == high`` in every update; readers never see them differ."""
        s = Settings()
        stop = threading.Event()
        errors: list[BaseException] = []
        bad: list[tuple[int, int]] = []
        seen = [0]
        rounds = 3000

        def writer() -> None:
            try:
                for i in range(1, rounds + 1):
                    # two fields that must be equal, in one atomic update; the order inside
                    # the mapping puts the state out of policy for a moment (high first,
                    # then low; or low first when shrinking)
                    s.update({"high": i, "low": i, "name": f"n{i}", "database": {"port": i}})
            except BaseException as exc:
                errors.append(exc)
            finally:
                stop.set()

        def reader() -> None:
            try:
                while not stop.is_set():
                    snap = s.snapshot()
                    seen[0] += 1
                    if not (snap.low == snap.high == snap.database.port or snap.low == 0):
                        bad.append((snap.low, snap.high))
                    if snap.name != ("app" if snap.low == 0 else f"n{snap.low}"):
                        bad.append((snap.low, -1))
            except BaseException as exc:
                errors.append(exc)

        readers = [threading.Thread(target=reader) for _ in range(3)]
        w = threading.Thread(target=writer)
        for t in readers:
            t.start()
        w.start()
        w.join(JOIN)
        stop.set()
        for t in readers:
            t.join(JOIN)
        assert not any(t.is_alive() for t in [w, *readers])
        assert not errors, errors
        assert not bad, bad[:5]
        assert seen[0] > 0
        assert s.snapshot().low == s.snapshot().high == rounds

    def test_never_half_a_batch(self):
        """A writer moving two fields in a batch: readers see both old or both new."""
        s = Settings()
        stop = threading.Event()
        errors: list[BaseException] = []
        bad: list[tuple[int, int]] = []

        def writer() -> None:
            try:
                for i in range(1, 2001):
                    with s.batch():
                        s.high = i * 2
                        s.low = i * 2
                        s.hosts.append(str(i))
            except BaseException as exc:
                errors.append(exc)
            finally:
                stop.set()

        def reader() -> None:
            try:
                while not stop.is_set():
                    snap = s.snapshot()
                    if snap.low != snap.high or len(snap.hosts) * 2 != snap.low:
                        bad.append((snap.low, snap.high))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(JOIN)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors
        assert not bad, bad[:5]


@vein.flow
class Backend:
    host: str = "localhost"
    port: int = 80

    @vein.computed
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@vein.flow
class Site:
    scheme: str = "http"
    hosts: list[str] = vein.field(factory=list)
    backend: Backend = vein.field(factory=Backend)

    def _prefix(self) -> str:
        return self.scheme + "://"

    @property
    def first_host(self) -> str:
        return self.hosts[0] if self.hosts else "-"

    @vein.computed
    def url(self) -> str:
        return self._prefix() + self.backend.address

    @vein.computed
    def host_count(self) -> int:
        return len(self.hosts)


class TestComputedOnSnapshots:
    """``@vein.computed`` values (and the helpers they use) read on a snapshot."""

    def test_computed_values(self):
        """``snap.url`` is the value of the snapshot's own state, also on a child."""
        s = Site(hosts=["a", "b"])
        snap = s.snapshot()
        assert snap.url == "http://localhost:80" == s.url
        assert snap.host_count == 2
        assert snap.backend.address == "localhost:80"

    def test_frozen_with_the_snapshot(self):
        """Later changes of the object do not change an older snapshot's computed values."""
        s = Site()
        before = s.snapshot()
        s.scheme = "https"
        s.backend.port = 443
        s.hosts.append("x")
        assert (before.url, before.host_count) == ("http://localhost:80", 0)
        after = s.snapshot()
        assert (after.url, after.host_count) == ("https://localhost:443", 1)

    def test_methods_and_properties(self):
        """Helper methods and properties of the class work on the snapshot too."""
        snap = Site(hosts=["h"]).snapshot()
        assert snap._prefix() == "http://"
        assert snap.first_host == "h"

    def test_not_part_of_the_data(self):
        """Computed values are derived: not in ``to_dict``, iteration, equality or the repr."""
        s = Site()
        a = s.snapshot()
        _ = a.url
        b = Site().snapshot()
        assert a == b and hash(a) == hash(b)
        assert "url" not in a.to_dict() and "url" not in list(a) and "url" not in repr(a)

    def test_unknown_name_still_raises(self):
        """A name that is no field, computed value, property or method: AttributeError."""
        snap = Site().snapshot()
        with pytest.raises(AttributeError, match="no field 'urll'"):
            _ = snap.urll
        with pytest.raises(AttributeError):
            _ = snap.update  # vein's own methods are not a snapshot's


class TestStructuralSharing:
    """A new snapshot copies only the objects that changed."""

    def test_unchanged_child_shared(self):
        """After a write at the root, the new snapshot shares the child's snapshot."""
        s = _filled()
        first = s.snapshot()
        s.name = "other"
        second = s.snapshot()
        assert second is not first and second.database is first.database
        s.database.port = 1
        third = s.snapshot()
        assert third.database is not first.database and third.database.port == 1

    def test_in_place_change_is_seen(self):
        """A container changed in place (same object) makes a new snapshot."""
        s = _filled()
        first = s.snapshot()
        s.hosts.append("c")
        assert s.snapshot().hosts == ("a", "b", "c") and first.hosts == ("a", "b")
        s.limits["y"] = 2
        assert s.snapshot().limits == {"x": 1, "y": 2}

    def test_unchanged_containers_shared(self):
        """A write to one field: the new snapshot shares the frozen lists and dicts."""
        s = _filled()
        first = s.snapshot()
        s.name = "other"
        second = s.snapshot()
        assert second.hosts is first.hosts and second.limits is first.limits
        s.hosts.append("c")
        third = s.snapshot()
        assert third.hosts is not second.hosts and third.limits is second.limits


class TestDumps:
    """``Snapshot.to_dict`` gives what ``vein.to_dict`` gave for the object then."""

    def test_redact(self):
        s = _filled()
        s.database.password = "pw-Snap-5521"
        snap = s.snapshot()
        full = snap.to_dict()
        assert full["database"]["password"] == "pw-Snap-5521"
        red = snap.to_dict(redact=True)
        assert red["database"]["password"] == "***"
        assert "pw-Snap-5521" not in repr(red)
        assert red == vein.to_dict(s, redact=True)
        assert full == vein.to_dict(s)
        s.database.password = ""
        assert s.snapshot().to_dict(redact=True)["database"]["password"] == ""  # nothing to hide

    def test_vein_to_dict_of_a_snapshot(self):
        s = _filled()
        snap = s.snapshot()
        assert vein.to_dict(snap) == snap.to_dict() == s.to_dict()
        assert vein.to_dict(snap, redact=True) == snap.to_dict(redact=True)
        assert vein.to_dict(snap.database) == snap.database.to_dict()
        with pytest.raises(TypeError, match="not a flow class"):
            vein.to_dict(object())  # still a TypeError for what is no flow object at all

    def test_keys_and_absent_values_as_in_the_object_dump(self):
        @vein.flow
        class Keyed:
            log_level: str = vein.field(default="info", key="log-level")
            token: str = vein.field(default="t-Keyed-1", secret=True, key="api-token")
            maybe: int | vein.MissingType = vein.MISSING

        k = Keyed()
        snap = k.snapshot()
        assert snap.to_dict() == vein.to_dict(k) == {"log-level": "info", "api-token": "t-Keyed-1"}
        assert snap.to_dict(redact=True) == {"log-level": "info", "api-token": "***"}

    def test_schema_less_config_redacts_secret_looking_keys(self):
        c = vein.Config()
        c.database.password = "pw-Cfg-1"
        c.users = [{"name": "ann", "password": "pw-Cfg-2"}]
        c.name = "svc"
        snap = c.snapshot()
        red = snap.to_dict(redact=True)
        assert red == c.to_dict(redact=True)
        assert red["users"] == [{"name": "ann", "password": "***"}]
        assert "pw-Cfg" not in repr(red)
        assert snap.to_dict() == c.to_dict() and vein.to_dict(snap) == c.to_dict()

    def test_secret_inside_a_flow_object_held_by_any(self):
        @vein.flow
        class Holder:
            anything: Any = None

        h = Holder()
        h.anything = [Database(password="pw-Any-9")]
        red = h.snapshot().to_dict(redact=True)
        assert red == vein.to_dict(h, redact=True)
        assert "pw-Any-9" not in repr(red)


@vein.flow
class Loose:
    name: str = "x"
    data: Any = None


@vein.flow
class LooseOuter:
    loose: Loose = vein.field(factory=Loose)


class TestSelfContainingValues:
    """A value that contains itself cannot be frozen: a VeinError names the field."""

    def test_any_field(self):
        o = LooseOuter()
        before = o.snapshot()
        loop: list[Any] = []
        loop.append(loop)
        o.loose.data = loop
        for take in (o.snapshot, o.loose.snapshot, lambda: vein.to_dict(o)):
            with pytest.raises(vein.VeinError, match="loose.data: the value nests too deeply"):
                take()
        with o.batch():  # a batch still opens (its base snapshot cannot be taken)
            o.loose.name = "y"
        o.loose.data = None
        assert o.snapshot().loose.name == "y" and before.loose.name == "x"

    def test_dynamic_attribute(self):
        class Visit(vein.Flow):
            def __init__(self) -> None:
                self.user = "ann"

        v = Visit()
        loop: dict[str, object] = {}
        loop["self"] = loop
        v.trail = loop
        for take in (v.snapshot, lambda: vein.to_dict(v)):
            with pytest.raises(vein.VeinError, match="trail: the value nests too deeply"):
                take()
        assert "trail=" in repr(v)
