"""Delivering outbox rows through the DingTalk API (spec §c, §d, §e)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards.dingtalk import card_params, card_preview, markdown_title
from bot.cards.models import Card
from bot.config import DingTalkConfig
from bot.platforms.dingtalk.client import DingTalkAPIError, DingTalkClient
from bot.runtime.outbox import Delivery
from store.models import OutboxMessage


class DingTalkTransport:
    platform = "dingtalk"

    def __init__(self, client: DingTalkClient, config: DingTalkConfig) -> None:
        self.client = client
        self.config = config

    async def prepare(self, session: AsyncSession, row: OutboxMessage) -> dict[str, Any] | None:
        return {}  # DingTalk updates a card by its outTrackId: nothing to look up

    async def deliver(self, row: OutboxMessage, context: dict[str, Any]) -> Delivery:
        payload = row.payload
        try:
            if row.channel == "user":
                return await self._to_user(row.recipient, payload)
            if row.channel == "card_update":
                card = Card.from_dict(payload["card"])
                await self.client.update_card(payload["task_id"], card_data=card_params(card), merge=False)
                return Delivery("sent", {"updated": True})
            if row.channel == "group":
                text = payload["text"]
                await self.client.send_group_markdown(row.recipient, text, markdown_title(text))
                return Delivery("sent")
            if row.channel == "webhook":
                if not self.config.supervision_webhook:
                    return Delivery("dead", error="no webhook configured")
                text = payload["text"]
                body = {"msgtype": "markdown", "markdown": {"title": markdown_title(text), "text": text}}
                await self.client.webhook_send(
                    self.config.supervision_webhook, body, secret=self.config.supervision_webhook_secret or None
                )
                return Delivery("sent")
        except DingTalkAPIError as exc:
            return self._classify(row, exc)
        except ValueError as exc:
            return Delivery("dead", error=str(exc))
        return Delivery("dead", error=f"unknown channel {row.channel}")

    async def _to_user(self, user: str, payload: dict[str, Any]) -> Delivery:
        kind = payload["type"]
        if kind == "card":
            if not self.config.card_template_id:
                return Delivery("dead", error="[dingtalk] card_template_id is not configured")
            card = Card.from_dict(payload["card"])
            http = self.config.mode == "http"
            await self.client.create_and_deliver_card(
                out_track_id=payload["task_id"],
                template_id=self.config.card_template_id,
                card_data=card_params(card),
                user_id=user,
                preview=card_preview(card),
                callback_type="HTTP" if http else "STREAM",
                callback_route_key=self.config.card_callback_route_key if http else None,
            )
            return Delivery("sent", {"out_track_id": payload["task_id"]})
        if kind == "text":
            result = await self.client.send_text([user], payload["text"])
        elif kind == "markdown":
            result = await self.client.send_markdown([user], payload["text"], markdown_title(payload["text"]))
        else:
            return Delivery("dead", error=f"unknown payload type {kind}")
        if result.flow_controlled:
            return Delivery("retry", error="flow controlled", delay=60.0)
        return Delivery(
            "sent",
            {"process_query_key": result.process_query_key},
            unreachable=tuple(result.invalid) + tuple(result.filtered),
        )

    def _classify(self, row: OutboxMessage, exc: DingTalkAPIError) -> Delivery:
        error = f"{exc.code} {exc.kind}: {exc.message[:120]}"
        if exc.kind == "rate":
            return Delivery("retry", error=error, delay=exc.retry_after or 60.0)
        if exc.kind in ("transient", "token"):
            return Delivery("retry", error=error, delay=exc.retry_after or 0.0)
        if exc.kind == "recipient" and row.channel in ("user", "card_update"):
            return Delivery("dead", error=error, unreachable=(row.recipient,))
        return Delivery("dead", error=error)

    async def finish(self, session: AsyncSession, row: OutboxMessage, delivery: Delivery, now: datetime) -> None:
        return None
