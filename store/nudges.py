"""Claims in the ``nudges`` table: one row per message that must go out once (a reminder, the
morning overdue list, a report). The unique key (scope, kind, threshold, day) decides who sends."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select

from store.db import Session
from store.dialect import insert_ignore
from store.models import Nudge

#: the unique key of a claim: scope, kind, threshold, (local) day
ClaimKey = tuple[str, str, str, date]
CHUNK = 500  # ids per IN list / rows per claim statement


async def claim(
    session: Session, *, scope: str, kind: str, threshold: str, day: Any, now: datetime, case_id: int | None = None
) -> bool:
    """Record a claim; False if it was already recorded (by this or another process)."""
    values = dict(scope=scope, kind=kind, threshold=threshold, day=day, case_id=case_id, created_at=now)
    result = await session.execute(insert_ignore(session, Nudge, ["scope", "kind", "threshold", "day"], values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(session: Session, *, scope: str, kind: str, threshold: str, day: Any) -> None:
    """Withdraw a claim made in the same transaction (the work it stood for did not happen)."""
    await session.execute(
        delete(Nudge).where(Nudge.scope == scope, Nudge.kind == kind, Nudge.threshold == threshold, Nudge.day == day)
    )


async def exists(session: Session, *, scope: str, kind: str, threshold: str, day: Any) -> bool:
    stmt = select(Nudge.id).where(
        Nudge.scope == scope, Nudge.kind == kind, Nudge.threshold == threshold, Nudge.day == day
    )
    return (await session.execute(stmt)).first() is not None


async def claimed(session: Session, case_ids: Iterable[int]) -> set[ClaimKey]:
    """The claims already recorded for these cases (indexed by case_id)."""
    found: set[ClaimKey] = set()
    ids = sorted(case_ids)
    for start in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(Nudge.scope, Nudge.kind, Nudge.threshold, Nudge.day).where(
                Nudge.case_id.in_(ids[start : start + CHUNK])
            )
        )
        found.update((r.scope, r.kind, r.threshold, r.day) for r in rows)
    return found


async def claim_all(
    session: Session, wanted: Sequence[ClaimKey], case_ids: dict[ClaimKey, int | None], now: datetime
) -> set[ClaimKey]:
    """Claim many at once (one INSERT … ON CONFLICT DO NOTHING per chunk); returns the keys this
    call recorded — the others were taken, by an earlier sweep or another process."""
    if not wanted:
        return set()
    table = cast(Table, Nudge.__table__)
    stmt = insert_ignore(
        session, table, ["scope", "kind", "threshold", "day"], returning=("scope", "kind", "threshold", "day")
    )
    won: set[ClaimKey] = set()
    for start in range(0, len(wanted), CHUNK):
        rows = [
            {"scope": k[0], "kind": k[1], "threshold": k[2], "day": k[3], "case_id": case_ids[k], "created_at": now}
            for k in wanted[start : start + CHUNK]
        ]
        result = await session.execute(stmt, rows)
        won.update((r.scope, r.kind, r.threshold, r.day) for r in result)
    return won


async def claimed_any_day(session: Session, *, scope: str, kind: str, threshold: str) -> bool:
    """Whether a claim of (scope, kind, threshold) exists on any day (e.g. a period's report)."""
    stmt = select(Nudge.id).where(Nudge.scope == scope, Nudge.kind == kind, Nudge.threshold == threshold).limit(1)
    return (await session.execute(stmt)).first() is not None
