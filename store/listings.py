"""Listings for operators (the command line): cases with their unit's name, people with their roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.directory import unit_names
from store.models import Case, Person, PersonRole, Unit
from store.repo import CaseFilter, list_cases


async def cases_with_unit_names(session: AsyncSession, f: CaseFilter) -> list[tuple[Case, str]]:
    """The cases ``list_cases`` finds, each with its unit's name ("" when unassigned)."""
    cases = await list_cases(session, f)
    names = await unit_names(session, [c.unit_id for c in cases if c.unit_id])
    return [(c, names.get(c.unit_id, "") if c.unit_id else "") for c in cases]


@dataclass(frozen=True)
class PersonListing:
    name: str
    wecom_userid: str | None
    dingtalk_userid: str | None
    #: (role, unit name or "" for an office-wide role), by role
    roles: list[tuple[str, str]] = field(default_factory=list)
    active: bool = True
    id: int = 0


async def people_with_roles(session: AsyncSession) -> list[PersonListing]:
    """Every person (in the order they were added) with their roles, in two queries."""
    people = list((await session.execute(select(Person).order_by(Person.id))).scalars())
    stmt = (
        select(PersonRole.person_id, PersonRole.role, PersonRole.unit_id, Unit.name)
        .outerjoin(Unit, Unit.id == PersonRole.unit_id)
        # the order SQLite has always shown (its unique index): by role, office-wide before units
        .order_by(PersonRole.person_id, PersonRole.role, PersonRole.unit_id.is_not(None), PersonRole.unit_id)
    )
    roles: dict[int, list[tuple[str, str]]] = {}
    for person_id, role, unit_id, unit_name in await session.execute(stmt):
        unit_text = "" if not unit_id else (unit_name if unit_name is not None else str(unit_id))
        roles.setdefault(person_id, []).append((role, unit_text))
    return [
        PersonListing(p.name, p.wecom_userid, p.dingtalk_userid, roles.get(p.id, []), p.active, p.id) for p in people
    ]
