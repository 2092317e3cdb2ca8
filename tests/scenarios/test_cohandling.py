"""主办 / 协办 (issue 13): the lead unit alone 签收/退回/提交; each co-unit gets its own card, task and
deadline, sends its 协办意见 (button or text), which the lead sees in its preview and which goes on
the timeline; an overdue co-unit is reminded once a day and counted against it — on WeCom and
DingTalk, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.clock import ManualClock
from bot.domain.statistics import parse_period
from bot.reports.compute import build_report
from store import directory
from tests.conftest import SHANGHAI
from tests.fakes.office import Office

REPLY = (
    "回复 {n} 属实 表明态度：反映问题属实，我局高度重视。工作过程：已责令该公司于11月10日前结清全部欠薪，"
    "并约谈负责人，公司已书面承诺。核查情况：11月3日派员实地核查工资台账。网友反馈：已电话联系网友，网友表示认可。"
)
OPINION = "经查该公司厂房为违法搭建，我局已立案，将于本周内下达整改通知。"


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def _co_kind(office: Office) -> str:
    async with office.runtime.deps.sessions() as session:
        unit = await directory.unit_by_name(session, "区住建局")
        assert unit is not None
        return f"co{unit.id}"


async def test_lead_acts_co_unit_sends_its_opinion(office: Office) -> None:
    n = (await office.register(co_units=["区住建局"]))["number"]
    kind = await _co_kind(office)
    # the co-unit gets its own card with its deadline (2 working days before the lead's), not the lead's
    co = office.card("zhaozj", kind)
    assert co.buttons == ["报送协办意见"] and "协办时限" in co.text and "11-05 17:30" in co.text
    assert office.cards("zhaozj", "assign") == []
    # a co-unit member can neither 签收 nor 退回 (the domain refuses, saying what to do instead)
    await office.say("zhaozj", f"签收 {n}")
    assert "协办单位" in office.last_text("zhaozj") and "协办意见" in office.last_text("zhaozj")
    await office.say("zhaozj", f"退回 {n} 此事不属于我局职责范围。")
    assert "只有主办单位可以退回" in office.last_text("zhaozj")
    assert (await office.case(n))["state"] == "assigned"

    # the lead signs; the co-unit's card stays open
    await office.say("zhangsan", f"签收 {n}")
    assert (await office.case(n))["state"] == "accepted"
    assert office.card("zhaozj", kind).clickable

    # the lead may not send a 协办意见; the co-unit does, by its card
    await office.say("zhangsan", f"协办意见 {n} 我局意见如下请参考。")
    assert "主办单位" in office.last_text("zhangsan")
    await office.click("zhaozj", office.card("zhaozj", kind).task_id, "报送协办意见")
    assert "协办意见" in office.last_text("zhaozj")
    await office.say("zhaozj", OPINION)
    assert "已报送主办单位" in office.last_text("zhaozj")
    assert "已报送协办意见" in (office.card("zhaozj", kind).closed or "")
    assert "【协办意见】" in office.last_text("zhangsan") and "违法搭建" in office.last_text("zhangsan")

    # the lead sees it in its reply preview; only the lead submits
    await office.say("zhangsan", REPLY.format(n=n))
    preview = office.last_text("zhangsan")
    assert "协办意见：" in preview and "区住建局（赵住建" in preview and "违法搭建" in preview
    await office.say("zhangsan", "提交")
    data = await office.case(n)
    assert data["state"] == "submitted"
    opinion = next(e for e in data["timeline"] if e["action"] == "co_opinion")
    assert opinion["label"] == "协办意见" and opinion["comment"] == OPINION and opinion["actor"] == "赵住建"


async def test_co_unit_submit_is_refused(office: Office) -> None:
    n = (await office.register(co_units=["区住建局"]))["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhaozj", REPLY.format(n=n))
    assert "只有主办单位可以提交办理情况" in office.last_text("zhaozj")
    assert (await office.case(n))["state"] == "accepted"


async def tick(office: Office, when: datetime) -> int:
    office.clock.set(when)
    queued = await office.runtime.channels.jobs.tick()
    await office.settle()
    return queued


def co_reminders(office: Office, user: str) -> list[str]:
    return [t for t in office.texts(user) if t.startswith("【协办提醒】")]


async def test_overdue_co_unit_is_reminded_and_scored(office: Office) -> None:
    n = (await office.register(co_units=["区住建局"]))["number"]
    await office.say("zhangsan", f"签收 {n}")
    await tick(office, datetime(2026, 11, 5, 16, 0, tzinfo=SHANGHAI))  # before its deadline
    assert co_reminders(office, "zhaozj") == []
    await tick(office, datetime(2026, 11, 6, 9, 10, tzinfo=SHANGHAI))  # the morning after
    assert len(co_reminders(office, "zhaozj")) == 1 and n in co_reminders(office, "zhaozj")[0]
    await tick(office, datetime(2026, 11, 6, 9, 11, tzinfo=SHANGHAI))  # a repeated tick: nothing new
    assert len(co_reminders(office, "zhaozj")) == 1
    await tick(office, datetime(2026, 11, 9, 9, 10, tzinfo=SHANGHAI))  # next working day: again
    assert len(co_reminders(office, "zhaozj")) == 2
    assert co_reminders(office, "zhangsan") == []
    late = [e for e in (await office.case(n))["timeline"] if e["action"] == "co_overdue"]
    assert len(late) == 1 and "区住建局" in late[0]["comment"]

    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    items = [i.occurrence for i in report.unit("区住建局").score.items]
    assert [(o.rule, o.case_number) for o in items] == [("co_overdue", n)]
    assert all(i.occurrence.rule != "co_overdue" for i in report.unit("区人社局").score.items)

    # once it answers, the reminders stop
    await office.say("zhaozj", f"协办意见 {n} {OPINION}")
    await tick(office, datetime(2026, 11, 10, 9, 10, tzinfo=SHANGHAI))
    assert len(co_reminders(office, "zhaozj")) == 2
