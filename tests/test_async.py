"""asyncio (issue 5): ``async def`` callbacks run on the loop they subscribed from (also for
writes in other threads), their errors reach ``on_error``, and ``obj.changes(path)`` is an
async stream whose closing cancels its subscription."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest

import vein

TIMEOUT = 10.0  # seconds: a hang guard for awaits and joins, never a timing assertion


@vein.flow
class Database:
    host: str = "localhost"
    port: int = 5432


@vein.flow
class Settings:
    name: str = "app"
    level: int = 0
    database: Database = vein.field(factory=Database)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def _subs(obj: vein.Flow) -> int:
    subs = obj._vein.subs or {}
    return sum(len(group) for group in subs.values())


def _write_in_thread(fn) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=target, name="writer")
    t.start()
    t.join(TIMEOUT)
    assert not t.is_alive()
    assert not errors, errors


class TestAsyncCallbacks:
    """``on_change`` with an ``async def`` callback."""

    def test_scheduled_on_the_subscribing_loop(self):
        """The coroutine runs as a task on the loop that was running at subscription."""

        async def main() -> None:
            s = Settings()
            loop = asyncio.get_running_loop()
            got: list[tuple[str, object, bool, str]] = []
            done = asyncio.Event()

            async def cb(change: vein.Change) -> None:
                got.append((change.path, change.new, asyncio.get_running_loop() is loop, threading.current_thread().name))
                done.set()

            s.on_change("name", cb)
            s.name = "x"
            assert got == []  # scheduled, not run inside the write
            await asyncio.wait_for(done.wait(), TIMEOUT)
            assert got == [("name", "x", True, threading.main_thread().name)]

        run(main())

    def test_write_from_another_thread(self):
        """A write in a worker thread still runs the coroutine on the subscriber's loop."""

        async def main() -> None:
            s = Settings()
            loop = asyncio.get_running_loop()
            got: list[tuple[object, bool]] = []
            done = asyncio.Event()

            async def cb(change: vein.Change) -> None:
                got.append((change.new, asyncio.get_running_loop() is loop))
                if len(got) == 3:
                    done.set()

            s.on_change("database", cb)
            await asyncio.to_thread(_write_in_thread, lambda: [setattr(s.database, "port", p) for p in (1, 2, 3)])
            await asyncio.wait_for(done.wait(), TIMEOUT)
            assert got == [(1, True), (2, True), (3, True)]  # in order

        run(main())

    def test_sync_and_async_callbacks_together(self):
        """Sync callbacks run in the writer; async ones later on the loop; both hear it."""

        async def main() -> None:
            s = Settings()
            order: list[str] = []
            done = asyncio.Event()

            async def acb(change: vein.Change) -> None:
                order.append("async")
                done.set()

            s.on_change("level", acb)
            s.on_change("level", lambda c: order.append("sync"))
            s.level = 1
            assert order == ["sync"]
            await asyncio.wait_for(done.wait(), TIMEOUT)
            assert order == ["sync", "async"]

        run(main())

    def test_errors_reach_on_error(self):
        """An exception in the coroutine goes to the tree's on_error handlers; the writer never sees it."""

        async def main() -> None:
            s = Settings()
            errors: list[BaseException] = []
            got = asyncio.Event()

            def handler(exc: BaseException) -> None:
                errors.append(exc)
                got.set()

            s.on_error(handler)

            async def bad(change: vein.Change) -> None:
                raise RuntimeError(f"boom {change.new}")

            s.on_change("name", bad)
            s.name = "x"  # does not raise
            await asyncio.wait_for(got.wait(), TIMEOUT)
            assert len(errors) == 1
            assert isinstance(errors[0], RuntimeError)
            assert str(errors[0]) == "boom x"
            assert any("bad" in note for note in getattr(errors[0], "__notes__", []))

        run(main())

    def test_a_secret_fields_error_is_logged_without_its_message(self, caplog):
        """As a plain callback's: the path is named, the exception's text (which may quote
        the secret value) is left out of the log line."""

        @vein.flow
        class Creds:
            password: str = vein.field(default="", secret=True)

        async def main() -> None:
            c = Creds()
            got = asyncio.Event()
            c.on_error(lambda exc: got.set())

            async def check(change: vein.Change) -> None:
                raise ValueError(f"bad password {change.new!r}")

            c.on_change("password", check)
            c.password = "hunter2"
            await asyncio.wait_for(got.wait(), TIMEOUT)

        with caplog.at_level("ERROR", logger="vein"):
            run(main())
        lines = [r.getMessage() for r in caplog.records if r.name == "vein"]
        assert len(lines) == 1
        assert "'password'" in lines[0] and "check" in lines[0]
        assert "hunter2" not in lines[0] and "message hidden" in lines[0]

    def test_cancelled_subscription_stops_scheduling(self):
        """After ``cancel()`` nothing more is scheduled."""

        async def main() -> None:
            s = Settings()
            got: list[object] = []

            async def cb(change: vein.Change) -> None:
                got.append(change.new)

            sub = s.on_change("name", cb)
            s.name = "one"
            sub.cancel()
            s.name = "two"
            for _ in range(10):
                await asyncio.sleep(0)
            assert got == ["one"]

        run(main())

    def test_subscribing_needs_a_running_loop(self):
        """Outside a running loop an async callback is refused with a clear error."""

        async def cb(change: vein.Change) -> None:  # pragma: no cover - never scheduled
            pass

        with pytest.raises(RuntimeError, match="event loop"):
            Settings().on_change("name", cb)

    def test_weak_async_method_dropped_with_its_owner(self):
        """``weak=True`` with an async bound method: once the owner is collected, unsubscribed."""

        class Owner:
            def __init__(self) -> None:
                self.got: list[object] = []

            async def on_name(self, change: vein.Change) -> None:
                self.got.append(change.new)

        async def main() -> None:
            s = Settings()
            owner = Owner()
            sub = s.on_change("name", owner.on_name, weak=True)
            s.name = "one"
            for _ in range(10):
                await asyncio.sleep(0)
            assert owner.got == ["one"]
            assert sub.active and _subs(s) == 1
            del owner
            gc.collect()
            assert not sub.active
            assert _subs(s) == 0
            s.name = "two"  # nothing is scheduled any more

        run(main())

    def test_weak_async_function_dropped_when_collected(self):
        """The same for a plain ``async def`` function held weakly."""

        async def main() -> None:
            s = Settings()

            async def cb(change: vein.Change) -> None:  # pragma: no cover - never scheduled
                pass

            sub = s.on_change("name", cb, weak=True)
            del cb
            gc.collect()
            assert not sub.active and _subs(s) == 0

        run(main())

    def test_loop_closed_later_writes_are_harmless(self):
        """A write after the subscriber's loop ended neither raises nor hangs."""
        s = Settings()

        async def main() -> None:
            async def cb(change: vein.Change) -> None:
                pass

            s.on_change("name", cb)

        asyncio.run(main())
        s.name = "after"
        assert s.name == "after"


class TestChangeStream:
    """``async for change in obj.changes(path)``."""

    def test_stream_in_order(self):
        """Changes under the path arrive in order; others are not in the stream."""

        async def main() -> None:
            s = Settings()
            seen: list[tuple[str, object]] = []
            async with s.changes("database") as stream:
                s.name = "ignored"
                s.database.host = "a"
                s.database.port = 1
                s.database.host = "b"
                async for change in stream:
                    seen.append((change.path, change.new))
                    if len(seen) == 3:
                        break
            assert seen == [("database.host", "a"), ("database.port", 1), ("database.host", "b")]

        run(main())

    def test_stream_fed_from_threads(self):
        """Writes in another thread reach the stream on the loop."""

        async def main() -> None:
            s = Settings()
            values: list[object] = []
            async with s.changes("level") as stream:
                await asyncio.to_thread(_write_in_thread, lambda: [setattr(s, "level", i) for i in range(1, 21)])
                async for change in stream:
                    values.append(change.new)
                    if len(values) == 20:
                        break
            assert values == list(range(1, 21))

        run(main())

    def test_closing_cancels_the_subscription(self):
        """``aclose()`` (and leaving ``async with``) unsubscribe; the iteration ends."""

        async def main() -> None:
            s = Settings()
            base = _subs(s)
            stream = s.changes("name")
            assert _subs(s) == base + 1
            await stream.aclose()
            assert _subs(s) == base
            s.name = "after-close"
            assert [c async for c in stream] == []

            async with s.changes() as stream2:
                assert _subs(s) == base + 1
            assert _subs(s) == base
            assert not [c async for c in stream2]

        run(main())

    def test_unclosed_stream_unsubscribes_when_collected(self):
        """A stream left open (a broken ``async for``) ends its subscription once collected."""

        async def main() -> None:
            s = Settings()
            stream = s.changes("name")
            s.name = "one"
            async for change in stream:
                assert change.new == "one"
                break
            assert _subs(s) == 1
            ref = weakref.ref(stream)
            del stream, change
            gc.collect()
            assert ref() is None
            assert _subs(s) == 0
            s.name = "two"  # nothing queued for a stream that is gone

        run(main())

    def test_stream_iterated_inline_is_not_collected_early(self):
        """While a loop reads from ``obj.changes()`` (no other reference), it keeps working."""

        async def main() -> None:
            s = Settings()

            async def produce() -> None:
                for i in range(3):
                    await asyncio.sleep(0)
                    gc.collect()
                    s.level = i + 1

            task = asyncio.ensure_future(produce())
            seen = []
            async for change in s.changes("level"):
                seen.append(change.new)
                if len(seen) == 3:
                    break
            await task
            assert seen == [1, 2, 3]

        run(main())

    def test_close_wakes_a_waiting_reader(self):
        """A task blocked on the stream ends cleanly when the stream is closed."""

        async def main() -> None:
            s = Settings()
            stream = s.changes("name")
            got: list[vein.Change] = []

            async def consume() -> None:
                async for change in stream:
                    got.append(change)

            task = asyncio.create_task(consume())
            await asyncio.sleep(0)
            s.name = "one"
            await asyncio.sleep(0)
            await stream.aclose()
            await asyncio.wait_for(task, TIMEOUT)
            assert [c.new for c in got] == ["one"]

        run(main())

    def test_stream_path_checked(self):
        """A misspelt path is refused like on_change's."""

        async def main() -> None:
            with pytest.raises(ValueError, match="did you mean"):
                Settings().changes("databse")

        run(main())

    def test_stream_of_batch_is_coalesced(self):
        """A batch's coalesced events arrive in the stream, nothing of a rolled-back one."""

        async def main() -> None:
            s = Settings()
            async with s.changes() as stream:
                with pytest.raises(RuntimeError), s.batch():
                    s.name = "rolled-back"
                    raise RuntimeError
                with s.batch():
                    s.level = 1
                    s.level = 2
                change = await asyncio.wait_for(stream.__anext__(), TIMEOUT)
                assert (change.path, change.old, change.new) == ("level", 0, 2)

        run(main())

    def test_stream_without_a_running_loop_leaves_nothing_behind(self, monkeypatch):
        """Refused outside a loop, and the half-made stream's ``__del__`` stays silent."""
        import sys

        unraisable: list[object] = []
        monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
        s = Settings()
        with pytest.raises(RuntimeError, match="running asyncio event loop"):
            s.changes()
        gc.collect()
        assert unraisable == []
        assert _subs(s) == 0
