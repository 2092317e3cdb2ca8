"""Units, people and their roles: the directory the use cases look people up in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, or_, select

from bot.domain.lifecycle import Actor
from bot.domain.states import UNIT_ROLES, Role
from store.db import Session
from store.models import Person, PersonRole, Unit

# --- units ---------------------------------------------------------------------------------------


async def unit_named(session: Session, name: str) -> Unit | None:
    """The unit with exactly this name (not its code: the config bootstrap keys units by name)."""
    return (await session.execute(select(Unit).where(Unit.name == name))).scalar_one_or_none()


async def units_named_or_coded(session: Session, text: str) -> list[Unit]:
    """Every unit whose name or code is ``text`` (a new name or code must not collide with any)."""
    stmt = select(Unit).where(or_(Unit.name == text, Unit.code == text)).order_by(Unit.id)
    return list((await session.execute(stmt)).scalars())


async def unit_names_and_codes(session: Session) -> set[str]:
    """Every unit name and code in the database (what a case may be routed to)."""
    rows = await session.execute(select(Unit.name, Unit.code))
    return {v for row in rows for v in row if v}


def add_unit(session: Session, name: str, *, now: datetime) -> Unit:
    """A new active unit in ``session`` (written at the next flush)."""
    unit = Unit(name=name, active=True, created_at=now)
    session.add(unit)
    return unit


def add_person(session: Session, name: str, *, now: datetime) -> Person:
    """A new active person in ``session`` (written at the next flush)."""
    person = Person(name=name, active=True, created_at=now)
    session.add(person)
    return person


# --- people and roles ---------------------------------------------------------------------------


async def person_by_id(session: Session, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def unit_by_name(session: Session, name: str) -> Unit | None:
    stmt = select(Unit).where(or_(Unit.name == name.strip(), Unit.code == name.strip()))
    return (await session.execute(stmt)).scalars().first()


async def unit_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))
    return {row.id: row.name for row in rows}


async def list_units(session: Session) -> list[Unit]:
    return list((await session.execute(select(Unit).order_by(Unit.name))).scalars())


# built once: every inbound event looks up its sender (building a statement and its cache key
# costs more than running it)
_BY_PLATFORM = {
    "wecom": select(Person).where(Person.wecom_userid == bindparam("user")),
    "dingtalk": select(Person).where(Person.dingtalk_userid == bindparam("user")),
}
_ROLES_OF = select(PersonRole).where(PersonRole.person_id == bindparam("person"))


async def person_by_platform(session: Session, platform: str, user_id: str) -> Person | None:
    if platform == "sandbox":  # the sandbox's user id is the directory id (bot.handlers.messaging)
        if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 18):
            return None
        return await session.get(Person, int(user_id))
    stmt = _BY_PLATFORM["wecom" if platform == "wecom" else "dingtalk"]
    return (await session.execute(stmt, {"user": user_id})).scalar_one_or_none()


async def person_by_name(session: Session, name: str) -> list[Person]:
    return list((await session.execute(select(Person).where(Person.name == name).order_by(Person.id))).scalars())


async def people_by_name_or_id(session: Session, text: str) -> list[Person]:
    """The people named ``text`` or having it as a WeCom or DingTalk id."""
    stmt = (
        select(Person)
        .where(or_(Person.name == text, Person.wecom_userid == text, Person.dingtalk_userid == text))
        .order_by(Person.id)
    )
    return list((await session.execute(stmt)).scalars())


async def members_of(session: Session, unit_id: int) -> list[tuple[Person, str]]:
    """The unit's people with their unit role (active or not), by role then id."""
    stmt = (
        select(Person, PersonRole.role)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.unit_id == unit_id)
        .order_by(PersonRole.role, Person.id)
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def actor_for(session: Session, person: Person) -> Actor:
    rows = (await session.execute(_ROLES_OF, {"person": person.id})).scalars()
    roles: set[Role] = set()
    units: set[int] = set()
    for row in rows:
        role = Role(row.role)
        roles.add(role)
        if role in UNIT_ROLES and row.unit_id is not None:
            units.add(row.unit_id)
    return Actor(name=person.name, roles=frozenset(roles), unit_ids=frozenset(units), person_id=person.id)


async def grant_role(session: Session, person_id: int, role: Role, unit_id: int | None) -> bool:
    """Give a role (idempotent). Returns False when the person already had it."""
    stmt = select(PersonRole).where(
        PersonRole.person_id == person_id,
        PersonRole.role == role.value,
        PersonRole.unit_id.is_(None) if unit_id is None else PersonRole.unit_id == unit_id,
    )
    if (await session.execute(stmt)).scalar_one_or_none() is not None:
        return False
    session.add(PersonRole(person_id=person_id, role=role.value, unit_id=unit_id))
    await session.flush()
    return True


async def revoke_role(session: Session, person_id: int, role: Role, unit_id: int | None) -> bool:
    stmt = select(PersonRole).where(
        PersonRole.person_id == person_id,
        PersonRole.role == role.value,
        PersonRole.unit_id.is_(None) if unit_id is None else PersonRole.unit_id == unit_id,
    )
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        return False
    await session.delete(row)
    return True


async def people_with_role(session: Session, role: Role, unit_id: int | None = None) -> list[Person]:
    stmt = (
        select(Person)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.role == role.value, Person.active.is_(True))
    )
    if unit_id is not None:
        stmt = stmt.where(PersonRole.unit_id == unit_id)
    stmt = stmt.order_by(Person.id).distinct()
    return list((await session.execute(stmt)).scalars())


async def roles_of(session: Session, person_id: int) -> list[tuple[str, int | None]]:
    rows = await session.execute(select(PersonRole.role, PersonRole.unit_id).where(PersonRole.person_id == person_id))
    return [(r.role, r.unit_id) for r in rows]
