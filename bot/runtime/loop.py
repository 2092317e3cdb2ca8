"""The polling loop shared by the background workers (outbox sender, inbound worker)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def work_forever(
    step: Callable[[], Awaitable[int]],
    wake: asyncio.Event,
    poll: float,
    name: str,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Call ``step`` until cancelled or ``stopping()``; when it found nothing to do, sleep until
    ``wake`` is set or ``poll`` seconds pass. An error in one step is logged and never stops the
    loop. (Whoever makes ``stopping()`` true sets ``wake`` so that a sleeping loop notices.)"""
    while not stopping():
        try:
            done = await step()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug or a database hiccup must not stop the worker for good
            log.exception("%s iteration failed", name)
            done = 0
        if done == 0 and not stopping():
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=poll)
            except TimeoutError:
                pass
