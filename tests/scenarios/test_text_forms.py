"""Every button has its text form, and 帮助 lists what the asker's roles may use (issues 12, 14):
the buttons that had none — 批准延期 / 不批准, 回访, 催办 / 督办 of a unit, the 统一回复 buttons' own
words — done by text, on WeCom and DingTalk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.clock import ManualClock
from tests.conftest import SHANGHAI
from tests.fakes.office import Office

REPLY = (
    "回复 {n} 属实 表明态度：感谢网友留言，我局高度重视。工作过程：已责令该公司于11月10日前结清全部欠薪，"
    "并约谈负责人，公司已书面承诺。核查情况：11月3日派员实地核查工资台账。网友反馈：已电话联系网友，网友表示认可。"
)


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def approved(office: Office) -> str:
    n = str((await office.register())["number"])
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", REPLY.format(n=n))
    await office.say("zhangsan", "提交")
    await office.say("sundc", f"审核通过 {n}")
    assert (await office.case(n))["state"] == "approved"
    return n


async def test_help_lists_only_my_commands(office: Office) -> None:
    await office.say("zhangsan", "帮助")
    mine = office.last_text("zhangsan")
    assert "签收 <文号>" in mine and "协办意见" in mine and "承办人" in mine
    assert "交办 <文号>" not in mine and "添加单位" not in mine and "审定清单" not in mine
    await office.say("zhousj", "帮助")
    leader = office.last_text("zhousj")
    assert "审定清单" in leader and "同意 <文号>" in leader and "签收 <文号>" not in leader
    # DingTalk's HTTP mode (the office's DingTalk side) refuses directory commands, the sender not
    # being signed: 帮助 says so instead of listing them; WeCom lists them
    await office.say("wugl", "帮助")
    admin = office.last_text("wugl")
    if office.side(None).platform == "dingtalk":
        assert "添加单位" not in admin and "不受理管理命令" in admin and "办理台“管理”页" in admin
    else:
        assert "添加单位 <名称>" in admin and "不受理" not in admin
    await office.say("sundc", "帮助")
    supervisor = office.last_text("sundc")
    assert "批准延期" in supervisor and "催办 <单位>" in supervisor and "统一回复" not in supervisor


async def test_extension_decided_by_text(office: Office) -> None:
    n = (await office.register(complex=True))["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"延期 {n} 涉及多个部门，需要协调资金 5")
    await office.say("zhangsan", f"批准延期 {n}")  # not theirs to decide
    assert "权限" in office.last_text("zhangsan")
    assert (await office.case(n))["state"] == "extension_requested"
    await office.say("sundc", f"批准延期 {n}")  # the days the unit asked for, as the button
    data = await office.case(n)
    assert data["state"] == "accepted" and data["due_at"].startswith("2026-11-30")
    assert "已批准延期5个工作日" in office.last_text("sundc")
    await office.say("zhangsan", f"延期 {n} 资金仍未到位，需再协调 3")
    await office.say("sundc", f"不批准延期 {n}")  # no comment yet: asked for, as the button
    assert (await office.case(n))["state"] == "extension_requested"
    await office.say("sundc", "请按期办结，资金问题另行协调。")
    data = await office.case(n)
    assert data["state"] == "accepted" and data["due_at"].startswith("2026-11-30")
    assert "已不批准延期" in office.last_text("sundc")


async def test_publication_and_follow_up_by_text(office: Office) -> None:
    n = await approved(office)
    await office.say("qiandj", f"仅公开回复 {n}")
    assert "预览" in office.last_text("qiandj") and (await office.case(n))["state"] == "approved"
    await office.say("qiandj", "确认")
    data = await office.case(n)
    assert data["state"] == "replied" and data["reply_mode"] == "public"
    await office.say("qiandj", f"回访 {n} 满意")  # incomplete: the form is shown, nothing recorded
    assert "回访 <文号> <满意|基本满意|不满意>" in office.last_text("qiandj")
    await office.say("qiandj", f"回访 {n} 满意 已化解 网友表示工资已全部到账。")
    data = await office.case(n)
    assert data["state"] == "closed" and data["resolved"] is True and data["satisfaction"] == "满意"
    m = await approved(office)
    await office.say("qiandj", f"公开并个别回复 {m} 短信")
    await office.say("qiandj", "确认")
    assert (await office.case(m))["reply_mode"] == "both"
    await office.say("qiandj", f"回访 {m} 不满意 未化解 公司承诺12月20日前付清。")
    data = await office.case(m)
    assert data["state"] == "tracking" and data["satisfaction"] == "不满意"


async def test_urge_and_supervise_a_unit_by_text(office: Office, clock: ManualClock) -> None:
    n = (await office.register())["number"]
    clock.set(datetime(2026, 11, 20, 9, 5, tzinfo=SHANGHAI))  # long past its 5 working days
    await office.say("zhangsan", "催办 区人社局")
    assert "只有督查员" in office.last_text("zhangsan")
    await office.say("sundc", "催办 区某局")
    assert "请写明已登记的单位名称" in office.last_text("sundc")
    await office.say("sundc", "催办 区人社局")
    assert "催办" in office.last_text("zhangsan") and n in office.last_text("zhangsan")
    await office.say("sundc", "单位督办 区人社局")
    assert "督办通知" in office.last_text("wangkz") and n in office.last_text("wangkz")
    actions = [e["action"] for e in (await office.case(n))["timeline"]]
    assert "urge" in actions and "supervise" in actions


async def test_an_answer_that_starts_with_a_command_word_stays_an_answer(office: Office) -> None:
    n = (await office.register())["number"]
    await office.click("zhangsan", office.card("zhangsan", "assign").task_id, "退回")
    await office.say("zhangsan", "催办多次未果，此事属于住建部门职责，建议交区住建局办理。")
    data = await office.case(n)
    assert data["state"] == "returned" and data["timeline"][-1]["comment"].startswith("催办多次未果")
    await office.say("sundc", "催办 区人社局")  # as a word of its own it is the command
    assert "没有超期件" in office.last_text("sundc")
