"""The directory from chat, on WeCom and DingTalk (issue 13): an account of someone else is
refused with the match shown, people are deactivated, and an assignment nobody can receive
warns the dispatchers and the admins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from tests.fakes.office import Office


@pytest.fixture(params=["wecom"])  # admin commands: DingTalk in HTTP mode refuses them (test_dingtalk_http_replay)
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def test_an_account_of_someone_else_is_refused(office: Office) -> None:
    await office.say("wugl", "添加成员 区住建局 王五 sundc")
    answer = office.last_text("wugl")
    assert "孙督查" in answer and "sundc" in answer
    await office.say("wugl", "单位列表")
    answer = office.last_text("wugl")
    assert "王五" not in answer and "赵住建(承办人，zhaozj" in answer


async def test_assignment_nobody_receives_warns_dispatchers_and_admins(office: Office) -> None:
    number = (await office.register(unit="区信访局", category="其他"))["number"]
    for user in ("qiandj", "wugl"):
        assert any("【无人接收】" in t and number in t for t in office.texts(user)), user
    await office.say("wugl", "单位列表")
    assert "区信访局（简称 -）" in office.last_text("wugl") and "没有可接收消息的承办人" in office.last_text("wugl")


async def test_deactivated_people_get_nothing(office: Office) -> None:
    await office.say("wugl", "停用人员 张三")
    assert "已停用" in office.last_text("wugl")
    await office.register()
    assert not office.cards("zhangsan", "assign") and office.card("limei", "assign")
    assert not any("【无人接收】" in t for t in office.texts("wugl"))
    await office.say("wugl", "停用人员 limei")
    number = (await office.register(title="另一件欠薪", source_ref="R-2"))["number"]
    assert any("【无人接收】" in t and number in t for t in office.texts("wugl"))
