"""Housekeeping: processed inbound events are forgotten after the dedupe window, one-time tokens
after their expiry; pending or failed events and live tokens stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.handlers import retention
from bot.handlers.deps import Deps
from store import inbox, settings
from store.models import InboundEvent, SeenToken


async def test_old_processed_events_and_expired_tokens_are_pruned(deps: Deps, clock: ManualClock) -> None:
    now = clock.now()
    old = now - retention.DEDUPE_WINDOW - timedelta(minutes=1)
    recent = now - retention.DEDUPE_WINDOW + timedelta(minutes=1)
    async with deps.sessions() as session, session.begin():
        rows = [
            inbox.event_row("wecom", key, "text", {}, old if key.startswith("old") else recent)
            for key in ("old-done", "old-pending", "old-failed", "recent-done")
        ]
        await inbox.store_events(session, rows)
        for row in (await session.execute(select(InboundEvent))).scalars():
            if row.dedupe_key.endswith("done"):
                row.status, row.processed_at = "done", row.received_at
            elif row.dedupe_key.endswith("failed"):
                row.status, row.processed_at = "failed", row.received_at
        await settings.first_use(session, "dingtalk-sign", "expired", now - timedelta(seconds=1))
        await settings.first_use(session, "dingtalk-sign", "live", now + timedelta(minutes=30))
    assert await retention.prune(deps) == (1, 1)
    async with deps.sessions() as session:
        keys = set((await session.execute(select(InboundEvent.dedupe_key))).scalars())
        tokens = set((await session.execute(select(SeenToken.token))).scalars())
    assert keys == {"old-pending", "old-failed", "recent-done"}
    assert tokens == {"live"}
    assert await retention.prune(deps) == (0, 0)


def test_the_window_outlasts_every_replay_window() -> None:
    # DingTalk HTTP pairs verify for an hour; WeCom timestamps are taken 15 minutes either way
    assert timedelta(hours=1, minutes=30) <= retention.DEDUPE_WINDOW
