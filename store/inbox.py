"""Inbound platform events: stored with dedupe before the callback is answered, then claimed,
processed and marked by the inbound worker (``bot/runtime/inbound.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import db, dialect, queue
from store.models import InboundEvent, InboundStatus

_TABLE = cast(Table, InboundEvent.__table__)
_KEY = ("platform", "dedupe_key")


def event_row(platform: str, dedupe_key: str, kind: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The column values of a new event (for :func:`store_events` and :class:`InlineSQLite`)."""
    return {
        "platform": platform,
        "dedupe_key": dedupe_key[:300],
        "kind": kind,
        "payload": payload,
        "status": InboundStatus.PENDING,
        "attempts": 0,
        "received_at": now,
    }


async def store_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Insert several events with one statement (Core, no ORM objects); per row, False when its
    (platform, dedupe_key) was stored before or appears earlier in ``rows``."""
    unique, fresh = _dedupe(rows)
    # ON CONFLICT DO NOTHING … RETURNING yields only the rows really inserted; with a list of
    # parameter sets SQLAlchemy sends them as one multi-row INSERT ("insertmanyvalues").
    stmt = dialect.insert_ignore(session, _TABLE, _KEY, returning=_KEY)
    return fresh({(r.platform, r.dedupe_key) for r in await session.execute(stmt, unique)})


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


class InlineSQLite:
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

    def __init__(self, path: str, sql_dialect: Any) -> None:
        self.path = path
        self.convert = [
            _TABLE.c[name].type.dialect_impl(sql_dialect).bind_processor(sql_dialect) for name in self.COLUMNS
        ]
        self._conn: sqlite3.Connection | None = None
        self._sql: dict[int, str] = {}

    @classmethod
    def for_sessions(cls, sessions: async_sessionmaker[AsyncSession]) -> InlineSQLite | None:
        """The fast path when ``sessions`` work on a SQLite file; None otherwise (PostgreSQL,
        in-memory SQLite): then every write goes through :func:`store_events`."""
        bind = sessions.kw.get("bind")
        url = dialect.sqlite_url(bind)
        return None if bind is None or url is None else cls(str(url.database), bind.dialect)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=0, check_same_thread=False)
        # no checkpoint on the loop: see store.db._no_checkpoint_on_loop
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=0",
            "wal_autocheckpoint=0",
        ):
            conn.execute(f"PRAGMA {pragma}")
        return conn

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            sql = self._sql[rows] = dialect.sqlite_insert_ignore_sql(
                InboundEvent.__tablename__, self.COLUMNS, _KEY, _KEY, rows
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

    async def write_in_turn(self, rows: Sequence[dict[str, Any]], *, timeout: float = 5.0) -> list[bool] | None:
        """:meth:`write` once this process's other writers let it (``store.db.WriteTurns``, ahead
        of those waiting): for when the lock was busy. None when another process holds the lock
        or the turn did not come in ``timeout`` seconds (then the caller takes the async path)."""
        turns = db.write_turns(self.path)
        try:
            await turns.acquire(timeout, first=True)
        except TimeoutError:
            return None
        try:
            return self.write(rows)
        finally:
            turns.release()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- the worker's side -------------------------------------------------------------------------


async def claim(session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int) -> list[int]:
    """Lease the oldest pending events (see :func:`store.queue.claim`); counts an attempt each."""
    return await queue.claim(
        session,
        InboundEvent,
        pending=InboundStatus.PENDING,
        now=now,
        lease_until=lease_until,
        limit=limit,
        count_attempt=True,
    )


async def pending(session: AsyncSession, event_id: int) -> InboundEvent | None:
    """The event, when it is still to be processed."""
    row = await session.get(InboundEvent, event_id)
    return row if row is not None and row.status == InboundStatus.PENDING else None


async def release(session: AsyncSession, event_ids: Sequence[int]) -> None:
    """Give back claimed events that were not started (shutdown): pending again at once for the
    next process, and the claim's attempt not counted."""
    if event_ids:
        await session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(event_ids), InboundEvent.status == InboundStatus.PENDING)
            .values(locked_until=None, attempts=InboundEvent.attempts - 1)
        )


# the worker's statements, built once (building one and its cache key costs more than running it)
_PAYLOADS = select(InboundEvent.id, InboundEvent.payload).where(
    InboundEvent.id.in_(bindparam("ids", expanding=True)), InboundEvent.status == InboundStatus.PENDING
)
_DONE = (
    update(InboundEvent)
    .where(InboundEvent.id.in_(bindparam("ids", expanding=True)))
    .values(status=InboundStatus.DONE, processed_at=bindparam("now"), locked_until=None)
)


async def pending_payloads(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The payloads of those of ``event_ids`` still to be processed, by id (one statement)."""
    if not event_ids:
        return {}
    return {row.id: row.payload for row in await session.execute(_PAYLOADS, {"ids": list(event_ids)})}


async def mark_done(session: AsyncSession, event_ids: Sequence[int], now: datetime) -> None:
    """Processed (one statement for the lot)."""
    if event_ids:
        await session.execute(_DONE, {"ids": list(event_ids), "now": now})


async def mark_failed(
    session: AsyncSession, event_id: int, error: str, *, retry_after: Callable[[int], datetime], max_attempts: int
) -> None:
    """Record a failed processing: retry at ``retry_after(attempts)``, or give up (``failed``)
    once ``max_attempts`` attempts were made."""
    row = await session.get(InboundEvent, event_id)
    if row is not None:
        row.error = error[:500]
        row.locked_until = retry_after(row.attempts)
        if row.attempts >= max_attempts:
            row.status = InboundStatus.FAILED
