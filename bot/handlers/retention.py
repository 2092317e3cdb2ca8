"""Housekeeping run by the scheduled tick: forget processed inbound events once no retry or
replay can arrive any more, and one-time tokens past their validity."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from bot.handlers.deps import Deps
from store import retention, settings

#: How long a processed event's dedupe key is kept. It must outlast every window in which the
#: same callback can still be accepted: WeCom retries within seconds and its timestamps are taken
#: 15 minutes either way; a DingTalk HTTP header pair verifies for an hour (and an identical
#: redelivery is left to this dedupe); Stream redeliveries come within minutes.
DEDUPE_WINDOW: Final = timedelta(hours=2)


async def prune(deps: Deps) -> tuple[int, int]:
    """(inbound events, one-time tokens) deleted."""
    now = deps.clock.now()
    async with deps.sessions() as session, session.begin():
        events = await retention.prune_inbound(session, now - DEDUPE_WINDOW)
        tokens = await settings.prune_seen(session, now)
    return events, tokens
