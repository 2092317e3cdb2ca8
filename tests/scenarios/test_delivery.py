"""Delivery that people feel, against the strict fake WeCom (issue 11): answers before bulk, exact
limits, quick retries, outages waited out, no loss or duplicates after a crash, whole lines."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.platforms.wecom.transport import DUPLICATE_CHECK_SECONDS
from bot.ports import Delivery, Outgoing
from store import outbox
from store.models import OutboxMessage
from tests.fakes.office import Office, at, reminders, tick


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    clock.set(at(2026, 2, 12, 10))  # a Thursday; reminders fall due the same afternoon
    o = await Office.open(db_url, clock)
    yield o
    await o.close()


class Killed(BaseException):
    """kill -9: not an Exception, so nothing in the bot handles it."""


async def bulk(office: Office, user: str, texts: list[str]) -> None:
    async with office.runtime.deps.sessions() as session, session.begin():
        for text in texts:
            await outbox.enqueue(
                session,
                platform="wecom",
                channel="user",
                recipient=user,
                payload={"type": "text", "text": text},
                now=office.clock.now(),
            )


async def rows(office: Office, *where: Any) -> list[OutboxMessage]:
    async with office.runtime.deps.sessions() as session:
        return list((await session.execute(select(OutboxMessage).where(*where).order_by(OutboxMessage.id))).scalars())


async def dead(office: Office) -> int:
    async with office.runtime.deps.sessions() as session:
        stmt = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "dead")
        return int((await session.execute(stmt)).scalar_one())


def alerts(office: Office, user: str = "wugl") -> list[str]:
    return [t for t in office.texts(user) if "系统告警" in t]


def later(office: Office, seconds: float) -> None:
    office.clock.advance(seconds=seconds)
    office.fake.advance(seconds)


async def test_an_answer_overtakes_a_queue_of_bulk_messages(office: Office) -> None:
    await bulk(office, "zhangsan", [f"提醒{i}" for i in range(60)])
    before = len(office.texts("zhangsan"))
    await office.say("zhangsan", "帮助")
    got = office.texts("zhangsan")[before:]
    assert "提醒" not in got[0] and "待办" in got[0]  # the answer came first
    assert len(got) == 25  # 30/min less 5 kept for answers: the answer used one of the 25
    answers = await rows(office, OutboxMessage.lane == outbox.INTERACTIVE)
    assert [r.recipient for r in answers] == ["zhangsan"]
    assert office.fake.drops == []
    for _ in range(3):
        later(office, 61)
        await office.settle()
    assert [t for t in office.texts("zhangsan") if t.startswith("提醒")] == [f"提醒{i}" for i in range(60)]
    assert office.fake.drops == []


async def test_a_busy_platform_is_retried_within_seconds(office: Office) -> None:
    office.fake.fail_next("message/send", errcode=-1, times=2)
    await office.register()
    assert office.cards("zhangsan", "assign") == []
    later(office, 1.3)  # the first retry after about a second
    await office.settle()
    later(office, 2.5)  # the second after about two
    await office.settle()
    assert len(office.cards("zhangsan", "assign")) == 1 and len(office.cards("limei", "assign")) == 1


async def test_a_lost_answer_is_not_delivered_twice(office: Office) -> None:
    office.fake.lose_reply_next("message/send")
    await bulk(office, "zhangsan", ["一条通知"])
    await office.settle()
    later(office, 2)
    await office.settle()
    assert office.texts("zhangsan") == ["一条通知"]
    assert office.fake.duplicates == 1 and await dead(office) == 0


async def crash_on_first_card(office: Office) -> None:
    """The next card send reaches WeCom, then the process dies before recording it."""
    transport = office.runtime.channels.sender.transports["wecom"]
    real = transport.deliver

    async def deliver(message: Outgoing) -> Delivery:
        d = await real(message)
        if message.kind == "card":
            transport.deliver = real  # type: ignore[method-assign]
            raise Killed
        return d

    transport.deliver = deliver  # type: ignore[method-assign]


@pytest.mark.parametrize("restart_after", [180, 3600])
async def test_a_crash_mid_send_neither_loses_nor_repeats(office: Office, restart_after: int) -> None:
    """Within the duplicate check the re-sent card is suppressed by WeCom and its reference comes
    back; beyond it WeCom answers 42014 (task_id taken), which counts as delivered. No alert
    either way, and the case's later change greys out every copy that can be changed."""
    await crash_on_first_card(office)
    try:
        n = (await office.register())["number"]
    except Killed:
        n = (await rows(office))[0].payload["card"]["title"]
    later(office, restart_after)  # the lease runs out; the next process sends again
    await office.settle()
    assert len(office.cards("zhangsan", "assign")) == 1 and len(office.cards("limei", "assign")) == 1
    assert await dead(office) == 0 and alerts(office) == []
    assert len(office.fake.messages_to("zhangsan")) + len(office.fake.messages_to("limei")) == 2
    card = office.card("zhangsan", "assign")
    await office.click("zhangsan", card.task_id, "签收")
    assert not office.card("zhangsan", "assign").clickable
    assert not office.card("limei", "assign").clickable or restart_after > DUPLICATE_CHECK_SECONDS
    assert n


async def test_an_outage_of_two_hours_loses_nothing(office: Office) -> None:
    office.fake.down = True
    await office.register()
    await bulk(office, "zhangsan", [f"第{i}条" for i in range(5)])
    for _ in range(24):  # two hours with the clock frozen between steps
        later(office, 300)
        await office.settle()
    assert office.fake.messages_to("zhangsan") == [] and await dead(office) == 0
    health = await (await office.bot.get("/healthz")).json()
    assert health["status"] == "degraded" and health["delivery"]["wecom"]["status"] == "unreachable"
    assert health["delivery"]["wecom"]["queued"] >= 7
    office.fake.down = False
    later(office, 61)
    await office.settle()
    texts = [t for t in office.texts("zhangsan") if t.startswith("第")]
    assert texts == [f"第{i}条" for i in range(5)]  # in order
    assert len(office.cards("zhangsan", "assign")) == 1 and len(office.cards("limei", "assign")) == 1
    assert await dead(office) == 0 and office.fake.drops == []
    warned = alerts(office)
    assert len(warned) == 1 and "无法连接" in warned[0]
    health = await (await office.bot.get("/healthz")).json()
    assert health["status"] == "ok" and "delivery" not in health


async def test_merged_reminders_keep_whole_lines_and_the_footer(office: Office) -> None:
    titles = [f"第{i:02d}件：小区道路破损严重、路灯长期不亮、下水道堵塞需要尽快维修处理" for i in range(30)]
    for i, title in enumerate(titles):
        await office.register(title=title, petitioner=f"人{i}", contact=None, source_ref=f"R{i}")
    reminder_time = at(2026, 2, 12, 14, 5)
    office.fake.advance((reminder_time - office.clock.now()).total_seconds())  # one time for both
    await tick(office, reminder_time)
    for _ in range(3):  # 30 new-case cards went first, paced
        later(office, 61)
        await office.settle()
    got = reminders(office, "zhangsan")
    assert len(got) == 1 and office.fake.drops == []
    text = got[0]
    assert len(text.encode("utf-8")) <= 2048
    lines = text.split("\n")
    footer = re.fullmatch(r"……另有(\d+)件，请发送“待办”查看。", lines[-1])
    assert footer is not None
    shown = lines[1:-1]
    assert len(shown) + int(footer.group(1)) == 30
    # whole lines, numbered from 1: nothing cut in the middle
    assert all(
        re.fullmatch(rf"{i}\. LY\d{{4}}-\d{{6}} 第\d\d件：.*：交办已超过4小时未签收", line)
        for i, line in enumerate(shown, 1)
    )


def test_the_duplicate_check_covers_a_retry_and_a_restart_after_the_lease() -> None:
    from bot.runtime.outbox import LEASE

    assert LEASE.total_seconds() + 120 <= DUPLICATE_CHECK_SECONDS <= 14400
