"""The scheduled tick forgets processed inbound events once the dedupe window has passed."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.handlers.retention import DEDUPE_WINDOW
from store.models import InboundEvent
from tests.fakes.office import Office


async def events(office: Office) -> int:
    async with office.runtime.deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(InboundEvent))).scalar_one())


async def test_the_tick_prunes_inbound_events(db_url: str, clock: ManualClock) -> None:
    office = await Office.open(db_url, clock, "dingtalk")
    try:
        await office.say("zhangsan", "帮助")
        assert await events(office) == 1
        await office.runtime.channels.jobs.tick()
        assert await events(office) == 1  # still within the window: a replay is a duplicate
        clock.advance(seconds=DEDUPE_WINDOW.total_seconds() + 60)
        await office.runtime.channels.jobs.tick()
        assert await events(office) == 0
    finally:
        await office.close()
