"""Delivering outbox rows through the WeCom API (spec §3, §5, §6)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards.models import Card
from bot.cards.wecom import template_card
from bot.config import WeComConfig
from bot.platforms.wecom.client import WeComAPIError, WeComClient
from bot.runtime.outbox import Delivery
from store import repo
from store.models import CardTask, OutboxMessage

log = logging.getLogger(__name__)

#: response_code already used / unknown or expired (42021 is the fake's choice, spec §8)
_CODE_GONE = {42021, 42022}


class WeComTransport:
    platform = "wecom"

    def __init__(self, client: WeComClient, config: WeComConfig) -> None:
        self.client = client
        self.config = config

    async def prepare(self, session: AsyncSession, row: OutboxMessage) -> dict[str, Any] | None:
        payload = row.payload
        if row.channel != "card_update":
            return {}
        task = await session.get(CardTask, payload["task_id"])
        if task is None:
            return {"gone": True}
        if task.response_code is None or task.code_used:
            # the card is not sent yet (its code comes with the send), or its code was spent
            return None if task.response_code is None else {"gone": True}
        return {"code": task.response_code}

    async def deliver(self, row: OutboxMessage, context: dict[str, Any]) -> Delivery:
        payload = row.payload
        try:
            if row.channel == "user":
                return await self._to_user(row.recipient, payload)
            if row.channel == "card_update":
                if context.get("gone"):
                    return Delivery("sent", {"skipped": "card code unavailable"})
                card = Card.from_dict(payload["card"])
                await self.client.update_template_card(
                    response_code=context["code"], userids=[row.recipient], card=template_card(card)
                )
                return Delivery("sent", {"updated": True})
            if row.channel == "group":
                await self.client.appchat_send_markdown(row.recipient, payload["text"])
                return Delivery("sent")
            if row.channel == "webhook":
                key = self.config.supervision_webhook_key
                if not key:
                    return Delivery("dead", error="no webhook key configured")
                if payload.get("type") == "image":  # spec §5.2: base64 + md5 of the raw PNG, ≤ 2 MB
                    body = {"msgtype": "image", "image": {"base64": payload["png_b64"], "md5": payload["md5"]}}
                else:
                    body = {"msgtype": "markdown", "markdown": {"content": payload["text"]}}
                await self.client.webhook_send(key, body)
                return Delivery("sent")
        except WeComAPIError as exc:
            return self._classify(row, exc)
        except ValueError as exc:  # refused locally by the client (e.g. bad recipient)
            return Delivery("dead", error=str(exc))
        return Delivery("dead", error=f"unknown channel {row.channel}")

    async def _to_user(self, user: str, payload: dict[str, Any]) -> Delivery:
        kind = payload["type"]
        if kind == "text":
            result = await self.client.send_text([user], payload["text"])
        elif kind == "markdown":
            result = await self.client.send_markdown([user], payload["text"])
        elif kind == "card":
            card = Card.from_dict(payload["card"])
            result = await self.client.send_template_card([user], template_card(card, payload["task_id"]))
        else:
            return Delivery("dead", error=f"unknown payload type {kind}")
        data = {"msgid": result.msgid, "response_code": result.response_code}
        unreachable = tuple(result.invalid_users) + tuple(result.unlicensed_users)
        return Delivery("sent", data, unreachable=unreachable)

    def _classify(self, row: OutboxMessage, exc: WeComAPIError) -> Delivery:
        error = f"{exc.errcode} {exc.kind}: {exc.errmsg[:120]}"
        if row.channel == "card_update" and exc.errcode in _CODE_GONE:
            return Delivery("sent", {"fallback": "text", "errcode": exc.errcode}, error=error)
        if row.payload.get("type") == "card" and exc.errcode == 42014 and row.attempts > 0:
            # same task_id again after an ambiguous failure: the first send got through (spec §6)
            return Delivery("sent", {"assumed": "task_id already used"})
        if exc.kind == "rate":
            return Delivery("retry", error=error, delay=60.0)
        if exc.kind in ("transient", "token"):
            return Delivery("retry", error=error)
        if exc.kind == "recipient" and row.channel in ("user", "card_update"):
            return Delivery("dead", error=error, unreachable=(row.recipient,))
        return Delivery("dead", error=error)

    async def finish(self, session: AsyncSession, row: OutboxMessage, delivery: Delivery, now: datetime) -> None:
        payload = row.payload
        if delivery.outcome != "sent":
            return
        if row.channel == "user" and payload.get("type") == "card":
            task = await session.get(CardTask, payload["task_id"])
            code = delivery.result.get("response_code")
            if task is not None and code and task.response_code is None:
                task.response_code = code
        elif row.channel == "card_update":
            task = await session.get(CardTask, payload["task_id"])
            if task is not None and delivery.result.get("updated"):
                task.code_used = True
            if delivery.result.get("fallback") == "text":
                # the card cannot be updated any more: tell the person in a line of text
                card = Card.from_dict(payload["card"])
                await repo.enqueue(
                    session,
                    platform=self.platform,
                    channel="user",
                    recipient=row.recipient,
                    payload={"type": "text", "text": f"{card.title}：{card.closed}"},
                    now=now,
                    case_id=row.case_id,
                    person_id=row.person_id,
                )
