"""Issue 10, need-to-know, through the fake platforms: 查询 and every case command answer
"无权查看此件" (and nothing else, no link) to whoever may not see the case; 待办 lists only visible
cases; cards and notices reach only people who may see the case (docs/visibility.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.domain.lifecycle import Actor
from bot.domain.states import Action
from bot.domain.visibility import NOT_VISIBLE
from bot.handlers.deps import CaseChange
from store import repo
from tests.fakes.office import Office

SENSITIVE = {
    "category": "党风廉政",
    "title": "举报某局长违规收受礼金",
    "petitioner": "举报人甲",
    "contact": "13711112222",
}


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    # every category handled by a unit here (no 第九条 routing): the sensitive cases stay registered
    o = await Office.open(db_url, clock, "wecom", "[routing]\nroutes = {}")
    yield o
    await o.close()


async def test_other_units_handler_cannot_read_a_sensitive_case(office: Office) -> None:
    """The attack of issue 10: a handler of 区住建局 asks 查询 for a 党风廉政 report of 区人社局."""
    n = (await office.register(**SENSITIVE, source_ref="S1"))["number"]
    before = len(office.texts("zhaozj"))
    await office.say("zhaozj", f"查询 {n}")
    answers = office.texts("zhaozj")[before:]
    assert answers == [NOT_VISIBLE]
    # the dispatcher is office, but not for sensitive categories
    await office.say("qiandj", f"查询 {n}")
    assert office.last_text("qiandj") == NOT_VISIBLE
    for who in ("zhangsan", "wangkz", "sundc", "zhousj", "wugl"):
        await office.say(who, f"查询 {n}")
        assert n in office.last_text(who) and "详情：https://" in office.last_text(who), who


async def test_sequential_numbers_reveal_nothing(office: Office) -> None:
    numbers = [
        (await office.register(source_ref="A1"))["number"],
        (await office.register(**SENSITIVE, source_ref="A2"))["number"],
        (await office.register(source_ref="A3", title="小区电梯停运"))["number"],
    ]
    await office.click("zhangsan", office.card("zhangsan", "assign").task_id, "签收")  # a different state
    mine = (await office.register(source_ref="A4", unit="区住建局", title="工地夜间施工扰民"))["number"]
    for n in numbers:  # every case of another unit, whatever its state or category: the same words
        before = len(office.texts("zhaozj"))
        for command in ("查询", "签收", "退回", "回复", "延期", "进展", "批示"):
            await office.say("zhaozj", f"{command} {n}")
        assert set(office.texts("zhaozj")[before:]) == {NOT_VISIBLE}, n
    everything = "\n".join(office.texts("zhaozj"))
    for secret in ("https://", "拖欠工资", "举报", "电梯", "区人社局", "李四", "张三", "已签收", "已交办"):
        assert secret not in everything, secret
    await office.say("zhaozj", f"查询 {mine}")
    assert "工地夜间施工扰民" in office.last_text("zhaozj") and "详情：https://" in office.last_text("zhaozj")


async def test_todo_lists_only_visible_cases(office: Office) -> None:
    plain = (await office.register(source_ref="T1", unit=None, category="政策咨询", title="咨询社保转移"))["number"]
    hidden = (await office.register(**SENSITIVE, unit=None, source_ref="T2"))["number"]
    assert (await office.case(hidden))["state"] == "registered"
    await office.say("qiandj", "待办")
    todo = office.last_text("qiandj")
    assert plain in todo and hidden not in todo and "举报" not in todo
    ours = (await office.register(source_ref="T3", unit="区住建局", title="工地扰民"))["number"]
    theirs = (await office.register(source_ref="T4"))["number"]
    await office.say("zhaozj", "待办")
    assert ours in office.last_text("zhaozj") and theirs not in office.last_text("zhaozj")


async def test_notices_and_cards_only_to_people_who_may_see(office: Office) -> None:
    plain = (await office.register(source_ref="N1", unit=None, category="政策咨询", title="咨询社保转移"))["number"]
    hidden = (await office.register(**SENSITIVE, unit=None, source_ref="N2"))["number"]
    told = "\n".join(office.texts("qiandj"))
    assert plain in told and hidden not in told and "举报" not in told
    assert hidden in "\n".join(office.texts("wugl"))  # the admin (who may 交办) is told instead
    # a step whose cards go to the dispatchers (统一回复 → 回访): none for a sensitive case
    async with office.runtime.deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, hidden)
        assert case is not None
        change = CaseChange(case, Action.PUBLISH, Actor.system(), office.clock.now())
        await office.runtime.deps.notifier.case_changed(session, change)
    await office.settle()
    assert not [c for c in office.cards("qiandj") if hidden in c.text]
