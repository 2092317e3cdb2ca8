"""The key of detail links: ``[server] link_secret`` when set, else a random value generated at
first start and kept in the database (``settings`` row ``link_secret``), so every process sharing
the database signs and checks links with the same key. Never derived from the API token: a
leaked intake token must not let anyone mint links (issue 10).

Rotate: set ``[server] link_secret`` (on every process) or delete the settings row and restart —
every link already sent stops working (docs/threat-model.md)."""

from __future__ import annotations

import secrets

from bot.clock import Clock
from bot.config import Config
from store import settings
from store.db import Sessions

SETTING = "link_secret"


def _generate() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


async def load_link_secret(config: Config, sessions: Sessions, clock: Clock) -> bytes:
    """The link key for this process (read once at start)."""
    if config.server.link_secret:
        return config.server.link_secret.encode("utf-8")
    async with sessions() as session, session.begin():
        value = await settings.get_or_create(session, SETTING, _generate, clock.now())
    return value.encode("utf-8")
