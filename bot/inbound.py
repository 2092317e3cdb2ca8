"""Inbound platform events: stored under their dedupe key before the callback is answered, then
processed by a worker. A retried callback hits the unique key and changes nothing; an event stored
but not processed when the process died is processed after the restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.deps import Deps
from bot.loop import work_forever
from bot.handlers.events import Inbound
from store import repo
from store.models import InboundEvent

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


async def store_event(session: AsyncSession, platform: str, dedupe_key: str, event: Inbound, now: datetime) -> bool:
    """Insert the event; False when it was seen before (a platform retry)."""
    values = dict(platform=platform, dedupe_key=dedupe_key[:300], kind=event.kind, payload=event.to_payload(),
                  status="pending", attempts=0, received_at=now)
    result = await session.execute(repo.insert_ignore(session, InboundEvent, values, ["platform", "dedupe_key"]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


Handler = Callable[[AsyncSession, Inbound], Awaitable[None]]


class InboundWorker:
    """Processes stored events in arrival order; one transaction per event (its effects and its
    "done" mark commit together, so a crash never processes an event twice)."""

    def __init__(self, deps: Deps, handle: Handler, *, poll: float = 1.0, after: Callable[[], None] | None = None,
                 batch: int = 20) -> None:
        self.deps = deps
        self.handle = handle
        self.poll = poll
        self.after = after
        self.batch = batch
        self.wake = asyncio.Event()

    async def run(self) -> None:
        await work_forever(self.run_once, self.wake, self.poll, "inbound worker")

    async def run_once(self) -> int:
        ids = await self._claim()
        for event_id in ids:
            await self._process(event_id)
        if ids and self.after is not None:
            self.after()
        return len(ids)

    async def _claim(self) -> list[int]:
        now = self.deps.clock.now()
        async with self.deps.sessions() as session, session.begin():
            due = (select(InboundEvent.id)
                   .where(InboundEvent.status == "pending",
                          or_(InboundEvent.locked_until.is_(None), InboundEvent.locked_until < now))
                   .order_by(InboundEvent.id).limit(self.batch))
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.execute(due)).scalars())
            if ids:
                await session.execute(update(InboundEvent).where(InboundEvent.id.in_(ids))
                                      .values(locked_until=now + LEASE, attempts=InboundEvent.attempts + 1))
        return ids

    async def _process(self, event_id: int) -> None:
        try:
            async with self.deps.sessions() as session, session.begin():
                row = await session.get(InboundEvent, event_id)
                if row is None or row.status != "pending":
                    return
                await self.handle(session, Inbound.from_payload(row.payload))
                row.status, row.processed_at, row.locked_until = "done", self.deps.clock.now(), None
        except Exception as exc:
            log.exception("inbound event %s failed", event_id)
            async with self.deps.sessions() as session, session.begin():
                row = await session.get(InboundEvent, event_id)
                if row is not None:
                    row.error = f"{type(exc).__name__}: {exc}"[:500]
                    row.locked_until = self.deps.clock.now() + timedelta(seconds=30 * row.attempts)
                    if row.attempts >= MAX_ATTEMPTS:
                        row.status = "failed"
