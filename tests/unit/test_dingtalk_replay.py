"""DingTalk HTTP mode: a (timestamp, sign) header pair is a bearer credential for an hour, so each
pair is accepted once; the edge asks an injected "first use" port (the database in production)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.metrics import Metrics
from bot.platforms.dingtalk.callback import DingTalkInbound
from bot.platforms.dingtalk.sign import compute_sign
from bot.ports import Inbound

NOW = 1_700_000_000.0
SECRET = "s"


class Ports:
    def __init__(self) -> None:
        self.stored: list[tuple[Inbound, str]] = []
        self.seen: dict[tuple[str, str], tuple[str, float]] = {}

    async def store(self, event: Inbound, key: str) -> bool:
        fresh = all(k != key for _, k in self.stored)
        self.stored.append((event, key))
        return fresh

    async def first_use(self, scope: str, token: str, binding: str, expires_at: float) -> bool:
        return self.seen.setdefault((scope, token), (binding, expires_at))[0] == binding

    async def card_recipient(self, platform: str, task_id: str) -> str | None:
        return None


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def edge() -> AsyncIterator[tuple[Client, Ports]]:
    ports = Ports()
    inbound = DingTalkInbound(
        Metrics(),
        secret=SECRET,
        token="t",
        store=ports.store,
        wake=lambda: None,
        card_recipient=ports.card_recipient,
        first_use=ports.first_use,
        now=lambda: NOW,
    )
    app = web.Application()
    inbound.add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client, ports


def message(msg_id: str, text: str, sender: str = "u1") -> bytes:
    return json.dumps(
        {
            "msgId": msg_id,
            "msgtype": "text",
            "text": {"content": text},
            "senderStaffId": sender,
            "conversationType": "1",
            "conversationId": "cid1",
            "createAt": int(NOW * 1000),
        }
    ).encode()


def headers(ts_ms: int) -> dict[str, str]:
    return {"timestamp": str(ts_ms), "sign": compute_sign(str(ts_ms), SECRET)}


async def test_a_header_pair_with_another_body_is_refused_and_logged(
    edge: tuple[Client, Ports], caplog: pytest.LogCaptureFixture
) -> None:
    client, ports = edge
    pair = headers(int(NOW * 1000) - 5000)
    first = await client.post("/dingtalk/callback", data=message("m1", "帮助"), headers=pair)
    assert first.status == 200
    with caplog.at_level(logging.WARNING):
        second = await client.post("/dingtalk/callback", data=message("m2", "添加单位 假单位", "boss"), headers=pair)
    assert second.status == 403
    assert [e.extra["msg_id"] for e, _ in ports.stored] == ["m1"]
    security = [r for r in caplog.records if r.name == "bot.security"]
    assert len(security) == 1 and "replay" in security[0].getMessage()
    # remembered until the pair itself could no longer verify (one hour after its timestamp)
    assert [exp for _, exp in ports.seen.values()] == [NOW - 5 + 3600]


async def test_an_identical_retry_is_a_duplicate_not_a_refusal(edge: tuple[Client, Ports]) -> None:
    client, ports = edge
    pair = headers(int(NOW * 1000))
    for _ in range(2):
        resp = await client.post("/dingtalk/callback", data=message("m1", "帮助"), headers=pair)
        assert resp.status == 200
    assert [k for _, k in ports.stored] == [ports.stored[0][1]] * 2  # the store dedupes it


async def test_http_messages_are_marked_as_such(edge: tuple[Client, Ports]) -> None:
    client, ports = edge
    resp = await client.post("/dingtalk/callback", data=message("m1", "帮助"), headers=headers(int(NOW * 1000)))
    assert resp.status == 200
    assert ports.stored[0][0].extra["via"] == "http"
