"""Batches (SPEC §8; issue 5): ``with obj.batch():`` validates per write, runs policies at
the end, coalesces events, rolls back on exception, nests with savepoints, and holds other
threads' writes until it ends."""

from __future__ import annotations

import threading

import attrs
import pytest

import vein

JOIN = 10.0  # seconds: a hang guard, never a timing assertion


@vein.flow
class Database:
    host: str = "localhost"
    port: int = vein.field(default=5432, validator=attrs.validators.ge(1))


@vein.flow
class Limits:
    low: int = 0
    high: int = 10

    @vein.policy
    def ordered(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


@vein.flow
class Settings:
    name: str = "app"
    timeout: float = 30.0
    hosts: list[str] = vein.field(factory=list)
    database: Database = vein.field(factory=Database)
    limits: Limits = vein.field(factory=Limits)


def _log(got: list[vein.Change]) -> list[tuple[str, object, object]]:
    return [(c.path, c.old, c.new) for c in got]


LEAVES = ("name", "timeout", "hosts", "database.host", "database.port", "limits.low", "limits.high")


def _explained(s: Settings) -> dict[str, str]:
    return {p: str(s.explain(p)) for p in LEAVES}


def _full(s: Settings) -> tuple[dict[str, object], dict[str, str]]:
    return s.to_dict(), _explained(s)


class TestPerWriteValidation:
    """Validators and type checks run on each write inside the block."""

    def test_bad_write_raises_immediately_and_can_be_caught(self):
        """The block sees the error at the write, can catch it, and the batch goes on."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.name = "one"
            with pytest.raises(vein.ValidationError):
                s.database.port = 0
            with pytest.raises(vein.ValidationError):
                s.timeout = "fast"  # type: ignore[assignment]
            assert s.database.port == 5432
            s.database.port = 6000
        assert (s.name, s.database.port, s.timeout) == ("one", 6000, 30.0)
        assert _log(got) == [("name", "app", "one"), ("database.port", 5432, 6000)]

    def test_uncaught_bad_write_rolls_back_everything(self):
        """An uncaught validation error leaves the block: everything before it is undone."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with pytest.raises(vein.ValidationError), s.batch():
            s.name = "one"
            s.database.port = 0
        assert s.name == "app"
        assert got == []

    def test_writes_visible_inside_the_block(self):
        """Inside the block, reads see the block's own writes."""
        s = Settings()
        with s.batch():
            s.database.host = "db"
            assert s.database.host == "db"
            s.hosts.append("h")
            assert s.hosts == ["h"]


class TestPolicies:
    """Policies run once, at the end of the outermost block."""

    def test_intermediate_state_may_break_a_policy(self):
        """Moving a window (low above the old high) only works in a batch."""
        s = Settings()
        with pytest.raises(vein.ValidationError):
            s.limits.low = 20
        with s.batch():
            s.limits.low = 20
            s.limits.high = 30
        assert (s.limits.low, s.limits.high) == (20, 30)

    def test_policies_run_once_per_batch(self):
        """N writes to a policed object in one batch run its policy once."""
        runs: list[int] = []

        @vein.flow
        class Counted:
            v: int = 0

            @vein.policy
            def count(self) -> None:
                runs.append(self.v)

        c = Counted()
        runs.clear()  # (construction may check the invariants too)
        with c.batch():
            for i in range(1, 6):
                c.v = i
        assert runs == [5]

    def test_failure_at_end_rolls_back_and_fires_nothing(self):
        """A policy failure at the end raises from the ``with`` and undoes the block."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        before = _full(s)
        with pytest.raises(vein.ValidationError, match="ordered"), s.batch():
            s.name = "one"
            s.limits.low = 50
        assert _full(s) == before
        assert got == []


class TestCoalescedEvents:
    """One event per changed leaf after the block: first old value, last new value."""

    def test_first_old_last_new(self):
        """Three writes to one leaf fire one event, after the block."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.timeout = 1
            s.timeout = 2
            s.timeout = 3
            s.database.host = "a"
            assert got == []  # nothing during the block
        assert _log(got) == [("timeout", 30.0, 3), ("database.host", "localhost", "a")]

    def test_changed_and_changed_back_fires_nothing(self):
        """A leaf that ends where it started is not a change."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.name = "other"
            s.name = "app"
            s.hosts.append("x")
            s.hosts.pop()
            s.database.port = 1
            s.database.port = 5432
        assert got == []

    def test_child_subscribers_get_relative_paths(self):
        """Subscribers on a child hear coalesced changes with paths relative to it."""
        s = Settings()
        got: list[vein.Change] = []
        s.database.on_change(got.append)
        with s.database.batch():
            s.database.host = "a"
            s.database.host = "b"
        assert _log(got) == [("host", "localhost", "b")]

    def test_collection_events_carry_plain_copies(self):
        """In-place mutations coalesce too: old is the list before the block, new after it."""
        s = Settings()
        s.hosts.append("a")
        got: list[vein.Change] = []
        s.on_change("hosts", got.append)
        with s.batch():
            s.hosts.append("b")
            s.hosts.append("c")
            s.hosts.remove("a")
        assert _log(got) == [("hosts", ["a"], ["b", "c"])]
        assert type(got[0].old) is list and type(got[0].new) is list

    def test_replaced_then_emptied_fires_nothing(self):
        """``s.hosts = ["x"]; s.hosts.remove("x")`` ends where it began: no event."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.hosts = ["x"]
            s.hosts.remove("x")
        assert got == []
        with s.batch():
            s.hosts.append("y")
            s.hosts = []
        assert got == []

    def test_assigned_container_event_carries_plain_copies(self):
        """A container assigned in a block: the event's old and new are plain lists, as outside."""
        s = Settings()
        s.hosts.append("a")
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.hosts = ["b"]
        with s.batch():
            s.hosts = ["c"]
            s.hosts.append("d")
        with s.batch():
            s.hosts.append("e")
            s.hosts = ["f"]
        assert _log(got) == [("hosts", ["a"], ["b"]), ("hosts", ["b"], ["c", "d"]), ("hosts", ["c", "d"], ["f"])]
        assert all(type(c.old) is list and type(c.new) is list for c in got)
        s.hosts.append("g")  # the event's list is a copy: later changes do not show in it
        assert got[2].new == ["f"]

    def test_update_replacing_a_container_rolls_back_to_the_same_one(self):
        """An ``update`` in a rolled-back block: the field gets back its very container."""
        s = Settings(hosts=["a"])
        hosts = s.hosts
        with pytest.raises(RuntimeError), s.batch():
            s.update({"hosts": ["b"]})
            raise RuntimeError
        assert s.hosts is hosts and s.hosts == ["a"]
        got: list[vein.Change] = []
        s.on_change(got.append)
        hosts.append("c")  # it reports again
        assert _log(got) == [("hosts", ["a"], ["a", "c"])]

    def test_events_fire_after_the_lock_is_released(self):
        """A callback of a batch's events may write to the tree (no deadlock, new event)."""
        s = Settings()
        got: list[vein.Change] = []

        def echo(change: vein.Change) -> None:
            s.database.host = f"{change.new}-db"

        s.on_change("name", echo)
        s.on_change("database.host", got.append)
        with s.batch():
            s.name = "x"
        assert s.database.host == "x-db"
        assert _log(got) == [("database.host", "localhost", "x-db")]


class TestRollback:
    """An exception rolls every write back (values and provenance) and fires nothing."""

    def test_values_and_provenance_restored(self):
        """Leaves of several objects, and their ``explain``, are as before the block."""
        s = Settings()
        s.update(vein.from_dict({"name": "from-layer", "database": {"host": "db1"}}, name="base"))
        before = _full(s)
        got: list[vein.Change] = []
        s.on_change(got.append)
        with pytest.raises(KeyError), s.batch():
            s.name = "runtime-name"
            s.database.host = "db2"
            s.database.port = 1
            s.limits.high = 99
            s.hosts.append("h")
            s.timeout = 5
            raise KeyError("boom")
        assert _full(s) == before
        assert got == []

    def test_replaced_subtree_restored(self):
        """Assigning a mapping (or an instance) to a nested field inside the block is undone."""
        s = Settings()
        s.database.host = "keep"
        db = s.database
        before = _full(s)
        with pytest.raises(RuntimeError), s.batch():
            s.database = {"host": "replaced", "port": 7}
            assert (s.database.host, s.database.port) == ("replaced", 7)
            s.limits = Limits(low=1, high=2)
            raise RuntimeError
        assert _full(s) == before
        assert s.database is db  # the child keeps its identity (and its subscriptions)

    def test_replaced_subtree_committed(self):
        """The same replacement without an exception commits, one event per changed leaf."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.database = {"host": "replaced"}
        assert (s.database.host, s.database.port) == ("replaced", 5432)
        assert _log(got) == [("database.host", "localhost", "replaced")]

    def test_collection_contents_restored_in_place(self):
        """A list mutated in the block gets its contents back, and stays the same object."""
        s = Settings()
        s.hosts.extend(["a", "b"])
        hosts = s.hosts
        with pytest.raises(ZeroDivisionError), s.batch():
            s.hosts.append("c")
            s.hosts.sort(reverse=True)
            del s.hosts[0]
            1 / 0  # noqa: B018
        assert s.hosts == ["a", "b"]
        assert s.hosts is hosts
        got: list[vein.Change] = []
        s.on_change(got.append)
        s.hosts.append("d")  # still wired to the field
        assert _log(got) == [("hosts", ["a", "b"], ["a", "b", "d"])]

    def test_replaced_collection_restored(self):
        """A list replaced in the block is put back, and the new one no longer reports."""
        s = Settings()
        s.hosts.append("a")
        with pytest.raises(RuntimeError), s.batch():
            s.hosts = ["z"]
            replaced_by = s.hosts
            raise RuntimeError
        assert s.hosts == ["a"]
        got: list[vein.Change] = []
        s.on_change(got.append)
        replaced_by.append("q")
        s.hosts.append("b")
        assert _log(got) == [("hosts", ["a"], ["a", "b"])]

    def test_base_exception_rolls_back(self):
        """Also a KeyboardInterrupt-like BaseException rolls back."""

        class Stop(BaseException):
            pass

        s = Settings()
        with pytest.raises(Stop), s.batch():
            s.name = "x"
            raise Stop
        assert s.name == "app"

    def test_snapshot_after_rollback(self):
        """A snapshot taken inside a rolled-back block is not served afterwards."""
        s = Settings()
        with pytest.raises(RuntimeError), s.batch():
            s.name = "inside"
            assert s.snapshot().name == "inside"
            raise RuntimeError
        assert s.snapshot().name == "app"


class TestNesting:
    """An inner batch joins the outer one, with a savepoint."""

    def test_inner_joins_outer(self):
        """Events of an inner block wait for the outer block; policies too."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            with s.batch():
                s.name = "inner"
                s.limits.low = 50  # fine once the outer block fixes high
            assert got == []
            s.limits.high = 60
        assert _log(got) == [("name", "app", "inner"), ("limits.low", 0, 50), ("limits.high", 10, 60)]

    def test_inner_exception_caught_inside_undoes_only_inner_writes(self):
        """The savepoint: the outer block's writes survive an inner rollback."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.name = "outer"
            s.timeout = 1
            try:
                with s.batch():
                    s.timeout = 2
                    s.database.host = "inner"
                    s.hosts.append("inner")
                    raise ValueError("inner fails")
            except ValueError:
                pass
            assert (s.name, s.timeout, s.database.host, s.hosts) == ("outer", 1, "localhost", [])
            s.database.port = 9
        assert (s.name, s.timeout, s.database.host, s.database.port) == ("outer", 1, "localhost", 9)
        assert _log(got) == [("name", "app", "outer"), ("timeout", 30.0, 1), ("database.port", 5432, 9)]

    def test_batch_on_child_joins_batch_on_root(self):
        """``child.batch()`` inside ``root.batch()`` is the same transaction."""
        s = Settings()
        with pytest.raises(RuntimeError), s.batch():
            s.name = "x"
            with s.database.batch():
                s.database.host = "y"
            raise RuntimeError
        assert (s.name, s.database.host) == ("app", "localhost")

    def test_outer_exception_undoes_committed_inner_block(self):
        """An inner block that ended normally is still undone by the outer one's exception."""
        s = Settings()
        with pytest.raises(RuntimeError), s.batch():
            with s.batch():
                s.name = "inner"
            raise RuntimeError
        assert s.name == "app"

    def test_three_levels_of_savepoints(self):
        """Each level undoes only its own writes."""
        s = Settings()
        with s.batch():
            s.name = "1"
            with s.batch():
                s.database.host = "2"
                try:
                    with s.batch():
                        s.database.port = 3
                        raise RuntimeError
                except RuntimeError:
                    pass
                s.timeout = 2
        assert (s.name, s.database.host, s.database.port, s.timeout) == ("1", "2", 5432, 2)


class TestUpdatesInsideBatch:
    """``update`` inside a batch is part of the transaction."""

    def test_update_events_coalesce_with_writes(self):
        """An update and a later write to the same leaf give one event."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change(got.append)
        with s.batch():
            s.update({"name": "from-update", "database": {"port": 1000}})
            s.name = "final"
        assert _log(got) == [("name", "app", "final"), ("database.port", 5432, 1000)]

    def test_update_rolled_back_with_the_block(self):
        """Values and provenance of an update inside a rolled-back block are restored."""
        s = Settings()
        s.update(vein.from_dict({"name": "base"}, name="base"))
        before = _full(s)
        with pytest.raises(RuntimeError), s.batch():
            s.update(vein.from_dict({"name": "top", "database": {"host": "h"}}, name="top"))
            assert str(s.explain("name")) == "dict top (key name)"
            raise RuntimeError
        assert _full(s) == before

    def test_rolled_back_layer_is_forgotten(self):
        """A layer first applied in a rolled-back block does not shadow later reloads."""
        s = Settings()
        s.update(vein.from_dict({"name": "one"}, name="low"))
        with pytest.raises(RuntimeError), s.batch():
            s.update(vein.from_dict({"name": "two"}, name="high"))
            raise RuntimeError
        assert s.name == "one"
        s.update(vein.from_dict({"name": "three"}, name="low"))  # a reload of the only layer
        assert s.name == "three"
        assert str(s.explain("name")) == "dict low (key name)"

    def test_rolled_back_reload_is_forgotten(self):
        """A reload undone by the block leaves the layer as it was: the same reload applies later."""
        s = Settings()
        s.update(vein.from_dict({"name": "v1"}, name="layer"))
        with pytest.raises(RuntimeError), s.batch():
            s.update(vein.from_dict({"name": "v2"}, name="layer"))
            raise RuntimeError
        assert s.name == "v1"
        s.update(vein.from_dict({"name": "v2"}, name="layer"))
        assert s.name == "v2"

    def test_invalid_update_inside_batch_can_be_caught(self):
        """An invalid update raises at once, changes nothing, and the block goes on."""
        s = Settings()
        with s.batch():
            s.name = "kept"
            with pytest.raises(vein.ValidationError):
                s.update({"database": {"port": 0}, "timeout": 1})
            assert s.timeout == 30.0
        assert (s.name, s.timeout, s.database.port) == ("kept", 30.0, 5432)


class TestThreads:
    """The batch holds the tree's lock: other threads' writes wait until it ends."""

    def test_other_thread_write_waits_for_the_batch(self):
        """A write from another thread lands after the block, never inside it."""
        s = Settings()
        started = threading.Event()
        done = threading.Event()
        seen_inside: list[str] = []
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                started.set()
                s.name = "other-thread"
                done.set()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        t = threading.Thread(target=writer)
        with s.batch():
            s.name = "batch"
            t.start()
            assert started.wait(JOIN)
            # the writer is blocked on the tree's lock: whatever we wait, it cannot finish
            assert not done.wait(0.2)
            seen_inside.append(s.name)
        t.join(JOIN)
        assert not t.is_alive()
        assert not errors
        assert seen_inside == ["batch"]
        assert s.name == "other-thread"

    def test_other_thread_reads_do_not_wait(self):
        """Reads (and snapshots of an unchanged state) from another thread never block."""
        s = Settings()
        snap = s.snapshot()
        read: list[object] = []

        def reader() -> None:
            read.append(s.timeout)
            read.append(s.snapshot() is snap)

        with s.batch():
            t = threading.Thread(target=reader)
            t.start()
            t.join(JOIN)
            assert not t.is_alive()
        assert read == [30.0, True]

    def test_rolled_back_batch_never_visible_in_events_of_other_threads(self):
        """Subscribers hear the other thread's write only, with the pre-batch value as old."""
        s = Settings()
        got: list[vein.Change] = []
        s.on_change("name", got.append)
        t = threading.Thread(target=setattr, args=(s, "name", "other"))
        with pytest.raises(RuntimeError), s.batch():
            s.name = "rolled-back"
            t.start()
            raise RuntimeError
        t.join(JOIN)
        assert not t.is_alive()
        assert _log(got) == [("name", "app", "other")]
