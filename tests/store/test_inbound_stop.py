"""Stopping the inbound worker (shutdown): the event in hand is finished, the events it had
claimed but not started are given back at once (no lease, no attempt counted), on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import ManualClock
from bot.handlers.deps import Deps
from bot.ports import Inbound
from bot.runtime.inbound import InboundWorker
from store import inbox
from store.db import Session
from store.models import InboundEvent


async def test_stop_finishes_the_event_in_hand_and_gives_back_the_rest(deps: Deps, clock: ManualClock) -> None:
    now = clock.now()
    rows = [
        inbox.event_row("wecom", f"k{i}", "text", Inbound("wecom", "zhangsan", "text", i, text="x").to_payload(), now)
        for i in range(5)
    ]
    async with deps.sessions() as session, session.begin():
        await inbox.store_events(session, rows)
    seen: list[str] = []

    async def handle(session: Session, event: Inbound) -> None:
        seen.append(event.text or "")
        worker.stop()  # SIGTERM arrives while the first event is being processed

    worker = InboundWorker(deps, handle, batch=5)
    assert await worker.run_once() == 5
    await worker.run()  # returns at once once stopped
    assert len(seen) == 1
    async with deps.sessions() as session:
        got = (await session.execute(select(InboundEvent).order_by(InboundEvent.id))).scalars().all()
    assert [r.status for r in got] == ["done", "pending", "pending", "pending", "pending"]
    assert [r.locked_until for r in got[1:]] == [None] * 4
    assert [r.attempts for r in got] == [1, 0, 0, 0, 0]


async def test_a_failing_event_in_a_slice_costs_only_itself(deps: Deps, clock: ManualClock) -> None:
    """Events are processed several to a transaction; one that fails rolls the slice back, is
    recorded for a retry, and the others are processed exactly once."""
    now = clock.now()
    texts = ["a", "boom", "c", "d"]
    rows = [
        inbox.event_row("wecom", f"k{t}", "text", Inbound("wecom", "zhangsan", "text", i, text=t).to_payload(), now)
        for i, t in enumerate(texts)
    ]
    async with deps.sessions() as session, session.begin():
        await inbox.store_events(session, rows)
    effects: list[str] = []

    async def handle(session: Session, event: Inbound) -> None:
        if event.text == "boom":
            raise RuntimeError("bad event")
        effects.append(event.text or "")

    worker = InboundWorker(deps, handle, slice_seconds=60.0)  # the whole batch in one slice
    while await worker.run_once():
        pass
    async with deps.sessions() as session:
        got = (await session.execute(select(InboundEvent).order_by(InboundEvent.id))).scalars().all()
    assert [r.status for r in got] == ["done", "pending", "done", "done"]
    assert got[1].error == "RuntimeError: bad event" and got[1].locked_until is not None
    assert sorted(set(effects)) == ["a", "c", "d"]  # rolled-back attempts left no effects behind
