"""Thread safety and re-entrancy (SPEC §8; issue 5), with real threads.

The stress test runs several writer threads (assignments, batches, updates, list
mutations, rejected writes), reader threads taking snapshots, a subscriber that writes
back into the tree, and a thread that keeps subscribing and unsubscribing, all at once on
one tree.  It checks: no exception anywhere (``threading.excepthook`` included), no
deadlock (every join has a timeout and no thread may be left alive), every snapshot
satisfies the class policies, and every committed change produced exactly one event per
subscriber -- each writer writes values nobody else writes, so the number of committed
changes of each field is known.
"""

from __future__ import annotations

import gc
import random
import sys
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import vein

JOIN = 30.0  # seconds: a deadlock guard, never a timing assertion
WRITES = 2000  # per writer thread


@vein.flow
class Pair:
    low: int = 0
    high: int = 0

    @vein.policy
    def ordered(self) -> None:
        if self.low > self.high:
            raise ValueError("low above high")


@vein.flow
class Stress:
    c0: int = 0
    c1: int = 0
    c2: int = 0
    c3: int = 0
    echo: int = 0
    entries: list[str] = vein.field(factory=list)
    pair: Pair = vein.field(factory=Pair)

    @vein.policy
    def echo_follows(self) -> None:
        if self.echo > self.c0:
            raise ValueError("echo ahead of c0")

    @vein.computed
    def total(self) -> int:
        return self.c0 + self.c1 + self.pair.high


@contextmanager
def switching_often() -> Iterator[None]:
    """Make the interpreter switch threads far more often, to shake out races."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextmanager
def caught_thread_errors() -> Iterator[list[BaseException]]:
    """Collect exceptions that escape any thread (``threading.excepthook``)."""
    errors: list[BaseException] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        errors.append(args.exc_value if args.exc_value is not None else RuntimeError(str(args.exc_type)))

    threading.excepthook = hook
    try:
        yield errors
    finally:
        threading.excepthook = previous


def start(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, name=f"t{i}-{t.__name__}", daemon=True) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    return threads


def join_all(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.join(JOIN)
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running (deadlock?): {alive}"


class Tally:
    """A subscriber that counts the events it hears, per path (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.last: dict[str, Any] = {}
        self.out_of_order: list[vein.Change] = []

    def __call__(self, change: vein.Change) -> None:
        with self.lock:
            self.counts[change.path] += 1
            if change.path.split(".")[-1] in ("c0", "c1", "c2", "c3", "echo"):
                # one writer per counter, delivery in the writer's thread after each
                # commit: the values it hears go strictly up
                if change.new <= self.last.get(change.path, 0):
                    self.out_of_order.append(change)
                self.last[change.path] = change.new


class TestStress:
    """Everything at once on one tree."""

    def test_writers_readers_subscribers_churn(self):
        s = Stress()
        everything = Tally()
        on_pair = Tally()
        on_c1 = Tally()
        s.on_change(everything)
        s.pair.on_change(on_pair)
        s.on_change("c1", on_c1)

        def write_back(change: vein.Change) -> None:
            s.echo = change.new  # a callback writing to the same tree

        s.on_change("c0", write_back)

        stop = threading.Event()
        failures: list[BaseException] = []
        rejected = Counter[str]()
        snapshots = [0]
        bad_snapshots: list[Any] = []
        churned = [0]

        def guarded(fn: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    fn()
                except BaseException as exc:
                    failures.append(exc)
                    stop.set()

            run.__name__ = fn.__name__
            return run

        @guarded
        def assign_c0() -> None:
            for i in range(1, WRITES + 1):
                s.c0 = i

        @guarded
        def assign_c1_and_reject() -> None:
            for i in range(1, WRITES + 1):
                s.c1 = i
                if i % 10 == 0:
                    with pytest.raises(vein.ValidationError):
                        s.c1 = "not a number"  # type: ignore[assignment]
                    rejected["c1"] += 1

        @guarded
        def update_c2() -> None:
            for i in range(1, WRITES + 1):
                s.update({"c2": i})
                if i % 10 == 0:
                    with pytest.raises(vein.ValidationError):
                        s.update({"c2": -i, "pair": {"low": 10**9}})  # breaks Pair.ordered
                    rejected["c2"] += 1

        @guarded
        def batch_pair_and_c3() -> None:
            for i in range(1, WRITES + 1):
                with s.batch():
                    # raising high first keeps low <= high only at the end of the block
                    s.pair.low = 2 * i
                    s.pair.high = 2 * i + 1
                    s.c3 = i
                if i % 10 == 0:
                    with pytest.raises(RuntimeError), s.batch():
                        s.c3 = -1
                        s.pair.high = -1
                        raise RuntimeError("rolled back")
                    rejected["batch"] += 1

        @guarded
        def append_items() -> None:
            for i in range(WRITES):
                s.entries.append(f"entry{i}")
                if i % 10 == 0:
                    with pytest.raises(vein.ValidationError):
                        s.entries.append(i)  # type: ignore[arg-type]

        @guarded
        def read_snapshots() -> None:
            last: dict[str, int] = {}
            while not stop.is_set():
                snap = s.snapshot()
                snapshots[0] += 1
                if snap.pair.low > snap.pair.high or snap.echo > snap.c0:
                    bad_snapshots.append(snap)
                for name in ("c0", "c1", "c2", "c3"):
                    value = getattr(snap, name)
                    if value < last.get(name, 0):
                        bad_snapshots.append((name, value, last[name]))
                    last[name] = value
                if len(snap.entries) < last.get("entries", 0):
                    bad_snapshots.append(("entries", len(snap.entries)))
                last["entries"] = len(snap.entries)
                _ = s.pair.low, s.c1, s.entries[:1], s.total  # reads never block

        @guarded
        def churn() -> None:
            rng = random.Random(5)
            paths = ["*", "c0", "pair", "pair.low", "entries", "echo"]
            held: list[vein.Subscription] = []
            while not stop.is_set():
                target = s.pair if rng.random() < 0.2 else s
                path = "low" if target is s.pair else rng.choice(paths)

                class Owner:
                    def cb(self, change: vein.Change) -> None:
                        pass

                owner = Owner()
                held.append(target.on_change(path, owner.cb, weak=True))  # dropped with owner
                del owner
                held.append(target.on_change(path, lambda c: None))
                if len(held) > 20:
                    for sub in held[:10]:
                        sub.cancel()
                    del held[:10]
                churned[0] += 1
            for sub in held:
                sub.cancel()

        writers = [assign_c0, assign_c1_and_reject, update_c2, batch_pair_and_c3, append_items]
        with caught_thread_errors() as escaped, switching_often():
            writer_threads = start(writers)
            other_threads = start([read_snapshots, read_snapshots, churn])
            join_all(writer_threads)
            stop.set()
            join_all(other_threads)

        assert not failures, failures
        assert not escaped, escaped
        assert not bad_snapshots, bad_snapshots[:5]
        assert snapshots[0] > 0 and churned[0] > 0

        # final state: exactly what the writers committed
        assert (s.c0, s.c1, s.c2, s.c3, s.echo) == (WRITES,) * 5
        assert (s.pair.low, s.pair.high) == (2 * WRITES, 2 * WRITES + 1)
        assert len(s.entries) == WRITES and len(set(s.entries)) == WRITES
        assert rejected == Counter(c1=WRITES // 10, c2=WRITES // 10, batch=WRITES // 10)

        # the computed value was read (and cached) by readers while writers wrote: it must
        # not have kept a value of a state that was being written or rolled back
        assert s.total == 2 * WRITES + 2 * WRITES + 1
        assert everything.counts.pop("total") > 0

        # exactly one event per committed change, per subscriber
        expected = Counter(
            {"c0": WRITES, "c1": WRITES, "c2": WRITES, "c3": WRITES, "echo": WRITES,
             "entries": WRITES, "pair.low": WRITES, "pair.high": WRITES}
        )
        assert everything.counts == expected
        assert on_pair.counts == Counter({"low": WRITES, "high": WRITES})
        assert on_c1.counts == Counter({"c1": WRITES})
        assert not everything.out_of_order and not on_c1.out_of_order

        # the churn left nothing behind but the subscriptions made above
        def users(node: Any) -> int:
            return sum(1 for g in (node.subs or {}).values() for sub in g if not sub.internal)

        assert users(s._vein) == 3
        assert users(s.pair._vein) == 1


class TestLocking:
    """What is serialized and what never blocks."""

    def test_writes_serialized_no_lost_update(self):
        """Many threads appending to one list: every append is kept (no lost write)."""
        s = Stress()
        per_thread = 500

        def appender(k: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(per_thread):
                    s.entries.append(f"{k}-{i}")

            return run

        with caught_thread_errors() as escaped:
            join_all(start([appender(k) for k in range(6)]))
        assert not escaped
        assert len(s.entries) == 6 * per_thread
        assert len(set(s.entries)) == 6 * per_thread

    def test_read_during_batch_does_not_block(self):
        """A reader thread reads fields and the last snapshot while a batch holds the lock."""
        s = Stress()
        snap = s.snapshot()
        results: list[Any] = []

        def reader() -> None:
            results.append((s.c0, s.snapshot() is snap, s.entries == []))

        with s.batch():
            t = threading.Thread(target=reader)
            t.start()
            t.join(JOIN)
            assert not t.is_alive()
        assert results == [(0, True, True)]

    def _snapshot_in_thread(self, obj: Any) -> Any:
        """``obj.snapshot()`` in another thread; fails (instead of hanging) if it waits."""
        results: list[Any] = []
        t = threading.Thread(target=lambda: results.append(obj.snapshot()))
        t.start()
        t.join(JOIN)
        assert not t.is_alive(), "snapshot() waited for another thread's batch"
        return results[0]

    def test_snapshot_does_not_wait_for_a_writing_batch(self):
        """After writes in a batch, another thread's snapshot() returns the committed state."""
        s = Stress()
        s.snapshot()  # this tree's snapshots are read
        with s.batch():
            s.c0 = 5
            s.entries.append("x")
            s.pair.high = 3
            s.update({"c1": 7})
            snap = self._snapshot_in_thread(s)
            inner = self._snapshot_in_thread(s.pair)  # a child's part of the same state
            assert (snap.c0, snap.c1, snap.entries, snap.pair.high) == (0, 0, (), 0)
            assert inner.high == 0 and inner == snap.pair
            assert (s.c0, s.pair.high) == (5, 3)  # plain reads see the block's writes
            assert s.snapshot().c0 == 5  # and so does this thread's own snapshot
        after = self._snapshot_in_thread(s)
        assert (after.c0, after.c1, after.entries, after.pair.high) == (5, 7, ("x",), 3)

    def test_snapshot_never_shows_a_rolled_back_batch(self):
        """During and after a block that fails, readers see only what was committed."""
        s = Stress()
        s.c2 = 1
        s.snapshot()
        with pytest.raises(RuntimeError), s.batch():
            s.c2 = 99
            s.entries.extend(["a", "b"])
            assert self._snapshot_in_thread(s).c2 == 1
            raise RuntimeError
        snap = self._snapshot_in_thread(s)
        assert (snap.c2, snap.entries) == (1, ())

    def test_new_tree_of_a_snapshotted_class(self):
        """A fresh object of a class whose snapshots are read: even its first snapshot."""
        Stress().snapshot()
        s = Stress()
        with s.batch():
            s.c3 = 4
            assert self._snapshot_in_thread(s).c3 == 0

    def test_callbacks_run_outside_the_lock(self):
        """While a callback runs, another thread can write to the tree."""
        s = Stress()
        other_done = threading.Event()
        seen: list[bool] = []

        def cb(change: vein.Change) -> None:
            if change.path == "c0":
                t = threading.Thread(target=lambda: (setattr(s, "c1", 1), other_done.set()))
                t.start()
                seen.append(other_done.wait(JOIN))
                t.join(JOIN)

        s.on_change(cb)
        s.c0 = 1
        assert seen == [True]
        assert s.c1 == 1


class TestReentrancy:
    """Callbacks that write, subscribe or unsubscribe while an event is delivered."""

    def test_callback_writes_to_the_same_tree(self):
        """A write from a callback works (no deadlock) and is itself evented."""
        s = Stress()
        got: list[tuple[str, Any]] = []
        s.on_change("c0", lambda c: setattr(s, "echo", c.new))
        s.on_change(lambda c: got.append((c.path, c.new)) if c.path != "total" else None)
        s.c0 = 3
        assert s.echo == 3
        assert got == [("c0", 3), ("echo", 3)] or got == [("echo", 3), ("c0", 3)]

    def test_callback_writing_equal_value_stops(self):
        """Two callbacks copying a value to each other settle (equal writes fire nothing)."""
        s = Stress()
        s.on_change("c1", lambda c: setattr(s, "c2", c.new))
        s.on_change("c2", lambda c: setattr(s, "c1", c.new))
        s.c1 = 7
        assert (s.c1, s.c2) == (7, 7)

    def test_callback_writing_in_batch_events(self):
        """A callback of a batch's events may open its own batch."""
        s = Stress()

        def cb(change: vein.Change) -> None:
            with s.batch():
                s.pair.high = 100
                s.pair.low = 50

        s.on_change("c3", cb)
        with s.batch():
            s.c3 = 1
        assert (s.pair.low, s.pair.high) == (50, 100)

    def test_subscribe_during_emit(self):
        """A subscription made by a callback does not hear the change being delivered."""
        s = Stress()
        late: list[vein.Change] = []

        def subscriber(change: vein.Change) -> None:
            if not late and change.new == 1:
                s.on_change("c0", late.append)

        s.on_change("c0", subscriber)
        s.c0 = 1
        assert late == []
        s.c0 = 2
        assert [c.new for c in late] == [2]

    def test_unsubscribe_self_and_other_during_emit(self):
        """Cancelling (yourself or a later subscriber) during delivery is safe."""
        s = Stress()
        heard: list[str] = []
        subs: dict[str, vein.Subscription] = {}

        def first(change: vein.Change) -> None:
            heard.append("first")
            subs["first"].cancel()
            subs["third"].cancel()

        subs["first"] = s.on_change("c0", first)
        subs["second"] = s.on_change("c0", lambda c: heard.append("second"))
        subs["third"] = s.on_change("c0", lambda c: heard.append("third"))
        s.c0 = 1
        # the delivery in progress works on the subscriptions as they were: third may or
        # may not hear this one change, but nobody fails and nothing is heard twice
        assert heard[:2] == ["first", "second"]
        assert heard.count("first") == 1 and heard.count("second") == 1
        heard.clear()
        s.c0 = 2
        assert heard == ["second"]

    def test_subscribe_unsubscribe_churn_during_emits_from_threads(self):
        """Callbacks that subscribe and cancel, hit by writes from several threads."""
        s = Stress()
        made: list[vein.Subscription] = []
        lock = threading.Lock()

        def churner(change: vein.Change) -> None:
            sub = s.on_change("c2", lambda c: None)
            with lock:
                made.append(sub)
                if len(made) > 5:
                    made.pop(0).cancel()

        s.on_change(churner)

        def writer(field: str) -> Callable[[], None]:
            def run() -> None:
                for i in range(1, 301):
                    setattr(s, field, i)

            return run

        with caught_thread_errors() as escaped:
            join_all(start([writer(f) for f in ("c0", "c1", "c2", "c3")]))
        assert not escaped
        assert (s.c1, s.c2, s.c3) == (300, 300, 300)


class TestWeak:
    """``weak=True`` subscriptions drop with their owner."""

    def test_bound_method_dropped_with_owner(self):
        """The owner is collectable; once collected, its subscription is gone."""
        s = Stress()
        heard: list[int] = []

        class View:
            def refresh(self, change: vein.Change) -> None:
                heard.append(change.new)

        view = View()
        sub = s.on_change("c0", view.refresh, weak=True)
        s.c0 = 1
        ref = weakref.ref(view)
        del view
        gc.collect()
        assert ref() is None
        s.c0 = 2
        assert heard == [1]
        assert not sub.active
        assert not (s._vein.subs or {}).get("c0")

    def test_weak_function_dropped(self):
        """A plain function held weakly drops when the last reference goes."""
        s = Stress()
        heard: list[int] = []

        def make() -> Callable[[vein.Change], None]:
            def cb(change: vein.Change) -> None:
                heard.append(change.new)

            return cb

        cb = make()
        s.on_change("c0", cb, weak=True)
        s.c0 = 1
        del cb
        gc.collect()
        s.c0 = 2
        assert heard == [1]

    def test_strong_subscription_keeps_owner_alive(self):
        """Without weak=True the subscription keeps the bound method's owner alive."""
        s = Stress()

        class View:
            def refresh(self, change: vein.Change) -> None:
                pass

        view = View()
        s.on_change("c0", view.refresh)
        ref = weakref.ref(view)
        del view
        gc.collect()
        assert ref() is not None

    def test_weak_owners_dropped_from_other_threads(self):
        """Owners created and dropped in many threads while writes go on: no error, none left."""
        s = Stress()
        stop = threading.Event()

        def owners() -> None:
            for _ in range(300):

                class Owner:
                    def cb(self, change: vein.Change) -> None:
                        pass

                o = Owner()
                s.on_change("c0", o.cb, weak=True)
                del o

        def writer() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                s.c0 = i

        with caught_thread_errors() as escaped:
            w = start([writer])
            join_all(start([owners, owners, owners]))
            stop.set()
            join_all(w)
        gc.collect()
        s.c0 = 10**9
        assert not escaped
        assert not (s._vein.subs or {}).get("c0")


def test_readers_of_dynamic_state_and_config_never_fail_while_keys_come_and_go() -> None:
    """Dumps, reprs and the mapping protocol copy the attribute dict in one step: a writer
    adding and removing keys meanwhile cannot make them raise."""

    class Session(vein.Flow):
        def __init__(self) -> None:
            super().__init__()
            self.user = "u"

    for obj in (Session(), vein.Config()):
        stop = threading.Event()
        failures: list[BaseException] = []

        def churn(obj: Any = obj) -> None:
            i = 0
            while not stop.is_set():
                name = f"k{i % 50}"
                setattr(obj, name, i)
                if i % 3 == 0:
                    delattr(obj, name)
                i += 1

        def read(obj: Any = obj) -> None:
            try:
                for _ in range(300):
                    vein.to_dict(obj)
                    repr(obj)
                    list(obj)
                    len(obj)
                    # (dict(obj) looks each key up after listing them: a key deleted in
                    # between is a KeyError; snapshot() or to_dict() is the consistent view)
            except BaseException as exc:  # any failure is the bug
                failures.append(exc)

        writer = threading.Thread(target=churn)
        readers = [threading.Thread(target=read) for _ in range(2)]
        writer.start()
        for t in readers:
            t.start()
        for t in readers:
            t.join(60)
        stop.set()
        writer.join(60)
        assert not failures, failures[:3]
