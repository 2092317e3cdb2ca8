"""Tables used as work queues (inbound events, the outbox): claiming due rows under a lease.

Several processes may run the same worker; a row is claimed by setting its ``locked_until``, so
nobody else picks it before the lease runs out (a crashed claimer's rows come back after it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import dialect


async def claim(
    session: AsyncSession,
    model: Any,
    *,
    pending: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    where: Sequence[Any] = (),
    count_attempt: bool = False,
    order_by: Sequence[Any] = (),
) -> list[int]:
    """Ids of up to ``limit`` rows of ``model`` in status ``pending`` (its enum's PENDING) (oldest first) whose lease is free and that
    match ``where``; leases them until ``lease_until``. ``count_attempt`` also adds one to their
    ``attempts``; ``order_by`` puts other columns before the id (the outbox's lanes). Call inside
    a transaction: the claim commits with it. On PostgreSQL the rows are locked with SKIP LOCKED, so concurrent claimers take different rows."""
    due = (
        select(model.id)
        .where(
            model.status == pending,
            or_(model.locked_until.is_(None), model.locked_until < now),
            *where,
        )
        .order_by(*order_by, model.id)
        .limit(limit)
    )
    if dialect.is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.execute(due)).scalars())
    if ids:
        values: dict[str, Any] = {"locked_until": lease_until}
        if count_attempt:
            values["attempts"] = model.attempts + 1
        await session.execute(update(model).where(model.id.in_(ids)).values(**values))
    return ids
