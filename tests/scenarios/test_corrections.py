"""Corrections (issue 13), each with its timeline entry: 改派 before 签收 — on WeCom and DingTalk,
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from tests.fakes.office import Office


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
    assert office.last_text("zhangsan") == "无权查看此件"  # the old unit no longer sees it (docs/visibility.md)
    await office.click("zhaozj", card.task_id, "签收")
    assert (await office.case(n))["state"] == "accepted"
    await office.say("qiandj", f"改派 {n} 区人社局")
    assert "不能交办" in office.last_text("qiandj") or "不能改派" in office.last_text("qiandj")
    assert (await office.case(n))["unit"] == "区住建局"


async def test_void_a_duplicate(office: Office) -> None:
    from bot.domain.statistics import parse_period
    from bot.reports.compute import build_report

    n = (await office.register())["number"]
    keep = (await office.register(source_ref="RMW-2", title="小区路灯不亮", category="城市管理", unit="区住建局"))[
        "number"
    ]
    await office.say("zhangsan", f"作废 {n} 与其他留言重复登记")
    assert "权限" in office.last_text("zhangsan")
    await office.say("qiandj", f"作废 {n}")
    assert "请写明作废理由" in office.last_text("qiandj")
    await office.say("qiandj", f"作废 {n} 与LY2026-000001重复登记")
    assert "已作废" in office.last_text("qiandj")
    data = await office.case(n)
    assert data["state"] == "voided" and data["state_label"] == "已作废"
    assert (data["timeline"][-1]["action"], data["timeline"][-1]["comment"]) == ("void", "与LY2026-000001重复登记")
    assert "已作废" in (office.card("zhangsan", "assign").closed or "")
    assert "【作废】" in office.last_text("zhangsan")
    # not in 待办, statistics, scoring nor reminders
    await office.say("qiandj", "待办")
    assert n not in office.last_text("qiandj")
    office.clock.set(office.clock.now().replace(day=20))
    await office.runtime.channels.jobs.tick()
    await office.settle()
    assert not any(n in t for t in office.texts("zhangsan") if t.startswith("【办理提醒】"))
    report = await build_report(office.runtime.deps, parse_period("2026-11"))
    assert report.unit("区住建局").stats.received == 1 and keep
    assert all(u.name != "区人社局" or u.stats.received == 0 for u in report.units)
    assert all(i.occurrence.case_number != n for u in report.units for i in u.score.items)


async def test_reclassify_recomputes_the_deadline(office: Office) -> None:
    n = (await office.register())["number"]  # assigned Monday 11-02 09:00, due 11-09 17:30
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"设为复杂件 {n} 涉及多个部门，情况复杂")
    assert "权限" in office.last_text("zhangsan")
    await office.say("sundc", f"设为复杂件 {n}")
    assert "请写明理由" in office.last_text("sundc")
    await office.say("sundc", f"设为复杂件 {n} 涉及多个部门，情况复杂")
    assert "已设为复杂件" in office.last_text("sundc") and "2026-11-23 17:30" in office.last_text("sundc")
    data = await office.case(n)
    assert data["complex"] is True and data["due_at"] == "2026-11-23T17:30:00+08:00"
    last = data["timeline"][-1]
    assert (last["action"], last["actor"]) == ("reclassify", "孙督查") and "情况复杂" in last["comment"]
    assert "【时限调整】" in office.last_text("zhangsan") and "2026-11-23 17:30" in office.last_text("zhangsan")
    await office.say("sundc", f"设为复杂件 {n} 涉及多个部门，情况复杂")
    assert "无须调整" in office.last_text("sundc")
    # 急件 wins over 复杂件: 24 hours from the assignment; clearing it goes back to 15 working days
    await office.say("qiandj", f"设为急件 {n} 舆论普遍关注，须急事急办")
    assert (await office.case(n))["due_at"] == "2026-11-03T09:00:00+08:00"
    await office.say("qiandj", f"取消急件 {n} 经核实不属于紧急事项")
    data = await office.case(n)
    assert (data["urgent"], data["due_at"]) == (False, "2026-11-23T17:30:00+08:00")


async def test_extension_for_a_normal_case(office: Office) -> None:
    n = (await office.register())["number"]
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"延期 {n} 需协调住建部门现场核查 3")
    assert (await office.case(n))["state"] == "extension_requested"
    card = office.card("sundc", "extension")
    await office.click("sundc", card.task_id, "批准延期")
    data = await office.case(n)
    assert data["state"] == "accepted" and data["due_at"] == "2026-11-12T17:30:00+08:00"


async def test_an_extended_case_owes_an_interim_report_with_a_proposed_reply(office: Office) -> None:
    from datetime import datetime

    from tests.conftest import SHANGHAI

    n = (await office.register(complex=True))["number"]  # due 11-23, the 15th working day
    await office.say("zhangsan", f"签收 {n}")
    await office.say("zhangsan", f"延期 {n} 需协调多个部门联合核查 5")
    await office.click("sundc", office.card("sundc", "extension").task_id, "批准延期")
    assert (await office.case(n))["due_at"] == "2026-11-30T17:30:00+08:00"

    async def tick(day: int) -> list[str]:
        office.clock.set(datetime(2026, 11, day, 9, 30, tzinfo=SHANGHAI))
        await office.runtime.channels.jobs.tick()
        await office.settle()
        return [t for t in office.texts("zhangsan") if "回复建议" in t and t.startswith("【办理提醒】")]

    owed = await tick(20)  # the working day before the interim point (11-23)
    assert len(owed) == 1 and "11-23 17:30" in owed[0] and f"进展 {n}" in owed[0]
    await office.say("zhangsan", f"进展 {n} 已完成初步核查，正在协调资金。回复建议：拟答复网友已责令限期整改。")
    assert "回复建议：拟答复网友" in office.last_text("sundc")
    assert len(await tick(23)) == 1  # reported: no more interim reminders
