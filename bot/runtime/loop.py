"""The polling loop shared by the background workers (outbox sender, inbound worker)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Wake:
    """An :class:`asyncio.Event` that any thread may set: the waiter runs on one loop (the
    inbound worker's own thread, or the serving loop), while callbacks, the worker and the
    scheduler set it from theirs. ``set`` from another thread is handed to the waiter's loop —
    once: while it is set, or on its way, another ``set`` costs nothing (a callback sets it for
    each event it stores; waking the worker's thread for each would make it take the GIL from
    the serving loop each time). That needs the waiter to clear it *before* looking for work, as
    :func:`work_forever` does: a ``set`` skipped because the event was still set then always
    falls after that clear, so the look that follows finds the work."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._handing = False  # a set from another thread is on its way to the waiter's loop
        self.waiting = 0  # waiters inside wait(): a worker asleep until set (or its poll)

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            was_set = self._event.is_set()
            self._event = asyncio.Event()
            if was_set:
                self._event.set()
            self._loop, self._thread = loop, threading.get_ident()

    def set(self) -> None:
        loop = self._loop
        if loop is None or self._thread == threading.get_ident():
            self._event.set()
            return
        if self._handing or self._event.is_set():
            return
        self._handing = True
        try:
            loop.call_soon_threadsafe(self._handed)
        except RuntimeError:  # that loop is closed: nobody waits any more
            self._handing = False

    def _handed(self) -> None:
        self._handing = False  # first: a set that still sees it True comes before the event's set
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        self._bind()
        self.waiting += 1
        try:
            await self._event.wait()
        finally:
            self.waiting -= 1


async def work_forever(
    step: Callable[[], Awaitable[int]],
    wake: Wake | asyncio.Event,
    poll: float,
    name: str,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Call ``step`` until cancelled or ``stopping()``; when it found nothing to do, sleep until
    ``wake`` is set or ``poll`` seconds pass. An error in one step is logged and never stops the
    loop. (Whoever makes ``stopping()`` true sets ``wake`` so that a sleeping loop notices.)
    ``wake`` is cleared before each step: one set while the step runs is kept, and the loop
    looks again at once instead of sleeping (see :class:`Wake`)."""
    while not stopping():
        wake.clear()
        try:
            done = await step()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug or a database hiccup must not stop the worker for good
            log.exception("%s iteration failed", name)
            done = 0
        if done == 0 and not stopping():
            try:
                await asyncio.wait_for(wake.wait(), timeout=poll)
            except TimeoutError:
                pass
