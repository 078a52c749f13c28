"""Policies (SPEC §3, §8; issue 5): class invariants checked after every committed change,
read-only fields, and required fields reported by ``vein.load``."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest

import vein


@vein.flow
class Pool:
    min_size: int = 1
    max_size: int = 10

    @vein.policy
    def sizes_ordered(self) -> None:
        if self.min_size > self.max_size:
            raise ValueError("min_size must not exceed max_size")


@vein.flow
class App:
    name: str = "app"
    tags: list[str] = vein.field(factory=list)
    pool: Pool = vein.field(factory=Pool)

    @vein.policy
    def not_forbidden(self) -> None:
        if self.name == "forbidden" or "evil" in self.tags:
            raise ValueError("forbidden name or tag")

    @vein.policy
    def pool_fits_name(self) -> None:
        assert self.pool.max_size <= 1000, "pool too big for this app"


@vein.flow
class Region:
    region: str = vein.field(default="eu-west-1", readonly=True)
    zone: int = 1


@vein.flow
class Cloud:
    account: str = vein.field(default="main", readonly=True)
    where: Region = vein.field(factory=Region)


@vein.flow
class Db:
    password: str = vein.field(secret=True)
    host: str = "localhost"


@vein.flow
class Strict:
    db: Db


@vein.flow
class Service:
    api_key: str = vein.field(env="SERVICE_TOKEN")
    port: int = vein.field(validator=attrs.validators.ge(1))
    db: Db = vein.field(factory=lambda: Db("x"))
    name: str = "svc"


@vein.flow
class Creds:
    token: str = vein.field(key="apiToken")


@vein.flow
class Keyed:
    creds: Creds = vein.field(key="credentials")


calls: list[str] = []


@vein.flow
class Leaf3:
    v: int = 0

    @vein.policy
    def leaf(self) -> None:
        calls.append("leaf")


@vein.flow
class Mid3:
    leaf: Leaf3 = vein.field(factory=Leaf3)

    @vein.policy
    def mid(self) -> None:
        calls.append("mid")


@vein.flow
class Root3:
    other: int = 0
    mid: Mid3 = vein.field(factory=Mid3)

    @vein.policy
    def root(self) -> None:
        calls.append("root")
        if self.mid.leaf.v < 0:
            raise ValueError("negative")


def _log(got: list[vein.Change]) -> list[tuple[str, object, object]]:
    return [(c.path, c.old, c.new) for c in got]


def _state(a: App) -> dict[str, object]:
    return {
        "values": a.to_dict(),
        "prov": {p: str(a.explain(p)) for p in ("name", "pool.min_size", "pool.max_size")},
    }


def _reject_message(exc: vein.ValidationError) -> str:
    return " | ".join(str(e) for e in exc.errors)


def _bump(path: Path, text: str) -> None:
    """Rewrite a file so that its stat surely differs (size and mtime)."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


class TestWhenPoliciesRun:
    """After assignment, ``update``, the end of a batch and a watcher reload."""

    def test_assignment(self):
        """A rejected assignment raises, keeps the old value, and fires nothing."""
        a = App()
        got: list[vein.Change] = []
        a.on_change(got.append)
        with pytest.raises(vein.ValidationError) as info:
            a.pool.min_size = 11
        assert "sizes_ordered" in _reject_message(info.value)
        assert a.pool.min_size == 1
        assert got == []
        a.pool.min_size = 10  # allowed: equal is fine
        assert _log(got) == [("pool.min_size", 1, 10)]

    def test_policy_runs_after_the_store(self):
        """The policy sees the new value (it runs after the write, not before)."""
        seen: list[int] = []

        @vein.flow
        class Spy:
            v: int = 0

            @vein.policy
            def record(self) -> None:
                seen.append(self.v)

        s = Spy()
        seen.clear()  # (construction may check the invariants too)
        s.v = 3
        assert seen == [3]
        s.v = 3  # equal: no change, no policy run
        assert seen == [3]

    def test_update_with_plain_mapping(self):
        """``update({...})`` is rejected as a whole when a policy fails."""
        a = App()
        got: list[vein.Change] = []
        a.on_change(got.append)
        before = _state(a)
        with pytest.raises(vein.ValidationError) as info:
            a.update({"name": "renamed", "pool": {"min_size": 50}})
        assert "sizes_ordered" in _reject_message(info.value)
        assert _state(a) == before
        assert got == []

    def test_update_with_source(self):
        """A named source layer is rejected as a whole, and is not kept as a layer."""
        a = App()
        with pytest.raises(vein.ValidationError):
            a.update(vein.from_dict({"name": "x", "pool": {"max_size": 0}}, name="bad"))
        assert (a.name, a.pool.max_size) == ("app", 10)
        # the rejected layer left nothing behind: a later layer sets the key normally
        a.update(vein.from_dict({"pool": {"max_size": 20}}, name="good"))
        assert a.pool.max_size == 20
        assert str(a.explain("pool.max_size")) == "dict good (key pool.max_size)"

    def test_end_of_batch(self):
        """Inside a batch an intermediate state may break a policy; the end state decides."""
        a = App()
        got: list[vein.Change] = []
        a.on_change(got.append)
        with a.batch():
            a.pool.min_size = 50  # breaks sizes_ordered for a moment
            a.pool.max_size = 60
        assert (a.pool.min_size, a.pool.max_size) == (50, 60)
        assert _log(got) == [("pool.min_size", 1, 50), ("pool.max_size", 10, 60)]

        got.clear()
        with pytest.raises(vein.ValidationError) as info, a.batch():
            a.name = "renamed"
            a.pool.min_size = 100
        assert "sizes_ordered" in _reject_message(info.value)
        assert (a.name, a.pool.min_size, a.pool.max_size) == ("app", 50, 60)
        assert got == []

    def test_watcher_reload(self, tmp_path: Path):
        """A reloaded file that breaks a policy is rejected and reported; the next good one is applied."""
        cfg = tmp_path / "app.yml"
        cfg.write_text("pool:\n  min_size: 2\n", encoding="utf-8")
        a = App()
        got: list[vein.Change] = []
        errors: list[BaseException] = []
        a.on_change(got.append)
        watcher = a.watch(vein.from_yaml(cfg), start=False, on_error=errors.append, interval=0.001)
        try:
            assert a.pool.min_size == 2
            got.clear()
            _bump(cfg, "pool:\n  min_size: 20\n  max_size: 5\n")
            assert watcher.poll() == []
            assert len(errors) == 1
            assert isinstance(errors[0], vein.ValidationError)
            assert "sizes_ordered" in _reject_message(errors[0])
            assert (a.pool.min_size, a.pool.max_size) == (2, 10)
            assert str(a.explain("pool.min_size")).endswith("app.yml:2:3")
            assert got == []
        finally:
            watcher.stop()

    def test_update_of_changed_file(self, tmp_path: Path):
        """Re-applying a changed file source goes through the same policies."""
        cfg = tmp_path / "app.yml"
        cfg.write_text("pool:\n  min_size: 2\n", encoding="utf-8")
        source = vein.from_yaml(cfg)
        a = App()
        a.update(source)
        _bump(cfg, "pool:\n  min_size: 200\n")
        with pytest.raises(vein.ValidationError):
            a.update(source)
        assert a.pool.min_size == 2
        _bump(cfg, "pool:\n  min_size: 3\n")
        a.update(source)
        assert a.pool.min_size == 3

    def test_dynamic_attribute_write(self):
        """Policies guard undeclared attributes of dynamic state too."""

        class Session(vein.Flow):
            def __init__(self) -> None:
                super().__init__()
                self.user = "ann"
                self.permissions: list[str] = []

            @vein.policy
            def admins_are_named(self) -> None:
                # runs after every write, also those of __init__: tolerate a half-built object
                if "admin" in getattr(self, "permissions", ()) and not self.user:
                    raise ValueError("an admin needs a user")

        s = Session()
        s.permissions = ["admin"]
        with pytest.raises(vein.ValidationError, match="admins_are_named"):
            s.user = ""
        assert s.user == "ann"


class TestAncestors:
    """Policies of every ancestor run for a write to a child, each object once."""

    def test_ancestor_policy_runs_for_child_write(self):
        """``App.pool_fits_name`` guards ``app.pool.max_size``."""
        a = App()
        with pytest.raises(vein.ValidationError) as info:
            a.pool.max_size = 5000
        assert "pool_fits_name" in _reject_message(info.value)
        assert "pool too big" in _reject_message(info.value)
        assert a.pool.max_size == 10

    def test_three_levels(self):
        """A leaf write runs the policies of its object, its parent and the root."""
        r = Root3()
        calls.clear()  # (construction may check the invariants too)
        r.mid.leaf.v = 1
        assert calls == ["leaf", "mid", "root"]
        calls.clear()
        r.other = 1  # a root write does not run the children's policies
        assert calls == ["root"]
        with pytest.raises(vein.ValidationError, match="'root'"):
            r.mid.leaf.v = -1
        assert r.mid.leaf.v == 1

    def test_child_subscriber_hears_nothing_on_rejection(self):
        """Subscribers on the child and on the root both hear nothing of a rejected write."""
        a = App()
        root_got: list[vein.Change] = []
        child_got: list[vein.Change] = []
        a.on_change(root_got.append)
        a.pool.on_change(child_got.append)
        with pytest.raises(vein.ValidationError):
            a.pool.max_size = 0
        assert root_got == child_got == []

    def test_inherited_policies(self):
        """A subclass keeps its base class's policies and may override one by name."""

        @vein.flow
        class Base:
            v: int = 0

            @vein.policy
            def non_negative(self) -> None:
                if self.v < 0:
                    raise ValueError("negative")

        @vein.flow
        class Sub(Base):
            @vein.policy
            def small(self) -> None:
                if self.v > 10:
                    raise ValueError("too big")

        s = Sub()
        with pytest.raises(vein.ValidationError, match="non_negative"):
            s.v = -1
        with pytest.raises(vein.ValidationError, match="small"):
            s.v = 11
        s.v = 5
        assert s.v == 5


class TestFailure:
    """A failure is a ValidationError naming the policy; the whole change is rolled back."""

    def test_error_names_policy_object_and_reason(self):
        """The entry's path is the object whose policy failed; the message has name and reason."""
        a = App()
        with pytest.raises(vein.ValidationError) as info:
            a.pool.min_size = 99
        (entry,) = info.value.errors
        assert entry.path == "pool"
        assert "sizes_ordered" in entry.message
        assert "min_size must not exceed max_size" in entry.message
        assert isinstance(info.value, ValueError)

    def test_error_names_the_fields_the_policy_read(self):
        """The message names the fields the policy read (in order); the path stays the object."""
        a = App()
        with pytest.raises(vein.ValidationError) as info:
            a.pool.min_size = 99
        (entry,) = info.value.errors
        assert entry.path == "pool"
        assert "policy 'sizes_ordered' rejected the change (fields: min_size, max_size): " in entry.message
        with pytest.raises(vein.ValidationError) as info:
            a.tags.append("evil")
        (entry,) = info.value.errors
        assert entry.path == ""
        assert "(fields: name, tags)" in entry.message

    def test_fields_read_by_helpers_and_below(self):
        """Fields read through a helper method and in a nested object are named by their path."""

        @vein.flow
        class Budget:
            limit: int = 30
            pool: Pool = vein.field(factory=Pool)

            def _needed(self) -> int:
                return self.pool.max_size * 2

            @vein.policy
            def affordable(self) -> None:
                if self._needed() > self.limit:
                    raise ValueError("pool too expensive")

        b = Budget()
        with pytest.raises(vein.ValidationError) as info:
            b.pool.max_size = 16
        (entry,) = info.value.errors
        assert "(fields: pool.max_size, limit)" in entry.message
        assert b.pool.max_size == 10  # rolled back

    def test_several_policies_fail_together(self):
        """Every failing policy (of the object and its ancestors) is listed."""
        a = App()
        with pytest.raises(vein.ValidationError) as info:
            a.update({"name": "forbidden", "pool": {"min_size": 2000, "max_size": 1500}})
        text = _reject_message(info.value)
        assert "not_forbidden" in text
        assert "pool_fits_name" in text
        assert "sizes_ordered" in text

    def test_update_rolls_back_values_and_provenance(self):
        """Values *and* provenance (``explain``) are what they were before the rejected update."""
        a = App()
        a.update(vein.from_dict({"name": "one", "pool": {"max_size": 30}}, name="base"))
        a.pool.min_size = 5
        before = _state(a)
        assert before["prov"] == {
            "name": "dict base (key name)",
            "pool.min_size": "runtime",
            "pool.max_size": "dict base (key pool.max_size)",
        }
        with pytest.raises(vein.ValidationError):
            a.update(vein.from_dict({"name": "two", "pool": {"min_size": 7, "max_size": 6}}, name="top"))
        assert _state(a) == before
        with pytest.raises(vein.ValidationError):
            a.update({"name": "two", "pool": {"min_size": 7, "max_size": 6}})
        assert _state(a) == before

    def test_batch_rolls_back_values_and_provenance(self):
        """A batch rejected at its end restores values and provenance of every write in it."""
        a = App()
        a.update(vein.from_dict({"name": "one"}, name="base"))
        before = _state(a)
        with pytest.raises(vein.ValidationError), a.batch():
            a.name = "two"
            a.update(vein.from_dict({"pool": {"max_size": 3}}, name="layer"))
            a.pool.min_size = 9
        assert _state(a) == before

    def test_policy_raising_vein_error_passes_through(self):
        """A policy may raise a ValidationError of its own (with its own paths); it is kept."""

        @vein.flow
        class Window:
            lo: int = 0
            hi: int = 1

            @vein.policy
            def ordered(self) -> None:
                if self.lo >= self.hi:
                    raise vein.ValidationError.single("lo", "must be below hi")

        w = Window()
        with pytest.raises(vein.ValidationError) as info:
            w.lo = 5
        assert [(e.path, e.message) for e in info.value.errors] == [("lo", "must be below hi")]
        assert w.lo == 0

    def test_collection_mutation_rolled_back(self):
        """An in-place mutation that breaks a policy is undone, and the container is kept."""
        a = App()
        tags = a.tags
        tags.append("ok")
        with pytest.raises(vein.ValidationError, match="not_forbidden"):
            a.tags.append("evil")
        assert a.tags == ["ok"]
        assert a.tags is tags

    def test_state_is_usable_after_rejection(self):
        """After a rejected change the next valid writes work and are heard."""
        a = App()
        got: list[vein.Change] = []
        a.on_change(got.append)
        for _ in range(3):
            with pytest.raises(vein.ValidationError):
                a.name = "forbidden"
        a.name = "fine"
        assert _log(got) == [("name", "app", "fine")]


class TestReadOnly:
    """``readonly=True``: a runtime assignment raises; sources may set the field."""

    def test_assignment_raises(self):
        """``vein.ReadOnlyError`` (also an AttributeError) names the path; nothing changes."""
        c = Cloud()
        got: list[vein.Change] = []
        c.on_change(got.append)
        with pytest.raises(vein.ReadOnlyError) as info:
            c.where.region = "us-east-1"
        assert isinstance(info.value, AttributeError)
        assert isinstance(info.value, vein.VeinError)
        assert "where.region" in str(info.value)
        assert c.where.region == "eu-west-1"
        with pytest.raises(vein.ReadOnlyError):
            c.account = "other"
        with pytest.raises(vein.ReadOnlyError):
            c.account = "main"  # even an equal value: the field is not assignable
        assert got == []

    def test_raises_inside_a_batch(self):
        """Inside a batch the error is immediate; the block can catch it and go on."""
        c = Cloud()
        with c.batch():
            c.where.zone = 2
            with pytest.raises(vein.ReadOnlyError):
                c.account = "other"
        assert (c.account, c.where.zone) == ("main", 2)

    def test_sources_can_set_it(self, monkeypatch: pytest.MonkeyPatch):
        """``load``, ``update`` with a source layer, and env all set a read-only field."""
        c = vein.load(Cloud, vein.from_dict({"where": {"region": "us-east-1"}}, name="d"))
        assert c.where.region == "us-east-1"
        assert str(c.explain("where.region")) == "dict d (key where.region)"
        c.update(vein.from_dict({"account": "billing"}, name="d2"))
        assert c.account == "billing"
        monkeypatch.setenv("VEINTEST_CLOUD_WHERE__REGION", "ap-south-1")
        c.update(vein.from_env("VEINTEST_CLOUD_"))
        assert c.where.region == "ap-south-1"

    def test_section_assignment_cannot_change_it(self):
        """Assigning a mapping or an instance to the section is a runtime write too."""
        c = vein.load(Cloud, vein.from_dict({"where": {"region": "us-east-1"}}, name="d"))
        got: list[vein.Change] = []
        c.on_change(got.append)
        with pytest.raises(vein.ReadOnlyError):
            c.where = {"region": "ap-south-1", "zone": 3}
        with pytest.raises(vein.ReadOnlyError):
            c.where = Region(zone=3)  # region would fall back to its default
        assert (c.where.region, c.where.zone) == ("us-east-1", 1)
        assert got == []
        c.where = {"zone": 3}  # a section assignment that leaves the read-only field alone
        assert (c.where.region, c.where.zone) == ("us-east-1", 3)
        assert str(c.explain("where.region")) == "dict d (key where.region)"


class TestRequired:
    """A field without a default is required: ``vein.load`` reports every missing one."""

    def test_every_missing_field_reported_with_env_and_file_key(self, monkeypatch: pytest.MonkeyPatch):
        """Each entry names the env variable(s) and the file key that would set it."""
        monkeypatch.delenv("SERVICE_TOKEN", raising=False)
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Service, vein.from_env("APP_"))
        by_path = {e.path: e.message for e in info.value.errors}
        assert set(by_path) == {"api_key", "port"}
        assert "APP_API_KEY" in by_path["api_key"]
        assert "'api_key'" in by_path["api_key"]
        assert "APP_PORT" in by_path["port"]
        assert "'port'" in by_path["port"]
        assert all("required" in m for m in by_path.values())

    def test_own_env_name_is_named(self, monkeypatch: pytest.MonkeyPatch):
        """A field with ``env=`` names that variable beside the prefixed one and the file key."""
        monkeypatch.delenv("SERVICE_TOKEN", raising=False)
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Service, vein.from_env("APP_"))
        by_path = {e.path: e.message for e in info.value.errors}
        assert by_path["api_key"] == (
            "required, but no source sets it (set env APP_API_KEY or env SERVICE_TOKEN "
            "or key 'api_key' in a file)"
        )

    def test_hint_without_an_env_source(self):
        """With only a file source, the hint still names the field's env name and file key."""
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Service, vein.from_dict({"db": {"password": "p"}}, name="f"))
        by_path = {e.path: e.message for e in info.value.errors}
        assert by_path["api_key"] == (
            "required, but no source sets it (set env SERVICE_TOKEN or key 'api_key' in a file)"
        )
        assert by_path["port"] == "required, but no source sets it (set key 'port' in a file)"

    def test_hint_uses_the_file_keys(self):
        """A field (or section) with ``key=`` is named by the key a file uses."""
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Keyed)
        (entry,) = info.value.errors
        assert entry.path == "creds.token"
        assert "key 'credentials.apiToken' in a file" in entry.message

    def test_nested_required_field(self):
        """A required field of a nested section is named by its dotted path and env name."""

        @vein.flow
        class Outer:
            db: Db = vein.field(factory=lambda: Db("x"))

        @vein.flow
        class Strict:
            db: Db

        with pytest.raises(vein.ValidationError) as info:
            vein.load(Strict, vein.from_env("APP_"))
        (entry,) = info.value.errors
        assert entry.path == "db.password"
        assert "APP_DB__PASSWORD" in entry.message
        assert "'db.password'" in entry.message
        assert vein.load(Service, vein.from_dict({"api_key": "k", "port": 1}, name="f")).db.password == "x"

    def test_given_required_fields_load(self, monkeypatch: pytest.MonkeyPatch):
        """Set from env (prefixed and exact name) and from a file key, the load succeeds."""
        monkeypatch.setenv("SERVICE_TOKEN", "t0k")
        monkeypatch.setenv("APP_PORT", "8080")
        s = vein.load(Service, vein.from_env("APP_"))
        assert (s.api_key, s.port, s.name) == ("t0k", 8080, "svc")
        s2 = vein.load(Service, vein.from_dict({"api_key": "k", "port": 1}, name="f"))
        assert (s2.api_key, s2.port) == ("k", 1)

    def test_missing_and_invalid_reported_together(self, monkeypatch: pytest.MonkeyPatch):
        """A missing field and an invalid one are in the same error."""
        monkeypatch.delenv("SERVICE_TOKEN", raising=False)
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Service, vein.from_dict({"port": 0}, name="f"))
        paths = sorted(e.path for e in info.value.errors)
        assert paths == ["api_key", "port"]

    def test_secret_never_shown(self, monkeypatch: pytest.MonkeyPatch):
        """The missing-field message of a secret field has no value to leak, and no '***' noise."""
        with pytest.raises(vein.ValidationError) as info:
            vein.load(Db, vein.from_env("APP_"))
        assert "APP_PASSWORD" in str(info.value)


@vein.flow
class Prefs:
    lo: int = 1
    hi: int = 10


@vein.flow
class Guarded:
    n: int = 0

    @vein.policy
    def small(self) -> None:
        if self.n > 5:
            raise ValueError("n above 5")


class UserSession(vein.Flow):
    """Dynamic state holding flow objects in attributes its ``__init__`` assigns."""

    def __init__(self) -> None:
        self.prefs = Prefs()
        self.user = "ada"

    @vein.policy
    def ordered(self) -> None:
        if self.prefs.lo > self.prefs.hi:
            raise ValueError("lo above hi")


class TestDynamicChildren:
    """A flow object assigned to an attribute of dynamic state becomes a child."""

    def test_parent_link_and_shared_tree(self):
        """The child's node points at the session's; both use one tree (one lock, one batch)."""
        s = UserSession()
        node = s.prefs._vein
        assert node.parent is s._vein and node.name == "prefs"
        assert (node.tree or node.find_tree()) is (s._vein.tree or s._vein.find_tree())

    def test_events_relayed_with_relative_path(self):
        """``s.prefs.lo = 99`` reaches the session's subscribers as ``prefs.lo``."""
        s = UserSession()
        got: list[vein.Change] = []
        s.on_change(got.append)
        sub: list[vein.Change] = []
        s.on_change("prefs", sub.append)
        s.prefs.lo = 5
        s.prefs.hi = 20
        assert _log(got) == [("prefs.lo", 1, 5), ("prefs.hi", 10, 20)]
        assert _log(sub) == _log(got)

    def test_session_policies_run(self):
        """A write in the child runs the session's policies; a violation is rolled back."""
        s = UserSession()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with pytest.raises(vein.ValidationError, match="ordered"):
            s.prefs.lo = 99
        assert s.prefs.lo == 1
        assert got == []

    def test_batch_rollback(self):
        """A batch on the session rolls back the child's writes; a committed one fires once."""
        s = UserSession()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with pytest.raises(RuntimeError), s.batch():
            s.prefs.lo = 7
            s.user = "bob"
            raise RuntimeError
        assert (s.prefs.lo, s.user) == (1, "ada")
        assert got == []
        with s.batch():
            s.prefs.lo = 12  # above hi for a moment: policies run at the end
            s.prefs.hi = 30
        assert _log(got) == [("prefs.lo", 1, 12), ("prefs.hi", 10, 30)]

    def test_snapshot_and_to_dict(self):
        """The child is in the session's snapshot and dump, and a new snapshot follows it."""
        s = UserSession()
        first = s.snapshot()
        assert first.prefs.lo == 1
        s.prefs.lo = 3
        assert s.snapshot().prefs.lo == 3 and first.prefs.lo == 1
        assert s.to_dict() == {"prefs": {"lo": 3, "hi": 10}, "user": "ada"}

    def test_child_policies_still_run(self):
        """A child whose own class has policies keeps them under a session without any."""

        class Plain(vein.Flow):
            def __init__(self) -> None:
                self.g = Guarded()

        p = Plain()
        with pytest.raises(vein.ValidationError, match="small"):
            p.g.n = 9
        assert p.g.n == 0

    def test_replaced_child_is_released(self):
        """Assigning another object: it becomes the child; the old one is a tree of its own."""
        s = UserSession()
        old = s.prefs
        s.prefs = Prefs(lo=2)
        assert old._vein.parent is None and s.prefs._vein.parent is s._vein
        got: list[vein.Change] = []
        s.on_change(got.append)
        old.lo = 50  # no longer the session's: no event, no session policy
        assert got == [] and old.lo == 50
        s.prefs.lo = 3
        assert _log(got) == [("prefs.lo", 2, 3)]

    def test_rolled_back_replacement_restores_the_child(self):
        """A batch that replaced the child and failed: the old child is the child again."""
        s = UserSession()
        old = s.prefs
        with pytest.raises(RuntimeError), s.batch():
            s.prefs = Prefs(lo=4)
            raise RuntimeError
        assert s.prefs is old and old._vein.parent is s._vein
        with pytest.raises(vein.ValidationError):
            s.prefs.lo = 99

    def test_object_of_another_tree_is_copied(self):
        """A flow object that already has a parent is copied in, as for declared fields."""
        a, b = UserSession(), UserSession()
        b.other = a.prefs
        assert b.other is not a.prefs and b.other == a.prefs
        assert b.other._vein.parent is b._vein and a.prefs._vein.parent is a._vein

    def test_copy_keeps_children(self):
        """A deep copy's children belong to the copy."""
        import copy

        s = UserSession()
        c = copy.deepcopy(s)
        assert c.prefs._vein.parent is c._vein
        got: list[vein.Change] = []
        c.on_change(got.append)
        c.prefs.lo = 2
        assert _log(got) == [("prefs.lo", 1, 2)]
        assert s.prefs.lo == 1


class Holder(vein.Flow):
    """Dynamic state used as a declared nested field, writing to its child in ``__init__``."""

    def __init__(self) -> None:
        self.prefs = Prefs()
        self.prefs.lo = 3  # the child now knows the tree it was in


@vein.flow
class Top:
    holder: Holder = vein.field(factory=Holder)

    @vein.policy
    def bounded(self) -> None:
        if self.holder.prefs.lo > 50:
            raise ValueError("lo above 50")


class TestDynamicChildrenBelowDeclaredFields:
    """A dynamic object in a declared nested field: its own children join the outer tree."""

    def test_grandchild_writes_reach_the_top(self):
        """Events, policies and batches of the top object cover the dynamic grandchild."""
        t = Top()
        got: list[vein.Change] = []
        t.on_change(got.append)
        t.holder.prefs.lo = 4
        assert _log(got) == [("holder.prefs.lo", 3, 4)]
        with pytest.raises(vein.ValidationError, match="bounded"):
            t.holder.prefs.lo = 99
        with pytest.raises(RuntimeError), t.batch():
            t.holder.prefs.lo = 5
            raise RuntimeError
        assert t.holder.prefs.lo == 4


class TestMappingsIntoAdoptedChildren:
    """A mapping for a dynamic attribute that holds a flow object merges into that object
    (like a nested section), never replacing it with a dict."""

    @staticmethod
    def make():
        @vein.flow
        class Prefs:
            lo: int = 1
            hi: int = 10

            @vein.policy
            def ordered(self) -> None:
                if self.lo > self.hi:
                    raise ValueError("lo above hi")

        class Session(vein.Flow):
            def __init__(self) -> None:
                super().__init__()
                self.user = "ann"
                self.prefs = Prefs()

        return Prefs, Session

    def test_update_with_a_mapping(self) -> None:
        Prefs, Session = self.make()
        s = Session()
        held = s.prefs
        got = []
        s.on_change(got.append)
        s.update({"prefs": {"lo": 5}})
        assert s.prefs is held and (s.prefs.lo, s.prefs.hi) == (5, 10)
        assert [(c.path, c.old, c.new) for c in got] == [("prefs.lo", 1, 5)]
        with pytest.raises(vein.ValidationError, match="lo above hi"):
            s.update({"prefs": {"lo": 50}})
        assert (s.prefs.lo, s.prefs.hi) == (5, 10)

    def test_update_from_a_file(self, tmp_path) -> None:
        Prefs, Session = self.make()
        path = tmp_path / "s.yml"
        path.write_text("user: bob\nprefs:\n  hi: 20\n", encoding="utf-8")
        s = Session()
        s.update(vein.from_yaml(path))
        assert isinstance(s.prefs, Prefs) and (s.user, s.prefs.lo, s.prefs.hi) == ("bob", 1, 20)
        assert str(s.explain("prefs.hi")).endswith("s.yml:3:3")
