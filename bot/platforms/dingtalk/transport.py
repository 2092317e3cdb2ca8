"""Delivering outgoing messages through the DingTalk API (spec §c, §d, §e)."""

from __future__ import annotations

from bot.cards.dingtalk import card_params, card_preview, markdown_title
from bot.cards.fit import clip
from bot.config import DingTalkConfig
from bot.platforms.dingtalk.client import DingTalkAPIError, DingTalkClient
from bot.platforms.dingtalk.limits import LIMITS
from bot.ports import Channel, Delivery, Outcome, Outgoing


class DingTalkTransport:
    platform = "dingtalk"
    needs_card_ref = False  # a card is changed by its outTrackId, which is our task id
    limits = LIMITS

    def __init__(self, client: DingTalkClient, config: DingTalkConfig) -> None:
        self.client = client
        self.config = config

    async def deliver(self, message: Outgoing) -> Delivery:
        try:
            if message.channel == Channel.USER:
                return await self._to_user(message)
            if message.channel == Channel.CARD_UPDATE:
                assert message.card is not None
                await self.client.update_card(message.task_id, card_data=card_params(message.card), merge=False)
                return Delivery(Outcome.SENT, {"updated": True})
            if message.channel == Channel.GROUP:
                text = self._fit(message, "markdown")
                await self.client.send_group_markdown(message.recipient, text, markdown_title(text))
                return Delivery(Outcome.SENT)
            if message.channel == Channel.WEBHOOK:
                if not self.config.supervision_webhook:
                    return Delivery(Outcome.DEAD, error="no webhook configured")
                text = self._fit(message, "markdown")
                body = {"msgtype": "markdown", "markdown": {"title": markdown_title(text), "text": text}}
                if message.id:  # spec §e: the idempotency key, so a post repeated after a crash is one post
                    body["msgUuid"] = f"liuyan-outbox-{message.id}"
                await self.client.webhook_send(
                    self.config.supervision_webhook, body, secret=self.config.supervision_webhook_secret or None
                )
                return Delivery(Outcome.SENT)
        except DingTalkAPIError as exc:
            return self._classify(message, exc)
        except ValueError as exc:
            return Delivery(Outcome.DEAD, error=str(exc))
        return Delivery(Outcome.DEAD, error=f"unknown channel {message.channel}")

    async def _to_user(self, message: Outgoing) -> Delivery:
        user = message.recipient
        if message.kind == "card":
            if not self.config.card_template_id:
                return Delivery(Outcome.DEAD, error="[dingtalk] card_template_id is not configured")
            assert message.card is not None
            http = self.config.mode == "http"
            await self.client.create_and_deliver_card(
                out_track_id=message.task_id,
                template_id=self.config.card_template_id,
                card_data=card_params(message.card),
                user_id=user,
                preview=card_preview(message.card),
                callback_type="HTTP" if http else "STREAM",
                callback_route_key=self.config.card_callback_route_key if http else None,
            )
            return Delivery(Outcome.SENT, {"out_track_id": message.task_id})
        if message.kind == "text":
            result = await self.client.send_text([user], self._fit(message, "text"))
        elif message.kind == "markdown":
            text = self._fit(message, "markdown")
            result = await self.client.send_markdown([user], text, markdown_title(text))
        else:
            return Delivery(Outcome.DEAD, error=f"unknown payload type {message.kind}")
        if result.flow_controlled:
            return Delivery(Outcome.RETRY, error="flow controlled", delay=60.0)
        return Delivery(
            Outcome.SENT,
            {"process_query_key": result.process_query_key},
            unreachable=tuple(result.invalid) + tuple(result.filtered),
        )

    def _fit(self, message: Outgoing, kind: str) -> str:
        """The text within the channel's size limit, cut between lines."""
        limit = self.limits.bytes_for(message.channel, kind)
        return message.text if limit is None else clip(message.text, limit)

    def _classify(self, message: Outgoing, exc: DingTalkAPIError) -> Delivery:
        error = f"{exc.code} {exc.kind}: {exc.message[:120]}"
        if exc.kind == "rate":
            return Delivery(Outcome.RETRY, error=error, delay=exc.retry_after or 60.0)
        if exc.kind in ("transient", "token"):
            return Delivery(Outcome.RETRY, error=error, delay=exc.retry_after or 0.0, outage=_unreachable(exc))
        if exc.kind == "recipient" and message.channel in (Channel.USER, Channel.CARD_UPDATE):
            return Delivery(Outcome.DEAD, error=error, unreachable=(message.recipient,))
        return Delivery(Outcome.DEAD, error=error)


def _unreachable(exc: DingTalkAPIError) -> bool:
    """DingTalk could not be reached or answered with a server error: an outage to wait out."""
    if exc.http_status is not None and exc.http_status >= 500:
        return True
    return exc.code in ("network", "timeout")
