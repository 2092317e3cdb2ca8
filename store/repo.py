"""Small repository functions: the only place that writes SQL for the use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lifecycle import Actor
from bot.domain.states import State, TimelineKind
from store import dialect
from store.models import (
    OPEN_VALUES,
    Case,
    CaseEvent,
    Counter,
)

# --- dialect helpers -------------------------------------------------------------------------


def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    return dialect.insert_ignore(session, model, conflict, values)


# --- counters and case numbers ---------------------------------------------------------------


async def next_counter(session: AsyncSession, name: str) -> int:
    """Atomically increment a named counter; safe across processes (row lock / SQLite writer lock)."""
    await session.execute(insert_ignore(session, Counter, {"name": name, "value": 0}, ["name"]))
    result = await session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    )
    return int(result.scalar_one())


async def next_case_number(session: AsyncSession, prefix: str, year: int) -> str:
    seq = await next_counter(session, f"case:{year}")
    return f"{prefix}{year}-{seq:06d}" if prefix else f"{year}-{seq:06d}"


# --- cases ---------------------------------------------------------------------------------


async def case_by_number(session: AsyncSession, number: str) -> Case | None:
    return (await session.execute(select(Case).where(Case.number == number.strip().upper()))).scalar_one_or_none()


async def case_by_id(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id)


async def case_by_source_ref(session: AsyncSession, source: str, source_ref: str) -> Case | None:
    stmt = select(Case).where(Case.source == source, Case.source_ref == source_ref)
    return (await session.execute(stmt)).scalar_one_or_none()


async def duplicate_candidates(
    session: AsyncSession,
    *,
    since: datetime,
    contact_key: str | None,
    petitioner: str | None,
    source_ref: str | None = None,
    title_key: str,
    category: str | None,
    limit: int = 200,
) -> list[Case]:
    """Earlier cases that may be about the same matter: same contact, same name, same title,
    or recent cases of the same category (bounded, newest first)."""
    conds = [Case.title_key == title_key]
    if contact_key:
        conds.append(Case.contact_key == contact_key)
    if petitioner:
        conds.append(Case.petitioner == petitioner)
    if source_ref:
        conds.append(Case.source_ref == source_ref)
    exact = select(Case).where(Case.received_at >= since, or_(*conds)).order_by(Case.id.desc()).limit(limit)
    found = list((await session.execute(exact)).scalars())
    seen = {c.id for c in found}
    if category:
        recent = (
            select(Case)
            .where(Case.received_at >= since, Case.category == category)
            .order_by(Case.id.desc())
            .limit(limit)
        )
        found += [c for c in (await session.execute(recent)).scalars() if c.id not in seen]
    return found


async def compare_and_set(
    session: AsyncSession, case_id: int, state: str, version: int, values: dict[str, Any]
) -> bool:
    """UPDATE … WHERE id AND state AND version: the first valid transition wins."""
    result = await session.execute(
        update(Case)
        .where(Case.id == case_id, Case.state == state, Case.version == version)
        .values(version=Case.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1  # a CursorResult: rows the UPDATE matched


async def add_event(
    session: AsyncSession,
    case_id: int,
    at: datetime,
    action: TimelineKind,
    actor: Actor,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        CaseEvent(
            case_id=case_id,
            at=at,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor_id=actor.person_id,
            actor_name=actor.name,
            comment=comment or None,
            data=data or None,
        )
    )


async def timeline(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id)
    return list((await session.execute(stmt)).scalars())


async def last_event(session: AsyncSession, case_id: int) -> CaseEvent | None:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class CaseFilter:
    state: str | None = None
    unit_id: int | None = None
    overdue_at: datetime | None = None  # only cases open and past due at this instant
    received_from: datetime | None = None
    received_to: datetime | None = None
    limit: int = 100
    offset: int = 0
    newest_first: bool = False
    route: str | None = None  # 第九条: handle / courtesy / transfer


def is_open() -> Any:
    """``state IN (open states)`` with the values inlined into the SQL, so the planner can use
    the partial index ix_cases_open_due_at (a bound parameter would hide the match)."""
    return Case.state.in_(bindparam("open_states", list(OPEN_VALUES), expanding=True, literal_execute=True))


def _filter_conditions(f: CaseFilter) -> list[Any]:
    conds: list[Any] = []
    if f.state:
        conds.append(Case.state == f.state)
    else:  # a voided (作废) case is listed only when asked for by its state
        conds.append(Case.state != State.VOIDED.value)
    if f.unit_id is not None:
        conds.append(Case.unit_id == f.unit_id)
    if f.route is not None:
        conds.append(Case.route == f.route)
    if f.overdue_at is not None:
        conds.append(and_(is_open(), Case.due_at < f.overdue_at))
    if f.received_from is not None:
        conds.append(Case.received_at >= f.received_from)
    if f.received_to is not None:
        conds.append(Case.received_at < f.received_to)
    return conds


async def list_cases(session: AsyncSession, f: CaseFilter) -> list[Case]:
    order = Case.id.desc() if f.newest_first else Case.id
    stmt = select(Case).where(*_filter_conditions(f)).order_by(order).limit(f.limit).offset(f.offset)
    return list((await session.execute(stmt)).scalars())


async def count_cases(session: AsyncSession, f: CaseFilter) -> int:
    stmt = select(func.count()).select_from(Case).where(*_filter_conditions(f))
    return int((await session.execute(stmt)).scalar_one())


async def due_cases(session: AsyncSession, until: datetime, limit: int = 10_000) -> list[Case]:
    """Open cases whose deadline is at or before ``until`` (uses ix_cases_state_due_at)."""
    stmt = select(Case).where(is_open(), Case.due_at <= until).order_by(Case.due_at).limit(limit)
    return list((await session.execute(stmt)).scalars())
