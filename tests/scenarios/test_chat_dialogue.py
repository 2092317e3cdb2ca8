"""The dialogue table at work in chat: parts given early are walked past, a card's button still
works after the dialogue timed out, and a new dialogue replaces the one in progress."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from tests.fakes.office import Office

ATTITUDE = "反映问题属实，我局高度重视。"
PROCESS = "已责令该公司于11月10日前结清全部欠薪，并约谈负责人，公司已书面承诺。"


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def test_parts_sent_with_the_command_are_walked_past(office: Office) -> None:
    n = (await office.register())["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"回复 {n} 表明态度：{ATTITUDE}工作过程：{PROCESS}")
    assert "请先选择属实程度" in office.last_text("zhangsan")
    await office.click("zhangsan", office.card("zhangsan", "truth").task_id, "属实")
    assert "核查情况" in office.last_text("zhangsan")  # 表明态度 and 工作过程 are kept
    await office.say("zhangsan", "11月3日派员实地核查工资台账。")
    assert "网友反馈" in office.last_text("zhangsan")
    await office.say("zhangsan", "已电话联系网友，网友表示认可。")
    preview = office.card("zhangsan", "preview")
    assert ATTITUDE in preview.text and PROCESS in preview.text
    await office.say("zhangsan", "提交")
    assert (await office.case(n))["state"] == "submitted"


async def test_a_truth_button_after_a_timeout_starts_the_reply_again(office: Office, clock: ManualClock) -> None:
    n = (await office.register())["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.click("zhangsan", office.card("zhangsan", "handle").task_id, "填报办理结果")
    clock.advance(minutes=31)
    await office.click("zhangsan", office.card("zhangsan", "truth").task_id, "基本属实")
    assert "表明态度" in office.last_text("zhangsan")
    await office.say("zhangsan", ATTITUDE)
    assert "工作过程" in office.last_text("zhangsan")


async def test_a_new_dialogue_replaces_the_one_in_progress(office: Office) -> None:
    first = (await office.register())["number"]
    await office.say("zhangsan", f"签收 {first}")
    await office.click("zhangsan", office.card("zhangsan", "handle").task_id, "填报办理结果")
    second = (await office.register())["number"]
    await office.click("zhangsan", office.card("zhangsan", "assign").task_id, "退回")
    assert "退回原因" in office.last_text("zhangsan")
    await office.say("zhangsan", "此事属于住建部门职责，建议交区住建局办理。")
    assert (await office.case(second))["state"] == "returned"
    assert (await office.case(first))["state"] == "accepted"
    await office.say("zhangsan", "属实")  # the reply dialogue of the first case is gone
    assert "没有理解" in office.last_text("zhangsan")
