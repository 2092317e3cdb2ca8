"""After the unit's reply (issue 12): 统一回复 by 第十二条, leader approval, on WeCom and DingTalk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.domain.states import NonPublicGround
from bot.domain.statistics import Period
from bot.reports.compute import build_report
from bot.reports.xlsx import export_report
from tests.conftest import SHANGHAI
from tests.fakes.office import Office

REPLY = (
    "回复 {n} {truth} 表明态度：感谢网友留言，我局高度重视。工作过程：已责令该公司于11月10日前结清全部欠薪，"
    "并约谈负责人，公司已书面承诺。核查情况：11月3日派员实地核查工资台账。网友反馈：已电话联系网友，网友表示认可。"
)


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def approved(office: Office, truth: str = "属实", **fields: object) -> str:
    """A case taken through 签收, 回复, 审核 (and 审定 when needed) to 待回复."""
    n = str((await office.register(**fields))["number"])
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", REPLY.format(n=n, truth=truth))
    await office.say("zhangsan", "提交")
    await office.say("sundc", f"通过 {n}")
    if (await office.case(n))["state"] == "reviewed":
        await office.say("zhousj", f"同意 {n}")
    assert (await office.case(n))["state"] == "approved"
    return n


async def test_public_and_individual_in_parallel_by_default(office: Office) -> None:
    n = await approved(office)
    publish = office.card("qiandj", "publish")
    # a contact and no ground: both in parallel is the default (第十二条)
    assert publish.buttons[0] == "公开并个别回复"
    assert set(publish.buttons) == {"公开并个别回复", "仅公开回复", "不予公开"}
    await office.click("qiandj", publish.task_id, "公开并个别回复")
    await office.click("qiandj", office.card("qiandj", "told").task_id, "短信")
    preview = office.last_text("qiandj")
    # composed in the unit's name from the approved text, shown before anything is recorded
    assert "区人社局" in preview and "结清全部欠薪" in preview and "网友您好" in preview
    assert "已电话联系网友" not in preview  # 网友反馈 stays internal
    assert (await office.case(n))["state"] == "approved"
    await office.click("qiandj", office.card("qiandj", "publish_preview").task_id, "确认回复")
    data = await office.case(n)
    assert data["state"] == "replied" and data["reply_mode"] == "both"
    assert data["public_reply"].startswith("网友您好") and "区人社局" in data["public_reply"]
    assert data["public_replied_at"].startswith("2026-11-02")
    assert data["told_via"] == "短信" and data["told_at"] == data["public_replied_at"]
    assert data["timeline"][-1]["data"]["told_via"] == "短信"


async def test_untrue_finding_is_not_published(office: Office) -> None:
    n = await approved(office, truth="不属实")
    publish = office.card("qiandj", "publish")
    assert publish.buttons == ["不予公开"]
    await office.say("qiandj", f"统一回复 {n} 公开")
    assert "不予公开回复" in office.last_text("qiandj")
    await office.say("qiandj", f"统一回复 {n} 并行 电话")
    assert "不予公开回复" in office.last_text("qiandj")
    # ground (1) is preselected: 个别 without a ground takes it
    await office.say("qiandj", f"统一回复 {n} 个别 电话")
    assert NonPublicGround.UNTRUE.value in office.last_text("qiandj")
    await office.say("qiandj", "确认")
    data = await office.case(n)
    assert data["state"] == "replied" and data["reply_mode"] == "individual"
    assert data["reply_ground"] == "经核查留言内容不属实或与承办单位回复严重不符"
    assert data["public_reply"] is None and data["told_via"] == "电话"


async def test_ground_card_names_the_four_grounds_of_article_12(office: Office) -> None:
    n = await approved(office, truth="不属实")
    await office.click("qiandj", office.card("qiandj", "publish").task_id, "不予公开")
    ground = office.card("qiandj", "ground")
    assert ground.buttons[:4] == ["一、不属实或不符", "二、明显不合理诉求", "三、引起争议", "四、不可抗力"]
    await office.click("qiandj", ground.task_id, "四、不可抗力")
    await office.say("qiandj", "当面")
    await office.say("qiandj", "确认")
    data = await office.case(n)
    assert data["reply_ground"] == "因不可抗力导致留言诉求短期内得不到解决" and data["told_via"] == "当面"


async def test_without_contact_public_only(office: Office) -> None:
    n = await approved(office, contact="")
    publish = office.card("qiandj", "publish")
    assert publish.buttons == ["公开回复", "不予公开"]
    await office.say("qiandj", f"统一回复 {n} 并行 电话")
    assert "没有联系方式" in office.last_text("qiandj")
    await office.click("qiandj", publish.task_id, "公开回复")
    await office.say("qiandj", "确认")
    data = await office.case(n)
    assert data["reply_mode"] == "public" and data["told_via"] is None and "区人社局" in data["public_reply"]


async def test_untrue_explanatory_note_when_configured(db_url: str, clock: ManualClock) -> None:
    office = await Office.open(db_url, clock, "wecom", "[publication]\nuntrue_public_note = true\n")
    try:
        n = await approved(office, truth="不属实")
        publish = office.card("qiandj", "publish")
        assert publish.buttons == ["不予公开", "公开解释说明"]
        await office.click("qiandj", publish.task_id, "公开解释说明")
        assert "与实际情况不符，现说明如下" in office.last_text("qiandj")
        await office.say("qiandj", "确认")
        data = await office.case(n)
        assert data["reply_mode"] == "public" and "说明如下" in data["public_reply"]
    finally:
        await office.close()


async def reviewed(office: Office, count: int) -> list[str]:
    numbers = []
    for _ in range(count):
        n = str((await office.register(level="省级"))["number"])
        await office.say("zhangsan", f"签收 {n}")
        await office.say("zhangsan", REPLY.format(n=n, truth="属实"))
        await office.say("zhangsan", "提交")
        await office.say("sundc", f"通过 {n}")
        assert (await office.case(n))["state"] == "reviewed"
        numbers.append(n)
    return numbers


async def test_batch_approval_with_exceptions(office: Office) -> None:
    n1, n2, n3 = await reviewed(office, 3)
    await office.say("sundc", "审定清单")
    assert "只有领导" in office.last_text("sundc")
    await office.say("zhousj", "审定清单")
    listing = office.last_text("zhousj")
    assert all(n in listing for n in (n1, n2, n3)) and "待审定答复3件" in listing
    assert office.card("zhousj", "batch").buttons[0] == "审定全部"
    await office.say("zhousj", "审定全部 除 LY2026-999999")
    assert "不在待审定清单" in office.last_text("zhousj")
    await office.say("zhousj", f"审定全部 除 {n2}")
    assert "已审定2件" in office.last_text("zhousj") and n2 in office.last_text("zhousj")
    assert [(await office.case(n))["state"] for n in (n1, n2, n3)] == ["approved", "reviewed", "approved"]
    approve = [e for e in (await office.case(n1))["timeline"] if e["action"] == "approve"]
    assert approve[0]["actor"] == "周书记" and approve[0]["comment"] == "批量审定"
    # every approved reply goes on to the dispatcher; the leader's single cards are closed
    assert office.card("qiandj", "publish").clickable


async def test_batch_card_from_the_approval_card(office: Office) -> None:
    n1, n2 = await reviewed(office, 2)
    await office.click("zhousj", office.card("zhousj", "approve").task_id, "批量审定")
    batch = office.card("zhousj", "batch")
    await office.click("zhousj", batch.task_id, "审定全部")
    assert [(await office.case(n))["state"] for n in (n1, n2)] == ["approved", "approved"]
    await office.say("zhousj", "审定清单")
    assert "没有待审定" in office.last_text("zhousj")
    await office.say("zhousj", "帮助")
    assert "审定清单" in office.last_text("zhousj")


def at(d: int, h: int = 9, mi: int = 40) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=SHANGHAI)


async def tick(office: Office, when: datetime) -> int:
    office.clock.set(when)
    queued = await office.runtime.channels.jobs.tick()
    await office.settle()
    return queued


def reminders(office: Office, user: str) -> list[str]:
    return [t for t in office.texts(user) if t.startswith("【办理提醒】")]


async def test_timed_review_approval_and_publication(office: Office) -> None:
    # Monday 11-02 09:00: submitted → 审核 due in 2 working days (Wed 11-04 17:30)
    n = str((await office.register(level="省级"))["number"])
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", REPLY.format(n=n, truth="属实"))
    await office.say("zhangsan", "提交")
    await tick(office, at(4))
    assert any(n in r and "待审核，今日17:30到期" in r for r in reminders(office, "sundc"))
    await tick(office, at(5))
    assert any(n in r and "待审核超期" in r for r in reminders(office, "sundc"))
    assert any("**待审核超期**（1件）" in p and n in p for p in office.group_posts())
    before = len(reminders(office, "sundc"))
    await tick(office, at(5, 10))
    assert len(reminders(office, "sundc")) == before  # once
    report = await build_report(office.runtime.deps, Period.month(2026, 11))
    assert report.office.stalled_review == 1 and report.office.stalled_approval == 0

    # Thursday 11-05: reviewed → 审定 due Mon 11-09; the leader is reminded, then it is stalled
    await office.say("sundc", f"通过 {n}")
    assert (await office.case(n))["state"] == "reviewed"
    await tick(office, at(10))
    assert any(n in r and "待审定超期" in r for r in reminders(office, "zhousj"))
    # Tuesday 11-10: approved → 统一回复 due the next working day (Wed 11-11)
    await office.say("zhousj", f"同意 {n}")
    await tick(office, at(12))
    assert any(n in r and "待回复超期" in r for r in reminders(office, "qiandj"))
    assert any("**待回复超期**（1件）" in p for p in office.group_posts())
    report = await build_report(office.runtime.deps, Period.month(2026, 11))
    assert (report.office.stalled_review, report.office.stalled_publish) == (0, 1)


async def closed_case(office: Office, **fields: object) -> str:
    n = await approved(office, **fields)
    await office.say("qiandj", f"统一回复 {n} 公开")
    await office.say("qiandj", "确认")
    followup = office.card("qiandj", "followup")
    await office.click("qiandj", followup.task_id, "满意")
    await office.click("qiandj", office.card("qiandj", "resolved").task_id, "已化解")
    await office.say("qiandj", "网友表示问题已解决，非常满意。")
    assert (await office.case(n))["state"] == "closed"
    return n


async def test_archive_from_chat_and_api_anonymous_counts_as_complete(office: Office) -> None:
    n = await closed_case(office, contact="", petitioner="网友")
    async with office.runtime.deps.sessions() as session:
        from store import repo

        found = await repo.case_by_number(session, n)
        assert found is not None and found.contact == "匿名（未留联系方式）"
    await office.say("zhangsan", f"立卷 {n}")
    assert "权限" in office.last_text("zhangsan")
    await office.say("qiandj", f"立卷 {n}")
    assert "档案要素不全，不能立卷：缺少呈报文号" in office.last_text("qiandj")
    headers = {"Authorization": "Bearer test-token"}
    resp = await office.bot.post(f"/api/cases/{n}/archive", headers=headers)
    assert resp.status == 422 and "呈报文号" in (await resp.json())["error"]["message"]
    await office.say("zhangsan", f"呈报文号 {n} 区信字〔2026〕12号")
    assert "权限" in office.last_text("zhangsan")
    await office.say("qiandj", f"呈报文号 {n} 区信字〔2026〕12号")
    assert "已记录呈报文号 区信字〔2026〕12号" in office.last_text("qiandj")
    data = await office.case(n)
    assert data["report_number"] == "区信字〔2026〕12号" and data["timeline"][-1]["action"] == "report_number"
    await office.say("qiandj", f"立卷 {n}")
    assert "已立卷" in office.last_text("qiandj")
    assert (await office.case(n))["state"] == "archived"
    resp = await office.bot.post(f"/api/cases/{n}/archive", headers=headers)
    assert resp.status == 409


async def test_archive_by_api(office: Office) -> None:
    n = await closed_case(office)
    await office.say("qiandj", f"呈报文号 {n} 区信字〔2026〕13号")
    resp = await office.bot.post(f"/api/cases/{n}/archive", headers={"Authorization": "Bearer test-token"})
    assert resp.status == 200 and (await resp.json())["state"] == "archived"


async def replied(office: Office) -> str:
    n = await approved(office)
    await office.say("qiandj", f"统一回复 {n} 公开")
    await office.say("qiandj", "确认")
    assert (await office.case(n))["state"] == "replied"
    return n


async def follow_up(office: Office, satisfaction: str, resolved: str, text: str) -> None:
    await office.click("qiandj", office.card("qiandj", "followup").task_id, satisfaction)
    await office.click("qiandj", office.card("qiandj", "resolved").task_id, resolved)
    await office.say("qiandj", text)


async def test_unresolved_follow_up_is_tracked_until_resolved(office: Office) -> None:
    n = await replied(office)
    await follow_up(office, "不满意", "未化解", "网友表示工资仍未到账，公司承诺12月18日前结清。")
    data = await office.case(n)
    assert data["state"] == "tracking" and data["resolved"] is False and data["satisfaction"] == "不满意"
    assert data["timeline"][-1]["data"]["promised_at"].startswith("2026-12-18")
    assert "【继续跟踪】" in office.last_text("zhangsan") and f"再回复 {n}" in office.last_text("zhangsan")
    # 网友评论 → the unit explains; 回头看 by the supervision office
    await office.say("qiandj", f"网友评论 {n} 有网友评论称公司仍在拖欠其他员工工资。")
    assert "【网友评论】" in office.last_text("zhangsan") and f"说明 {n}" in office.last_text("zhangsan")
    await office.say("zhangsan", f"说明 {n} 经核实其他员工工资已于本周发放。")
    assert "【单位说明】" in office.last_text("sundc")
    await office.say("zhangsan", f"回头看 {n} 已解决")
    assert "权限" in office.last_text("zhangsan")
    await office.say("sundc", f"回头看 {n} 12月10日电话回访，公司已分期支付部分工资。")
    # the promised date: a reminder to the unit
    await tick(office, datetime(2026, 12, 18, 9, 40, tzinfo=SHANGHAI))
    assert any(n in r and "承诺解决日期已到" in r for r in reminders(office, "zhangsan"))
    # 再回复 goes through review again, then publication and a new follow-up closes it
    await office.say("zhangsan", f"再回复 {n} 公司已于12月17日结清全部欠薪，网友确认到账。")
    assert (await office.case(n))["state"] == "submitted"
    assert office.card("sundc", "review").clickable
    await office.say("sundc", f"通过 {n}")
    await office.say("qiandj", f"统一回复 {n} 公开")
    await office.say("qiandj", "确认")
    await follow_up(office, "满意", "已化解", "网友确认工资已全部到账，表示满意。")
    data = await office.case(n)
    assert data["state"] == "closed" and data["resolved"] is True
    actions = [e["action"] for e in data["timeline"]]
    assert actions.count("follow_up") == 1 and "track" in actions and "re_reply" in actions
    assert "look_back" in actions and "public_comment" in actions and "explanation" in actions


async def test_supervisor_ends_tracking_with_a_reason(office: Office) -> None:
    n = await replied(office)
    await follow_up(office, "基本满意", "未化解", "网友诉求涉及历史遗留问题，暂未解决。")
    assert (await office.case(n))["state"] == "tracking"
    await office.say("zhangsan", f"跟踪销号 {n} 已经解决了")
    assert "权限" in office.last_text("zhangsan")
    await office.say("sundc", f"跟踪销号 {n} 诉求超出政策范围，已向网友解释说明。")
    data = await office.case(n)
    assert data["state"] == "closed" and data["timeline"][-1]["comment"] == "诉求超出政策范围，已向网友解释说明。"


async def test_supervise_any_open_case_and_special_supervision(office: Office) -> None:
    n = str((await office.register())["number"])
    await office.say("zhangsan", f"督办 {n} 电话询访 请尽快核实")
    assert "权限" in office.last_text("zhangsan")
    await office.say("sundc", f"督办 {n} 微信询问 请尽快核实")
    assert "明察暗访、电话询访、实地走访" in office.last_text("sundc")
    await office.say("sundc", f"专项督办 {n} 实地走访 请主要负责人牵头办理")
    assert "不符合" in office.last_text("sundc")
    await office.say("sundc", f"督办 {n} 电话询访 请核实欠薪人数并报告处理进度 2个工作日")
    assert "已督办" in office.last_text("sundc") and "11-04前答复" in office.last_text("sundc")
    assert "【督办】" in office.last_text("zhangsan") and "电话询访" in office.last_text("zhangsan")
    event = (await office.case(n))["timeline"][-1]
    assert event["action"] == "supervise" and event["data"]["method"] == "电话询访"
    assert event["data"]["answer_by"].startswith("2026-11-04") and event["data"]["special"] is False
    # the same matter reported again while the first is unresolved: 专项督办 is offered
    again = str((await office.register())["number"])
    assert (await office.case(again))["duplicate_of"] == n
    await office.say("sundc", f"督办 {again} 明察暗访 请查明拖欠原因")
    assert f"专项督办 {again}" in office.last_text("sundc")
    await office.say("sundc", f"专项督办 {again} 实地走访 网民多次反映，请主要负责人牵头解决")
    event = (await office.case(again))["timeline"][-1]
    assert event["data"]["special"] is True and event["comment"].startswith("专项督办（实地走访）")


async def test_low_error_and_info_adopted_are_scored(office: Office) -> None:
    n = str((await office.register())["number"])
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", REPLY.format(n=n, truth="属实"))
    await office.say("zhangsan", "提交")
    await office.say("zhangsan", f"低级错误 {n} 落款缺失")
    assert "权限" in office.last_text("zhangsan")
    await office.say("sundc", f"低级错误 {n} 落款缺失，日期格式不规范")
    assert "记低级错误一次" in office.last_text("sundc")
    assert (await office.case(n))["state"] == "accepted"
    assert "低级错误：落款缺失" in office.last_text("zhangsan")
    await office.say("sundc", f"信息采用 {n} 办理经验被市委办《信息专报》采用")
    assert "信息获得采用" in office.last_text("sundc")
    actions = [e["action"] for e in (await office.case(n))["timeline"]]
    assert actions[-3:] == ["review_reject", "low_error", "info_adopted"]
    office.clock.advance(minutes=5)
    report = await build_report(office.runtime.deps, Period.month(2026, 11))
    score = report.unit("区人社局").score
    low, info = score.line("low_error"), score.line("info_adopted")
    assert low is not None and info is not None
    assert [i.points for i in low.items] == [-1] and [i.points for i in info.items] == [2]
    assert low.items[0].occurrence.case_number == n and "低级错误" in low.items[0].occurrence.note


async def test_yearly_score_and_its_consequence(db_url: str, clock: ManualClock, tmp_path: Path) -> None:
    office = await Office.open(db_url, clock, "wecom", "[scoring]\npass_score = 99.5\nbasic_score = 95\n")
    try:
        n = str((await office.register())["number"])
        await office.say("zhangsan", f"签收 {n}")
        await office.say("zhangsan", REPLY.format(n=n, truth="属实"))
        await office.say("zhangsan", "提交")
        await office.say("sundc", f"低级错误 {n} 落款缺失")
        office.clock.advance(minutes=5)
        deps = office.runtime.deps
        files = await export_report(deps, Period.whole_year(2026), xlsx=tmp_path / "y.xlsx")
        unit = files.report.unit("区人社局")
        # the reply sent back counts as 审核退回 and as 低级错误
        assert unit.yearly is not None and unit.yearly.score == 98 and unit.yearly.grade == "基本合格"
        assert unit.consequence.startswith("书面函告")
        assert [(line.rule.key, len(line.items)) for line in unit.yearly.lines] == [
            ("review_rejected", 1),
            ("low_error", 1),
        ]  # traceable to the events
        assert files.report.unit("区住建局").consequence == ""
        import openpyxl

        sheet = openpyxl.load_workbook(tmp_path / "y.xlsx")["年度考评"]
        rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if r and r[0]}
        assert rows["区人社局"][1:3] == (98, "基本合格") and str(rows["区人社局"][6]).startswith("书面函告")
        month = await build_report(deps, Period.month(2026, 11))
        assert month.unit("区人社局").yearly is None
    finally:
        await office.close()
