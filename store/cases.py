"""Case rows beyond the general look-ups of store/repo.py: writing a new case, the cases the
scheduled sweeps look at, and who accepted them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, or_, select, update

from bot.domain.states import Note, Route, State
from store.db import Session
from store.models import Case, CaseEvent
from store.repo import is_open
from store.search import index_pending


async def add_case(session: Session, case: Case) -> Case:
    """Insert a new case in the caller's transaction (its id is set on return)."""
    session.add(case)
    await session.flush()
    await index_pending(session)
    return case


async def nudge_candidates(
    session: Session,
    *,
    due_until: datetime,
    assigned_before: datetime,
    replied_before: datetime,
    interim_assigned_before: datetime | None = None,
) -> list[Case]:
    """Cases that may owe a reminder: open and due by ``due_until``, assigned and not accepted
    since ``assigned_before`` or with their return window closing by ``due_until``, replied and not
    followed up since ``replied_before``. Four indexed queries, each bounded by what is due."""
    by_due = select(Case).where(is_open(), Case.due_at <= due_until)
    unaccepted = select(Case).where(Case.state == State.ASSIGNED.value, Case.assigned_at <= assigned_before)
    window = select(Case).where(Case.state == State.ASSIGNED.value, Case.return_deadline <= due_until)
    followup = select(Case).where(Case.state == State.REPLIED.value, Case.replied_at <= replied_before)
    stmts = [by_due, unaccepted, window, followup]
    if interim_assigned_before is not None:  # complex or extended cases that may owe 进展 (第十条)
        stmts.append(
            select(Case).where(
                is_open(),
                Case.interim_count == 0,
                or_(Case.complex.is_(True), Case.extension_count > 0),
                Case.assigned_at <= interim_assigned_before,
            )
        )
    found: dict[int, Case] = {}
    for stmt in stmts:
        for case in (await session.execute(stmt)).scalars():
            found[case.id] = case
    return list(found.values())


#: the states in which a reply waits for the office (审核, 审定, 统一回复; bot/domain/steps.py)
STEP_VALUES = (State.SUBMITTED.value, State.REVIEWED.value, State.APPROVED.value)


async def step_candidates(session: Session, until: datetime) -> list[Case]:
    """Replies waiting for the office whose step is due by ``until`` (ix_cases_state_step_due_at),
    and tracked cases whose promised date comes by then."""
    stmt = select(Case).where(Case.state.in_(STEP_VALUES), Case.step_due_at <= until)
    tracked = select(Case).where(Case.state == State.TRACKING.value, Case.promised_at <= until)
    found = list((await session.execute(stmt)).scalars())
    return found + list((await session.execute(tracked)).scalars())


async def stalled_cases(session: Session, now: datetime) -> list[Case]:
    """Replies whose office step is past its limit at ``now``, by state, then deadline."""
    stmt = (
        select(Case)
        .where(Case.state.in_(STEP_VALUES), Case.step_due_at < now)
        .order_by(Case.state, Case.step_due_at, Case.id)
    )
    return list((await session.execute(stmt)).scalars())


async def overdue_cases(session: Session, now: datetime) -> list[Case]:
    """Open cases past their deadline at ``now``, by unit, then deadline."""
    stmt = select(Case).where(is_open(), Case.due_at < now).order_by(Case.unit_id, Case.due_at)
    return list((await session.execute(stmt)).scalars().all())


async def accepted_by(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    """Case id → name of who accepted (签收) it (the last acceptance wins)."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(CaseEvent.case_id, CaseEvent.actor_name)
        .where(CaseEvent.case_id.in_(ids), CaseEvent.action == "accept")
        .order_by(CaseEvent.id)
    )
    return {r.case_id: r.actor_name for r in rows}


async def registered_before(session: Session, created_before: datetime) -> list[Case]:
    """Cases registered before ``created_before``, to be handled (第九条: not 礼节性回复 or 转办) and
    not yet assigned (当日交办), oldest first."""
    stmt = (
        select(Case)
        .where(
            Case.state == State.REGISTERED.value,
            Case.created_at < created_before,
            Case.route == Route.HANDLE.value,
        )
        .order_by(Case.created_at, Case.id)
    )
    return list((await session.execute(stmt)).scalars())


async def set_fields(session: Session, case_id: int, **values: object) -> None:
    """Record columns that are not part of a transition (an archive element filled in later):
    no version bump, so the open cards of the case stay valid."""
    await session.execute(
        update(Case).where(Case.id == case_id).values(**values).execution_options(synchronize_session=False)
    )
    if "title" in values or "content" in values:
        await index_pending(session)


async def supervised_cases(
    session: Session, kinds: Iterable[str], ended: Iterable[str]
) -> list[tuple[Case, list[CaseEvent]]]:
    """Cases with a 督办 on their timeline that have not ended (state not in ``ended``), each with
    its timeline entries of ``kinds``, in timeline order (ix_case_events_action_case_id)."""
    supervised = select(CaseEvent.case_id).where(CaseEvent.action == Note.SUPERVISE.value)
    stmt = select(Case).where(Case.id.in_(supervised), Case.state.not_in(list(ended))).order_by(Case.id)
    cases = list((await session.execute(stmt)).scalars())
    if not cases:
        return []
    rows = await session.execute(
        select(CaseEvent)
        .where(CaseEvent.case_id.in_([c.id for c in cases]), CaseEvent.action.in_(list(kinds)))
        .order_by(CaseEvent.id)
    )
    by_case: dict[int, list[CaseEvent]] = {c.id: [] for c in cases}
    for event in rows.scalars():
        by_case[event.case_id].append(event)
    return [(c, by_case[c.id]) for c in cases]


async def add_cases_bulk(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert many cases at once (column values as dicts; one executemany): history imports and
    benchmarks. Nothing is sent and no timeline entry is written."""
    if rows:
        await session.execute(insert(Case), rows)
        await index_pending(session)


async def add_events_bulk(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert many timeline entries at once (column values as dicts; one executemany)."""
    if rows:
        await session.execute(insert(CaseEvent), rows)
