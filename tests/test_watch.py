"""``obj.watch(...)``: live reload with real files, real threads and a real AppConfig client.

Time is a :class:`FakeClock` wherever the test drives the polls (``start=False`` and
``poll()``), or a :class:`ThreadClock` when the real background thread runs on fake time;
the tests of file events use the real clock with a small interval and wait for events
with a bounded timeout -- no test asserts a latency.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import vein
from vein.sources.base import Document
from vein.watch import RealClock, Watcher

sys.path.insert(0, str(Path(__file__).parent))
from appconfig_server import AppConfigServer, FakeClock  # noqa: E402

WAIT = 5.0  # the most any test waits for a background event (never reached when all is well)


@vein.flow
class Database:
    host: str = "localhost"
    port: int = vein.field(default=5432, validator=attrs.validators.le(65535))
    password: str = vein.field(default="", secret=True)


@vein.flow
class Settings:
    timeout: float = 30.0
    name: str = "app"
    debug: bool = False
    database: Database = vein.field(factory=Database)


# --- helpers ---------------------------------------------------------------------------


def write(path: Path, text: str) -> None:
    """Rewrite in place (truncate + write), as most programs do."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def replace(path: Path, text: str) -> None:
    """The atomic way: write a temporary file, then rename it over."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Recorder:
    """Changes and errors as the watcher reports them (thread-safe, waitable)."""

    def __init__(self) -> None:
        self.changes: list[vein.Change] = []
        self.errors: list[BaseException] = []
        self._cond = threading.Condition()

    def change(self, change: vein.Change) -> None:
        with self._cond:
            self.changes.append(change)
            self._cond.notify_all()

    def error(self, exc: BaseException) -> None:
        with self._cond:
            self.errors.append(exc)
            self._cond.notify_all()

    def wait_for(self, predicate: Any, timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def paths(self) -> list[str]:
        return sorted(c.path for c in self.changes)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yml"
    path.write_text("timeout: 5\nname: first\ndatabase:\n  host: db1\n", encoding="utf-8")
    return path


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[threading.ExceptHookArgs]:
    """Every exception that escapes a thread (none may)."""
    seen: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    return seen


def watched(
    path: Path, rec: Recorder, clock: FakeClock, *more: Any, obj: Any = None, **kw: Any
) -> tuple[Any, Watcher]:
    """Settings loaded from *path* (+ *more*), watched synchronously (``poll()``)."""
    settings = obj if obj is not None else Settings()
    watcher = settings.watch(
        vein.from_yaml(path),
        *more,
        interval=1.0,
        clock=clock,
        start=False,
        on_error=rec.error,
        **kw,
    )
    settings.on_change(rec.change)
    return settings, watcher


class ThreadClock(FakeClock):
    """Fake time for a real watcher thread: its ``sleep`` blocks until the test advances
    the clock past the end of the sleep (or ``wake()``), so the thread polls exactly when
    fake time says, and :meth:`settle` tells when it has finished what it had to do."""

    def __init__(self, start: float = 10_000.0) -> None:
        super().__init__(start)
        self._cond = threading.Condition()
        self._epoch = 0  # advanced (or woken) how many times
        self._idle = -1  # the epoch a sleeper last saw while still waiting for a later time
        self._woken = False

    def monotonic(self) -> float:
        with self._cond:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._cond:
            self.now += seconds
            self._epoch += 1
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + WAIT  # a bug must fail the test, not hang it
        with self._cond:
            until = self.now + max(0.0, seconds)
            while self.now < until and not self._woken and time.monotonic() < deadline:
                self._idle = self._epoch
                self._cond.notify_all()
                self._cond.wait(0.5)
            self._idle = -1
            self._woken = False

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._epoch += 1
            self._cond.notify_all()

    def settle(self) -> None:
        """Wait until the thread sleeps again, waiting for a time after now."""
        with self._cond:
            assert self._cond.wait_for(lambda: self._idle == self._epoch, WAIT), "thread busy"


def vein_watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vein-watch") and t.is_alive()]


# --- real files ------------------------------------------------------------------------


def test_initial_apply_and_poll_without_a_thread(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    assert (settings.timeout, settings.name, settings.database.host) == (5.0, "first", "db1")
    assert not watcher.running and vein_watch_threads() == []
    assert watcher.poll() == []  # nothing changed
    assert rec.changes == [] and rec.errors == []


def test_rewrite_fires_one_event_per_changed_leaf(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    write(config_file, "timeout: 5\nname: second\ndatabase:\n  host: db2\n  port: 6432\n")
    changes = watcher.poll()
    assert sorted((c.path, c.old, c.new) for c in changes) == [
        ("database.host", "db1", "db2"),
        ("database.port", 5432, 6432),
        ("name", "first", "second"),
    ]
    assert rec.paths() == ["database.host", "database.port", "name"]  # once each
    assert str(settings.explain("database.port")) == f"{config_file}:5:3"
    assert watcher.poll() == [] and len(rec.changes) == 3  # nothing new: nothing fires


def test_atomic_rename_over(config_file: Path, rec: Recorder, clock: FakeClock) -> None:
    settings, watcher = watched(config_file, rec, clock)
    inode = config_file.stat().st_ino
    replace(config_file, "timeout: 5\nname: renamed\ndatabase:\n  host: db1\n")
    assert config_file.stat().st_ino != inode
    assert [(c.path, c.new) for c in watcher.poll()] == [("name", "renamed")]
    assert settings.name == "renamed" and rec.paths() == ["name"]


def test_same_content_rewrite_is_no_event(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    text = config_file.read_text(encoding="utf-8")
    for _ in range(3):
        write(config_file, text)  # new mtime, same bytes
        assert watcher.poll() == []
        replace(config_file, text)  # new inode, same bytes
        assert watcher.poll() == []
    # the same values written differently: parsed again, but no value changed
    write(config_file, "# a comment\ntimeout: 5.0\nname: 'first'\ndatabase: {host: db1}\n")
    assert watcher.poll() == []
    assert rec.changes == [] and rec.errors == []
    assert settings.timeout == 5.0


def test_same_size_rewrite_within_the_timestamp_granularity(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    """File systems with coarse timestamps give two quick writes the same stat: still seen."""
    settings, watcher = watched(config_file, rec, clock)
    before = config_file.stat()
    write(config_file, "timeout: 6\nname: first\ndatabase:\n  host: db1\n")  # same size
    os.utime(config_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime too
    after = config_file.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    assert [(c.path, c.new) for c in watcher.poll()] == [("timeout", 6.0)]
    assert settings.timeout == 6.0
    # the same while the file is failing: a broken version, then a fix of the same size
    before = config_file.stat()
    write(config_file, "timeout: [\nname: first\ndatabase:\n  host: db1\n")
    os.utime(config_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert watcher.poll() == [] and len(rec.errors) == 1
    assert watcher.poll() == [] and len(rec.errors) == 1  # the same bad bytes: not again
    write(config_file, "timeout: 8\nname: first\ndatabase:\n  host: db1\n")
    os.utime(config_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert [(c.path, c.new) for c in watcher.poll()] == [("timeout", 8.0)]


def test_delete_and_recreate(config_file: Path, rec: Recorder, clock: FakeClock) -> None:
    settings, watcher = watched(config_file, rec, clock)
    config_file.unlink()
    assert watcher.poll() == []
    assert len(rec.errors) == 1 and isinstance(rec.errors[0], vein.SourceError)
    assert "not found" in str(rec.errors[0]) and str(config_file) in str(rec.errors[0])
    assert settings.name == "first"  # the last good state is kept
    assert watcher.poll() == [] and len(rec.errors) == 1  # not retried: nothing changed
    clock.advance(3600)
    assert watcher.poll() == [] and len(rec.errors) == 1  # however long it stays missing
    config_file.write_text("timeout: 5\nname: reborn\ndatabase:\n  host: db1\n", encoding="utf-8")
    # the file itself changed: tried at once
    assert [(c.path, c.new) for c in watcher.poll()] == [("name", "reborn")]
    assert len(rec.errors) == 1
    clock.advance(10)
    assert watcher.poll() == [] and len(rec.errors) == 1  # healthy again


def test_truncated_write_keeps_the_last_good_state(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    full = "timeout: 7\nname: second\ndatabase:\n  host: [db2, db3]\n"
    write(config_file, full[: full.index("db3") + 1])  # the writer was cut off mid-list
    assert watcher.poll() == []
    (error,) = rec.errors
    assert isinstance(error, vein.SourceError)
    assert error.source == str(config_file) and error.line is not None  # where it broke
    assert (settings.timeout, settings.name, settings.database.host) == (5.0, "first", "db1")
    assert rec.changes == []
    write(config_file, "timeout: 7\nname: second\ndatabase:\n  host: db2\n")
    assert sorted(c.path for c in watcher.poll()) == ["database.host", "name", "timeout"]
    assert (settings.timeout, settings.name, settings.database.host) == (7.0, "second", "db2")
    assert len(rec.errors) == 1


def test_a_bad_file_is_reported_once_per_version(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    write(config_file, "timeout: 5\nname: first\ndatabase:\n  port: 99999\n")
    for _ in range(20):  # an hour of polls: the same bad file is not tried again
        watcher.poll()
        clock.advance(180)
    assert len(rec.errors) == 1
    write(config_file, "timeout: [\n")  # another bad version: reported
    watcher.poll()
    write(config_file, "timeout: [\n")  # written again (same bytes): read again, reported
    watcher.poll()
    assert [type(e) for e in rec.errors] == [
        vein.ValidationError,
        vein.SourceError,
        vein.SourceError,
    ]
    assert settings.database.port == 5432 and rec.changes == []


def test_update_of_a_file_that_is_still_broken_fails_again(tmp_path: Path) -> None:
    """A version that failed to parse is never taken for the last good one."""
    path = tmp_path / "c.yml"
    path.write_text("timeout: 1\n", encoding="utf-8")
    source = vein.from_yaml(path)
    settings = vein.load(Settings, source)
    path.write_text("timeout: [\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(vein.SourceError, match="invalid YAML"):
            settings.update(source)
    path.write_bytes(b"timeout: 2\x00\n")
    for _ in range(2):
        with pytest.raises(vein.SourceError, match="NUL"):
            settings.update(source)
    path.write_text("timeout: 3\n", encoding="utf-8")
    assert [c.new for c in settings.update(source)] == [3.0]


def test_binary_garbage_is_a_source_error(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    config_file.write_bytes(b"\x00\xff\xfe garbage \x00")
    assert watcher.poll() == []
    assert [type(e) for e in rec.errors] == [vein.SourceError]
    assert settings.name == "first"


def test_invalid_value_is_rejected_reported_and_the_state_kept(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    tree_errors: list[BaseException] = []
    settings.on_error(tree_errors.append)
    write(config_file, "timeout: 9\nname: second\ndatabase:\n  host: db1\n  port: 70000\n")
    assert watcher.poll() == []
    (error,) = rec.errors
    assert isinstance(error, vein.ValidationError)
    (entry,) = error.errors
    assert entry.path == "database.port" and str(entry.source) == f"{config_file}:5:3"
    assert tree_errors == [error]  # the tree's handlers hear it too, once
    # atomic: nothing of the bad version was applied, nothing fired
    assert (settings.timeout, settings.name, settings.database.port) == (5.0, "first", 5432)
    assert rec.changes == []
    write(config_file, "timeout: 9\nname: second\ndatabase:\n  host: db1\n  port: 6543\n")
    assert sorted(c.path for c in watcher.poll()) == ["database.port", "name", "timeout"]
    assert settings.database.port == 6543


def test_wrong_type_and_unknown_key_are_rejected(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    write(config_file, "timeout: fast\nname: first\ndatabase:\n  host: db1\n")
    watcher.poll()
    write(config_file, "timeout: 5\nnmae: first\ndatabase:\n  host: db1\n")
    watcher.poll()
    assert [type(e) for e in rec.errors] == [vein.ValidationError, vein.ValidationError]
    assert "did you mean 'name'" in str(rec.errors[1])
    assert settings.timeout == 5.0 and rec.changes == []


def test_a_reload_never_overrides_a_higher_layer(
    config_file: Path, rec: Recorder, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_NAME", "from-env")
    settings, watcher = watched(config_file, rec, clock, vein.from_env("APP_"))
    assert settings.name == "from-env"  # env is applied after the file
    write(config_file, "timeout: 6\nname: from-file\ndatabase:\n  host: db1\n")
    assert [(c.path, c.new) for c in watcher.poll()] == [("timeout", 6.0)]
    assert settings.name == "from-env"
    assert str(settings.explain("name")) == "env APP_NAME"
    # the file no longer defines the key: still the env's
    write(config_file, "timeout: 6\ndatabase:\n  host: db1\n")
    assert watcher.poll() == [] and settings.name == "from-env"


def test_a_reload_never_reverts_a_runtime_assignment(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    settings.timeout = 99
    settings.database.host = "runtime-host"
    rec.changes.clear()
    write(config_file, "timeout: 5\nname: second\ndatabase:\n  host: db1\n")
    assert [(c.path, c.new) for c in watcher.poll()] == [("name", "second")]
    assert (settings.timeout, settings.database.host) == (99.0, "runtime-host")
    # a key the file no longer defines falls back only if its value came from the file
    write(config_file, "name: second\n")
    assert watcher.poll() == []
    assert (settings.timeout, settings.database.host) == (99.0, "runtime-host")
    # a new value in the file for that key is a newer intent: it wins
    write(config_file, "name: second\ntimeout: 12\n")
    assert [(c.path, c.old, c.new) for c in watcher.poll()] == [("timeout", 99.0, 12.0)]


def test_a_key_removed_from_the_file_falls_back(
    config_file: Path, rec: Recorder, clock: FakeClock
) -> None:
    settings, watcher = watched(config_file, rec, clock)
    write(config_file, "timeout: 5\n")
    changes = watcher.poll()
    assert sorted((c.path, c.new, str(c.source)) for c in changes) == [
        ("database.host", "localhost", "default"),
        ("name", "app", "default"),
    ]


def test_secret_changes_are_masked(config_file: Path, rec: Recorder, clock: FakeClock) -> None:
    settings, watcher = watched(config_file, rec, clock)
    write(config_file, "timeout: 5\nname: first\ndatabase:\n  host: db1\n  password: hunter2\n")
    (change,) = watcher.poll()
    assert change.secret and change.new == "hunter2"
    assert "hunter2" not in str(change) and "hunter2" not in repr(change)
    write(config_file, "timeout: 5\nname: first\ndatabase:\n  host: db1\n  password: [hunter3\n")
    watcher.poll()
    assert "hunter" not in str(rec.errors[-1])


def test_failures_back_off_and_each_failed_poll_is_reported_once(
    rec: Recorder, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    source = Flaky({"timeout": 1})
    settings = Settings()
    watcher = settings.watch(source, interval=1.0, clock=clock, start=False, on_error=rec.error)
    assert settings.timeout == 1.0
    source.failing = True
    source.data = {"timeout": 2}
    attempts: list[float] = []
    with caplog.at_level(logging.ERROR, logger="vein"):
        for _ in range(40):  # 40 s, one poll a second
            before = source.reads
            watcher.poll()
            if source.reads != before:
                attempts.append(clock.monotonic() - 10_000)
            clock.advance(1)
    # retried after 1, 2, 4, 8, 16 s -- not on every poll
    assert attempts == [0, 1, 3, 7, 15, 31]
    assert len(rec.errors) == len(attempts)  # every failed poll reported, once
    assert all(isinstance(e, vein.SourceError) for e in rec.errors)
    logged = [r for r in caplog.records if "flaky" in r.getMessage()]
    assert len(logged) == len(attempts)
    assert settings.timeout == 1.0
    # the backoff is capped
    watcher.max_backoff = 4.0
    source.failing = False
    clock.advance(40)
    assert [(c.path, c.new) for c in watcher.poll()] == [("timeout", 2.0)]
    source.failing = True
    source.data = {"timeout": 3}
    attempts.clear()
    for _ in range(20):
        before = source.reads
        watcher.poll()
        if source.reads != before:
            attempts.append(clock.monotonic())
        clock.advance(1)
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[:3] == [1, 2, 4] and set(gaps[3:]) == {4}


class Flaky:
    """A source that fails while *failing* is set (a network source, say)."""

    def __init__(self, data: dict[str, Any], exc: type[BaseException] = vein.SourceError) -> None:
        self.key = "dict:flaky"
        self.data = data
        self.failing = False
        self.exc = exc
        self.reads = 0
        self.raise_in_changed = False

    def __repr__(self) -> str:
        return "flaky"

    def changed(self) -> bool:
        if self.raise_in_changed:
            raise RuntimeError("changed() blew up")
        return True

    def read(self, schema: Any) -> Document:
        self.reads += 1
        if self.failing:
            if self.exc is vein.SourceError:
                raise vein.SourceError("the server is down", source="flaky")
            raise self.exc("not a vein error")
        data = dict(self.data)
        return Document(
            data, lambda path: vein.Provenance("dict", "flaky", layer=self.key), self.key
        )


def test_the_thread_schedules_retries_by_the_backoff(
    rec: Recorder, thread_errors: list[Any]
) -> None:
    """The background loop itself (a clock that advances on sleep, stopped after 30 s)."""
    fake = FakeClock()
    source = Flaky({"timeout": 1})
    settings = Settings()
    box: dict[str, Watcher] = {}

    class StopAt(FakeClock):
        def sleep(self, seconds: float) -> None:
            assert seconds <= 1.0  # never longer than one interval
            fake.advance(seconds)
            if fake.monotonic() - 10_000 >= 30:
                box["w"]._stop.set()

        def monotonic(self) -> float:
            return fake.monotonic()

    watcher = Watcher(
        settings, [source], interval=1.0, clock=StopAt(), start=False, on_error=rec.error
    )
    box["w"] = watcher
    source.failing = True
    times: list[float] = []
    real_read = source.read

    def read(schema: Any) -> Document:
        times.append(fake.monotonic() - 10_000)
        return real_read(schema)

    source.read = read  # type: ignore[method-assign]
    watcher.start()
    watcher._thread.join(WAIT)  # type: ignore[union-attr]
    assert not watcher._thread.is_alive()  # type: ignore[union-attr]
    assert times == [1, 2, 4, 8, 16]  # the first check after one interval, then backing off
    assert len(rec.errors) == 5 and thread_errors == []


def test_stop_is_idempotent_and_joins_the_thread(config_file: Path, rec: Recorder) -> None:
    settings = Settings()
    watcher = settings.watch(vein.from_yaml(config_file), interval=0.01, on_error=rec.error)
    assert watcher.running and vein_watch_threads()
    watcher.stop()
    assert not watcher.running and vein_watch_threads() == []
    watcher.stop()
    watcher.stop(timeout=0)
    assert vein_watch_threads() == []
    watcher.start()  # a stopped watcher stays stopped
    assert vein_watch_threads() == []


def test_context_manager(config_file: Path, rec: Recorder) -> None:
    settings = Settings()
    with settings.watch(vein.from_yaml(config_file), interval=0.01) as watcher:
        assert watcher.running
        assert settings.name == "first"  # applied before the block
    assert not watcher.running and vein_watch_threads() == []


def test_background_thread_applies_a_change(
    config_file: Path, rec: Recorder, thread_errors: list[Any]
) -> None:
    settings = Settings()
    with Watcher(settings, [vein.from_yaml(config_file)], interval=0.02, inotify=False) as watcher:
        assert not watcher.inotify
        settings.on_change("name", rec.change)
        replace(config_file, "timeout: 5\nname: live\ndatabase:\n  host: db1\n")
        assert rec.wait_for(lambda: rec.changes)
    assert [(c.path, c.new) for c in rec.changes] == [("name", "live")]
    assert thread_errors == []


def test_thread_survives_a_failing_handler_and_a_non_vein_exception(
    config_file: Path, rec: Recorder, thread_errors: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings()
    flaky = Flaky({"debug": False}, exc=KeyError)
    heard: list[BaseException] = []

    def bad_handler(exc: BaseException) -> None:
        heard.append(exc)
        rec.error(exc)
        raise RuntimeError("the handler itself is broken")

    with caplog.at_level(logging.ERROR, logger="vein"):
        watcher = Watcher(
            settings, [flaky, vein.from_yaml(config_file)], interval=0.01, on_error=bad_handler
        )
        settings.on_change("name", rec.change)
        with watcher:
            kinds = lambda: {type(e) for e in heard}  # noqa: E731
            flaky.failing = True  # read() raises KeyError
            assert rec.wait_for(lambda: KeyError in kinds())
            flaky.raise_in_changed = True  # changed() raises RuntimeError
            assert rec.wait_for(lambda: RuntimeError in kinds())
            replace(config_file, "timeout: 5\nname: still-alive\ndatabase:\n  host: db1\n")
            assert rec.wait_for(lambda: rec.changes)  # the other source is still served
            assert watcher.running
    assert settings.name == "still-alive"
    assert any("handler failed" in r.getMessage() for r in caplog.records)
    assert thread_errors == [] and vein_watch_threads() == []


def test_a_callback_may_stop_the_watcher(config_file: Path, clock: FakeClock) -> None:
    settings = Settings()
    with Watcher(settings, [vein.from_yaml(config_file)], interval=0.01, inotify=False) as watcher:
        done = threading.Event()

        def stop(change: vein.Change) -> None:
            watcher.stop()  # from the watcher's own thread: no self-join
            watcher.poll()  # and polling from inside a callback does not deadlock
            done.set()

        settings.on_change("name", stop)
        replace(config_file, "name: bye\n")
        assert done.wait(WAIT)
    assert vein_watch_threads() == []


def test_interval_is_checked(config_file: Path) -> None:
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="interval"):
            Settings().watch(vein.from_yaml(config_file), interval=bad)
    assert vein_watch_threads() == []


def test_first_application_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("timeout: [\n", encoding="utf-8")
    with pytest.raises(vein.SourceError):
        Settings().watch(vein.from_yaml(bad))
    assert vein_watch_threads() == []


def test_schemaless_config_watched_from_yaml(
    tmp_path: Path, clock: FakeClock, rec: Recorder
) -> None:
    path = tmp_path / "app.yml"
    path.write_text("service:\n  port: 8080\n  mode: on\nretries: 3\n", encoding="utf-8")
    config = vein.Config()
    watcher = config.watch(
        vein.from_yaml(path), interval=1, clock=clock, start=False, on_error=rec.error
    )
    assert config.service.port == 8080 and config.service.mode == "on"  # YAML 1.2: a string
    config.on_change(rec.change)
    config.api_token = "runtime-secret"
    rec.changes.clear()
    write(path, "service:\n  port: 9090\n  mode: on\n  api_key: abc123\n")
    changes = {c.path: (c.old, c.new) for c in watcher.poll()}
    assert changes == {
        "service.port": (8080, 9090),
        "service.api_key": (vein.MISSING, "abc123"),
        "retries": (3, vein.MISSING),
    }
    assert "retries" not in config and config.api_token == "runtime-secret"
    assert all("abc123" not in str(c) for c in rec.changes)  # a secret-looking key is masked
    write(path, "service: [\n")
    assert watcher.poll() == [] and len(rec.errors) == 1
    assert config.service.port == 9090


# --- the background thread under load --------------------------------------------------


def test_stress_runtime_writer_and_reloading_watcher(
    tmp_path: Path, thread_errors: list[Any], rec: Recorder
) -> None:
    """A writer thread assigns while the watcher reloads: no lost update, no deadlock."""

    @vein.flow
    class State:
        a: int = 0  # written at runtime (the file defines it too, never changing it)
        b: int = 0  # written at runtime only
        x: int = 0  # the file's
        y: int = 0  # the file's

    path = tmp_path / "state.yml"
    path.write_text("a: -1\nx: 0\ny: 0\n", encoding="utf-8")
    state = State()
    from_file: list[int] = []
    state.on_change("x", lambda c: from_file.append(c.new))
    state.on_change("x", rec.change)
    lost: list[str] = []
    done = threading.Event()
    last = [0]

    def writer() -> None:
        i = 0
        while not done.is_set():
            i += 1
            state.a = i
            state.b = -i
            if state.a != i and not lost:  # only this thread writes a at runtime
                lost.append(f"a={state.a} right after writing {i}")
            last[0] = i

    versions = 12
    with Watcher(
        state, [vein.from_yaml(path)], interval=0.002, on_error=rec.error, inotify=False
    ) as w:
        assert state.a == -1
        thread = threading.Thread(target=writer, name="writer")
        thread.start()
        for version in range(1, versions + 1):
            replace(path, f"a: -1\nx: {version}\ny: {version * 10}\n")
            done.wait(0.003)
        # the last version reaches the state (bounded wait)
        assert rec.wait_for(lambda: state.x == versions or rec.errors)
        done.set()
        thread.join(WAIT)
        assert not thread.is_alive(), "the writer is stuck (deadlock?)"
        assert w.running
    assert vein_watch_threads() == []
    assert lost == []
    assert last[0] > 100
    assert (state.a, state.b) == (last[0], -last[0])  # no runtime write lost or reverted
    assert (state.x, state.y) == (versions, versions * 10)  # the last reload is there
    assert str(state.explain("a")) == "runtime"
    assert len(from_file) >= 2  # reloads really ran while the writer wrote
    assert from_file == sorted(from_file)  # and in order
    assert rec.errors == [] and thread_errors == []


# --- file events (watchdog) ------------------------------------------------------------


def test_inotify_picks_up_a_write_without_waiting_for_the_interval(
    config_file: Path, rec: Recorder, thread_errors: list[Any]
) -> None:
    pytest.importorskip("watchdog")
    settings = Settings()
    # An interval far longer than the test: only a file event can explain the pickup.
    with Watcher(settings, [vein.from_yaml(config_file)], interval=600, on_error=rec.error) as w:
        assert w.inotify
        settings.on_change(rec.change)
        write(config_file, "timeout: 5\nname: evented\ndatabase:\n  host: db1\n")
        assert rec.wait_for(lambda: any(c.new == "evented" for c in rec.changes))
        replace(config_file, "timeout: 5\nname: renamed\ndatabase:\n  host: db1\n")
        assert rec.wait_for(lambda: any(c.new == "renamed" for c in rec.changes))
        config_file.unlink()
        assert rec.wait_for(lambda: rec.errors)
        config_file.write_text("name: back\n", encoding="utf-8")
        assert rec.wait_for(lambda: any(c.new == "back" for c in rec.changes))
        # reading the file (as the watcher does) is no event: nothing more happens
        n = w.polls
        config_file.read_text(encoding="utf-8")
    assert [c.new for c in rec.changes if c.path == "name"] == ["evented", "renamed", "back"]
    # the deletion, reported (twice at most: a check that began just before the unlink
    # reports it for the old version too); never an error for a version that was good
    assert 1 <= len(rec.errors) <= 2
    assert all(isinstance(e, vein.SourceError) and "not found" in str(e) for e in rec.errors)
    assert w.polls <= n + 2
    assert thread_errors == [] and vein_watch_threads() == []


def test_inotify_falls_back_to_polling(config_file: Path, rec: Recorder, clock: FakeClock) -> None:
    # a fake clock cannot be woken by file events: polling only
    w = Watcher(Settings(), [vein.from_yaml(config_file)], clock=clock, start=False)
    w.start()
    try:
        assert not w.inotify
    finally:
        w._stop.set()  # the fake clock's sleep returns at once: stop before it spins long
        w.stop()
    # a real clock with inotify turned off
    with Watcher(Settings(), [vein.from_yaml(config_file)], interval=0.05, inotify=False) as w2:
        assert not w2.inotify
    # nothing to watch with events (no file source)
    with Watcher(Settings(), [vein.from_dict({"name": "x"}, name="d")], interval=0.05) as w3:
        assert not w3.inotify
    assert vein_watch_threads() == []


def test_without_watchdog_files_are_polled(
    config_file: Path,
    rec: Recorder,
    thread_errors: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``watchdog`` not installed: no file events, no error, and changes still arrive."""
    for name in ("watchdog", "watchdog.events", "watchdog.observers"):
        monkeypatch.setitem(sys.modules, name, None)  # `import watchdog...` now fails
    with pytest.raises(ImportError):
        import watchdog.events  # noqa: F401
    settings = Settings()
    with caplog.at_level(logging.DEBUG, logger="vein"):
        with Watcher(
            settings, [vein.from_yaml(config_file)], interval=0.02, on_error=rec.error
        ) as w:
            assert not w.inotify  # asked for (the default), not available: polling
            settings.on_change(rec.change)
            replace(config_file, "timeout: 5\nname: polled\ndatabase:\n  host: db1\n")
            assert rec.wait_for(lambda: rec.changes)
    assert [(c.path, c.new) for c in rec.changes] == [("name", "polled")]
    assert rec.errors == [] and thread_errors == [] and vein_watch_threads() == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_real_clock_wakes_early() -> None:
    clock = RealClock()
    clock.wake()
    clock.sleep(60)  # returns at once: it was woken
    clock.sleep(0)


# --- AWS AppConfig through the watcher (real boto3, local server, fake clock) ----------

APP, ENV, PROFILE = "myapp", "prod", "default"
SERVER_INTERVAL = 60


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_APPCONFIGDATA",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture
def server(clock: FakeClock, aws_env: None) -> Iterator[AppConfigServer]:
    pytest.importorskip("boto3")
    with AppConfigServer(clock, poll_interval=SERVER_INTERVAL) as srv:
        yield srv
        # whatever the test did: no token reused, no poll early, no token accepted twice
        assert srv.rejections("reused") == []
        assert srv.rejections("early") == []
        accepted = srv.accepted_tokens()
        assert len(accepted) == len(set(accepted))


@pytest.fixture
def appconfig(server: AppConfigServer, clock: FakeClock) -> Any:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "appconfigdata",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    return vein.from_appconfig(APP, ENV, PROFILE, client=client, clock=clock)


def deploy(server: AppConfigServer, data: dict[str, Any], version: str) -> None:
    server.deploy(APP, ENV, PROFILE, data, version=version)


def test_appconfig_new_deployment_is_applied_never_early(
    server: AppConfigServer, appconfig: Any, clock: FakeClock, rec: Recorder
) -> None:
    deploy(server, {"timeout": 5, "database": {"host": "a"}}, "1")
    settings = Settings()
    watcher = settings.watch(appconfig, interval=1, clock=clock, start=False, on_error=rec.error)
    settings.on_change(rec.change)
    assert settings.database.host == "a"
    deploy(server, {"timeout": 5, "database": {"host": "b"}}, "2")
    for _ in range(SERVER_INTERVAL - 1):  # the watcher polls every second...
        clock.advance(1)
        assert watcher.poll() == []
    assert len(server.of("get")) == 1  # ...but the server is not asked before its interval
    clock.advance(1)
    assert [(c.path, c.new) for c in watcher.poll()] == [("database.host", "b")]
    assert str(settings.explain("database.host")) == "appconfig myapp/prod/default version 2"
    assert len(server.of("get")) == 2
    clock.advance(SERVER_INTERVAL)
    assert watcher.poll() == []  # "unchanged" (empty body): no event
    assert server.of("get")[-1].response_body == b""
    assert rec.errors == [] and rec.paths() == ["database.host"]


def test_appconfig_thread_waits_for_the_server_interval(
    server: AppConfigServer, appconfig: Any, clock: FakeClock, rec: Recorder
) -> None:
    """The background loop wakes when the server allows the next poll, not later."""
    deploy(server, {"timeout": 5}, "1")
    settings = Settings()
    watcher = Watcher(
        settings, [appconfig], interval=45, clock=clock, start=False, on_error=rec.error
    )
    assert watcher._delay() == 45  # capped at one interval
    clock.advance(45)
    watcher._cycle(everything=False)
    assert len(server.of("get")) == 1  # not due: the server said 60 s
    assert watcher._delay() == 15  # wakes exactly when the server allows
    clock.advance(15)
    deploy(server, {"timeout": 6}, "2")
    assert [c.path for c in watcher._cycle(everything=False)] == ["timeout"]
    assert len(server.of("get")) == 2


@pytest.mark.parametrize(
    ("fault", "times"),
    [("throttle", 1), ("internal", 1), ("malformed", 1), ("notfound", 1), ("expired", 2)],
)
def test_appconfig_fault_keeps_state_is_reported_and_recovers(
    server: AppConfigServer, appconfig: Any, clock: FakeClock, rec: Recorder, fault: str, times: int
) -> None:
    deploy(server, {"timeout": 5, "name": "v1"}, "1")
    settings = Settings()
    tree_errors: list[BaseException] = []
    settings.on_error(tree_errors.append)
    watcher = settings.watch(appconfig, interval=1, clock=clock, start=False, on_error=rec.error)
    deploy(server, {"timeout": 5, "name": "v2"}, "2")
    server.fail_next(fault, times=times, op="get")
    clock.advance(SERVER_INTERVAL)
    assert watcher.poll() == []
    assert len(rec.errors) == 1 and isinstance(rec.errors[0], vein.SourceError)
    assert tree_errors == rec.errors
    assert settings.name == "v1"  # the last good state
    text = str(rec.errors[0])
    assert "tok-" not in text and "testing-secret-key" not in text
    deploy(server, {"timeout": 5, "name": "v3"}, "3")
    for _ in range(10):  # retried after the backoff, and the newest deployment applied
        clock.advance(1)
        watcher.poll()
        if settings.name == "v3":
            break
    assert settings.name == "v3"
    assert str(settings.explain("name")) == "appconfig myapp/prod/default version 3"
    assert len(rec.errors) == 1  # reported once
    if fault in ("expired", "notfound", "malformed"):
        assert len(server.of("start")) >= 2  # a new session


def test_appconfig_expired_token_is_renewed_within_the_poll(
    server: AppConfigServer, appconfig: Any, clock: FakeClock, rec: Recorder
) -> None:
    deploy(server, {"name": "v1"}, "1")
    settings = Settings()
    watcher = settings.watch(appconfig, interval=1, clock=clock, start=False, on_error=rec.error)
    deploy(server, {"name": "v2"}, "2")
    server.fail_next("expired", op="get")
    clock.advance(SERVER_INTERVAL)
    assert [(c.path, c.new) for c in watcher.poll()] == [("name", "v2")]
    assert rec.errors == [] and len(server.of("start")) == 2


def test_appconfig_bad_deployment_is_reported_once_then_next_good_applies(
    server: AppConfigServer, appconfig: Any, clock: FakeClock, rec: Recorder
) -> None:
    deploy(server, {"timeout": 5, "name": "v1"}, "1")
    settings = Settings()
    watcher = settings.watch(appconfig, interval=1, clock=clock, start=False, on_error=rec.error)
    settings.on_change(rec.change)
    server.deploy(APP, ENV, PROFILE, '{"timeout": 5, "name": ', version="2")  # broken JSON
    for _ in range(5 * SERVER_INTERVAL):  # five server intervals, a poll a second
        clock.advance(1)
        watcher.poll()
    (broken,) = rec.errors  # once, though the server was asked again and again
    assert isinstance(broken, vein.SourceError) and "invalid JSON" in str(broken)
    gets = server.of("get")
    assert len(gets) == 1 + 5  # once per server interval: the version, then "unchanged"
    assert all(r.response_body == b"" for r in gets[2:])
    deploy(server, {"timeout": 5, "database": {"port": 99999}}, "3")  # invalid value
    for _ in range(5 * SERVER_INTERVAL):
        clock.advance(1)
        watcher.poll()
    assert [type(e) for e in rec.errors] == [vein.SourceError, vein.ValidationError]
    assert "database.port" in str(rec.errors[1])
    assert settings.name == "v1" and settings.database.port == 5432 and rec.changes == []
    deploy(server, {"timeout": 5, "name": "v4"}, "4")
    for _ in range(SERVER_INTERVAL):
        clock.advance(1)
        watcher.poll()
    assert settings.name == "v4"
    assert [(c.path, c.new) for c in rec.changes] == [("name", "v4")]
    assert len(rec.errors) == 2


def test_appconfig_agent_bad_deployment_is_reported_once(
    server: AppConfigServer, clock: FakeClock, rec: Recorder
) -> None:
    """Agent mode: the agent serves the same bad version on every request; heard once."""
    agent = vein.from_appconfig(APP, ENV, PROFILE, agent_url=server.agent_url, clock=clock)
    deploy(server, {"timeout": 5, "name": "v1"}, "1")
    settings = Settings()
    watcher = settings.watch(agent, interval=1, clock=clock, start=False, on_error=rec.error)
    server.deploy(APP, ENV, PROFILE, "name: [v2\n", "application/x-yaml", version="2")
    for _ in range(30):
        clock.advance(1)
        watcher.poll()
    (broken,) = rec.errors
    assert "invalid YAML" in str(broken) and "(version 2)" in str(broken)
    assert len(server.of("agent")) >= 30  # the agent was asked every time
    deploy(server, {"timeout": 5, "database": {"port": 99999}}, "3")
    for _ in range(30):
        clock.advance(1)
        watcher.poll()
    assert [type(e) for e in rec.errors] == [vein.SourceError, vein.ValidationError]
    assert settings.name == "v1"
    deploy(server, {"timeout": 5, "name": "v4"}, "4")
    clock.advance(1)
    assert [(c.path, c.new) for c in watcher.poll()] == [("name", "v4")]
    assert len(rec.errors) == 2


def test_appconfig_failed_poll_and_rejected_version_are_told_apart(
    server: AppConfigServer,
    appconfig: Any,
    clock: FakeClock,
    rec: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deploy(server, {"name": "v1"}, "1")
    settings = Settings()
    watcher = settings.watch(appconfig, interval=1, clock=clock, start=False, on_error=rec.error)
    source = "from_appconfig('myapp', 'prod', 'default')"
    deploy(server, {"name": "v2"}, "2")
    with caplog.at_level(logging.ERROR, logger="vein"):
        server.fail_next("throttle", op="get")
        clock.advance(SERVER_INTERVAL)
        watcher.poll()
        server.fail_next("internal", op="get")
        clock.advance(1)
        watcher.poll()
        clock.advance(2)
        watcher.poll()  # recovered
        assert settings.name == "v2"
        server.deploy(APP, ENV, PROFILE, '{"name": ', version="3")
        clock.advance(SERVER_INTERVAL)
        watcher.poll()
    logged = [r.getMessage() for r in caplog.records]
    assert logged == [
        f"watcher failed to poll {source} (will retry in 1 s); keeping the last good state: "
        "SourceError: appconfig myapp/prod/default: GetLatestConfiguration failed: "
        "ThrottlingException: Rate exceeded",
        f"watcher failed to poll {source} (will retry in 2 s); keeping the last good state: "
        "SourceError: appconfig myapp/prod/default: GetLatestConfiguration failed: "
        "InternalServerException: Internal failure, please retry",
        f"watcher rejected a new version of {source}; keeping the last good state: "
        f"SourceError: {rec.errors[2]}",
    ]
    for line in logged:
        assert not re.search(r"\b_[A-Za-z]", line), line  # no private names
    assert str(rec.errors[2]).startswith(
        "appconfig myapp/prod/default (version 3):1:10: invalid JSON"
    )
    assert [type(e) for e in rec.errors] == [vein.SourceError] * 3  # the public class itself
    assert [getattr(e, "transient", False) for e in rec.errors] == [True, True, False]


def test_appconfig_session_is_renewed_before_24h_and_not_earlier(
    server: AppConfigServer, appconfig: Any, clock: FakeClock, rec: Recorder
) -> None:
    """Renewed between 23 h and 24 h of age: before its tokens can expire, never needlessly."""
    server.session_ttl = 24 * 3600  # the strict reading: a session's tokens end with its 24 h
    deploy(server, {"name": "v1"}, "1")
    started = clock.monotonic()
    settings = Settings()
    watcher = settings.watch(appconfig, interval=1, clock=clock, start=False, on_error=rec.error)
    settings.on_change(rec.change)
    for hours, sessions in [(1, 1), (12, 1), (22.9, 1), (23.5, 2), (24.5, 2), (46, 2), (47, 3)]:
        clock.advance(started + hours * 3600 - clock.monotonic())
        assert watcher.poll() == []  # a new session resends the same version: no change
        assert len(server.of("start")) == sessions, f"at {hours} h"
    renewed = [(r.at - started) / 3600 for r in server.of("start")[1:]]
    assert renewed == [23.5, 47]
    assert server.rejections("expired") == []  # no expired token ever reached the server
    assert rec.errors == [] and rec.changes == []
    deploy(server, {"name": "v2"}, "2")
    clock.advance(SERVER_INTERVAL)
    assert [(c.path, c.new) for c in watcher.poll()] == [("name", "v2")]


# --- AppConfig faults through the running background thread ----------------------------

THREAD_FAULTS = [
    ("slow", "get"),
    ("drop", "get"),
    ("throttle", "start"),
    ("internal", "start"),
    ("drop", "start"),
    ("malformed", "start"),
    ("notfound", "start"),
    ("slow", "start"),
    ("internal", "agent"),
    ("notfound", "agent"),
    ("malformed", "agent"),
    ("drop", "agent"),
    ("slow", "agent"),
]


@pytest.mark.parametrize(("fault", "op"), THREAD_FAULTS)
def test_appconfig_fault_through_the_running_thread(
    server: AppConfigServer,
    rec: Recorder,
    thread_errors: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    op: str,
) -> None:
    """A fault while the real thread polls (fake time): the state is kept, on_error hears it
    once, the next good deployment is applied, and stop() leaves no thread behind."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # boto3's own retries would sleep for real
    clock = ThreadClock()
    server.clock = clock
    server.slow_seconds = WAIT  # a slow answer is held until released: the client gives up
    timeout = 0.1 if fault == "slow" else 5.0
    if op == "agent":
        where: dict[str, Any] = {"agent_url": server.agent_url}
    else:  # the client vein makes itself, with its timeouts
        where = {"endpoint_url": server.endpoint_url}
    source = vein.from_appconfig(APP, ENV, PROFILE, clock=clock, timeout=timeout, **where)
    deploy(server, {"timeout": 5, "name": "v1"}, "1")
    settings = Settings()
    tree_errors: list[BaseException] = []
    settings.on_error(tree_errors.append)
    watcher = settings.watch(source, interval=1, clock=clock, on_error=rec.error)
    settings.on_change(rec.change)
    try:
        assert watcher.running
        clock.settle()
        deploy(server, {"timeout": 5, "name": "v2"}, "2")
        if op == "start":  # a refused token makes vein start a new session within the poll
            server.fail_next("expired", op="get")
        server.fail_next(fault, op=op)
        clock.advance(SERVER_INTERVAL)
        clock.settle()
        (error,) = rec.errors
        assert isinstance(error, vein.SourceError) and tree_errors == [error]
        # a broken agent answer is a version that was received and rejected; the rest: no
        # version was received at all
        assert getattr(error, "transient", False) is not (fault == "malformed" and op == "agent")
        if fault == "slow":
            assert "timeout" in str(error).lower() or "within 0.1 s" in str(error)
        assert "tok-" not in str(error) and "testing-secret-key" not in str(error)
        assert settings.name == "v1" and rec.changes == []
        server.release_slow()
        deploy(server, {"timeout": 5, "name": "v3"}, "3")
        for _ in range(2 * SERVER_INTERVAL):
            clock.advance(1)
            clock.settle()
            if settings.name == "v3":
                break
        assert settings.name == "v3"
        assert str(settings.explain("name")) == "appconfig myapp/prod/default version 3"
        for _ in range(3):  # healthy again: nothing more to report
            clock.advance(SERVER_INTERVAL)
            clock.settle()
        assert len(rec.errors) == 1
        assert [c.new for c in rec.changes] == ["v3"]
    finally:
        assert watcher.stop() is True
    assert vein_watch_threads() == [] and thread_errors == []


def test_stop_returns_promptly_while_a_poll_is_in_flight(
    server: AppConfigServer,
    rec: Recorder,
    thread_errors: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    clock = ThreadClock()
    server.clock = clock
    server.slow_seconds = WAIT  # held until released
    source = vein.from_appconfig(APP, ENV, PROFILE, endpoint_url=server.endpoint_url, clock=clock)
    # the client vein made gives up after `timeout` (5 s), not botocore's 60 s
    client_config = source._get_client().meta.config
    assert (client_config.connect_timeout, client_config.read_timeout) == (5.0, 5.0)
    deploy(server, {"name": "v1"}, "1")
    settings = Settings()
    watcher = settings.watch(source, interval=1, clock=clock, on_error=rec.error)
    settings.on_change(rec.change)
    clock.settle()
    deploy(server, {"name": "v2"}, "2")
    server.fail_next("slow", op="get")
    clock.advance(SERVER_INTERVAL)
    assert server.wait_until(lambda: any(r.fault == "slow" for r in server.requests))
    with caplog.at_level(logging.WARNING, logger="vein"):
        began = time.monotonic()
        assert watcher.stop(timeout=0.05) is False  # the poll is still waiting on the server
        took = time.monotonic() - began
    assert took < WAIT / 2  # bounded by its timeout, not by the network
    assert not watcher.running
    (warning,) = [r.getMessage() for r in caplog.records if "in flight" in r.getMessage()]
    assert "from_appconfig('myapp', 'prod', 'default')" in warning
    server.release_slow()  # the answer arrives after stop(): received, never applied
    assert watcher.stop(timeout=WAIT) is True
    assert vein_watch_threads() == [] and thread_errors == []
    assert source.version_label == "2"
    assert settings.name == "v1" and rec.changes == [] and rec.errors == []


def test_appconfig_with_a_file_and_env_above(
    server: AppConfigServer,
    appconfig: Any,
    clock: FakeClock,
    rec: Recorder,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Layers: file < AppConfig < env; a new deployment never overrides the env."""
    monkeypatch.setenv("APP_TIMEOUT", "42")
    deploy(server, {"timeout": 5, "name": "remote"}, "1")
    settings = Settings()
    watcher = settings.watch(
        vein.from_yaml(config_file),
        appconfig,
        vein.from_env("APP_"),
        interval=1,
        clock=clock,
        start=False,
        on_error=rec.error,
    )
    assert (settings.timeout, settings.name, settings.database.host) == (42.0, "remote", "db1")
    deploy(server, {"timeout": 6, "name": "remote2"}, "2")
    write(config_file, "name: file2\ndatabase:\n  host: db9\n")
    clock.advance(SERVER_INTERVAL)
    changes = {c.path: c.new for c in watcher.poll()}
    assert changes == {"database.host": "db9", "name": "remote2"}
    assert settings.timeout == 42.0 and rec.errors == []


def test_appconfig_round_trip_never_makes_a_poll_early(
    server: AppConfigServer, clock: FakeClock, rec: Recorder
) -> None:
    """The server counts its interval from its answer: a request that took long to arrive
    must not make the next one early (the server refuses it; the fixture checks none was)."""
    import boto3

    real = boto3.client("appconfigdata", endpoint_url=server.endpoint_url, region_name="us-east-1")
    delays = iter([0.0, 0.3, 0.0, 0.3, 0.0, 0.3, 0.0, 0.3, 0.0, 0.3, 0.0])

    class SlowClient:  # some requests take 0.3 s (on the shared clock) to reach the server
        def __getattr__(self, name: str) -> Any:
            method = getattr(real, name)

            def call(**kwargs: Any) -> Any:
                clock.advance(next(delays, 0.0))
                return method(**kwargs)

            return call

    client: Any = SlowClient()
    source = vein.from_appconfig(APP, ENV, PROFILE, client=client, clock=clock)
    deploy(server, {"name": "v1"}, "1")
    settings = Settings()
    watcher = settings.watch(source, interval=1, clock=clock, start=False, on_error=rec.error)
    for version in range(2, 7):
        deploy(server, {"name": f"v{version}"}, str(version))
        # the watcher's thread wakes exactly when the source says the server allows a poll
        clock.advance(max(source.next_poll_at - clock.monotonic(), 0.0))
        watcher.poll()
        assert settings.name == f"v{version}"
    assert rec.errors == []
    assert [r.status for r in server.of("get")] == [200] * 6


def test_a_users_own_source_is_named_by_its_layer_key_in_logs(caplog) -> None:
    """A source class of the user's without a __repr__ is logged by its key, not an address."""
    import logging

    class Flaky:
        key = "flaky:service"
        up = True

        def changed(self) -> bool:
            return True

        def read(self, schema):
            if self.up:
                return vein.from_dict({"name": "y"}, name="flaky").read(schema)
            raise vein.SourceError("service unavailable", source="flaky", transient=True)

    @vein.flow
    class S:
        name: str = "x"

    errors: list[BaseException] = []
    source = Flaky()
    watcher = S().watch(source, start=False, on_error=errors.append)
    source.up = False
    with caplog.at_level(logging.ERROR, logger="vein"):
        watcher.poll()
    assert len(errors) == 1
    text = caplog.text
    assert "Flaky 'flaky:service'" in text and "object at 0x" not in text


def test_an_unexpected_error_in_the_loop_is_logged_without_its_text(caplog) -> None:
    """A bug inside a poll cycle (not a source's error) is logged by type and place, never
    its message (it may quote a value), and the loop goes on."""
    import logging

    @vein.flow
    class S:
        name: str = "x"

    class Clock:
        def __init__(self) -> None:
            self.sleeps = 0

        def monotonic(self) -> float:
            return float(self.sleeps)

        def sleep(self, seconds: float) -> None:
            self.sleeps += 1
            if self.sleeps > 3:
                watcher._stop.set()

    clock = Clock()
    watcher = S().watch(vein.from_dict({"name": "y"}, name="d"), start=False, clock=clock)
    cycles = []

    def broken(everything: bool) -> None:
        cycles.append(everything)
        raise RuntimeError("the value was hunter2-in-a-bug")

    watcher._cycle = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="vein"):
        watcher._run()
    assert len(cycles) >= 2  # it went on after the first failure
    assert "unexpected RuntimeError at" in caplog.text
    assert "hunter2" not in caplog.text
