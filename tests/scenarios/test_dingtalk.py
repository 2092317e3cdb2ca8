"""DingTalk-specific paths: bad callbacks, Stream mode end to end, a mixed WeCom + DingTalk office."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from store.models import InboundEvent
from tests.fakes.fake_dingtalk import ROBOT_TOPIC
from tests.fakes.office import DING_TOKEN, Office, Request


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, "dingtalk")
    yield o
    await o.close()


async def stored(office: Office) -> int:
    async with office.runtime.deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(InboundEvent))).scalar_one())


async def test_bad_robot_callbacks_change_nothing(office: Office, clock: ManualClock) -> None:
    fake = office.fake
    now_ms = int(clock.now().timestamp() * 1000)
    message = fake.robot_message("zhangsan", "帮助", create_at_ms=now_ms)
    cases = [
        fake.signed_callback(message, timestamp_ms=now_ms, secret="wrong-secret"),
        fake.signed_callback(message, timestamp_ms=now_ms - 2 * 3600 * 1000),  # stale: > 1 h skew
        fake.signed_callback(message, timestamp_ms=now_ms, sign="AAAA"),
    ]
    for cb in cases:
        resp = await office.bot.post(cb.url, data=cb.body, headers=cb.headers)
        assert resp.status == 403
    headers = {"Content-Type": "application/json"}
    for body in (b"{not json", b"[]", b'{"msgId": 1}', json.dumps({"a": "x" * 70_000}).encode(), b"\xff\xfe"):
        resp = await office.bot.post("/dingtalk/callback", data=body, headers=headers)
        assert 400 <= resp.status < 500
    await office.settle()
    assert await stored(office) == 0
    assert office.texts("zhangsan") == []


async def test_replayed_robot_message_is_processed_once(office: Office, clock: ManualClock) -> None:
    now_ms = int(clock.now().timestamp() * 1000)
    cb = office.fake.signed_callback(
        office.fake.robot_message("zhangsan", "帮助", create_at_ms=now_ms), timestamp_ms=now_ms
    )
    for _ in range(3):
        assert await office.post(Request(cb.url, cb.body, cb.headers)) == 200
    assert len(office.texts("zhangsan")) == 1


async def test_card_callbacks_need_token_known_card_and_recipient(office: Office) -> None:
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    good = office.side().click_request("zhangsan", card.task_id, "签收")
    no_token = Request(good.path.split("?")[0], good.body, good.headers)
    wrong_token = Request(good.path.replace(DING_TOKEN, "guess"), good.body, good.headers)
    payload = json.loads(good.body)
    payload["userId"] = "zhaozj"  # someone else replays zhangsan's card
    other_user = Request(good.path, json.dumps(payload).encode(), good.headers)
    payload = json.loads(good.body)
    payload["outTrackId"] = "LY2026-000001-assign-forged000000"
    forged = Request(good.path, json.dumps(payload).encode(), good.headers)
    for bad in (no_token, wrong_token, other_user, forged):
        assert await office.post(bad) == 403
    assert (await office.case(n))["state"] == "assigned"
    assert await office.post(good) == 200
    assert (await office.case(n))["state"] == "accepted"


async def test_stream_mode_end_to_end(sqlite_url: str, clock: ManualClock) -> None:
    """The default mode: our own WebSocket client against the fake gateway, persisting before acking."""
    office = await Office.open(sqlite_url, clock, "dingtalk")
    try:
        cfg = office.runtime.config.dingtalk
        cfg.mode = "stream"
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
        card = office.card("zhangsan", "assign")
        click = fake.click("zhangsan", card.task_id, "签收")
        ack = await fake.push_click(click)
        assert ack.code == 200
        assert await stored(office) == 1  # persisted before the ack went out
        await office.settle()
        assert (await office.case(n))["state"] == "accepted"
        assert not office.card("limei", "assign").clickable
        now_ms = int(clock.now().timestamp() * 1000)
        message = fake.robot_message("zhangsan", f"查询 {n}", create_at_ms=now_ms)
        ack = await fake.push_robot_message(message)
        assert ack.code == 200
        await fake.redeliver(next(iter(fake.connections[-1].sent)))  # a redelivered frame
        await asyncio.sleep(0.05)
        await office.settle()
        assert "办理中" in office.last_text("zhangsan")
        assert fake.ack_errors == []
        await channels.stream.stop()
        task.cancel()
    finally:
        await office.close()


async def test_stream_frames_are_stored_in_small_batches(sqlite_url: str, clock: ManualClock) -> None:
    """Frames arriving together are stored with group commit (a few transactions, not one per
    frame), and every frame is acked only once its own event is stored."""
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
        now_ms = int(clock.now().timestamp() * 1000)
        senders = ("zhangsan", "limei", "wangkz", "zhaozj", "qiandj")  # one sender's frames go in order
        frames = [
            await fake.push_frame(
                "CALLBACK", ROBOT_TOPIC, fake.robot_message(senders[i % 5], f"帮助{i}", create_at_ms=now_ms)
            )
            for i in range(20)
        ]
        acks = await asyncio.gather(*(fake.wait_ack(mid) for mid in frames))
        assert [a.code for a in acks] == [200] * 20
        assert await stored(office) == 20
        assert 0 < channels.events.commits < 20  # small batches, not a transaction per frame
        assert fake.ack_errors == []
        await channels.stream.stop()
        task.cancel()
    finally:
        await office.close()


async def test_mixed_office(db_url: str, clock: ManualClock) -> None:
    """The unit works in DingTalk, the office in WeCom; 张三 has both: every copy follows the case."""
    people = {
        "zhangsan": {"wecom": "zhangsan", "dingtalk": "zhangsan"},
        "limei": {"wecom": None, "dingtalk": "limei"},
        "wangkz": {"wecom": None, "dingtalk": "wangkz"},
        **{u: {"wecom": u, "dingtalk": None} for u in ("qiandj", "sundc", "zhousj", "wugl", "zhaozj")},
    }
    office = await Office.open(db_url, clock, "dingtalk", platforms=("wecom", "dingtalk"), people=people)
    try:
        n = (await office.register())["number"]
        assert office.card("zhangsan", "assign", on="wecom").clickable
        assert office.card("zhangsan", "assign", on="dingtalk").clickable
        assert office.card("limei", "assign", on="dingtalk").clickable
        assert office.cards("limei", on="wecom") == []
        # 签收 in WeCom: the DingTalk copies are greyed too
        await office.click("zhangsan", office.card("zhangsan", "assign", on="wecom").task_id, "签收", on="wecom")
        assert not office.card("zhangsan", "assign", on="dingtalk").clickable
        assert "已签收" in (office.card("limei", "assign", on="dingtalk").closed or "")
        await office.say(
            "limei",
            f"回复 {n} 属实 表明态度：反映问题属实，我局高度重视。工作过程：已责令公司于11月10日前结清欠薪，"
            "并约谈负责人，公司已书面承诺。核查情况：派员实地核查工资台账。网友反馈：已电话联系网友，网友认可。",
            on="dingtalk",
        )
        await office.say("limei", "提交", on="dingtalk")
        assert (await office.case(n))["state"] == "submitted"
        review = office.card("sundc", "review", on="wecom")
        await office.click("sundc", review.task_id, "审核通过", on="wecom")
        assert (await office.case(n))["state"] == "approved"
    finally:
        await office.close()


async def test_unpublished_robot_alerts_the_admins(office: Office, clock: ManualClock) -> None:
    now_ms = int(clock.now().timestamp() * 1000)
    message = office.fake.robot_message("zhangsan", "帮助", create_at_ms=now_ms, published=False)
    cb = office.fake.signed_callback(message, timestamp_ms=now_ms)
    assert await office.post(Request(cb.url, cb.body, cb.headers)) == 200
    await office.runtime.channels.jobs.tick()
    await office.settle()
    assert "尚未发布" in office.last_text("wugl")
    assert await stored(office) == 0


async def test_monthly_quota_warns_the_admins(db_url: str, clock: ManualClock) -> None:
    office = await Office.open(db_url, clock, "dingtalk", "[dingtalk]\nmonthly_api_quota = 4\n")
    try:
        await office.register()
        await office.runtime.channels.jobs.tick()
        await office.settle()
        assert any("钉钉接口调用" in t for t in office.texts("wugl"))
    finally:
        await office.close()
