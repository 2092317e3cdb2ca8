"""Case lists as a viewer may see them: the SQL form of ``bot.domain.visibility.ListScope``.

``in_scope`` (the Python twin) and :func:`scope_condition` must agree; tests/store/
test_visible_lists.py checks that on SQLite and PostgreSQL. ``co_unit_ids`` is a JSON array, so
"a co-unit is one of mine" reads the array with each dialect's JSON table function.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, and_, cast, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.visibility import ListScope
from store.dialect import is_postgres
from store.models import Case
from store.repo import CaseFilter, _filter_conditions


def _co_unit_in(session: AsyncSession, units: frozenset[int]) -> Any:
    # a case without co-units (most of them) is ruled out by a plain comparison before the JSON
    # array is opened: about half the time of a list scan (bench/README.md, "Desk")
    return and_(cast(Case.co_unit_ids, String) != "[]", _co_unit_member(session, units))


def _co_unit_member(session: AsyncSession, units: frozenset[int]) -> Any:
    if is_postgres(session):
        elements = func.json_array_elements_text(Case.co_unit_ids).table_valued("value")
        return exists(select(1).select_from(elements).where(cast(elements.c.value, Integer).in_(sorted(units))))
    elements = func.json_each(Case.co_unit_ids).table_valued("value")
    return exists(select(1).select_from(elements).where(cast(elements.c.value, Integer).in_(sorted(units))))


def scope_condition(session: AsyncSession, scope: ListScope) -> Any:
    """A WHERE clause true exactly for the cases ``in_scope(scope, case)`` accepts."""
    mine: Any = false()
    if scope.units:
        mine = or_(Case.unit_id.in_(sorted(scope.units)), _co_unit_in(session, scope.units))
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
