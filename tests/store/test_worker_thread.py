"""issue 11, ack first: on a SQLite file the inbound worker runs in a thread of its own, with its
own event loop and engine (statements inline on that thread), so the serving loop never runs its
Python; callbacks wake it from the serving loop, and it wakes the sender there."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.handlers.deps import Deps
from bot.ports import Inbound
from bot.runtime.inbound import EventStore, InboundWorker
from bot.runtime.loop import Wake
from store import inbox, inline_sqlite
from store.db import Session
from store.models import InboundEvent
from tests.conftest import make_deps


async def test_worker_runs_in_its_own_thread_and_is_woken_across_threads(
    sqlite_url: str, clock: ManualClock, tmp_path: Path
) -> None:
    deps, engine = await make_deps(sqlite_url, clock)
    loop = asyncio.get_running_loop()
    handled: list[tuple[str, int, bool, bool]] = []
    arrived = asyncio.Queue[str]()
    sender_wake = Wake()  # the sender's, waited on this loop

    def handler_for(own: Deps):
        assert own.sessions is not deps.sessions  # its own engine

        async def handle(session: Session, event: Inbound) -> None:
            raw = (await session.connection()).sync_connection
            assert raw is not None
            inline = isinstance(raw.connection.driver_connection, inline_sqlite.InlineConnection)
            handled.append((event.text or "", threading.get_ident(), inline, session.bind is engine))
            loop.call_soon_threadsafe(arrived.put_nowait, event.text or "")

        return handle

    async def never(session: Session, event: Inbound) -> None:
        raise AssertionError("the loop's own handler is not used on a SQLite file")

    events = EventStore(deps)
    worker = InboundWorker(deps, never, poll=3600.0, after=sender_wake.set, handler_for=handler_for)
    task = asyncio.create_task(worker.run())
    try:
        for text in ("一", "二"):
            while not worker.wake.waiting:  # the worker's thread found nothing and sleeps
                await asyncio.sleep(0.001)
            assert await events.store(Inbound("wecom", "zhangsan", "text", 1, text=text), f"k-{text}")
            worker.wake.set()  # what the callback does once the event is stored
            # poll is an hour: only the wake-up can bring the worker to it
            assert await asyncio.wait_for(arrived.get(), 10) == text
        await asyncio.wait_for(sender_wake.wait(), 10)  # the worker told the sender, across threads
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)
        events.close()
    me = threading.get_ident()
    assert [h[0] for h in handled] == ["一", "二"]
    assert all(thread != me and inline and not on_loop_engine for _, thread, inline, on_loop_engine in handled)
    async with deps.sessions() as session:
        rows = (await session.execute(select(InboundEvent.status))).scalars().all()
    assert rows == ["done", "done"]
    await engine.dispose()


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_worker_stays_on_the_loop_without_a_sqlite_file(deps: Deps, clock: ManualClock) -> None:
    """PostgreSQL (and in-memory SQLite): the worker works on the caller's loop, as tests step it.
    (The SQLite file case is the test above.)"""
    seen: list[int] = []

    async def handle(session: Session, event: Inbound) -> None:
        seen.append(threading.get_ident())
        worker.stop()

    now = clock.now()
    async with deps.sessions() as session, session.begin():
        await inbox.store_events(
            session,
            [inbox.event_row("wecom", "k", "text", Inbound("wecom", "u", "text", 1, text="x").to_payload(), now)],
        )
    worker = InboundWorker(deps, handle, handler_for=lambda own: handle)
    await asyncio.wait_for(worker.run(), 10)
    assert seen == [threading.get_ident()]
