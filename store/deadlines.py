"""The rows a calendar change touches: open cases' stored deadlines and the approved extensions
to replay, and the ``calendar`` counter every process checks to see a change at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.domain.states import Action
from store.db import Session
from store.dialect import insert_ignore
from store.models import Case, CaseEvent, Counter
from store.repo import is_open

#: the counter bumped in the transaction of every calendar change (import, override)
CALENDAR_COUNTER = "calendar"


async def calendar_version(session: Session) -> int:
    """The calendar's change counter (0 before the first change): one primary-key read."""
    value = (await session.execute(select(Counter.value).where(Counter.name == CALENDAR_COUNTER))).scalar()
    return int(value or 0)


async def bump_calendar_version(session: Session) -> int:
    """Count a calendar change, in the caller's transaction; returns the new value."""
    await session.execute(insert_ignore(session, Counter, ["name"], {"name": CALENDAR_COUNTER, "value": 0}))
    stmt = (
        update(Counter).where(Counter.name == CALENDAR_COUNTER).values(value=Counter.value + 1).returning(Counter.value)
    )
    return int((await session.execute(stmt)).scalar_one())


async def open_assigned_cases(session: Session) -> list[Case]:
    """Open cases with an assignment: the ones whose deadlines the calendar decides."""
    stmt = select(Case).where(is_open(), Case.assigned_at.is_not(None)).order_by(Case.id)
    return list((await session.execute(stmt)).scalars())


async def approved_extensions(session: Session, case_ids: Iterable[int]) -> dict[int, list[tuple[datetime, int]]]:
    """Case id → [(when, working days)] of its approved extensions, oldest first."""
    ids = list(case_ids)
    found: dict[int, list[tuple[datetime, int]]] = {}
    if not ids:
        return found
    stmt = (
        select(CaseEvent.case_id, CaseEvent.at, CaseEvent.data)
        .where(CaseEvent.case_id.in_(ids), CaseEvent.action == Action.APPROVE_EXTENSION.value)
        .order_by(CaseEvent.id)
    )
    for case_id, at, data in await session.execute(stmt):
        days = int((data or {}).get("days") or 0)
        if days:
            found.setdefault(case_id, []).append((at, days))
    return found


async def set_deadlines(session: Session, case_id: int, values: dict[str, Any]) -> None:
    """Write recomputed deadline columns (not a transition: the version, and so the cards, stay)."""
    await session.execute(
        update(Case).where(Case.id == case_id).values(**values).execution_options(synchronize_session=False)
    )
