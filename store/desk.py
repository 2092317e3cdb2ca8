"""The desk (办理台): local accounts, signed-in sessions, failed sign-ins, and the case lists its
pages show (the ledger with its filters, the supervision board), each limited to what the viewer
may see (``store.visible.scope_condition``). Every list is one indexed query (bench/bench_desk.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update

from bot.domain.states import State
from bot.domain.visibility import ListScope
from store.db import Session
from store.models import Case, DeskAccount, DeskLoginFailure, DeskSession, Person
from store.repo import is_open
from store.search import keyword_conditions
from store.visible import scope_condition

# --- accounts ----------------------------------------------------------------------------------


async def account_by_username(session: Session, username: str) -> DeskAccount | None:
    stmt = select(DeskAccount).where(DeskAccount.username == username)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_account(
    session: Session, username: str, person_id: int, password_hash: str, *, now: datetime
) -> DeskAccount:
    account = DeskAccount(
        username=username,
        person_id=person_id,
        password_hash=password_hash,
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    session.add(account)
    await session.flush()
    return account


async def set_password(session: Session, account_id: int, password_hash: str, *, now: datetime) -> None:
    """A new password ends every session the account had (a stolen cookie stops working)."""
    await session.execute(
        update(DeskAccount)
        .where(DeskAccount.id == account_id)
        .values(password_hash=password_hash, password_changed_at=now, active=True)
    )
    await session.execute(delete(DeskSession).where(DeskSession.account_id == account_id))


async def set_account_active(session: Session, account_id: int, active: bool) -> None:
    await session.execute(update(DeskAccount).where(DeskAccount.id == account_id).values(active=active))
    if not active:
        await session.execute(delete(DeskSession).where(DeskSession.account_id == account_id))


async def accounts_with_people(session: Session) -> list[tuple[DeskAccount, Person]]:
    stmt = select(DeskAccount, Person).join(Person, Person.id == DeskAccount.person_id).order_by(DeskAccount.id)
    return [(a, p) for a, p in (await session.execute(stmt)).all()]


# --- sessions ----------------------------------------------------------------------------------


async def add_session(
    session: Session,
    *,
    key: str,
    person_id: int,
    account_id: int | None,
    via: str,
    csrf: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        DeskSession(
            id=key,
            person_id=person_id,
            account_id=account_id,
            via=via,
            csrf=csrf,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def live_session(session: Session, key: str, now: datetime) -> DeskSession | None:
    """The session stored under ``key`` (the SHA-256 of the cookie's id), if not expired."""
    row = await session.get(DeskSession, key)
    if row is None or row.expires_at <= now:
        return None
    return row


async def end_session(session: Session, key: str) -> None:
    await session.execute(delete(DeskSession).where(DeskSession.id == key))


async def prune_sessions(session: Session, now: datetime) -> int:
    result = await session.execute(delete(DeskSession).where(DeskSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


# --- failed sign-ins ---------------------------------------------------------------------------


async def record_failure(session: Session, keys: list[str], now: datetime) -> None:
    for key in keys:
        session.add(DeskLoginFailure(key=key[:200], at=now))
    await session.flush()


async def failures_since(session: Session, key: str, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(DeskLoginFailure)
        .where(DeskLoginFailure.key == key[:200], DeskLoginFailure.at > since)
    )
    return int((await session.execute(stmt)).scalar_one())


async def clear_failures(session: Session, key: str, before: datetime | None = None) -> None:
    """Forget ``key``'s failures (a successful sign-in), or everyone's older than ``before``."""
    stmt = delete(DeskLoginFailure).where(DeskLoginFailure.key == key[:200])
    if before is not None:
        stmt = delete(DeskLoginFailure).where(DeskLoginFailure.at < before)
    await session.execute(stmt)


# --- the ledger --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    """The ledger's filters (留言台账). Exact matches on indexed columns; ``keyword`` searches the
    title and the content (on SQLite through the bigram index of store/search.py)."""

    state: str | None = None
    unit_id: int | None = None
    category: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    keyword: str | None = None
    petitioner: str | None = None
    contact_key: str | None = None
    source_ref: str | None = None
    overdue_at: datetime | None = None
    limit: int = 50
    offset: int = 0


def _ledger_conditions(session: Session, scope: ListScope, f: Ledger) -> list[Any]:
    conds: list[Any] = [scope_condition(session, scope)]
    if f.state:
        conds.append(Case.state == f.state)
    else:  # a voided case is listed only when asked for by its state (as everywhere)
        conds.append(Case.state != State.VOIDED.value)
    if f.unit_id is not None:
        conds.append(Case.unit_id == f.unit_id)
    if f.category:
        conds.append(Case.category == f.category)
    if f.received_from is not None:
        conds.append(Case.received_at >= f.received_from)
    if f.received_to is not None:
        conds.append(Case.received_at < f.received_to)
    if f.keyword:
        conds.extend(keyword_conditions(session, f.keyword))
    if f.petitioner:
        conds.append(Case.petitioner == f.petitioner)
    if f.contact_key:
        conds.append(Case.contact_key == f.contact_key)
    if f.source_ref:
        conds.append(Case.source_ref == f.source_ref)
    if f.overdue_at is not None:
        conds.append(and_(is_open(), Case.due_at < f.overdue_at))
    return conds


async def ledger_page(session: Session, scope: ListScope, f: Ledger) -> tuple[list[Case], bool]:
    """One page of the ledger, newest first, and whether there is a next page."""
    if scope.empty:
        return [], False
    stmt = (
        select(Case)
        .where(*_ledger_conditions(session, scope, f))
        .order_by(Case.id.desc())
        .limit(f.limit + 1)
        .offset(f.offset)
    )
    rows = list((await session.execute(stmt)).scalars())
    return rows[: f.limit], len(rows) > f.limit


async def ledger_count(session: Session, scope: ListScope, f: Ledger, cap: int = 10_000) -> int:
    """How many cases the filters find, counted up to ``cap`` (more: ``cap + 1``), so that a broad
    list stops early instead of reading the whole table."""
    if scope.empty:
        return 0
    # no ORDER BY: the planner reads whichever index the filters name, and stops at cap + 1
    found = select(Case.id).where(*_ledger_conditions(session, scope, f)).limit(cap + 1).subquery()
    return int((await session.execute(select(func.count()).select_from(found))).scalar_one())


async def ledger_ids(session: Session, scope: ListScope, f: Ledger, cap: int) -> list[int]:
    """The ids of every case of the filtered ledger (for the export), newest first, at most ``cap``."""
    if scope.empty:
        return []
    stmt = select(Case.id).where(*_ledger_conditions(session, scope, f)).order_by(Case.id.desc()).limit(cap)
    return [int(i) for i in (await session.execute(stmt)).scalars()]


async def cases_by_ids(session: Session, ids: list[int]) -> list[Case]:
    if not ids:
        return []
    rows = {c.id: c for c in (await session.execute(select(Case).where(Case.id.in_(ids)))).scalars()}
    return [rows[i] for i in ids if i in rows]


# --- what waits for me, the supervision board --------------------------------------------------


@dataclass(frozen=True)
class CaseLine:
    """What a case's line on a list shows (templates/_macros.html ``case_item``): the board's few
    hundred cases as plain rows of these columns, not ORM objects of all ~60 (a third of the time)."""

    id: int
    number: str
    state: str
    urgent: bool
    title: str
    unit_id: int | None
    received_at: datetime
    due_at: datetime | None


_LINE = (Case.id, Case.number, Case.state, Case.urgent, Case.title, Case.unit_id, Case.received_at, Case.due_at)


def _line(row: Any) -> CaseLine:
    return CaseLine(*row[: len(_LINE)])


async def waiting(
    session: Session, scope: ListScope, wanted: list[tuple[str, int | None, str | None]], limit: int = 50
) -> list[Case]:
    """Open cases in ``wanted`` (state, unit or None for any unit, route or None for any route) the
    viewer may see, by deadline
    (those without one last), at most ``limit`` per pair (each an indexed query)."""
    found: dict[int, Case] = {}
    if scope.empty:
        return []
    for state, unit_id, route in wanted:
        conds: list[Any] = [Case.state == state]
        if unit_id is not None:
            conds.append(Case.unit_id == unit_id)
        if route is not None:
            conds.append(Case.route == route)
        if unit_id is None or unit_id not in scope.units:  # a viewer's own unit's cases are all visible
            conds.append(scope_condition(session, scope))
        stmt = select(Case).where(*conds).order_by(Case.id.desc()).limit(limit)
        for case in (await session.execute(stmt)).scalars():
            found[case.id] = case
    far = datetime.max.replace(tzinfo=None)
    return sorted(found.values(), key=lambda c: (c.due_at.replace(tzinfo=None) if c.due_at else far, c.id))


async def overdue_by_unit(session: Session, scope: ListScope, now: datetime) -> dict[int, int]:
    """Unit id → how many of its open cases are past their deadline (ix_cases_open_due_at)."""
    if scope.empty:
        return {}
    stmt = (
        select(Case.unit_id, func.count())
        .where(is_open(), Case.due_at < now, Case.unit_id.is_not(None), scope_condition(session, scope))
        .group_by(Case.unit_id)
    )
    return {int(u): int(n) for u, n in (await session.execute(stmt)).all() if u is not None}


async def overdue_first_per_unit(
    session: Session, scope: ListScope, now: datetime, per_unit: int
) -> list[tuple[CaseLine, int]]:
    """The ``per_unit`` longest overdue open cases of each unit, each with how many its unit has
    (one query: ROW_NUMBER and COUNT over the overdue cases, which ix_cases_open_due_at finds), by
    unit, then deadline."""
    if scope.empty:
        return []
    # partitioned by ``unit_id + 0``: by the column itself, SQLite reads every open case through
    # ix_cases_unit_id_state (to save a sort) instead of the overdue ones by deadline (50 → 12 ms)
    unit = Case.unit_id + 0
    rank = func.row_number().over(partition_by=unit, order_by=(Case.due_at, Case.id)).label("rank")
    total = func.count().over(partition_by=unit).label("total")
    ranked = (
        select(Case.id.label("id"), rank, total)
        .where(is_open(), Case.due_at < now, Case.unit_id.is_not(None), scope_condition(session, scope))
        .subquery()
    )
    stmt = (
        select(*_LINE, ranked.c.total)
        .join(ranked, ranked.c.id == Case.id)
        .where(ranked.c.rank <= per_unit)
        .order_by(Case.unit_id, Case.due_at, Case.id)
    )
    return [(_line(row), int(row[-1])) for row in (await session.execute(stmt)).all()]


async def overdue_open(session: Session, scope: ListScope, now: datetime, limit: int = 2000) -> list[Case]:
    """Open cases past their deadline (ix_cases_open_due_at), oldest deadline first."""
    if scope.empty:
        return []
    stmt = (
        select(Case)
        .where(is_open(), Case.due_at < now, scope_condition(session, scope))
        .order_by(Case.due_at, Case.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def stalled_steps(
    session: Session, scope: ListScope, now: datetime, states: tuple[str, ...], limit: int = 50
) -> list[CaseLine]:
    """Replies waiting for the office past the step's limit (ix_cases_state_step_due_at)."""
    if scope.empty:
        return []
    stmt = (
        select(*_LINE)
        .where(Case.state.in_(states), Case.step_due_at < now, scope_condition(session, scope))
        .order_by(Case.step_due_at, Case.id)
        .limit(limit)
    )
    return [_line(row) for row in (await session.execute(stmt)).all()]


async def count_by_state(session: Session, scope: ListScope) -> dict[str, int]:
    if scope.empty:
        return {}
    stmt = select(Case.state, func.count()).where(scope_condition(session, scope)).group_by(Case.state)
    return {str(s): int(n) for s, n in (await session.execute(stmt)).all()}
