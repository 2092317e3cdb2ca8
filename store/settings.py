"""Generated-once values kept in the database (``settings``), and one-time tokens (``seen_tokens``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, exists, select, update

from store.db import Session
from store.dialect import insert_ignore
from store.models import SeenToken, Setting


async def get_or_create(session: Session, name: str, make: Callable[[], str], now: datetime) -> str:
    """The stored value of ``name``; the first caller stores ``make()`` (race-safe across processes:
    whoever inserts first wins, everyone reads the winner's value)."""
    await session.execute(insert_ignore(session, Setting, ["name"], {"name": name, "value": make(), "created_at": now}))
    return (await session.execute(select(Setting.value).where(Setting.name == name))).scalar_one()


async def get(session: Session, name: str) -> str | None:
    return (await session.execute(select(Setting.value).where(Setting.name == name))).scalar_one_or_none()


async def put(session: Session, name: str, value: str, now: datetime) -> None:
    """Store ``value`` under ``name`` (insert or replace)."""
    await session.execute(insert_ignore(session, Setting, ["name"], {"name": name, "value": value, "created_at": now}))
    await session.execute(update(Setting).where(Setting.name == name).values(value=value))


async def claim_change(session: Session, name: str, value: str, now: datetime) -> bool:
    """Store ``value`` under ``name`` when it differs from the stored one; True for the one caller
    that changed it (race-safe: a concurrent caller waits for the row and then finds it equal)."""
    stmt = insert_ignore(session, Setting, ["name"], {"name": name, "value": value, "created_at": now}, ["name"])
    if (await session.execute(stmt)).first() is not None:
        return True
    result = await session.execute(
        update(Setting).where(Setting.name == name, Setting.value != value).values(value=value)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def first_use(session: Session, scope: str, token: str, expires_at: datetime) -> bool:
    """Record ``token`` as used; False when it was used before (a replay)."""
    stmt = insert_ignore(
        session, SeenToken, ["scope", "token"], {"scope": scope, "token": token, "expires_at": expires_at}, ["id"]
    )
    return (await session.execute(stmt)).first() is not None


async def first_use_bound(session: Session, scope: str, token: str, binding: str, expires_at: datetime) -> bool:
    """Like :func:`first_use`, but a repeat of ``token`` together with the ``binding`` it was first
    used with (e.g. the same request body: a redelivery) is accepted again; with anything else
    it is refused. Only an accepted first use records the binding."""
    bound = hashlib.sha256(f"{token}\n{binding}".encode()).hexdigest()
    if await first_use(session, scope, token, expires_at):
        await first_use(session, f"{scope}/bound", bound, expires_at)
        return True
    seen = exists().where(SeenToken.scope == f"{scope}/bound", SeenToken.token == bound)
    return bool((await session.execute(select(seen))).scalar())


async def prune_seen(session: Session, now: datetime) -> int:
    """Forget tokens past their window; returns how many."""
    result = await session.execute(delete(SeenToken).where(SeenToken.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
