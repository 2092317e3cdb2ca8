"""Pending chat dialogues: one row per (platform, user) with an expiry (bot/handlers/dialogue.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Dialogue

# built once: the inbound worker asks this for every text it handles (building a statement and
# its cache key costs more than running it)
_OF_USER = select(Dialogue).where(Dialogue.platform == bindparam("platform"), Dialogue.user_key == bindparam("user"))


async def live(session: AsyncSession, platform: str, user: str, now: datetime) -> Dialogue | None:
    """The person's pending dialogue, or None; an expired one is removed on the way."""
    row = (await session.execute(_OF_USER, {"platform": platform, "user": user})).scalar_one_or_none()
    if row is None:
        return None
    if row.expires_at <= now:
        await session.delete(row)
        return None
    return row


async def put(
    session: AsyncSession,
    platform: str,
    user: str,
    *,
    kind: str,
    case_id: int | None,
    data: dict[str, Any],
    expires_at: datetime,
) -> None:
    """Create or replace the person's pending dialogue."""
    row = (await session.execute(_OF_USER, {"platform": platform, "user": user})).scalar_one_or_none()
    if row is None:
        session.add(
            Dialogue(platform=platform, user_key=user, kind=kind, case_id=case_id, data=data, expires_at=expires_at)
        )
    else:
        row.kind, row.case_id, row.data, row.expires_at = kind, case_id, data, expires_at
    await session.flush()


async def drop(session: AsyncSession, platform: str, user: str) -> None:
    await session.execute(delete(Dialogue).where(Dialogue.platform == platform, Dialogue.user_key == user))
