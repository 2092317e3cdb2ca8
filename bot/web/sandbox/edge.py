"""The sandbox as a platform edge: what the transport delivers is kept for the chat pages
(``keep``), and what a person types or clicks on a page enters exactly like a WeCom callback —
a neutral :class:`~bot.ports.Inbound` stored under its dedupe key (a repeated request changes
nothing), then the inbound worker is woken and the chat router handles it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.handlers.deps import Deps
from bot.handlers.messaging import sandbox_user
from bot.ports import Channel, Inbound, Outgoing, Wake
from bot.runtime.inbound import store_event
from bot.web.sandbox.live import Hub
from store import outbox as outbox_store
from store import sandbox as rows
from store.db import Sessions

#: a page's request id (one per typed line or click; a resend of the same request is a duplicate)
REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
#: the longest line a person may type (WeCom's text message limit is 2048 bytes)
MAX_TEXT = 2000


class Refused(Exception):
    """The page's request is not accepted; ``message`` says why (Chinese, shown to the person)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def topic_of(channel: str, recipient: str) -> str:
    return f"{'group' if channel in ('group', 'webhook') else 'user'}:{recipient}"


@dataclass
class SandboxEdge:
    deps: Deps
    hub: Hub
    wake: Wake  # the inbound worker has work
    send: Wake  # the outbox sender has work
    tick: Callable[[], Awaitable[int]]  # the scheduled tick (bot/jobs.py), run by the clock control
    clock_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- outbound: the transport's Keep -------------------------------------------------------

    async def keep(self, message: Outgoing) -> None:
        now = self.deps.clock.now()
        async with self.deps.sessions() as session, session.begin():
            if message.channel == Channel.CARD_UPDATE:
                assert message.card is not None
                row = await rows.replace_card(session, message.task_id, message.card.to_dict(), now)
                topic = topic_of("user", row.recipient) if row is not None else None
            else:
                channel = "user" if message.channel == Channel.USER else "group"
                data = message.card.to_dict() if message.card is not None else None
                if message.image is not None:
                    data = {"png_b64": message.image.png_b64}
                await rows.add(
                    session,
                    channel=channel,
                    recipient=message.recipient,
                    direction="out",
                    kind=message.kind,
                    text=message.text,
                    data=data,
                    task_id=message.task_id or None,
                    at=now,
                )
                topic = topic_of(channel, message.recipient)
        if topic is not None:
            self.hub.publish(topic)

    # --- inbound: typed text and clicks --------------------------------------------------------

    async def say(self, sessions: Sessions, person_id: int, text: str, request_id: str) -> bool:
        """A person typed ``text``; True when it is new (False: the same request again)."""
        text = text.strip()
        if not text:
            raise Refused("请输入内容。")
        if len(text) > MAX_TEXT:
            raise Refused(f"内容过长（最多 {MAX_TEXT} 字）。")
        user = sandbox_user(person_id)
        now = self.deps.clock.now()
        event = Inbound("sandbox", user, "text", int(now.timestamp()), text=text)
        async with sessions() as session, session.begin():
            fresh = await store_event(session, "sandbox", _key(request_id), event, now)
            if fresh:  # the typed line shows on the right, as in WeCom
                await rows.add(session, channel="user", recipient=user, direction="in", kind="text", text=text, at=now)
        if fresh:
            self.hub.publish(topic_of("user", user))
            self.wake()
        return fresh

    async def click(self, sessions: Sessions, person_id: int, task_id: str, key: str, request_id: str) -> bool:
        """A person clicked ``key`` on the card ``task_id``: only its recipient, only a button the
        card has, only while the card is open (WeCom greys it after the click)."""
        user = sandbox_user(person_id)
        now = self.deps.clock.now()
        async with sessions() as session, session.begin():
            if await outbox_store.card_recipient(session, "sandbox", task_id) != user:
                raise Refused("这张卡片不是发给您的。", 403)
            card = await rows.card_of(session, task_id)
            if card is None:
                raise Refused("卡片不存在。", 404)
            if card.get("closed"):
                raise Refused(f"此卡片已处理：{card['closed']}", 409)
            if key not in [b.get("key") for b in card.get("buttons", [])]:
                raise Refused("卡片上没有这个按钮。")
            event = Inbound("sandbox", user, "click", int(now.timestamp()), key=key, task_id=task_id)
            fresh = await store_event(session, "sandbox", _key(request_id), event, now)
        if fresh:
            self.wake()
        return fresh


def _key(request_id: str) -> str:
    if not REQUEST_ID.fullmatch(request_id):
        raise Refused("请求编号无效，请刷新页面。")
    return f"sandbox:{request_id}"
