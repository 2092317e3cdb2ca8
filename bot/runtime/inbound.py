"""Inbound platform events: stored under their dedupe key before the callback is answered, then
processed by a worker. A retried callback hits the unique key and changes nothing; an event stored
but not processed when the process died is processed after the restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.deps import Deps
from bot.handlers.events import Inbound
from bot.runtime.loop import work_forever
from store.models import InboundEvent

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


def _row(platform: str, dedupe_key: str, event: Inbound, now: datetime) -> dict[str, Any]:
    return {
        "platform": platform,
        "dedupe_key": dedupe_key[:300],
        "kind": event.kind,
        "payload": event.to_payload(),
        "status": "pending",
        "attempts": 0,
        "received_at": now,
    }


async def store_event(session: AsyncSession, platform: str, dedupe_key: str, event: Inbound, now: datetime) -> bool:
    """Insert the event; False when it was seen before (a platform retry)."""
    return (await store_events(session, [_row(platform, dedupe_key, event, now)]))[0]


async def store_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Insert several events with one statement (Core, no ORM objects); per row, False when its
    (platform, dedupe_key) was stored before or appears earlier in ``rows``."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    unique, fresh = _dedupe(rows)
    return fresh({(r.platform, r.dedupe_key) for r in await session.execute(_insert(dialect), unique)})


def _dedupe(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], Callable[[set[tuple[str, str]]], list[bool]]]:
    """(the rows to insert: first occurrences only, how to tell each row's freshness from the keys inserted)."""
    first: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        first.setdefault((row["platform"], row["dedupe_key"]), i)

    def fresh(inserted: set[tuple[str, str]]) -> list[bool]:
        return [
            first[key] == i and key in inserted
            for i, key in enumerate((row["platform"], row["dedupe_key"]) for row in rows)
        ]

    return [rows[i] for i in first.values()], fresh


def _insert(dialect: str) -> Any:
    # ON CONFLICT DO NOTHING … RETURNING yields only the rows really inserted; with a list of
    # parameter sets SQLAlchemy sends them as one multi-row INSERT ("insertmanyvalues").
    table = cast(Table, InboundEvent.__table__)
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        maker(table)
        .on_conflict_do_nothing(index_elements=["platform", "dedupe_key"])
        .returning(table.c.platform, table.c.dedupe_key)
    )


class _InlineSQLite:
    """The callback writes on a SQLite file, done synchronously on the event loop's thread.

    Through aiosqlite one group commit is about ten round trips to the connection's thread
    (cursor, execute, fetch, close for BEGIN and INSERT; COMMIT), and while the loop is busy each
    return waits for the GIL (up to the 5 ms switch interval): the commit pipeline, not the CPU,
    then bounds callback throughput. The same BEGIN IMMEDIATE / INSERT … RETURNING / COMMIT on a
    plain sqlite3 connection takes well under a millisecond, values converted by the columns' own
    SQLAlchemy types (the rows are byte for byte what the ORM would write). It must never wait for
    the lock on the loop (the holder may need the loop to finish), so its busy timeout is 0: when
    another connection holds the write lock, ``write`` returns None and the caller takes the async
    path. Same file, WAL, synchronous=NORMAL: committed (durable across a process crash) on return.
    """

    COLUMNS = ("platform", "dedupe_key", "kind", "payload", "status", "attempts", "received_at")

    def __init__(self, path: str, dialect: Any) -> None:
        table = cast(Table, InboundEvent.__table__)
        self.path = path
        self.convert = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.COLUMNS]
        self._conn: sqlite3.Connection | None = None
        self._sql: dict[int, str] = {}

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=0, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=0"):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            one = "(" + ", ".join("?" * len(self.COLUMNS)) + ")"
            sql = self._sql[rows] = (
                f"INSERT INTO {InboundEvent.__tablename__} ({', '.join(self.COLUMNS)}) VALUES "
                + ", ".join([one] * rows)
                + " ON CONFLICT (platform, dedupe_key) DO NOTHING RETURNING platform, dedupe_key"
            )
        return sql

    def write(self, rows: Sequence[dict[str, Any]]) -> list[bool] | None:
        unique, fresh = _dedupe(rows)
        params = [
            f(row[name]) if f is not None else row[name]
            for row in unique
            for name, f in zip(self.COLUMNS, self.convert, strict=True)
        ]
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None  # someone else writes: wait for the lock off the loop
            raise
        try:
            inserted = {(platform, key) for platform, key in conn.execute(self._statement(len(unique)), params)}
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return fresh(inserted)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class WriteGate:
    """The order of this process's two busiest writers: callbacks being stored go first, and the
    inbound worker's transactions wait until callbacks have stopped arriving for ``quiet_for``
    seconds (or, under a flood that never pauses, at most ``max_wait`` seconds per transaction,
    so the worker always progresses). The two never queue on the database lock itself: SQLite has
    one writer, a worker transaction holds it across many awaits, and its busy handler polls with
    sleeps of up to 100 ms. A burst of callbacks is answered first; the replies follow it."""

    def __init__(self, *, quiet_for: float = 0.02, max_wait: float = 2.0) -> None:
        self.quiet_for = quiet_for
        self.max_wait = max_wait
        self._lock = asyncio.Lock()
        self._pending = 0  # callbacks handed to the store and not yet answered
        self._last = 0.0  # monotonic time of the last arrival or answer
        self._quiet = asyncio.Event()
        self._quiet.set()

    def arrive(self) -> None:
        self._pending += 1
        self._last = time.monotonic()
        self._quiet.clear()

    def depart(self) -> None:
        self._pending -= 1
        self._last = time.monotonic()
        if self._pending == 0:
            self._quiet.set()

    @contextlib.asynccontextmanager
    async def ingress(self) -> AsyncIterator[None]:
        async with self._lock:
            yield

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        deadline = time.monotonic() + self.max_wait
        while (now := time.monotonic()) < deadline:
            if self._pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._quiet.wait(), deadline - now)
                continue
            idle = now - self._last
            if idle >= self.quiet_for:
                break
            await asyncio.sleep(self.quiet_for - idle)
        async with self._lock:
            yield


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
        self._inline: _InlineSQLite | None = None
        bind = deps.sessions.kw.get("bind")
        url = getattr(bind, "url", None)
        if (
            bind is not None
            and url is not None
            and url.get_backend_name() == "sqlite"
            and url.database not in (None, "", ":memory:")
        ):
            self._inline = _InlineSQLite(url.database, bind.dialect)

    def close(self) -> None:
        """Release the inline SQLite connection (the async path needs no closing)."""
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    async def _write(self, rows: Sequence[dict[str, Any]]) -> list[bool]:
        async with self.gate.ingress():
            if self._inline is not None:
                fresh = self._inline.write(rows)
                if fresh is not None:
                    return fresh
            async with self.deps.sessions() as session, session.begin():
                return await store_events(session, rows)

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
                    fresh = await self._write([row for row, _ in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        _settle(batch[0][1], exc=exc)
                        continue
                    log.warning(
                        "storing %s inbound events together failed; storing them one by one", len(batch), exc_info=True
                    )
                    for row, future in batch:
                        try:
                            (one,) = await self._write([row])
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

    def __init__(
        self,
        deps: Deps,
        handle: Handler,
        *,
        poll: float = 1.0,
        after: Callable[[], None] | None = None,
        batch: int = 20,
    ) -> None:
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
            due = (
                select(InboundEvent.id)
                .where(
                    InboundEvent.status == "pending",
                    or_(InboundEvent.locked_until.is_(None), InboundEvent.locked_until < now),
                )
                .order_by(InboundEvent.id)
                .limit(self.batch)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.execute(due)).scalars())
            if ids:
                await session.execute(
                    update(InboundEvent)
                    .where(InboundEvent.id.in_(ids))
                    .values(locked_until=now + LEASE, attempts=InboundEvent.attempts + 1)
                )
        return ids

    async def _process(self, event_id: int) -> None:
        try:
            async with self.deps.sessions() as session, session.begin():
                row = await session.get(InboundEvent, event_id)
                if row is None or row.status != "pending":
                    return
                await self.deps.calendar.ensure_fresh(session)  # a calendar change elsewhere counts at once
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
