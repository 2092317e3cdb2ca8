"""Inbound platform events: stored under their dedupe key before the callback is answered, then
processed by a worker. A retried callback hits the unique key and changes nothing; an event stored
but not processed when the process died is processed after the restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.deps import Deps
from bot.loop import work_forever
from bot.handlers.events import Inbound
from store.models import InboundEvent

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


def _row(platform: str, dedupe_key: str, event: Inbound, now: datetime) -> dict[str, Any]:
    return dict(platform=platform, dedupe_key=dedupe_key[:300], kind=event.kind, payload=event.to_payload(),
                status="pending", attempts=0, received_at=now)


async def store_event(session: AsyncSession, platform: str, dedupe_key: str, event: Inbound, now: datetime) -> bool:
    """Insert the event; False when it was seen before (a platform retry)."""
    return (await store_events(session, [_row(platform, dedupe_key, event, now)]))[0]


async def store_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Insert several events with one statement (Core, no ORM objects); per row, False when its
    (platform, dedupe_key) was stored before or appears earlier in ``rows``."""
    first: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        first.setdefault((row["platform"], row["dedupe_key"]), i)
    unique = [rows[i] for i in first.values()]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    table = InboundEvent.__table__
    # ON CONFLICT DO NOTHING … RETURNING yields only the rows really inserted; with a list of
    # parameter sets SQLAlchemy sends them as one multi-row INSERT ("insertmanyvalues").
    stmt = maker(table).on_conflict_do_nothing(index_elements=["platform", "dedupe_key"]).returning(
        table.c.platform, table.c.dedupe_key)
    inserted = {(r.platform, r.dedupe_key) for r in await session.execute(stmt, unique)}
    return [first[(row["platform"], row["dedupe_key"])] == i and (row["platform"], row["dedupe_key"]) in inserted
            for i, row in enumerate(rows)]


class WriteGate:
    """The order of this process's two busiest writers: stored callbacks first, the inbound
    worker's transactions only while no callback is waiting, and never both at the database's
    lock (SQLite has one writer and its busy handler polls with sleeps of up to 100 ms, which is
    what a callback would otherwise wait behind a worker transaction). Callbacks wait at most for
    the one worker transaction under way; the worker runs in the gaps and catches up afterwards."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._pending = 0  # callbacks handed to the store and not yet answered
        self._quiet = asyncio.Event()
        self._quiet.set()

    def arrive(self) -> None:
        self._pending += 1
        self._quiet.clear()

    def depart(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._quiet.set()

    @contextlib.asynccontextmanager
    async def ingress(self) -> AsyncIterator[None]:
        async with self._lock:
            yield

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        while True:
            await self._quiet.wait()
            await self._lock.acquire()
            if self._pending == 0:
                break
            self._lock.release()
        try:
            yield
        finally:
            self._lock.release()


_GATES: weakref.WeakKeyDictionary[object, WriteGate] = weakref.WeakKeyDictionary()


def write_gate(deps: Deps) -> WriteGate:
    """The gate of this process and database (one per session factory)."""
    gate = _GATES.get(deps.sessions)
    if gate is None:
        gate = _GATES[deps.sessions] = WriteGate()
    return gate


class EventStore:
    """Stores callbacks with group commit: every caller's row is committed before its ``store``
    returns (so the callback answers 200 only for a durable event), but callbacks that arrive while
    a commit is under way share the next transaction — one BEGIN IMMEDIATE / INSERT / COMMIT for
    the lot instead of one each (SQLite has a single writer: queueing on an asyncio future is
    cheaper and fairer than every request polling the write lock). A lone callback is written at
    once; a batch that fails is retried row by row, so one bad row fails only its own request.
    """

    def __init__(self, deps: Deps, *, max_batch: int = 200) -> None:
        self.deps = deps
        self.max_batch = max_batch
        self._queue: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.gate = write_gate(deps)

    async def store(self, platform: str, dedupe_key: str, event: Inbound, now: datetime) -> bool:
        """True when the event is new (and now committed), False for a retry of a stored one."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((_row(platform, dedupe_key, event, now), future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="inbound-event-store")
        self.gate.arrive()
        try:
            return await future
        finally:
            self.gate.depart()

    async def _drain(self) -> None:
        batch: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                try:
                    async with self.gate.ingress(), self.deps.sessions() as session, session.begin():
                        fresh = await store_events(session, [row for row, _ in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        _settle(batch[0][1], exc=exc)
                        continue
                    log.warning("storing %s inbound events together failed; storing them one by one",
                                len(batch), exc_info=True)
                    for row, future in batch:
                        try:
                            async with self.gate.ingress(), self.deps.sessions() as session, session.begin():
                                (one,) = await store_events(session, [row])
                        except Exception as exc:
                            _settle(future, exc=exc)
                        else:
                            _settle(future, one)
                    continue
                for (_, future), one in zip(batch, fresh, strict=True):
                    _settle(future, one)
        finally:
            self._writer = None
            for _, future in batch + self._queue:  # only left over when cancelled (shutdown)
                _settle(future, exc=RuntimeError("inbound event store stopped"))
            self._queue.clear()


def _settle(future: asyncio.Future[bool], value: bool = False, *, exc: BaseException | None = None) -> None:
    if future.done():  # the request went away (cancelled); its row may still have been stored
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)


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
        gate = write_gate(self.deps)  # callbacks being stored go first
        async with gate.background():
            ids = await self._claim()
        for event_id in ids:
            async with gate.background():
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
