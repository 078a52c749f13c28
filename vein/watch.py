"""Keeping state live: a background thread that re-applies sources when they change.

``obj.watch(*sources, interval=...)`` applies the sources as layers, then polls them.  A
changed source is re-applied with the same atomic ``update`` as everything else, so a
reload fires exactly the events of the leaves whose effective value changed and never
overrides a higher layer.  A bad new version (parse error, invalid value, unreadable file,
network fault) keeps the last good state; the error is logged on the ``vein`` logger and
passed to ``on_error`` (and the tree's ``on_error`` handlers), once per failure, and the
watcher goes on.  Two kinds of failure are told apart:

* a **rejected version** -- the source gave a version that cannot be applied (parse error,
  invalid value).  Trying it again cannot help, so it is not: a file is read again once it
  changes, any other source once its ``changed()`` says it has something new (AppConfig:
  a new deployment).  One bad version is reported once, however long it stays deployed;
* a **failed poll** -- no version was received (network error, throttling, a server
  error: a :class:`vein.SourceError` with ``transient = True``, or any exception that is
  not a vein error).  It is retried with exponential backoff (one interval, doubling, at
  most :attr:`Watcher.max_backoff`, never before the source allows), and every failed
  retry is reported.

Scheduling: each source is checked every *interval* seconds; a source that knows when
asking again can bring something new (``next_poll_at``, as AWS AppConfig's server says)
is checked at that moment instead when it is later, and never before.  Files are compared
by stat, and by content hash while their timestamp is too recent to trust.

With the optional ``watchdog`` package (``pip install 'vein[watchdog]'``) and the real
clock, file sources are also watched with the operating system's file events (inotify on
Linux): a write is picked up as soon as the writer closes the file; polling goes on
underneath, so nothing is missed when events are not available.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from .errors import VeinError
from .flow.events import handler_failed, log, raised_at, report_error

__all__ = ["Clock", "RealClock", "Watcher"]

#: After a file event that may be one step of a longer write (modified, created), wait
#: this long for the writer to finish before reading (a close or a rename is read at once).
SETTLE_SECONDS = 0.02


class Clock(Protocol):
    """What ``watch(clock=...)`` needs: tests pass a fake one and never sleep for real."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The default clock (``time.monotonic``); ``wake()`` cuts a ``sleep`` short."""

    def __init__(self) -> None:
        self._wake = threading.Event()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if self._wake.wait(max(0.0, seconds)):
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()


#: A file modified this recently (ns) may change again without a new stat (timestamps are
#: coarse on many file systems): its content is compared too.
_RACY_NS = 2_000_000_000

_Mark = tuple[tuple[int, ...] | None, bytes | None]


def _fingerprint(path: Path) -> tuple[int, ...] | None:
    """The file's stat as a comparable value (``None``: missing)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return (-1, exc.errno or 0)
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _racy(stat: tuple[int, ...] | None) -> bool:
    return stat is not None and stat[0] >= 0 and time.time_ns() - stat[0] < _RACY_NS


def _digest(path: Path) -> bytes | None:
    import hashlib

    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None


def _mark(path: Path) -> _Mark:
    """What a file is now: its stat, and its content hash while the stat alone may lie."""
    stat = _fingerprint(path)
    return stat, (_digest(path) if _racy(stat) else None)


class _SourceState:
    __slots__ = ("due", "failures", "mark", "next_try", "path", "source")

    def __init__(self, source: Any) -> None:
        from .sources.base import FileSource

        self.source = source
        self.failures = 0
        self.next_try = 0.0  # while failing: when to retry
        self.due = 0.0  # when the background thread checks it next
        self.path: Path | None = source.path if isinstance(source, FileSource) else None
        self.mark: _Mark | None = None  # a failed file: what it was when it failed

    def file_moved(self) -> bool:
        """A failed file: whether it changed since it failed (stat, else content)."""
        assert self.path is not None and self.mark is not None
        stat, digest = self.mark
        now = _fingerprint(self.path)
        if now != stat:
            return True
        if digest is not None:
            if _digest(self.path) != digest:
                return True
            if not _racy(now):
                self.mark = (stat, None)  # settled: the stat alone tells from now on
        return False


class Watcher:
    """A running watch over some sources of one flow object (see :meth:`vein.Flow.watch`).

    ``stop()`` ends it and joins the thread (idempotent); usable as a context manager.  A
    poll still waiting on the network when ``stop()`` gives up is abandoned: nothing it
    brings is applied or reported (see :meth:`stop`).
    ``poll()`` runs one cycle synchronously (for tests and for ``start=False``).
    *inotify*: watch file sources with ``watchdog``'s file events too when the package is
    installed and the clock is the real one (:attr:`inotify` says whether it is in use).
    """

    #: Upper bound of the retry delay after repeated failures of one source.
    max_backoff: float = 60.0

    def __init__(
        self,
        obj: Any,
        sources: Sequence[Any],
        *,
        interval: float = 1.0,
        on_error: Callable[[BaseException], Any] | None = None,
        clock: Clock | None = None,
        start: bool = True,
        apply: bool = True,
        inotify: bool = True,
    ) -> None:
        if not interval > 0 or not math.isfinite(interval):
            raise ValueError("interval must be a positive number of seconds")
        self.obj = obj
        self.interval = float(interval)
        self.on_error = on_error
        self.clock: Clock = clock if clock is not None else RealClock()
        self._states = [_SourceState(s) for s in sources]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()  # one poll cycle at a time
        self._want_inotify = inotify
        self._observer: Any = None
        self._kick_at: float | None = None  # a file event asked for a check at this time
        self._current: Any = None  # the source being checked (named if stop() gives up)
        self.polls = 0
        if apply and sources:
            obj.update(*sources)  # the first application raises: the caller must know
        now = self.clock.monotonic()
        for st in self._states:
            st.due = self._next_due(st, now)
        if start:
            self.start()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        if self._want_inotify and isinstance(self.clock, RealClock):
            self._observer = _start_observer(self)
        self._thread = threading.Thread(target=self._run, name="vein-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop polling and join the thread (safe to call more than once).

        Returns true when the thread has ended.  A poll that is still waiting on the
        network after *timeout* seconds (``None``: as long as it takes) is abandoned: a
        warning names the source on the ``vein`` logger, ``stop()`` returns false, and the
        thread (a daemon, so it never keeps the process alive) ends as soon as that call
        returns, applying and reporting nothing it brings.  How long such a call can take
        is the source's business: AppConfig's client gives up after its *timeout* (5 s).
        Calling ``stop()`` again waits for the thread again.
        """
        self._stop.set()
        wake = getattr(self.clock, "wake", None)
        if callable(wake):
            wake()
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
                if observer is not threading.current_thread():
                    observer.join(timeout)
            except Exception as exc:
                log().debug("vein watcher: stopping file events failed: %s", exc)
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True  # never started, or stopped by a callback: the loop ends on return
        thread.join(timeout)
        if not thread.is_alive():
            return True
        current = self._current
        busy = f"a poll of {current!r} is" if current is not None else "the watcher thread is"
        log().warning(
            "vein watcher: stop() gave up after %g s: %s still in flight; the thread ends "
            "when it returns, and nothing it brings is applied",
            timeout,
            busy,
        )
        return False

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    @property
    def inotify(self) -> bool:
        """Whether file sources are also watched through file events (``watchdog``)."""
        return self._observer is not None

    def __enter__(self) -> Watcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        clock = self.clock
        while not self._stop.is_set():
            try:
                clock.sleep(self._delay())
                if self._stop.is_set():
                    break
                self._cycle(everything=False)
            except BaseException as exc:
                # Not a source's error (those are reported per source): a bug, logged by
                # type and place only -- its text might quote any value it came near.
                log().error(
                    "vein watcher: unexpected %s%s; the watcher goes on",
                    type(exc).__name__,
                    raised_at(exc),
                )
                if self._stop.wait(self.interval if isinstance(clock, RealClock) else 0.0):
                    break

    def _delay(self) -> float:
        now = self.clock.monotonic()
        soonest = min((st.due for st in self._states), default=now + self.interval)
        kick = self._kick_at
        if kick is not None:
            soonest = min(soonest, kick)
        # Never longer than one interval: a clock that cannot be woken still stops soon.
        return min(max(soonest - now, 0.0), self.interval)

    def _kick(self, settle: float) -> None:
        """A file event: check the file sources after *settle* seconds (any thread)."""
        at = self.clock.monotonic() + settle
        kick = self._kick_at
        if kick is None or at < kick:
            self._kick_at = at
        wake = getattr(self.clock, "wake", None)
        if callable(wake):
            wake()

    # -- one cycle -------------------------------------------------------------------------

    def poll(self) -> list[Any]:
        """Check every source once; re-apply the changed ones.  Returns the changes made.

        A source that failed is skipped until its retry time (a file: until it changes).
        """
        return self._cycle(everything=True)

    def _cycle(self, everything: bool) -> list[Any]:
        changes: list[Any] = []
        with self._lock:
            self.polls += 1
            kick = self._kick_at
            files = kick is not None and self.clock.monotonic() >= kick
            if files:
                self._kick_at = None
            for st in self._states:
                if self._stop.is_set():
                    break
                now = self.clock.monotonic()
                if everything or now >= st.due or (files and st.path is not None):
                    changes.extend(self._check(st, now))
        return changes

    def _check(self, st: _SourceState, now: float) -> list[Any]:
        source = st.source
        mark: _Mark | None = None
        self._current = source
        try:
            if st.failures and st.path is not None:
                if not st.file_moved():  # the same bad file: trying it again cannot help
                    st.due = now + self.interval
                    return []
            elif st.failures and now < st.next_try:
                st.due = st.next_try
                return []  # backing off after a failure
            elif not source.changed():
                # Healthy, or the version that failed is still the newest: applying it
                # again would only report the same rejection again (once per failure).
                st.failures = 0
                st.due = self._next_due(st, now)
                return []
            if self._stop.is_set():
                return []  # stopped while the source was asked: apply nothing after stop()
            if st.path is not None:
                mark = _mark(st.path)  # before reading: a later write is seen as a change
            changes: list[Any] = self.obj.update(source)
        except Exception as exc:
            if not self._stop.is_set():
                self._failed(st, exc, mark)
            return []
        finally:
            self._current = None
        st.failures = 0
        st.next_try = 0.0
        st.mark = None
        st.due = self._next_due(st, self.clock.monotonic())
        return changes

    def _failed(self, st: _SourceState, exc: Exception, mark: _Mark | None) -> None:
        st.failures += 1
        now = self.clock.monotonic()
        retry: str | None = None
        if st.path is not None:
            # A failed file is tried again when it changes, looked at every interval.
            st.mark = mark
            st.due = now + self.interval
        else:
            delay = min(
                self.interval * 2 ** min(st.failures - 1, 30), max(self.max_backoff, self.interval)
            )
            st.next_try = max(now + delay, self._server_due(st.source, now) or now)
            st.due = st.next_try
            retry = _seconds(st.next_try - now)
        self._report(exc, st.source, retry)

    def _next_due(self, st: _SourceState, now: float) -> float:
        due = now + self.interval
        server = self._server_due(st.source, now)
        return max(due, server) if server is not None else due

    @staticmethod
    def _server_due(source: Any, now: float) -> float | None:
        """When *source* says asking again can bring something new, on the watcher's clock."""
        try:
            at = getattr(source, "next_poll_at", None)
            if not isinstance(at, int | float) or not math.isfinite(at):
                return None
            own = getattr(source, "clock", None)
            there = own.monotonic() if own is not None else now
            return now + (float(at) - float(there))
        except Exception:
            return None

    def _report(self, exc: BaseException, source: Any, retry: str | None = None) -> None:
        if isinstance(exc, VeinError) and not getattr(exc, "transient", False):
            what = f"watcher rejected a new version of {_name_of(source)}"
        else:
            what = f"watcher failed to poll {_name_of(source)}"
            if retry is not None:
                what += f" (will retry in {retry})"
        report_error(self.obj._vein, exc, f"{what}; keeping the last good state")
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception as inner:
                handler_failed("watch on_error handler", self.on_error, inner)


def _seconds(delay: float) -> str:
    """``"2 s"``, ``"0.05 s"``, ``"300 s"``: a delay as a person reads it."""
    return f"{delay:.0f} s" if delay >= 10 else f"{delay:.2g} s"


# -- file events (optional: watchdog) ---------------------------------------------------------

#: Events after which the file is complete: read at once.
_FINAL_EVENTS = frozenset({"closed", "moved", "deleted"})
#: Events that may be one step of a longer write: read after SETTLE_SECONDS.
_PARTIAL_EVENTS = frozenset({"modified", "created"})


def _start_observer(watcher: Watcher) -> Any:
    """A started ``watchdog`` observer of the watched files' directories, or ``None``."""
    dirs = {os.path.abspath(st.path.parent) for st in watcher._states if st.path is not None}
    if not dirs:
        return None
    try:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        return None

    class _Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            kind = event.event_type
            if event.is_directory or watcher._stop.is_set():
                return
            if kind in _FINAL_EVENTS:
                watcher._kick(0.0)
            elif kind in _PARTIAL_EVENTS:
                watcher._kick(SETTLE_SECONDS)
            # opened / closed_no_write: someone (maybe the watcher) only read a file

    try:
        observer = Observer()
        observer.name = "vein-watch-inotify"
        observer.daemon = True
        handler = _Handler()
        scheduled = 0
        for directory in sorted(dirs):
            if os.path.isdir(directory):
                observer.schedule(handler, directory, recursive=False)
                scheduled += 1
        if not scheduled:
            return None
        observer.start()
    except Exception as exc:
        log().debug("vein watcher: file events unavailable (%s); polling only", exc)
        return None
    return observer


def _name_of(source: Any) -> str:
    """How a log line names a source: vein's own sources have a readable repr; for a
    user's own source without one, its layer key (``key``) says more than an address."""
    text = repr(source)
    if text.startswith("<") and " object at 0x" in text:
        key = getattr(source, "key", None)
        if isinstance(key, str) and key:
            return f"{type(source).__name__} {key!r}"
    return text
