"""Keeping state live: a background thread that re-applies sources when they change.

``obj.watch(*sources, interval=...)`` applies the sources as layers, then polls them.  A
changed source is re-applied with the same atomic ``update`` as everything else, so a
reload fires exactly the events of the leaves whose effective value changed and never
overrides a higher layer.  A bad new version (parse error, invalid value, unreadable file,
network fault) keeps the last good state; the error is logged on the ``vein`` logger and
passed to ``on_error`` (and the tree's ``on_error`` handlers), and that source is retried
with exponential backoff until a good version arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol

from .errors import VeinError
from .flow.events import logger, report_error

__all__ = ["Clock", "RealClock", "Watcher"]


class Clock(Protocol):
    """What ``watch(clock=...)`` needs: tests pass a fake one and never sleep for real."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The default clock (``time.monotonic``; sleeps can be cut short by ``stop()``)."""

    def __init__(self) -> None:
        self._wake = threading.Event()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))


class _SourceState:
    __slots__ = ("failures", "next_try", "source")

    def __init__(self, source: Any) -> None:
        self.source = source
        self.failures = 0
        self.next_try = 0.0


class Watcher:
    """A running watch over some sources of one flow object (see :meth:`vein.Flow.watch`).

    ``stop()`` ends it and joins the thread (idempotent); usable as a context manager.
    ``poll()`` runs one cycle synchronously (for tests and for ``start=False``).
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
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.obj = obj
        self.interval = float(interval)
        self.on_error = on_error
        self.clock: Clock = clock if clock is not None else RealClock()
        self._states = [_SourceState(s) for s in sources]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one poll cycle at a time
        self.polls = 0
        if apply and sources:
            obj.update(*sources)  # the first application raises: the caller must know
        if start:
            self.start()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="vein-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop polling and join the thread (safe to call more than once)."""
        self._stop.set()
        wake = getattr(self.clock, "_wake", None)
        if wake is not None:
            wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        clock = self.clock
        while not self._stop.is_set():
            clock.sleep(self._delay())
            if self._stop.is_set():
                break
            try:
                self.poll()
            except BaseException as exc:  # noqa: BLE001 - the thread must survive anything
                logger.error("vein watcher: unexpected %s: %s", type(exc).__name__, exc)

    def _delay(self) -> float:
        now = self.clock.monotonic()
        soonest = min((st.next_try for st in self._states), default=now + self.interval)
        return max(min(self.interval, soonest - now), 0.0) if soonest > now else self.interval

    # -- one cycle -------------------------------------------------------------------------

    def poll(self) -> list[Any]:
        """Check every source once; re-apply the changed ones.  Returns the changes made."""
        changes: list[Any] = []
        with self._lock:
            self.polls += 1
            now = self.clock.monotonic()
            for st in self._states:
                if self._stop.is_set():
                    break
                if st.failures and now < st.next_try:
                    continue  # backing off after a failure
                try:
                    if not st.failures and not st.source.changed():
                        continue
                    changes.extend(self.obj.update(st.source))
                except Exception as exc:  # noqa: BLE001 - reported, never raised
                    st.failures += 1
                    delay = min(self.interval * (2 ** (st.failures - 1)), max(self.max_backoff, self.interval))
                    st.next_try = self.clock.monotonic() + delay
                    self._report(exc, st.source)
                else:
                    st.failures = 0
                    st.next_try = 0.0
        return changes

    def _report(self, exc: BaseException, source: Any) -> None:
        kind = "rejected a new version of" if isinstance(exc, VeinError) else "failed to poll"
        report_error(self.obj._vein, exc, f"watcher {kind} {source!r}; keeping the last good state")
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception as inner:  # noqa: BLE001 - a handler must not stop the watcher
                logger.error("watch on_error handler failed: %s: %s", type(inner).__name__, inner)
