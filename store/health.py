"""What the operations endpoints read: a database ping and the gauges of /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text

from store.db import Session
from store.models import Case, OutboxMessage, OutboxStatus
from store.repo import is_open


async def ping(session: Session) -> None:
    """A round trip to the database; raises whatever the driver raises when it is unreachable."""
    await session.execute(text("SELECT 1"))


async def take_write_lock(session: Session) -> None:
    """Begin the session's transaction as a writer (SQLite: BEGIN IMMEDIATE, waiting at most the
    session's lock timeout); raises a "database is locked" error when the lock is held."""
    await session.connection()


@dataclass(frozen=True)
class Gauges:
    open_cases: int
    overdue_cases: int
    outbox_pending: int


async def gauges(session: Session, now: datetime) -> Gauges:
    """Open cases, those past due at ``now``, and messages waiting in the outbox."""
    open_cases = (await session.execute(select(func.count()).select_from(Case).where(is_open()))).scalar_one()
    overdue = (
        await session.execute(select(func.count()).select_from(Case).where(is_open(), Case.due_at < now))
    ).scalar_one()
    pending = (
        await session.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    ).scalar_one()
    return Gauges(int(open_cases), int(overdue), int(pending))
