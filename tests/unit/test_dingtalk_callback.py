"""The DingTalk HTTP edge with its ports injected: storing, waking and the card look-up are plain
callables, so the edge runs here without a database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.metrics import Metrics
from bot.platforms.dingtalk.callback import DingTalkInbound
from bot.ports import Inbound

TOKEN = "cb-token"
CARD = {
    "type": "actionCallback",
    "userId": "user123",
    "userIdType": 1,
    "outTrackId": "T1",
    "content": '{"cardPrivateData":{"actionIds":["btn"],"params":{"action":"ly1|acc|LY-1|1"}}}',
}


class Ports:
    def __init__(self) -> None:
        self.stored: list[tuple[Inbound, str]] = []
        self.lookups: list[tuple[str, str]] = []
        self.wakes = 0
        self.cards = {"T1": "user123"}

    async def store(self, event: Inbound, key: str) -> bool:
        fresh = all(k != key for _, k in self.stored)
        self.stored.append((event, key))
        return fresh

    def wake(self) -> None:
        self.wakes += 1

    async def card_recipient(self, platform: str, task_id: str) -> str | None:
        self.lookups.append((platform, task_id))
        return self.cards.get(task_id)


@pytest.fixture
async def edge() -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Ports]]:
    ports = Ports()
    inbound = DingTalkInbound(
        Metrics(),
        secret="s",
        token=TOKEN,
        store=ports.store,
        wake=ports.wake,
        card_recipient=ports.card_recipient,
        now=lambda: 1_700_000_000.0,
    )
    app = web.Application()
    inbound.add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client, ports


async def test_a_click_on_our_card_by_its_recipient_is_stored_once(
    edge: tuple[TestClient[web.Request, web.Application], Ports],
) -> None:
    client, ports = edge
    for _ in range(2):
        resp = await client.post(f"/dingtalk/callback?k={TOKEN}", data=json.dumps(CARD))
        assert resp.status == 200 and await resp.json() == {}
    assert ports.lookups == [("dingtalk", "T1")] * 2
    assert [(e.kind, e.user, e.task_id, e.key) for e, _ in ports.stored] == [
        ("click", "user123", "T1", "ly1|acc|LY-1|1")
    ] * 2
    assert ports.wakes == 1  # the retry was a duplicate


@pytest.mark.parametrize(
    ("query", "card"),
    [
        ("?k=wrong", CARD),
        ("", CARD),
        (f"?k={TOKEN}", CARD | {"outTrackId": "unknown"}),
        (f"?k={TOKEN}", CARD | {"userId": "someone-else"}),
    ],
    ids=["bad token", "no token", "not our card", "not its recipient"],
)
async def test_other_clicks_are_refused(
    edge: tuple[TestClient[web.Request, web.Application], Ports], query: str, card: dict[str, object]
) -> None:
    client, ports = edge
    resp = await client.post(f"/dingtalk/callback{query}", data=json.dumps(card))
    assert resp.status == 403
    assert ports.stored == [] and ports.wakes == 0
