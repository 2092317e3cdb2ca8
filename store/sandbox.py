"""The sandbox's chat history (``sandbox_messages``) and its clock offset (``settings``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from store import settings
from store.db import Session
from store.models import Person, PersonRole, SandboxMessage

#: the office clock's offset from the real one, in seconds (``settings``)
CLOCK_OFFSET = "sandbox_clock_offset"
#: the newest lines a chat page shows
HISTORY = 200


async def add(
    session: Session,
    *,
    channel: str,
    recipient: str,
    direction: str,
    kind: str,
    text: str,
    at: datetime,
    data: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> SandboxMessage:
    row = SandboxMessage(
        channel=channel,
        recipient=recipient,
        direction=direction,
        kind=kind,
        text=text,
        data=data,
        task_id=task_id or None,
        at=at,
    )
    session.add(row)
    await session.flush()
    return row


async def replace_card(session: Session, task_id: str, card: dict[str, Any], at: datetime) -> SandboxMessage | None:
    """Change the card sent with ``task_id`` (greyed after a click); None when it was never shown."""
    row = (
        await session.execute(select(SandboxMessage).where(SandboxMessage.task_id == task_id).limit(1))
    ).scalar_one_or_none()
    if row is None:
        return None
    row.data = card
    row.updated_at = at
    await session.flush()
    return row


async def history(session: Session, channel: str, recipient: str, limit: int = HISTORY) -> list[SandboxMessage]:
    """The chat's newest ``limit`` lines, oldest first."""
    stmt = (
        select(SandboxMessage)
        .where(SandboxMessage.channel == channel, SandboxMessage.recipient == recipient)
        .order_by(SandboxMessage.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.execute(stmt)).scalars().all()))


async def counts(session: Session, channel: str) -> dict[str, int]:
    """How many lines each chat of ``channel`` holds (the picker shows who has messages)."""
    stmt = (
        select(SandboxMessage.recipient, func.count())
        .where(SandboxMessage.channel == channel, SandboxMessage.direction == "out")
        .group_by(SandboxMessage.recipient)
    )
    return {row[0]: int(row[1]) for row in await session.execute(stmt)}


async def clock_offset(session: Session) -> float:
    value = await settings.get(session, CLOCK_OFFSET)
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


async def set_clock_offset(session: Session, seconds: float, now: datetime) -> None:
    await settings.put(session, CLOCK_OFFSET, f"{seconds:.3f}", now)


async def card_of(session: Session, task_id: str) -> dict[str, Any] | None:
    """The card shown for ``task_id`` as it is now (greyed once closed)."""
    stmt = select(SandboxMessage.data).where(SandboxMessage.task_id == task_id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def history_of(session: Session, recipients: list[str], limit: int = HISTORY) -> list[SandboxMessage]:
    """The newest ``limit`` lines the bot sent to any of ``recipients`` (people), oldest first."""
    if not recipients:
        return []
    stmt = (
        select(SandboxMessage)
        .where(
            SandboxMessage.channel == "user",
            SandboxMessage.recipient.in_(recipients),
            SandboxMessage.direction == "out",
        )
        .order_by(SandboxMessage.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.execute(stmt)).scalars().all()))


async def people_and_roles(session: Session) -> list[tuple[Person, list[tuple[str, int | None]]]]:
    """Every person (active first, then by id) with their roles and the roles' units."""
    people = list((await session.execute(select(Person).order_by(Person.active.desc(), Person.id))).scalars())
    roles: dict[int, list[tuple[str, int | None]]] = {}
    for row in (await session.execute(select(PersonRole).order_by(PersonRole.id))).scalars():
        roles.setdefault(row.person_id, []).append((row.role, row.unit_id))
    return [(p, roles.get(p.id, [])) for p in people]


async def roles_of(session: Session, person_id: int) -> list[tuple[str, int | None]]:
    """One person's roles and the roles' units."""
    stmt = select(PersonRole.role, PersonRole.unit_id).where(PersonRole.person_id == person_id).order_by(PersonRole.id)
    return [(row[0], row[1]) for row in await session.execute(stmt)]
