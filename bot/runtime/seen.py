"""The one-time-token port (``bot.ports.FirstUse``) backed by the database, so a token seen by one
process is refused by every other sharing the database."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.handlers.deps import Deps
from bot.ports import FirstUse
from store import settings


def first_use(deps: Deps) -> FirstUse:
    async def claim(scope: str, token: str, binding: str, expires_at: float) -> bool:
        async with deps.sessions() as session, session.begin():
            when = datetime.fromtimestamp(expires_at, UTC)
            return await settings.first_use_bound(session, scope, token, binding, when)

    return claim
