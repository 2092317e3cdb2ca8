"""Routing by type (issue 13, seed 001 第九条): 转办 at registration and by the office, 改为办理 /
改为礼节性回复 with a reason, the 督查室's 礼节性回复 closed once published, 转阅 for reference,
未当日交办 in the statistics and 回复建议 of the interim report — on WeCom and DingTalk, SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.clock import ManualClock
from bot.domain.statistics import parse_period
from bot.reports.compute import build_report
from tests.conftest import SHANGHAI
from tests.fakes.office import Office

REPLY = (
    "回复 {n} 基本属实 表明态度：反映的问题基本属实，我局高度重视。"
    "工作过程：经调查，该公司确有拖欠工资情况，已责令其于11月10日前全额支付。"
    "核查情况：11月3日派员实地核查工资台账。网友反馈：已电话联系网友，网友表示认可。"
)


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=SHANGHAI)


async def tick(office: Office, when: datetime) -> None:
    office.clock.set(when)
    await office.runtime.channels.jobs.tick()
    await office.settle()


async def test_a_transfer_category_is_transferred_at_registration(office: Office) -> None:
    n = (await office.register(unit=None, category="涉法涉诉", title="不服法院判决要求再审", source_ref="S1"))["number"]
    data = await office.case(n)
    assert (data["state"], data["state_label"], data["route"]) == ("transferred", "已转办", "transfer")
    assert data["transfer_to"] == "政法部门" and "转政法部门办理" in data["transfer_note"]
    assert data["transferred_at"] == "2026-11-02T09:00:00+08:00" and data["unit"] is None and data["due_at"] is None
    last = data["timeline"][-1]
    assert (last["action"], last["actor"], last["label"]) == ("transfer", "系统", "转办")
    assert any(t.startswith("【已转办】") and n in t and "政法部门" in t for t in office.texts("sundc"))
    assert not any(n in t for t in office.texts("qiandj") if t.startswith("【新留言待交办】"))
    # closed to handling: no 交办, no 当日交办 reminder
    await office.say("wugl", f"交办 {n} 区人社局")
    assert "已转办" in office.last_text("wugl") and (await office.case(n))["state"] == "transferred"
    await office.say("sundc", f"查询 {n}")
    assert "状态：已转办" in office.last_text("sundc") and "办理方式：转办（转政法部门）" in office.last_text("sundc")
    await tick(office, at(2, 17, 35))
    assert not any(n in t for t in office.texts("qiandj") if t.startswith("【当日未交办】"))
    # counted apart: 转办件, not 未当日交办
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert (report.office.transferred, report.office.not_same_day, report.office.received) == (1, 0, 1)


async def test_the_office_changes_a_route_with_a_reason(office: Office) -> None:
    n = (await office.register(unit=None, category="城市管理", title="邻里纠纷", source_ref="S2"))["number"]
    await office.say("zhousj", f"改为转办 {n} 区法院 当事人已向法院起诉")
    assert "权限" in office.last_text("zhousj")
    await office.say("sundc", f"改为转办 {n}")
    assert "请写明去向和转办说明" in office.last_text("sundc")
    await office.say("qiandj", f"交办 {n} 区人社局")
    assign = office.card("zhangsan", "assign")
    assert assign.clickable
    # before 签收: 改为转办 greys the unit's card and tells it
    await office.say("qiandj", f"改为转办 {n} 区法院 当事人已向法院起诉")
    assert "已转办（转区法院）" in office.last_text("qiandj")
    data = await office.case(n)
    assert (data["state"], data["route"], data["transfer_to"], data["transfer_note"], data["unit"]) == (
        "transferred",
        "transfer",
        "区法院",
        "当事人已向法院起诉",
        None,
    )
    assert (data["timeline"][-1]["action"], data["timeline"][-1]["actor"]) == ("transfer", "钱登记")
    assert "已转办" in (office.card("zhangsan", "assign").closed or "")
    assert "【转办】" in office.last_text("zhangsan") and "无须办理" in office.last_text("zhangsan")
    await office.say("zhangsan", f"签收 {n}")
    assert (await office.case(n))["state"] == "transferred"
    # 改为办理: registered again, to be assigned
    await office.say("sundc", f"改为办理 {n}")
    assert "请写明理由" in office.last_text("sundc")
    await office.say("sundc", f"改为办理 {n} 法院不予受理，仍需承办单位办理")
    assert "已改为办理" in office.last_text("sundc")
    data = await office.case(n)
    assert (data["state"], data["route"], data["transfer_to"]) == ("registered", "handle", None)
    assert (data["timeline"][-1]["action"], data["timeline"][-1]["comment"]) == (
        "reroute",
        "法院不予受理，仍需承办单位办理",
    )
    assert any(t.startswith("【改为办理】") and n in t for t in office.texts("qiandj"))
    await office.say("qiandj", f"交办 {n} 区住建局")
    assert (await office.case(n))["unit"] == "区住建局"
    # 改为转办 without a 去向 takes the category's from [routing] transfer_to; 城市管理 has none
    m = (await office.register(unit=None, category="城市管理", title="小区路灯不亮", source_ref="S3"))["number"]
    await office.say("qiandj", f"改为转办 {m} 请有关部门处理")
    assert "请写明转办去向" in office.last_text("qiandj") and (await office.case(m))["state"] == "registered"


async def test_a_courtesy_reply_closes_once_published(office: Office) -> None:
    n = (await office.register(unit=None, category="建议", title="建议增设公交线路", source_ref="C1"))["number"]
    data = await office.case(n)
    assert (data["state"], data["route"], data["route_label"]) == ("registered", "courtesy", "礼节性回复")
    card = office.card("sundc", "courtesy")  # the 督查室 gets a card with the button
    assert card.clickable and "礼节性回复" in card.buttons and "改为办理" in card.text
    await office.say("sundc", "待办")  # the supervisor's to write, not the dispatcher's to assign
    assert n in office.last_text("sundc")
    await office.say("qiandj", "待办")
    assert n not in office.last_text("qiandj")
    await office.say("qiandj", f"交办 {n} 区人社局")
    assert "改为办理" in office.last_text("qiandj") and (await office.case(n))["state"] == "registered"
    await tick(office, at(2, 17, 35))  # not a case to assign the same day
    assert not any(n in t for t in office.texts("qiandj") if t.startswith("【当日未交办】"))
    # 转阅 for reference: no task, no reply owed
    await office.say("qiandj", f"转阅 {n} 区住建局 供参考")
    assert "权限" in office.last_text("qiandj")
    await office.say("sundc", f"转阅 {n} 区住建局 供研究线路规划参考")
    assert "已转区住建局阅知" in office.last_text("sundc")
    told = office.last_text("zhaozj")
    assert told.startswith("【转阅】") and n in told and "无须回复" in told and not office.cards("zhaozj")
    assert (await office.case(n))["timeline"][-1]["action"] == "forward"
    # the 督查室 writes it; the dispatcher publishes it; the case is closed, no 回访
    await office.say("qiandj", f"礼节性回复 {n} 感谢您的建议，已转交通部门研究。")
    assert "权限" in office.last_text("qiandj")
    await office.click("sundc", card.task_id, "礼节性回复")
    assert "请回复礼节性回复的内容" in office.last_text("sundc")
    await office.say("sundc", "好的")
    assert "礼节性回复" in office.last_text("sundc") and (await office.case(n))["state"] == "registered"
    await office.say("sundc", "感谢您对我区公共交通的关心，您的建议已转区交通局研究参考。")
    assert "礼节性回复已记录" in office.last_text("sundc")
    assert "已礼节性回复" in (office.card("sundc", "courtesy").closed or "")
    data = await office.case(n)
    assert data["state"] == "approved" and data["timeline"][-1]["action"] == "courtesy_reply"
    await office.say("qiandj", f"统一回复 {n} 公开")
    preview = office.card("qiandj", "publish_preview")
    assert "礼节性回复（督查室）" in office.last_text("qiandj") and "区委督查室、政府督查室" in office.last_text(
        "qiandj"
    )
    await office.click("qiandj", preview.task_id, "确认回复")
    assert "礼节性回复件已办结" in office.last_text("qiandj")
    data = await office.case(n)
    assert data["state"] == "closed" and "您的建议已转区交通局研究参考" in data["public_reply"]
    assert not office.cards("qiandj", "followup")
    # 立卷: the elements a 礼节性回复 does not have are recorded as not applicable
    await office.say("qiandj", f"立卷 {n}")
    assert "呈报文号" in office.last_text("qiandj") and "核办单位" not in office.last_text("qiandj")
    await office.say("qiandj", f"呈报文号 {n} 原督〔2026〕5号")
    await office.say("qiandj", f"立卷 {n}")
    assert (await office.case(n))["state"] == "archived"
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert (report.office.courtesy, report.office.not_same_day) == (1, 0)


async def test_a_handled_case_may_become_a_courtesy_reply(office: Office) -> None:
    n = (await office.register(unit=None, category="城市管理", title="建议多种树", source_ref="C2"))["number"]
    await office.say("sundc", f"礼节性回复 {n} 感谢您的建议，已转有关部门研究参考。")
    assert "改为礼节性回复" in office.last_text("sundc") and (await office.case(n))["state"] == "registered"
    await office.say("qiandj", f"改为礼节性回复 {n} 属建议类，由督查室礼节性回复")
    assert "已改为礼节性回复" in office.last_text("qiandj")
    assert (await office.case(n))["route"] == "courtesy"
    assert office.card("sundc", "courtesy").clickable
    await office.say("qiandj", f"改为礼节性回复 {n} 再说一次理由")
    assert "无须改变" in office.last_text("qiandj")
    await office.say("sundc", f"礼节性回复 {n} 感谢您的建议，已转有关部门研究参考。")
    assert "礼节性回复已记录" in office.last_text("sundc") and (await office.case(n))["state"] == "approved"


async def test_not_assigned_the_same_day_counts_in_the_statistics(office: Office) -> None:
    on_time = (await office.register(unit=None, category="城市管理", source_ref="D1"))["number"]  # Mon 09:00
    late = (await office.register(unit=None, category="城市管理", source_ref="D2"))["number"]
    waiting = (await office.register(unit=None, category="城市管理", source_ref="D3"))["number"]
    office.clock.set(at(2, 17, 20))
    await office.say("qiandj", f"交办 {on_time} 区住建局")
    office.clock.set(at(3, 10, 0))  # Tuesday: after Monday's close
    await office.say("qiandj", f"交办 {late} 区住建局")
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert report.office.not_same_day == 2  # late, and waiting (still unassigned, past Monday's close)
    # 改派 does not make a same-day assignment late
    await office.say("qiandj", f"改派 {on_time} 区人社局")
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert report.office.not_same_day == 2 and waiting
    # registered after close: it is due by the next working day's close
    office.clock.set(at(3, 18, 0))
    evening = (await office.register(unit=None, category="城市管理", source_ref="D4"))["number"]
    office.clock.set(at(4, 9, 0))
    await office.say("qiandj", f"交办 {evening} 区住建局")
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert report.office.not_same_day == 2


async def test_the_interim_report_carries_a_proposed_reply(office: Office) -> None:
    from bot.exports.dossier import load_dossier

    n = (await office.register(complex=True))["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"进展 {n} 已完成现场调查，正在协调资金。")
    assert "请填写回复建议" in office.last_text("zhangsan")
    await office.say("zhangsan", f"进展 {n} 已完成现场调查，正在协调资金。回复建议：拟答复网友月底前全额支付。")
    assert "回复建议" in office.last_text("zhangsan")
    data = await office.case(n)
    assert data["reply_proposal"] == "拟答复网友月底前全额支付。"
    last = data["timeline"][-1]
    assert (last["comment"], last["data"]["proposal"]) == ("已完成现场调查，正在协调资金", "拟答复网友月底前全额支付。")
    assert "回复建议：拟答复网友月底前全额支付" in office.last_text("sundc")
    await office.say("zhangsan", REPLY.format(n=n))
    await office.say("zhangsan", "提交")
    review = office.card("sundc", "review")
    assert "拟答复网友月底前全额支付" in review.text  # shown to the reviewer
    dossier = await load_dossier(office.runtime.deps, n)
    assert ("回复建议", "拟答复网友月底前全额支付。") in dossier.workflow
    assert any("回复建议：拟答复网友月底前全额支付" in e.said for e in dossier.timeline)


async def test_a_transferred_title_stays_out_of_group_posts(office: Office) -> None:
    first = (await office.register(unit=None, category="城市管理", title="某街道违建无人管", source_ref="H1"))["number"]
    again = (await office.register(unit=None, category="城市管理", title="某街道违建无人管", source_ref="H2"))["number"]
    assert (await office.case(again))["duplicate_of"] == first
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert [(s.number, s.title) for s in report.hot_subjects] == [(first, "某街道违建无人管")]
    await office.say("sundc", f"改为转办 {first} 区公安分局 涉嫌违法犯罪，转公安机关处理")
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert [(s.number, s.title) for s in report.hot_subjects] == [(first, None)]
    # the 未交办 list of the next morning names the other one, the transferred one not at all
    await tick(office, at(3, 9, 5))
    posts = [p for p in office.group_posts() if "未交办留言" in p]
    assert len(posts) == 1 and again in posts[0] and first not in posts[0]
