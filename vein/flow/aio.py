"""asyncio support: ``async def`` callbacks and ``async for change in obj.changes()``.

Callbacks run in the writing thread; an ``async def`` callback is instead scheduled as a
task on the event loop that was running when it subscribed (thread-safely, so writes from
other threads work too).  Its failures are reported like any callback's.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .events import Change, report_error

if TYPE_CHECKING:
    from .events import Subscription
    from .state import Node

__all__ = ["ChangeStream", "subscribe_async"]


def _running_loop(what: str) -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{what} needs a running asyncio event loop (subscribe from async code)"
        ) from None


def subscribe_async(
    node: Node, key: str, callback: Callable[[Change], Awaitable[Any]], weak: bool = False
) -> Subscription:
    """Subscribe an ``async def`` callback: each change schedules it on the current loop.

    With *weak*, the callback (a bound method or function) is held weakly, and the
    subscription ends when it is collected, as a weak plain callback's does.
    """
    from .events import subscribe

    loop = _running_loop("an async callback")
    ref: Callable[[], Any] | None = None
    sub: Subscription | None = None

    def gone(_ref: Any) -> None:
        if sub is not None:
            sub.cancel()

    if weak:
        if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
            ref = weakref.WeakMethod(callback, gone)
        else:
            ref = weakref.ref(callback, gone)
    name = getattr(callback, "__qualname__", "async_callback")
    strong = None if weak else callback  # the relay must not keep a weak callback alive
    tasks: set[asyncio.Task[Any]] = set()

    def done(change: Change, task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            # As a plain callback's error: named with its path, and without the exception's
            # text when the change was to a secret field (it may quote the value).
            report_error(node, exc, f"async callback {name!r} for {change.path!r}", change[4])

    def spawn(change: Change) -> None:
        cb = strong if ref is None else ref()
        if cb is None:
            return  # a weakly held callback is gone
        task: asyncio.Task[Any] = loop.create_task(cb(change))  # type: ignore[arg-type]
        tasks.add(task)
        task.add_done_callback(functools.partial(done, change))

    def relay(change: Change) -> None:
        if loop.is_closed():
            return
        loop.call_soon_threadsafe(spawn, change)

    relay.__qualname__ = name
    sub = subscribe(node, key, relay, False)
    return sub


class ChangeStream:
    """``async for change in obj.changes(path):`` -- every change under *path*, in order.

    Close it with ``await stream.aclose()`` or ``async with obj.changes() as stream``;
    breaking out of an ``async for`` loop leaves it subscribed until it is closed or
    garbage-collected (the subscription holds the stream weakly).
    """

    def __init__(self, obj: Any, path: str = "*") -> None:
        # Closed until subscribed: if anything below raises (no running loop), __del__
        # of the half-made stream finds its attributes and has nothing to cancel.
        self._closed = True
        self._sub: Subscription | None = None
        self._loop = _running_loop("changes()")
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self._sub = obj.on_change(path, self._push, weak=True)
        self._closed = False

    def _push(self, change: Change) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, change)

    def __aiter__(self) -> ChangeStream:
        return self

    async def __anext__(self) -> Change:
        if self._closed:
            raise StopAsyncIteration
        change = await self._queue.get()
        if change is None:
            raise StopAsyncIteration
        return change

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._sub is not None:
                self._sub.cancel()
            self._queue.put_nowait(None)

    async def __aenter__(self) -> ChangeStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._closed and self._sub is not None:
            self._sub.cancel()
