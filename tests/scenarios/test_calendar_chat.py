"""A calendar change made by another process is used by the chat at once (inbound worker), on
WeCom and DingTalk, and the unit whose deadline moved is told (issue 13)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.clock import ManualClock
from bot.handlers.calendar_change import override_day
from bot.handlers.notify import ChatNotifier
from tests.fakes.calendar_change import ADMIN, WED, second_process
from tests.fakes.office import Office


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def test_chat_uses_a_change_of_another_process_at_once(office: Office, db_url: str, clock: ManualClock) -> None:
    first = (await office.register())["number"]  # assigned Monday 11-02: due Monday 11-09
    second = (await office.register(unit=None, category="其他", title="路灯坏了"))["number"]
    other, engine = await second_process(db_url, clock)
    try:
        other.notifier = ChatNotifier(
            office.runtime.config, other.calendar, clock, office.runtime.deps.link_secret
        )  # e.g. `liuyan calendar set`
        await override_day(other, WED, False, "", ADMIN)
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    await office.settle()
    # the unit of the open case is told its deadline moved
    assert any("【期限调整】" in t and first in t and "2026-11-10 17:30" in t for t in office.texts("zhangsan"))
    # the next chat step of this process computes with the new calendar without a restart
    await office.say("qiandj", f"交办 {second} 区住建局")
    case = await office.case(second)
    assert case["due_at"].startswith("2026-11-10T17:30"), case["due_at"]
    assert not office.runtime.deps.calendar.current.is_workday(date(2026, 11, 4))
