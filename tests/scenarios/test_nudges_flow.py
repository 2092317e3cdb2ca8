"""Deadlines in motion: reminders, the ladder, the morning overdue list — on the right working
days, once, across repeated sweeps, a crash mid-sweep and two processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.app import Runtime
from bot.clock import ManualClock
from store.models import CaseEvent, Nudge
from tests.fakes.office import Office, at, reminders, tick


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    clock.set(at(2026, 2, 12, 10))  # Thursday before Spring Festival 2026
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


def webhook(office: Office) -> list[str]:
    return office.group_posts()


async def test_spring_festival_case(office: Office) -> None:
    n = (await office.register())["number"]
    data = await office.case(n)
    assert data["due_at"] == "2026-02-26T17:30:00+08:00"

    assert await tick(office, at(2026, 2, 12, 14, 5)) > 0  # 4 h unaccepted → the handlers
    assert len(reminders(office, "zhangsan")) == 1 and "未签收" in reminders(office, "zhangsan")[0]
    assert await tick(office, at(2026, 2, 12, 14, 6)) == 0  # a repeated sweep sends nothing
    assert reminders(office, "wangkz") == []

    await tick(office, at(2026, 2, 13, 10, 30))  # 24 h unaccepted → the unit leader
    assert len(reminders(office, "wangkz")) == 1

    await tick(office, at(2026, 2, 14, 9))  # make-up Saturday: the return window closes today
    assert "退回期限今日" in reminders(office, "zhangsan")[-1]
    await office.say("zhangsan", f"签收 {n}")

    for day in range(15, 24):  # the holiday: nothing at all
        assert await tick(office, at(2026, 2, day, 10)) == 0

    await tick(office, at(2026, 2, 25, 9))  # the working day before the due day
    assert "明日到期" in reminders(office, "zhangsan")[-1]
    await tick(office, at(2026, 2, 26, 9))  # the due day: handlers and the unit leader
    assert "今日到期" in reminders(office, "zhangsan")[-1] and "今日到期" in reminders(office, "wangkz")[-1]
    assert len(reminders(office, "limei")) == 4  # 4h, window, day before, due day

    await tick(office, at(2026, 2, 27, 9, 1))  # overdue 1 working day: the leader; the morning list
    assert "已超期" in reminders(office, "wangkz")[-1]
    posts = webhook(office)
    assert len(posts) == 1 and n in posts[0] and "区人社局" in posts[0] and "张三" in posts[0]
    assert "13800138000" not in posts[0] and "李四" not in posts[0]
    cards = office.cards("sundc", "overdue")
    assert cards and set(cards[-1].buttons) == {"催办", "督办"}

    await tick(office, at(2026, 3, 3, 9, 1))  # 3 working days overdue: the formal notice
    assert "督办" in reminders(office, "sundc")[-1]
    timeline = (await office.case(n))["timeline"]
    assert [e["action"] for e in timeline].count("supervise") == 1
    assert len(webhook(office)) == 2  # one list per working morning
    assert office.drops() == []


async def test_urge_and_supervise_buttons(office: Office) -> None:
    n = (await office.register())["number"]
    await tick(office, at(2026, 2, 27, 9, 5))
    card = office.cards("sundc", "overdue")[-1]
    await office.click("sundc", card.task_id, "催办")
    assert "催办" in office.last_text("zhangsan") and n in office.last_text("zhangsan")
    await office.click("sundc", card.task_id, "督办")
    assert "督办通知" in office.last_text("wangkz")
    actions = [e["action"] for e in (await office.case(n))["timeline"]]
    assert "urge" in actions and "supervise" in actions


async def test_reminders_are_merged_per_person(office: Office) -> None:
    await office.register(title="第一件：工资拖欠", petitioner="甲", contact=None, source_ref="A")
    await office.register(title="第二件：路灯不亮", petitioner="乙", contact=None, source_ref="B")
    await tick(office, at(2026, 2, 12, 14, 5))
    got = reminders(office, "zhangsan")
    assert len(got) == 1 and "2件" in got[0] and "第一件" in got[0] and "第二件" in got[0]


async def test_hidden_categories_in_the_group_list(office: Office) -> None:
    await office.register(title="举报某干部收受礼金", category="党风廉政", source_ref="H1")
    await tick(office, at(2026, 2, 27, 9, 5))
    post = webhook(office)[0]
    assert "（标题不公开）" in post and "收受礼金" not in post


async def test_long_list_is_split_within_the_size_limit(office: Office) -> None:
    for i in range(40):
        await office.register(
            title=f"问题{i}：小区内道路破损严重需要维修处理", petitioner=f"人{i}", contact=None, source_ref=f"L{i}"
        )
    await tick(office, at(2026, 2, 27, 9, 5))
    posts = webhook(office)
    assert len(posts) > 1 and all(len(p.encode()) <= 2048 for p in posts)
    assert sum(p.count("> LY") for p in posts) == 40


async def test_crash_mid_sweep_then_once(office: Office) -> None:
    await office.register()
    office.clock.set(at(2026, 2, 12, 14, 5))
    engine = office.runtime.engine.sync_engine
    failures = {"left": 1}

    def boom(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT INTO outbox" in statement and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database went away mid-sweep")

    event.listen(engine, "before_cursor_execute", boom)
    try:
        with pytest.raises(Exception):
            await office.runtime.channels.jobs.sweep(office.clock.now())
    finally:
        event.remove(engine, "before_cursor_execute", boom)
    async with office.runtime.deps.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Nudge))).scalar_one() == 0
    await tick(office, at(2026, 2, 12, 14, 6))
    await tick(office, at(2026, 2, 12, 14, 7))
    assert len(reminders(office, "zhangsan")) == 1


async def test_two_processes_send_once(office: Office) -> None:
    await office.register()
    office.clock.set(at(2026, 2, 12, 14, 5))
    second = await Runtime.start(office.runtime.config, clock=office.clock, http=office.http)
    try:
        results = await asyncio.gather(
            office.runtime.channels.jobs.tick(),
            second.channels.jobs.tick(),
            office.runtime.channels.jobs.tick(),
            second.channels.jobs.tick(),
        )
        assert sum(results) == 2  # zhangsan and limei, once each
        await office.settle()
        await second.channels.sender.run_once()
        assert len(reminders(office, "zhangsan")) == 1 and len(reminders(office, "limei")) == 1
    finally:
        await second.close()


async def test_extension_moves_the_reminders(office: Office) -> None:
    n = (await office.register(complex=True))["number"]
    await office.say("zhangsan", f"签收 {n}")
    due = (await office.case(n))["due_at"]
    await office.say("zhangsan", f"延期 {n} 涉及多个部门，需要协调资金 3")
    await office.click("sundc", office.card("sundc", "extension").task_id, "批准延期")
    new_due = (await office.case(n))["due_at"]
    assert new_due > due
    day_before = datetime.fromisoformat(due)
    await tick(office, day_before.replace(hour=9, minute=0))
    assert not any("今日到期" in t for t in reminders(office, "zhangsan"))
    new = datetime.fromisoformat(new_due)
    await tick(office, new.replace(hour=9, minute=0))
    assert "今日到期" in reminders(office, "zhangsan")[-1]


async def test_calendar_warning_every_working_morning(office: Office) -> None:
    await tick(office, at(2026, 11, 2, 9))
    await tick(office, at(2026, 11, 2, 11))
    warnings = [t for t in office.texts("wugl") if "工作日历" in t]
    assert len(warnings) == 1 and "2027" in warnings[0]
    await tick(office, at(2026, 11, 3, 9))
    assert len([t for t in office.texts("wugl") if "工作日历" in t]) == 2
    await tick(office, at(2026, 11, 7, 10))  # Saturday: nothing
    assert len([t for t in office.texts("wugl") if "工作日历" in t]) == 2


async def test_events_recorded_once(office: Office) -> None:
    await office.register()
    for _ in range(3):
        await tick(office, at(2026, 3, 3, 9, 30))
    async with office.runtime.deps.sessions() as session:
        count = (
            await session.execute(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "supervise"))
        ).scalar_one()
    assert count == 1


async def test_monthly_summary_on_the_first_working_day(office: Office) -> None:
    n = (await office.register())["number"]
    await office.say("zhangsan", f"签收 {n}")
    await tick(office, at(2026, 3, 2, 8, 45))  # first working day of March, before the posting time
    before = len(webhook(office))
    await tick(office, at(2026, 3, 2, 9, 5))
    posts = webhook(office)[before:]
    summary = [p for p in posts if "区人社局" in p and "通报" in p]
    assert summary, posts
    assert all("13800138000" not in p and "李四" not in p for p in posts)
    assert any("通报" in t and "区人社局" in t for t in office.texts("wangkz"))  # the unit leader's own line
    if office.platform == "wecom":  # the chart goes to the group robot as an image
        key = next(iter(office.fake.webhook_keys))
        assert any(m.get("msgtype") == "image" for m in office.fake.webhook_messages(key))
    await tick(office, at(2026, 3, 2, 10, 5))  # later the same day: nothing again
    assert len(webhook(office)) == before + len(posts)
