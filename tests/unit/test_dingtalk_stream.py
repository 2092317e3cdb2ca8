"""DingTalkStream against the fake Stream gateway over a real WebSocket on 127.0.0.1 (spec §b.3)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from bot.cards.dingtalk import card_params
from bot.cards.models import Button, Card
from bot.platforms.dingtalk.client import DingTalkClient
from bot.platforms.dingtalk.stream import DingTalkStream, StreamStatus, ack_frame
from bot.ports import Inbound
from tests.fakes.fake_dingtalk import CARD_TOPIC, DEFAULT_TEMPLATE_ID, ROBOT_TOPIC, FakeDingTalk


@dataclass
class Recorder:
    """``on_event``: records calls; can be paused, made to fail, or to return a card reply."""

    events: list[tuple[Inbound, str]] = field(default_factory=list)
    gate: asyncio.Event | None = None
    fail: bool = False
    reply: Mapping[str, Any] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, inbound: Inbound, key: str) -> Mapping[str, Any] | None:
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("database is down")
        self.events.append((inbound, key))
        return self.reply


@dataclass
class Env:
    fake: FakeDingTalk
    session: aiohttp.ClientSession
    recorder: Recorder
    delays: list[float]
    streams: list[DingTalkStream] = field(default_factory=list)

    def make(self, **overrides: Any) -> DingTalkStream:
        async def no_sleep(seconds: float) -> None:
            self.delays.append(seconds)
            await asyncio.sleep(0)

        kwargs: dict[str, Any] = dict(
            open_url=self.fake.open_url,
            client_id=self.fake.client_id,
            client_secret=self.fake.client_secret,
            on_event=self.recorder,
            sleep=no_sleep,
            rand=lambda: 1.0,
            clock=self.fake.clock,
            heartbeat=30.0,
        )
        kwargs.update(overrides)
        stream = DingTalkStream(self.session, **kwargs)
        self.streams.append(stream)
        return stream

    async def started(self, **overrides: Any) -> DingTalkStream:
        stream = self.make(**overrides)
        stream.start()
        await self.fake.wait_connections(len(self.fake.connections) + 1)
        await asyncio.wait_for(stream.connected.wait(), 2)
        return stream


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FakeDingTalk(users=["zhangsan", "lisi"])
    await fake.start()
    session = aiohttp.ClientSession()
    e = Env(fake, session, Recorder(), [])
    try:
        yield e
    finally:
        for stream in e.streams:
            await stream.stop(timeout=2)
        await session.close()
        await fake.close()
        assert fake.ack_errors == []


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait (briefly, bounded) for something the other side does."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


# -- connecting (spec §b.3 step 1–2) -------------------------------------------------------------------


async def test_open_registers_both_callback_topics(env: Env) -> None:
    await env.started()
    body = env.fake.open_requests[0]
    assert body["clientId"] == env.fake.client_id and body["clientSecret"] == env.fake.client_secret
    assert body["subscriptions"] == [
        {"type": "CALLBACK", "topic": ROBOT_TOPIC},
        {"type": "CALLBACK", "topic": CARD_TOPIC},
    ]
    assert body["ua"].startswith("liuyan/")
    assert env.fake.connections[0].topics() == {ROBOT_TOPIC, CARD_TOPIC}
    assert env.fake.calls("oauth2/accessToken") == []  # the gateway needs no access token


@pytest.mark.parametrize("status", [401, 403])
async def test_credential_errors_are_retried_with_backoff_and_reported(
    env: Env, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """issue 11: a 401/403 on open must not end the stream for good (an admin fixes the secret or
    the permission later); each attempt backs off further and the state says why."""
    caplog.set_level(logging.DEBUG)
    env.fake.fail_next("gateway/connections/open", "authFailed", http_status=status, message="鉴权失败", times=3)
    seen: list[StreamStatus] = []
    stream = env.make(on_status=seen.append, rand=lambda: 0.0)
    stream.start()
    await env.fake.wait_connections(1)
    await until(lambda: stream.status.up)
    assert [(s.state, s.failures, s.error) for s in seen] == [
        ("auth_failed", 1, "authFailed"),
        ("auth_failed", 2, "authFailed"),
        ("auth_failed", 3, "authFailed"),
        ("connected", 0, None),
    ]
    assert env.delays == [0.5, 1.0, 2.0]
    assert len(env.fake.calls("gateway/connections/open")) == 4
    assert (await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "在吗"))).code == 200
    assert env.fake.client_secret not in caplog.text
    await stream.stop()
    assert stream.status.state == "stopped"


async def test_wrong_secret_keeps_retrying_until_stopped(env: Env) -> None:
    stream = env.make(client_secret="not-the-secret-123")
    task = stream.start()
    await until(lambda: len(env.delays) >= 3)
    assert not task.done() and stream.status.state == "auth_failed" and stream.status.failures >= 3
    await stream.stop()
    assert task.done() and task.exception() is None


async def test_tickets_are_single_use(env: Env) -> None:
    await env.started()
    async with env.session.post(
        env.fake.open_url,
        json={
            "clientId": env.fake.client_id,
            "clientSecret": env.fake.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
        },
    ) as resp:
        opened = await resp.json()
    async with env.session.ws_connect(f"{opened['endpoint']}?ticket={opened['ticket']}") as ws:
        await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await env.session.ws_connect(f"{opened['endpoint']}?ticket={opened['ticket']}")
    assert exc.value.status == 401
    env.fake.advance(91)
    async with env.session.post(
        env.fake.open_url,
        json={
            "clientId": env.fake.client_id,
            "clientSecret": env.fake.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
        },
    ) as resp:
        stale = await resp.json()
    env.fake.advance(91)  # tickets live 90 s
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await env.session.ws_connect(f"{stale['endpoint']}?ticket={stale['ticket']}")


# -- robot messages ---------------------------------------------------------------------------------------


async def test_robot_message_is_handed_over_then_acked(env: Env) -> None:
    await env.started()
    msg = env.fake.robot_message("zhangsan", "签收 LY-2026-0001", group="cidGROUP==")
    ack = await env.fake.push_robot_message(msg)
    assert (ack.code, ack.message, ack.data) == (200, "OK", {"response": None})
    assert ack.raw["headers"] == {"contentType": "application/json", "messageId": ack.message_id}
    assert isinstance(ack.raw["data"], str)  # a JSON string, as published
    [(inbound, key)] = env.recorder.events
    assert (inbound.platform, inbound.user, inbound.kind, inbound.text) == (
        "dingtalk",
        "zhangsan",
        "text",
        "签收 LY-2026-0001",
    )
    assert key == f"msg:{msg['msgId']}" and inbound.extra["conversation_type"] == "2"


async def test_ack_waits_for_on_event_but_pings_do_not(env: Env) -> None:
    env.recorder.gate = asyncio.Event()
    await env.started()
    mid = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "待办"))
    await asyncio.wait_for(env.recorder.started.wait(), 2)
    with pytest.raises(TimeoutError):
        await env.fake.wait_ack(mid, timeout=0.1)  # not persisted yet → not acked
    ping = await env.fake.send_ping()  # the reader answers pings while the handler waits
    assert ping.code == 200 and "opaque" in ping.data
    env.recorder.gate.set()
    ack = await env.fake.wait_ack(mid)
    assert ack.code == 200 and len(env.recorder.events) == 1


async def test_frames_are_handled_in_arrival_order(env: Env) -> None:
    await env.started()
    texts = [f"第{i}条" for i in range(8)]
    ids = [await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", t)) for t in texts]
    for mid in ids:
        await env.fake.wait_ack(mid)
    assert [i.text for i, _ in env.recorder.events] == texts


async def test_redelivered_frame_has_the_same_dedupe_key(env: Env) -> None:
    await env.started()
    msg = env.fake.robot_message("zhangsan", "签收 LY-2026-0001")
    ack = await env.fake.push_robot_message(msg)
    await env.fake.redeliver(ack.message_id)
    await until(lambda: len(env.recorder.events) == 2)
    assert env.recorder.events[0][1] == env.recorder.events[1][1] == f"msg:{msg['msgId']}"


async def test_failing_or_slow_on_event_is_acked_500_and_the_stream_goes_on(env: Env) -> None:
    stream = await env.started(handler_timeout=0.1)
    env.recorder.fail = True
    ack = await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "a"))
    assert (ack.code, ack.message) == (500, "internal error")
    env.recorder.fail = False
    env.recorder.gate = asyncio.Event()  # never opened: times out
    ack = await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "b"))
    assert (ack.code, ack.message) == (500, "timeout")
    env.recorder.gate = None
    ack = await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "c"))
    assert ack.code == 200 and [i.text for i, _ in env.recorder.events] == ["c"]
    assert stream.connections == 1


async def test_ignored_and_unusable_frames(env: Env) -> None:
    await env.started()
    picture = env.fake.robot_message("zhangsan", msgtype="picture", content={"downloadCode": "x"})
    assert (await env.fake.push_robot_message(picture)).data == {"response": None}
    bad = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, "{not json")
    assert (await env.fake.wait_ack(bad)).code == 200
    unknown = await env.fake.push_frame("CALLBACK", "/v1.0/something/new", {"a": 1}, conn=env.fake.live_connection())
    unknown_ack = await env.fake.wait_ack(unknown)
    assert (unknown_ack.code, unknown_ack.message) == (404, "topic unknown")
    event = await env.fake.push_frame(
        "EVENT",
        "*",
        {"eventType": "user_leave_org"},
        conn=env.fake.live_connection(),
        extra_headers={"eventId": "e1", "eventType": "user_leave_org"},
    )
    assert (await env.fake.wait_ack(event)).data == {"status": "SUCCESS", "message": "success"}
    conn = env.fake.live_connection()
    await conn.ws.send_str("garbage that is not a frame")
    await conn.ws.send_str(json.dumps({"type": "CALLBACK", "headers": {}}))
    await conn.ws.send_bytes(b"\x00\x01")
    ack = await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "still alive"))
    assert ack.code == 200 and [i.text for i, _ in env.recorder.events] == ["still alive"]


async def test_unidentified_sender_is_handed_over_as_other(env: Env) -> None:
    await env.started()
    await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "签收", published=False))
    [(inbound, _)] = env.recorder.events
    assert inbound.kind == "other" and inbound.extra["problem"] == "no_staff_id"


# -- card callbacks (spec §d.5) -----------------------------------------------------------------------------


async def make_card(env: Env, *, callback_type: str = "STREAM") -> Card:
    card = Card(
        "【交办】停水",
        fields=[("文号", "LY-2026-0001")],
        buttons=[Button("签收", "ly1|acc|LY-2026-0001|1", "primary"), Button("退回", "ly1|ret|LY-2026-0001|1")],
    )
    client = DingTalkClient(
        env.session,
        api_base=env.fake.base_url,
        oapi_base=env.fake.base_url,
        client_id=env.fake.client_id,
        client_secret=env.fake.client_secret,
        robot_code=env.fake.robot_code,
        qps_per_api=None,
        monotonic=env.fake.clock,
    )
    await client.create_and_deliver_card(
        out_track_id="LY-2026-0001-assign-s1",
        template_id=DEFAULT_TEMPLATE_ID,
        card_data=card_params(card),
        user_id="zhangsan",
        callback_type=callback_type,  # type: ignore[arg-type]
        callback_route_key="liuyan_card" if callback_type == "HTTP" else None,
    )
    return card


async def test_card_click_over_stream_and_the_reply_updates_the_card(env: Env) -> None:
    await env.started()
    card = await make_card(env)
    closed = Card(card.title, fields=card.fields, buttons=card.buttons, closed="已签收（张三）")
    env.recorder.reply = {
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
        "cardData": {"cardParamMap": card_params(closed)},
    }
    env.fake.advance(5)
    click = env.fake.click("zhangsan", "LY-2026-0001-assign-s1", "签收")
    ack = await env.fake.push_click(click)
    assert ack.code == 200 and ack.data == {"response": env.recorder.reply}
    [(inbound, key)] = env.recorder.events
    assert (inbound.kind, inbound.user, inbound.key, inbound.task_id) == (
        "click",
        "zhangsan",
        "ly1|acc|LY-2026-0001|1",
        "LY-2026-0001-assign-s1",
    )
    assert inbound.at == int(env.fake.now)  # from the frame's headers.time
    assert key.startswith("card:LY-2026-0001-assign-s1:zhangsan:")
    view = env.fake.card_state("zhangsan", "LY-2026-0001-assign-s1")
    assert view is not None and view.buttons == {} and view.data["status"] == "已签收（张三）"


async def test_card_click_without_reply_leaves_the_card(env: Env) -> None:
    await env.started()
    await make_card(env)
    ack = await env.fake.push_click(env.fake.click("zhangsan", "LY-2026-0001-assign-s1", "退回"))
    assert ack.data == {"response": {}}
    view = env.fake.card_state("zhangsan", "LY-2026-0001-assign-s1")
    assert view is not None and view.buttons == {"btn1": "签收", "btn2": "退回"}


async def test_http_cards_do_not_call_back_over_stream(env: Env) -> None:
    await env.started()
    await make_card(env, callback_type="HTTP")
    with pytest.raises(LookupError):
        await env.fake.push_click(env.fake.click("zhangsan", "LY-2026-0001-assign-s1", "签收"))


# -- reconnecting ---------------------------------------------------------------------------------------------


async def test_disconnect_reconnects_at_once_with_a_new_ticket(env: Env) -> None:
    stream = await env.started()
    await env.fake.send_disconnect()
    await env.fake.wait_connections(2)
    await until(lambda: stream.connected.is_set() and stream.connections == 2)
    assert env.delays == []  # planned: no backoff
    assert len(env.fake.open_requests) == 2
    ack = await env.fake.push_robot_message(env.fake.robot_message("zhangsan", "新连接"))
    assert ack.code == 200 and env.fake.connections[0].closed.is_set()


async def test_dropped_link_reconnects_with_backoff(env: Env) -> None:
    stream = await env.started()
    await env.fake.send_ping()
    await env.fake.drop()
    await env.fake.wait_connections(2)
    assert env.delays == [1.0]
    await until(lambda: stream.connected.is_set())
    assert (await env.fake.push_robot_message(env.fake.robot_message("lisi", "回来了"))).code == 200


async def test_backoff_grows_with_jitter_and_is_capped(env: Env) -> None:
    env.fake.fail_next("gateway/connections/open", "system.error", http_status=500, times=5)
    stream = env.make(backoff_base=1.0, backoff_cap=5.0, rand=lambda: 0.0)
    stream.start()
    await env.fake.wait_connections(1)
    assert env.delays == [0.5, 1.0, 2.0, 2.5, 2.5]  # base·2ⁿ capped at 5, × (0.5 + 0.5·rand)
    assert stream.connections == 1


async def test_frames_read_before_a_drop_are_still_handed_over(env: Env) -> None:
    env.recorder.gate = asyncio.Event()
    await env.started()
    first = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "一"))
    await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "二"))
    await asyncio.wait_for(env.recorder.started.wait(), 2)
    await until(lambda: env.streams[0].frames == 2)
    await env.fake.drop()
    env.recorder.gate.set()
    await until(lambda: len(env.recorder.events) == 2)
    assert [i.text for i, _ in env.recorder.events] == ["一", "二"]
    assert first not in env.fake.connections[0].acks  # the link was gone: no ack (DingTalk may redeliver)
    await env.fake.wait_connections(2)


async def test_one_slow_write_does_not_delay_other_acks(env: Env) -> None:
    """Frames are processed concurrently: lisi's frame is stored and acked while zhangsan's write
    hangs; zhangsan's next frame waits for his first (one person's frames stay in order)."""
    slow = asyncio.Event()
    stored: list[str] = []

    async def on_event(inbound: Inbound, key: str) -> None:
        if inbound.text == "慢":
            await slow.wait()
        stored.append(inbound.text or "")

    await env.started(on_event=on_event)
    first = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "慢"))
    second = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "后"))
    other = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("lisi", "快"))
    assert (await env.fake.wait_ack(other)).code == 200  # not behind the slow one
    assert stored == ["快"]
    with pytest.raises(TimeoutError):
        await env.fake.wait_ack(second, timeout=0.05)  # zhangsan's second waits for his first
    slow.set()
    assert (await env.fake.wait_ack(first)).code == 200 and (await env.fake.wait_ack(second)).code == 200
    assert stored == ["快", "慢", "后"]


async def test_disconnect_reconnects_at_once_while_old_frames_finish_on_the_old_socket(env: Env) -> None:
    env.recorder.gate = asyncio.Event()
    stream = await env.started()
    old = env.fake.connections[0]
    mid = await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "旧连接上的"))
    await asyncio.wait_for(env.recorder.started.wait(), 2)
    closing = asyncio.create_task(env.fake.send_disconnect(close_after=2.0))  # DingTalk: ~10 s
    await env.fake.wait_connections(2)  # reconnected while the old frame is still in hand
    await until(lambda: stream.connected.is_set() and stream.connections == 2)
    assert env.recorder.events == [] and env.delays == []
    env.recorder.gate.set()
    ack = await env.fake.wait_ack(mid, conn=old)  # its ack goes out on the socket it came on
    assert ack.code == 200 and [i.text for i, _ in env.recorder.events] == ["旧连接上的"]
    await until(lambda: old.closed.is_set() or old.ws.closed)  # then we close the old socket
    assert (await env.fake.push_robot_message(env.fake.robot_message("lisi", "新"))).code == 200
    closing.cancel()
    await asyncio.gather(closing, return_exceptions=True)


# -- stopping ---------------------------------------------------------------------------------------------------


async def test_stop_is_clean(env: Env) -> None:
    stream = await env.started()
    task = stream.start()  # idempotent while running
    await stream.stop()
    assert task.done() and not task.cancelled() and task.exception() is None
    await until(lambda: env.fake.connections[0].closed.is_set())
    assert not stream.connected.is_set() and len(env.fake.open_requests) == 1  # no reconnect


async def test_stop_during_backoff_returns_at_once(env: Env) -> None:
    env.fake.fail_next("gateway/connections/open", "system.error", http_status=500, times=100)
    stream = env.make(sleep=asyncio.sleep, backoff_base=60.0)  # a real, long sleep
    task = stream.start()
    await until(lambda: len(env.fake.calls("gateway/connections/open")) >= 1)
    await asyncio.sleep(0.02)
    async with asyncio.timeout(1):
        await stream.stop()
    assert task.done() and not task.cancelled()


async def test_stop_finishes_the_frame_in_hand(env: Env) -> None:
    env.recorder.gate = asyncio.Event()
    stream = await env.started()
    await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "最后一条"))
    await asyncio.wait_for(env.recorder.started.wait(), 2)
    stopping = asyncio.create_task(stream.stop(timeout=2))
    await asyncio.sleep(0.02)
    env.recorder.gate.set()
    await stopping
    assert [i.text for i, _ in env.recorder.events] == ["最后一条"]


async def test_cancellation_is_honest(env: Env) -> None:
    env.recorder.gate = asyncio.Event()
    stream = await env.started()
    task = stream.start()
    await env.fake.push_frame("CALLBACK", ROBOT_TOPIC, env.fake.robot_message("zhangsan", "x"))
    await asyncio.wait_for(env.recorder.started.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled() and env.recorder.events == []
    await until(lambda: env.fake.connections[0].closed.is_set())
    assert len(env.fake.open_requests) == 1  # the first cancel stops it: no reconnect


def test_ack_frame_shape() -> None:
    ack = ack_frame("m-1", {"response": None})
    assert ack == {
        "code": 200,
        "headers": {"contentType": "application/json", "messageId": "m-1"},
        "message": "OK",
        "data": '{"response": null}',
    }
    assert ack_frame("m-2", {"opaque": "点"})["data"] == '{"opaque": "点"}'
