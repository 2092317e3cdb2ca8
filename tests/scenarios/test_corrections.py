"""Corrections (issue 13), each with its timeline entry: 改派 before 签收 — on WeCom and DingTalk,
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from tests.scenarios.office import Office


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def test_reassign_before_acceptance(office: Office) -> None:
    n = (await office.register())["number"]
    assert office.card("zhangsan", "assign").clickable
    await office.say("qiandj", f"改派 {n} 区住建局")
    assert "已改派区住建局" in office.last_text("qiandj")
    data = await office.case(n)
    assert (data["state"], data["unit"]) == ("assigned", "区住建局")
    last = data["timeline"][-1]
    assert (last["action"], last["actor"], last["label"]) == ("reassign", "钱登记", "改派")
    # the old unit's cards are greyed and it is told; the new unit gets its card
    for user in ("zhangsan", "limei"):
        assert "已改派" in (office.card(user, "assign").closed or "")
    assert "【改派】" in office.last_text("zhangsan") and "无须办理" in office.last_text("zhangsan")
    card = office.card("zhaozj", "assign")
    assert card.clickable
    # the old unit can no longer act; the new one signs, after which 改派 is refused
    await office.say("zhangsan", f"签收 {n}")
    assert "不是此件承办单位的成员" in office.last_text("zhangsan")
    await office.click("zhaozj", card.task_id, "签收")
    assert (await office.case(n))["state"] == "accepted"
    await office.say("qiandj", f"改派 {n} 区人社局")
    assert "不能交办" in office.last_text("qiandj") or "不能改派" in office.last_text("qiandj")
    assert (await office.case(n))["unit"] == "区住建局"
