"""The whole workflow in chat, driven only through real callbacks and the fake platforms — the
same scenarios on WeCom and on DingTalk."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.domain.visibility import NOT_VISIBLE
from tests.fakes.office import Office

REPLY = (
    "回复 {n} 属实 表明态度：反映问题属实，我局高度重视。工作过程：已责令该公司于11月10日前结清全部欠薪，"
    "并约谈负责人，公司已书面承诺。核查情况：11月3日派员实地核查工资台账。网友反馈：已电话联系网友，网友表示认可。"
)


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def test_register_to_closed_by_buttons(office: Office) -> None:
    case = await office.register(level="省级")
    n = case["number"]
    # 交办: every handler of the unit gets a card with 签收/退回, linked to a signed detail page
    card = office.card("zhangsan", "assign")
    assert set(card.buttons) == {"签收", "退回"}
    assert n in card.text and "13800138000" not in card.text
    assert card.url and card.url.startswith("https://liuyan.example.gov.cn/cases/")
    assert office.card("limei", "assign").clickable

    await office.click("zhangsan", card.task_id, "签收")
    assert (await office.case(n))["state"] == "accepted"
    # both copies are greyed, naming who did it
    assert "张三" in (office.card("zhangsan", "assign").closed or "")
    li_copy = office.card("limei", "assign")
    assert not li_copy.clickable and "已签收" in (li_copy.closed or "")
    assert "已签收" in office.last_text("zhangsan")

    # 填报办理结果: guided dialogue — 属实程度 by button, four parts by text, preview, 提交
    handle = office.card("zhangsan", "handle")
    await office.click("zhangsan", handle.task_id, "填报办理结果")
    truth = office.card("zhangsan", "truth")
    await office.click("zhangsan", truth.task_id, "基本属实")
    assert "表明态度" in office.last_text("zhangsan")
    await office.say("zhangsan", "反映问题基本属实，我局高度重视。")
    await office.say("zhangsan", "好")  # a token answer is refused with the reason
    assert "工作过程" in office.last_text("zhangsan") and "不能只写" in office.last_text("zhangsan")
    await office.say("zhangsan", "已责令该公司于11月10日前结清全部欠薪，并约谈负责人，公司已书面承诺整改。")
    await office.say("zhangsan", "11月3日派员实地核查工资台账。")
    await office.say("zhangsan", "已电话联系网友，网友表示认可。")
    preview = office.card("zhangsan", "preview")
    assert "基本属实" in preview.text
    await office.click("zhangsan", preview.task_id, "提交")
    assert (await office.case(n))["state"] == "submitted"

    # 审核 by the supervision office, 审定 by the leader (省级 needs a leader)
    review = office.card("sundc", "review")
    await office.click("sundc", review.task_id, "审核通过")
    approve = office.card("zhousj", "approve")
    await office.click("zhousj", approve.task_id, "同意")
    assert (await office.case(n))["state"] == "approved"

    # 统一回复: the dispatcher marks it published (not published: 个别回复 with a ground of 第十二条)
    publish = office.card("qiandj", "publish")
    await office.click("qiandj", publish.task_id, "不予公开")
    ground = office.card("qiandj", "ground")
    await office.click("qiandj", ground.task_id, "二、明显不合理诉求")
    await office.click("qiandj", office.card("qiandj", "told").task_id, "电话")
    await office.click("qiandj", office.card("qiandj", "publish_preview").task_id, "确认回复")
    data = await office.case(n)
    assert data["state"] == "replied" and data["reply_mode"] == "individual"

    # 回访 closes the case
    followup = office.card("qiandj", "followup")
    await office.click("qiandj", followup.task_id, "满意")
    resolved = office.card("qiandj", "resolved")
    await office.click("qiandj", resolved.task_id, "已化解")
    await office.say("qiandj", "网友表示工资已全部到账，非常满意。")
    data = await office.case(n)
    assert data["state"] == "closed" and data["resolved"] is True and data["satisfaction"] == "满意"
    steps = [e["action"] for e in data["timeline"]]
    assert steps == ["register", "assign", "accept", "submit", "review_pass", "approve", "publish", "follow_up"]
    # nothing was dropped by the platform's per-member limits
    assert office.drops() == []


async def test_return_with_reason_and_reassign(office: Office) -> None:
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    await office.click("zhangsan", card.task_id, "退回")
    assert "退回原因" in office.last_text("zhangsan")
    assert (await office.case(n))["state"] == "assigned"  # nothing happens before the reason
    await office.say("zhangsan", "此事属于住建部门职责，建议交区住建局办理。")
    data = await office.case(n)
    assert data["state"] == "returned"
    assert data["timeline"][-1]["comment"] == "此事属于住建部门职责，建议交区住建局办理。"
    # the dispatcher is told, with the reason, and reassigns from chat
    assert "住建部门职责" in office.last_text("qiandj")
    await office.say("qiandj", f"改派 {n} 区住建局")
    assert (await office.case(n))["unit"] == "区住建局"
    assert office.card("zhaozj", "assign").clickable
    assert not office.card("limei", "assign").clickable


async def test_text_commands_do_everything(office: Office) -> None:
    n = (await office.register())["number"]
    await office.say("zhangsan", f"签收 {n}")
    assert "已签收" in office.last_text("zhangsan")
    await office.say("zhangsan", f"进展 {n} 已完成初步调查，正在协调资金发放。")
    assert "请填写回复建议" in office.last_text("zhangsan")  # 第十条 "并提出回复建议"
    await office.say("zhangsan", f"进展 {n} 已完成初步调查，正在协调资金发放。回复建议：拟答复网友资金到位后发放。")
    assert "阶段性" in office.last_text("sundc") and "回复建议：拟答复网友资金到位后发放" in office.last_text("sundc")
    await office.say("zhangsan", REPLY.format(n=n))
    assert "预览" in office.last_text("zhangsan")
    await office.say("zhangsan", "提交")
    assert (await office.case(n))["state"] == "submitted"
    await office.say("sundc", f"退回修改 {n} 核查情况不够具体，请补充核查方式。")
    assert "核查情况不够具体" in office.last_text("zhangsan")
    await office.say("zhangsan", REPLY.format(n=n))
    await office.say("zhangsan", "提交")
    await office.say("sundc", f"通过 {n}")
    assert (await office.case(n))["state"] == "approved"  # 县级: no leader needed
    await office.say("zhangsan", f"查询 {n}")
    assert "待回复" in office.last_text("zhangsan") and "详情：https://" in office.last_text("zhangsan")
    await office.say("qiandj", "待办")
    assert n in office.last_text("qiandj")
    await office.say("zhangsan", "帮助")
    assert "签收 <文号>" in office.last_text("zhangsan")


async def test_wrong_role_and_double_clicks_change_nothing(office: Office) -> None:
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    # someone of another unit types the command: the case is not theirs to see (issue 10)
    await office.say("zhaozj", f"签收 {n}")
    assert office.last_text("zhaozj") == NOT_VISIBLE
    # a leader tries to accept
    await office.say("zhousj", f"签收 {n}")
    assert "权限" in office.last_text("zhousj")
    assert (await office.case(n))["state"] == "assigned"
    # two handlers click at once: the first wins, the second is told who did it
    li = office.card("limei", "assign")
    await office.click("zhangsan", card.task_id, "签收", settle=False)
    await office.click("limei", li.task_id, "签收", settle=False)
    await office.settle()
    assert "已由张三" in office.last_text("limei") or "张三" in office.last_text("limei")
    data = await office.case(n)
    assert [e["action"] for e in data["timeline"]].count("accept") == 1


async def test_retried_callback_is_processed_once(office: Office) -> None:
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    request = office.side().click_request("zhangsan", card.task_id, "签收")
    for _ in range(4):  # WeCom may deliver the same callback up to 4 times (spec §1.7); DingTalk retries too
        assert await office.post(request, settle=False) == 200
    await office.settle()
    data = await office.case(n)
    assert [e["action"] for e in data["timeline"]].count("accept") == 1
    assert sum("已签收" in t for t in office.texts("zhangsan")) == 1


async def test_unknown_person_and_unknown_case(office: Office) -> None:
    office.side().add_user("stranger")
    await office.say("stranger", "签收 LY2026-000001")
    assert "还没有登记" in office.last_text("stranger")
    await office.say("zhangsan", "签收 LY2026-999999")
    assert "未找到文号" in office.last_text("zhangsan")
    await office.say("zhangsan", "随便说点什么")
    assert "帮助" in office.last_text("zhangsan")
    await office.say("zhangsan", "长" * 5000)
    assert "内容过长" in office.last_text("zhangsan")


async def test_return_window_closed(office: Office, clock: ManualClock) -> None:
    n = (await office.register())["number"]
    clock.advance(days=3)  # Mon 09:00 + 3 days → past the 2-working-day window (Wed 17:30)
    card = office.card("zhangsan", "assign")
    await office.click("zhangsan", card.task_id, "退回")
    assert "退回期限已过" in office.last_text("zhangsan")
    await office.say("zhangsan", "不属于我们单位职责")  # no dialogue was started: not taken as a reason
    assert (await office.case(n))["state"] == "assigned"


async def test_leader_rejects_with_instruction(office: Office) -> None:
    n = (await office.register(level="省级"))["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", REPLY.format(n=n))
    await office.say("zhangsan", "提交")
    await office.say("sundc", f"通过 {n}")
    approve = office.card("zhousj", "approve")
    await office.click("zhousj", approve.task_id, "驳回")
    await office.say("zhousj", "请补充后续防止再次拖欠的措施。")
    assert (await office.case(n))["state"] == "accepted"
    assert "防止再次拖欠" in office.last_text("zhangsan")
    assert office.card("zhangsan", "handle").clickable


async def test_extension_by_card(office: Office) -> None:
    n = (await office.register(complex=True))["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"延期 {n} 涉及多个部门，需要协调资金 5")
    ext = office.card("sundc", "extension")
    await office.click("sundc", ext.task_id, "批准延期")
    data = await office.case(n)
    assert data["state"] == "accepted" and data["due_at"].startswith("2026-11-30")
    assert "延期已批准" in office.last_text("zhangsan")


async def test_dialogue_times_out_and_cancel(office: Office, clock: ManualClock) -> None:
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    await office.click("zhangsan", card.task_id, "退回")
    await office.say("zhangsan", "取消")
    assert "已取消" in office.last_text("zhangsan")
    assert (await office.case(n))["state"] == "assigned"
    await office.click("zhangsan", card.task_id, "退回")
    clock.advance(minutes=31)
    await office.say("zhangsan", "不属于我单位职责范围内的事")
    assert (await office.case(n))["state"] == "assigned"
    assert "帮助" in office.last_text("zhangsan")


async def test_commendation_from_chat(office: Office) -> None:
    n = (await office.register())["number"]
    await office.say("zhangsan", f"表扬 {n} 办得很好")
    assert "权限" in office.last_text("zhangsan")
    await office.say("sundc", f"表扬 {n} 该局主动上门解决，群众满意")
    assert "已记录表扬" in office.last_text("sundc")
    assert "【表扬】" in office.last_text("wangkz")
    assert [e["action"] for e in (await office.case(n))["timeline"]][-1] == "commendation"


async def test_instruction_from_chat(office: Office) -> None:
    n = (await office.register())["number"]
    await office.say("sundc", f"批示 {n} 请抓紧办理")
    assert office.last_text("sundc") == "只有领导可以批示。"
    await office.say("zhousj", f"批示 {n}")
    assert "批示 <文号> <内容>" in office.last_text("zhousj")
    await office.say("zhousj", f"批示 {n} {'阅' * 1001}")
    assert "批示内容过长" in office.last_text("zhousj")
    assert "instruction" not in [e["action"] for e in (await office.case(n))["timeline"]]
    await office.say("zhousj", f"批示 {n} 请人社局本周内答复群众")
    assert "批示已转承办单位" in office.last_text("zhousj")
    last = (await office.case(n))["timeline"][-1]
    assert last["action"] == "instruction" and last["comment"] == "请人社局本周内答复群众"
