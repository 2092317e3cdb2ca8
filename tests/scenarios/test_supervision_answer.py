"""督办 with an answer date (issue 12, seed 001 第十三条): the unit is reminded on the answer day,
and a 督办 not answered by then reminds the unit leader and the supervisors and is listed as
督办逾期未答复 on the morning list — unless the unit answered (说明 <文号> …)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest

from bot.clock import ManualClock
from tests.conftest import SHANGHAI
from tests.fakes.office import Office


def at(d: int, h: int = 9, mi: int = 40) -> datetime:
    return datetime(2026, 11, d, h, mi, tzinfo=SHANGHAI)


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def tick(office: Office, when: datetime) -> int:
    office.clock.set(when)
    queued = await office.runtime.channels.jobs.tick()
    await office.settle()
    return queued


def about(office: Office, user: str, n: str, word: str) -> list[str]:
    return [line for t in office.texts(user) for line in t.splitlines() if n in line and word in line]


async def supervised(office: Office) -> str:
    n = str((await office.register())["number"])  # Monday 11-02, due 11-09
    await office.say("zhangsan", f"签收 {n}")
    await office.say("sundc", f"督办 {n} 电话询访 请核实欠薪人数并报告处理进度 2个工作日")
    assert "11-04前答复" in office.last_text("sundc")
    return n


async def test_the_unit_is_reminded_on_the_answer_day_and_the_late_answer_is_listed(office: Office) -> None:
    n = await supervised(office)
    plan = await office.runtime.channels.jobs.plan(date(2026, 11, 4))  # liuyan nudges plan
    assert any(n in line and "督办要求" in line for _, _, line in plan)
    await tick(office, at(3))
    assert about(office, "zhangsan", n, "督办要求") == []  # not yet: the answer is due on the 4th
    await tick(office, at(4))
    assert len(about(office, "zhangsan", n, "督办要求今日17:30前答复")) == 1
    assert len(about(office, "wangkz", n, "督办要求今日17:30前答复")) == 1
    await tick(office, at(4, 11))  # a repeated sweep repeats nothing
    assert len(about(office, "zhangsan", n, "督办要求")) == 1
    assert not any("督办逾期未答复" in p for p in office.group_posts())
    await tick(office, at(5))  # not answered by the 4th
    assert len(about(office, "wangkz", n, "逾期未答复")) == 1
    assert len(about(office, "sundc", n, "逾期未答复")) == 1
    listed = [p for p in office.group_posts() if "督办逾期未答复" in p]
    assert len(listed) == 1 and n in listed[0] and "督办限11-04答复" in listed[0]
    # answered late: off the list the next morning
    await office.say("zhangsan", f"说明 {n} 已核实欠薪人数为12人，正在督促公司支付。")
    await tick(office, at(6))
    assert len([p for p in office.group_posts() if "督办逾期未答复" in p]) == 1


async def test_an_answered_supervision_owes_nothing(office: Office) -> None:
    n = await supervised(office)
    await office.say("zhangsan", f"说明 {n} 已核实欠薪人数为12人，正在督促公司支付。")
    for day in (4, 5):
        await tick(office, at(day))
    assert about(office, "zhangsan", n, "督办要求") == [] and about(office, "sundc", n, "逾期未答复") == []
    assert not any("督办逾期未答复" in p for p in office.group_posts())
    # a new 督办 is owed again
    await office.say("sundc", f"专项督办 {n} 实地走访 请主要负责人牵头解决 1个工作日")
    assert "不符合" in office.last_text("sundc")  # not a repeated matter, not late: a plain 督办
    await office.say("sundc", f"督办 {n} 实地走访 请主要负责人牵头解决 1个工作日")
    await tick(office, at(6))
    assert len(about(office, "zhangsan", n, "督办要求今日17:30前答复")) == 1
