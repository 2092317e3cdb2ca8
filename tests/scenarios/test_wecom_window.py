"""WeCom callbacks are refused when their signed ``timestamp`` is outside the window that still
covers WeCom's retries (15 minutes either way): an old captured callback does not run again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.platforms.wecom.callback import MAX_SKEW_SECONDS
from store.models import InboundEvent
from tests.fakes.office import Office


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, "wecom")
    yield o
    await o.close()


async def stored(office: Office) -> int:
    async with office.runtime.deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(InboundEvent))).scalar_one())


def test_the_window_covers_the_retries_and_some_clock_skew() -> None:
    assert MAX_SKEW_SECONDS == 15 * 60  # four deliveries ~5 s apart, plus clock skew; in README


@pytest.mark.parametrize("offset", [-(15 * 60 + 1), 15 * 60 + 1, 1_500_000_000 - 1_793_581_200])
async def test_a_callback_outside_the_window_changes_nothing(office: Office, clock: ManualClock, offset: int) -> None:
    now = int(clock.now().timestamp())
    req = office.callbacks.text("zhangsan", "帮助", timestamp=str(now + offset))
    assert await office.deliver(req) == 400
    assert await stored(office) == 0 and office.texts("zhangsan") == []


@pytest.mark.parametrize("offset", [-15 * 60, -20, 0, 15 * 60])
async def test_a_callback_inside_the_window_is_taken(office: Office, clock: ManualClock, offset: int) -> None:
    now = int(clock.now().timestamp())
    req = office.callbacks.text("zhangsan", "帮助", timestamp=str(now + offset))
    assert await office.deliver(req) == 200
    assert await stored(office) == 1
