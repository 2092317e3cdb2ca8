"""当日交办 (issue 13, seed 001 第九条): a case still unassigned at office close reminds the
dispatchers; the next working morning the supervision group gets the 未交办 list; an urgent case
reminds every hour — once each, on WeCom and DingTalk, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.clock import ManualClock
from tests.conftest import SHANGHAI
from tests.fakes.office import Office


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


def said(office: Office, user: str, head: str) -> list[str]:
    return [t for t in office.texts(user) if t.startswith(head)]


async def test_unassigned_at_close_and_next_morning(office: Office) -> None:
    n = (await office.register(unit=None, category="城市管理"))["number"]  # Monday 09:00
    done = (await office.register(unit=None, category="城市管理", source_ref="RMW-2"))["number"]
    assert (await office.case(n))["state"] == "registered"
    await office.say("qiandj", f"交办 {done} 区住建局")
    await tick(office, at(2, 17, 0))  # before close: nothing yet
    assert said(office, "qiandj", "【当日未交办】") == []
    await tick(office, at(2, 17, 35))
    [close] = said(office, "qiandj", "【当日未交办】")
    assert n in close and done not in close and "1件" in close
    await tick(office, at(2, 17, 40))  # once a day
    assert len(said(office, "qiandj", "【当日未交办】")) == 1
    await tick(office, at(3, 9, 5))  # the next working morning: the 未交办 list in the group
    posts = [p for p in office.group_posts() if "未交办留言" in p]
    assert len(posts) == 1 and n in posts[0] and done not in posts[0]
    await tick(office, at(3, 9, 6))
    assert len([p for p in office.group_posts() if "未交办留言" in p]) == 1


async def test_urgent_unassigned_reminds_every_hour(office: Office) -> None:
    n = (await office.register(unit=None, category="城市管理", urgent=True))["number"]
    assert any(n in t for t in said(office, "qiandj", "【新留言待交办】"))  # at once
    await tick(office, at(2, 9, 30))
    assert said(office, "qiandj", "【急件未交办】") == []
    await tick(office, at(2, 10, 5))
    await tick(office, at(2, 10, 40))
    assert len(said(office, "qiandj", "【急件未交办】")) == 1
    await tick(office, at(2, 11, 1))
    assert (
        len(said(office, "qiandj", "【急件未交办】")) == 2 and "2小时" in said(office, "qiandj", "【急件未交办】")[-1]
    )
    await office.say("qiandj", f"交办 {n} 区住建局")
    await tick(office, at(2, 12, 1))
    assert len(said(office, "qiandj", "【急件未交办】")) == 2
