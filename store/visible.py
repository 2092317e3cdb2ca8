"""Case lists as a viewer may see them: the SQL form of ``bot.domain.visibility.ListScope``.

``in_scope`` (the Python twin) and :func:`scope_condition` must agree; tests/store/
test_visible_lists.py checks that on SQLite and PostgreSQL. ``co_unit_ids`` is a JSON array, so
"a co-unit is one of mine" reads the array with each dialect's JSON table function.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, and_, cast, exists, false, func, literal, or_, select, true, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.visibility import ListScope
from store.dialect import is_postgres
from store.models import Case
from store.repo import CaseFilter, _filter_conditions

#: the partial index ix_cases_with_co_units holds the cases that have a co-unit (a few percent):
#: its predicate, spelled as the queries spell it so that both backends use the index
HAS_CO_UNITS = "CAST(co_unit_ids AS VARCHAR) != '[]'"


def _co_unit_member(postgres: bool, case: Any, units: frozenset[int]) -> Any:
    if postgres:
        elements = func.json_array_elements_text(case.co_unit_ids).table_valued("value")
        return exists(select(1).select_from(elements).where(cast(elements.c.value, Integer).in_(sorted(units))))
    elements = func.json_each(case.co_unit_ids).table_valued("value")
    return exists(select(1).select_from(elements).where(cast(elements.c.value, Integer).in_(sorted(units))))


def _mine(postgres: bool, units: frozenset[int]) -> Any:
    """The cases whose lead or co-unit is one of ``units``, as ``id IN (… UNION …)``: the lead
    unit's through ix_cases_unit_id_id, the co-units' through the partial index of the cases that
    have any (a list never reads the whole table to find them; bench/README.md, "Desk"). On SQLite
    that index also holds co_unit_ids (ix_cases_co_units_sqlite), so the test below reads no row."""
    lead, co = aliased(Case), aliased(Case)
    by_lead = select(lead.id).where(lead.unit_id.in_(sorted(units)))
    text_ids = cast(co.co_unit_ids, String)
    by_co = select(co.id).where(
        text_ids != "[]",
        # a cheap text test first (it may also match 17 for 7), the JSON array decides
        or_(*(text_ids.like(f"%{int(u)}%") for u in sorted(units))),
        _co_unit_member(postgres, co, units),
    )
    return Case.id.in_(union(by_lead, by_co))


def scope_condition(session: AsyncSession, scope: ListScope) -> Any:
    """A WHERE clause true exactly for the cases ``in_scope(scope, case)`` accepts."""
    return _scope_condition(is_postgres(session), scope)


@functools.lru_cache(maxsize=512)
def _scope_condition(postgres: bool, scope: ListScope) -> Any:
    """Built once per (backend, scope): the aliased subqueries of :func:`_mine` cost a few ms to
    build (their columns adapted), more than a handler's ledger takes to run (bench/README.md,
    "Desk"); a clause is immutable, so every statement may share it."""
    mine: Any = false()
    if scope.units:
        mine = _mine(postgres, scope.units)
    if not scope.all_units:
        return mine
    if not scope.hidden_categories:
        return true()
    shown = or_(Case.category.is_(None), Case.category.not_in(sorted(scope.hidden_categories)))
    return or_(mine, shown)


async def visible_cases(session: AsyncSession, scope: ListScope, f: CaseFilter) -> list[Case]:
    """``repo.list_cases`` limited to what ``scope`` lets its viewer see."""
    if scope.empty:
        return []
    where = and_(*_filter_conditions(f), scope_condition(session, scope))
    stmt = select(Case).where(where).order_by(Case.id).limit(f.limit).offset(f.offset)
    return list((await session.execute(stmt)).scalars())


async def visible_cases_each(
    session: AsyncSession, scope: ListScope, filters: Sequence[CaseFilter]
) -> list[list[Case]]:
    """:func:`visible_cases` for each of ``filters`` (by id, each its own limit and offset), with
    one statement: a UNION ALL of the limited id lists, joined to the cases. A case matching two
    filters is listed under both, as separate calls would list it."""
    found: list[list[Case]] = [[] for _ in filters]
    if scope.empty or not filters:
        return found
    stmt = _each_statement(is_postgres(session), scope, tuple(filters))
    for case, i in await session.execute(stmt):
        found[i].append(case)
    return found


@functools.lru_cache(maxsize=512)
def _each_statement(postgres: bool, scope: ListScope, filters: tuple[CaseFilter, ...]) -> Any:
    """The statement of :func:`visible_cases_each`, built once per (scope, filters): 待办 asks
    the same few lists for every person of a unit, and building the UNION (its subqueries'
    columns, its cache key) costs more than running it."""
    scoped = _scope_condition(postgres, scope)
    parts = [
        select(Case.id.label("case_id"), literal(i).label("pos"))
        .where(*_filter_conditions(f), scoped)
        .order_by(Case.id)
        .limit(f.limit)
        .offset(f.offset)
        .subquery()
        for i, f in enumerate(filters)
    ]
    picked = union_all(*(select(part.c.case_id, part.c.pos) for part in parts)).subquery()
    stmt = select(Case, picked.c.pos).join(picked, picked.c.case_id == Case.id).order_by(picked.c.pos, Case.id)
    return stmt
