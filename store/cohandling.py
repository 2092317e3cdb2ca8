"""Rows of co-handling (主办 / 协办): the co-units' opinions on the timeline and the open cases
whose co-units may owe one (bot/handlers/cohandling.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from store.db import Session
from store.models import Case, CaseEvent
from store.repo import is_open

OPINION = "co_opinion"


async def opinions(session: Session, case_id: int) -> list[CaseEvent]:
    """The 协办意见 of a case, oldest first."""
    stmt = (
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.action == OPINION)
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


async def open_assigned(session: Session) -> list[Case]:
    """Open cases (the unit's clock running); the caller keeps those with co-units."""
    stmt = select(Case).where(is_open(), Case.assigned_at.is_not(None)).order_by(Case.id)
    return [c for c in (await session.execute(stmt)).scalars() if c.co_unit_ids]


async def opinion_units(session: Session, case_ids: Iterable[int]) -> dict[int, list[tuple[int, datetime]]]:
    """Case id → [(co-unit id, when)] of every 协办意见 recorded."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(CaseEvent.case_id, CaseEvent.at, CaseEvent.data).where(
            CaseEvent.case_id.in_(ids), CaseEvent.action == OPINION
        )
    )
    found: dict[int, list[tuple[int, datetime]]] = {}
    for case_id, at, data in rows:
        unit = (data or {}).get("unit_id")
        if unit is not None:
            found.setdefault(case_id, []).append((int(unit), at))
    return found
