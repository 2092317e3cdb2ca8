"""issue 10: a redelivered non-idempotent message gets exactly one answer. ``查询 <文号>`` answers
every time it is processed, so a second processing shows as a second text — unlike 签收, whose
retry is absorbed by the state machine. The platforms redeliver as they really do: WeCom retries
the same MsgId (the same request, and a later one after a timeout); DingTalk re-sends the same
msgId, in HTTP mode as a new signed request, in Stream mode as the same frame and as a new frame."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from tests.fakes.fake_dingtalk import ROBOT_TOPIC
from tests.fakes.office import Office, Request


def answers(office: Office, user: str, number: str) -> list[str]:
    return [t for t in office.texts(user) if number in t]


@pytest.fixture
async def wecom(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, "wecom")
    yield o
    await o.close()


@pytest.fixture
async def dingtalk(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, "dingtalk")
    yield o
    await o.close()


async def test_wecom_retry_of_the_same_msgid_is_answered_once(wecom: Office, clock: ManualClock) -> None:
    n = (await wecom.register())["number"]
    before = len(answers(wecom, "zhangsan", n))
    msg_id, sent_at = 7_300_000_000_000_000_001, int(clock.now().timestamp())
    first = wecom.callbacks.text("zhangsan", f"查询 {n}", msg_id=msg_id, create_time=sent_at)
    # WeCom's retry within 5 s is the same request; a retry after a slow answer carries a new
    # timestamp and nonce (so a new signature) but the same MsgId
    clock.advance(6)
    later = wecom.callbacks.text("zhangsan", f"查询 {n}", msg_id=msg_id, create_time=sent_at)
    assert later.body != first.body
    for request in (first, first, later, first):
        assert await wecom.deliver(request) == 200
    got = answers(wecom, "zhangsan", n)
    assert len(got) == before + 1, got
    assert "办理中" in got[-1] or n in got[-1]
    # a new message (new MsgId) with the same words is answered again: the dedupe is per message
    await wecom.deliver(wecom.callbacks.text("zhangsan", f"查询 {n}"))
    assert len(answers(wecom, "zhangsan", n)) == before + 2


async def test_dingtalk_http_resend_of_the_same_msgid_is_answered_once(dingtalk: Office, clock: ManualClock) -> None:
    n = (await dingtalk.register())["number"]
    before = len(answers(dingtalk, "zhangsan", n))
    fake = dingtalk.fake
    now_ms = int(clock.now().timestamp() * 1000)
    message = fake.robot_message("zhangsan", f"查询 {n}", create_at_ms=now_ms, msg_id="msgREDELIVER0001==")
    # DingTalk re-sends the message as a new HTTP request: a new timestamp and signature, the same msgId
    for ts in (now_ms, now_ms + 1500, now_ms + 9000):
        cb = fake.signed_callback(message, timestamp_ms=ts)
        assert await dingtalk.post(Request(cb.url, cb.body, cb.headers)) == 200
    got = answers(dingtalk, "zhangsan", n)
    assert len(got) == before + 1, got
    clock.advance(60)
    await dingtalk.say("zhangsan", f"查询 {n}")  # a new message (new msgId) is answered again
    assert len(answers(dingtalk, "zhangsan", n)) == before + 2


async def test_dingtalk_stream_redelivery_of_the_same_msgid_is_answered_once(
    sqlite_url: str, clock: ManualClock
) -> None:
    office = await Office.open(sqlite_url, clock, "dingtalk")
    try:
        office.runtime.config.dingtalk.mode = "stream"
        from bot.app import build_channels

        channels = build_channels(
            office.runtime.deps,
            office.runtime.deps.notifier,  # type: ignore[arg-type]
            office.runtime.metrics,
            office.http,
        )
        office.runtime.channels = channels
        task = channels.stream.start()
        fake = office.fake
        await fake.wait_connections(1)
        n = (await office.register())["number"]
        before = len(answers(office, "zhangsan", n))
        now_ms = int(clock.now().timestamp() * 1000)
        message = fake.robot_message("zhangsan", f"查询 {n}", create_at_ms=now_ms, msg_id="msgSTREAMREDELIVER1==")
        assert (await fake.push_robot_message(message)).code == 200
        # the same frame again (no ack seen), then a new frame carrying the same msgId
        mid = next(m for m, f in fake.connections[-1].sent.items() if f["headers"]["topic"] == ROBOT_TOPIC)
        await fake.redeliver(mid)
        assert (await fake.wait_ack(mid)).code == 200
        assert (await fake.push_robot_message(message)).code == 200
        await office.settle()
        got = answers(office, "zhangsan", n)
        assert len(got) == before + 1, got
        assert fake.ack_errors == []
        # a new message is answered again
        assert (
            await fake.push_robot_message(fake.robot_message("zhangsan", f"查询 {n}", create_at_ms=now_ms))
        ).code == 200
        await office.settle()
        assert len(answers(office, "zhangsan", n)) == before + 2
        await channels.stream.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await office.close()
