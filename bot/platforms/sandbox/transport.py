"""Delivering outgoing messages to the sandbox: the same outbox and sender as WeCom and DingTalk,
but the "platform" keeps each message for the chat pages (an injected :data:`Keep`) and tells the
open pages (a WebSocket, bot/web/sandbox/live.py).

Texts are cut where WeCom cuts them (its content limits), so a rehearsal shows what people will
read; there is no pacing (no tenant to protect)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.cards.fit import clip
from bot.platforms.wecom.limits import LIMITS as WECOM_LIMITS
from bot.ports import Channel, Delivery, Outcome, Outgoing, PlatformLimits

#: keep one delivered message (store it for the chat pages and tell them); raises on failure
Keep = Callable[[Outgoing], Awaitable[None]]

LIMITS = PlatformLimits(rates=(), content_bytes=dict(WECOM_LIMITS.content_bytes))

_KINDS: dict[str, tuple[str, ...]] = {
    Channel.USER: ("text", "markdown", "card"),
    Channel.GROUP: ("text", "markdown", "image"),
    Channel.WEBHOOK: ("text", "markdown", "image"),
    Channel.CARD_UPDATE: ("card_update",),
}


class SandboxTransport:
    platform = "sandbox"
    needs_card_ref = False
    limits = LIMITS

    def __init__(self, keep: Keep) -> None:
        self.keep = keep

    async def deliver(self, message: Outgoing) -> Delivery:
        kinds = _KINDS.get(message.channel)
        if kinds is None:
            return Delivery(Outcome.DEAD, error=f"unknown channel {message.channel}")
        if message.kind not in kinds:
            return Delivery(Outcome.DEAD, error=f"unknown payload type {message.kind}")
        if message.kind in ("card", "card_update") and message.card is None:
            return Delivery(Outcome.DEAD, error="card missing")
        if message.kind in ("text", "markdown"):
            limit = self.limits.bytes_for(message.channel, message.kind)
            if limit is not None:
                message = replace(message, text=clip(message.text, limit))
        try:
            await self.keep(message)
        except Exception as exc:  # the database is busy or gone: the sender tries again
            return Delivery(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:200], delay=1.0)
        return Delivery(Outcome.SENT, {"shown": True})
