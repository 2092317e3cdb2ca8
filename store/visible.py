"""Case lists as a viewer may see them: the SQL form of ``bot.domain.visibility.ListScope``.

``in_scope`` (the Python twin) and :func:`scope_condition` must agree; tests/store/
test_visible_lists.py checks that on SQLite and PostgreSQL. ``co_unit_ids`` is a JSON array, so
"a co-unit is one of mine" reads the array with each dialect's JSON table function.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, cast, exists, false, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.visibility import ListScope
from store.dialect import is_postgres
from store.models import Case
from store.repo import CaseFilter, _filter_conditions


def _co_unit_in(postgres: bool, units: frozenset[int]) -> Any:
    if postgres:
        elements = func.json_array_elements_text(Case.co_unit_ids).table_valued("value")
        return exists(select(1).select_from(elements).where(cast(elements.c.value, Integer).in_(sorted(units))))
    elements = func.json_each(Case.co_unit_ids).table_valued("value")
    return exists(select(1).select_from(elements).where(cast(elements.c.value, Integer).in_(sorted(units))))


def scope_condition(session: AsyncSession, scope: ListScope) -> Any:
    """A WHERE clause true exactly for the cases ``in_scope(scope, case)`` accepts."""
    return _scope_condition(is_postgres(session), scope)


def _scope_condition(postgres: bool, scope: ListScope) -> Any:
    mine: Any = false()
    if scope.units:
        mine = or_(Case.unit_id.in_(sorted(scope.units)), _co_unit_in(postgres, scope.units))
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
