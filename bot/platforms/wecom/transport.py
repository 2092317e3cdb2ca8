"""Delivering outgoing messages through the WeCom API (spec §3, §5, §6)."""

from __future__ import annotations

import logging
from typing import Final

from bot.cards.fit import clip
from bot.cards.wecom import template_card
from bot.config import WeComConfig
from bot.platforms.wecom.client import WeComAPIError, WeComClient
from bot.platforms.wecom.limits import LIMITS
from bot.ports import Channel, Delivery, Outcome, Outgoing

log = logging.getLogger(__name__)

#: response_code already used / unknown or expired (42021 is the fake's choice, spec §8)
_CODE_GONE = {42021, 42022}

#: message/send with ``enable_duplicate_check`` (spec §3.2): the same request again within this
#: many seconds is not delivered twice. It covers a retry after an ambiguous failure (seconds) and
#: the sender's lease (2 minutes, after which a crashed sender's message goes again) with three
#: minutes for the restart. Not longer: the same answer to the same command is not repeated within
#: it either (it is on the person's screen already). Default 1800, max 4 h.
DUPLICATE_CHECK_SECONDS: Final = 300


class WeComTransport:
    """A card is changed with the single-use ``response_code`` of its send or of the latest click
    (spec §3.6): the sender passes it as ``Outgoing.card_ref`` and records the one a send returns
    (``Delivery.card_ref``), its use (``ref_spent``) and its loss (``ref_gone``)."""

    platform = "wecom"
    needs_card_ref = True
    limits = LIMITS

    def __init__(self, client: WeComClient, config: WeComConfig) -> None:
        self.client = client
        self.config = config

    async def deliver(self, message: Outgoing) -> Delivery:
        try:
            if message.channel == Channel.USER:
                return await self._to_user(message)
            if message.channel == Channel.CARD_UPDATE:
                assert message.card is not None
                await self.client.update_template_card(
                    response_code=message.card_ref, userids=[message.recipient], card=template_card(message.card)
                )
                return Delivery(Outcome.SENT, {"updated": True}, ref_spent=True)
            if message.channel == Channel.GROUP:
                await self.client.appchat_send_markdown(message.recipient, self._fit(message, "markdown"))
                return Delivery(Outcome.SENT)
            if message.channel == Channel.WEBHOOK:
                key = self.config.supervision_webhook_key
                if not key:
                    return Delivery(Outcome.DEAD, error="no webhook key configured")
                if message.image is not None:  # spec §5.2: base64 + md5 of the raw PNG, ≤ 2 MB
                    image = message.image
                    body = {"msgtype": "image", "image": {"base64": image.png_b64, "md5": image.md5}}
                else:
                    body = {"msgtype": "markdown", "markdown": {"content": self._fit(message, "markdown")}}
                await self.client.webhook_send(key, body)
                return Delivery(Outcome.SENT)
        except WeComAPIError as exc:
            return self._classify(message, exc)
        except ValueError as exc:  # refused locally by the client (e.g. bad recipient)
            return Delivery(Outcome.DEAD, error=str(exc))
        return Delivery(Outcome.DEAD, error=f"unknown channel {message.channel}")

    async def _to_user(self, message: Outgoing) -> Delivery:
        user = message.recipient
        # bulk messages go with ``enable_duplicate_check`` (DUPLICATE_CHECK_SECONDS, set in app.py):
        # the same reminder sent again after a crash is not delivered twice. An answer to a person's
        # own question is not: two questions may well get two equal answers ("无权查看此件").
        check = not message.interactive
        if message.kind == "text":
            result = await self.client.send_text([user], self._fit(message, "text"), check_duplicates=check)
        elif message.kind == "markdown":
            result = await self.client.send_markdown([user], self._fit(message, "markdown"), check_duplicates=check)
        elif message.kind == "card":
            assert message.card is not None
            result = await self.client.send_template_card([user], template_card(message.card, message.task_id))
        else:
            return Delivery(Outcome.DEAD, error=f"unknown payload type {message.kind}")
        data = {"msgid": result.msgid, "response_code": result.response_code}
        unreachable = tuple(result.invalid_users) + tuple(result.unlicensed_users)
        return Delivery(Outcome.SENT, data, unreachable=unreachable, card_ref=result.response_code or "")

    def _fit(self, message: Outgoing, kind: str) -> str:
        """The text within the channel's size limit, cut between lines (spec §3.3, §3.4, §5)."""
        limit = self.limits.bytes_for(message.channel, kind)
        return message.text if limit is None else clip(message.text, limit)

    def _classify(self, message: Outgoing, exc: WeComAPIError) -> Delivery:
        error = f"{exc.errcode} {exc.kind}: {exc.errmsg[:120]}"
        if message.channel == Channel.CARD_UPDATE and exc.errcode in _CODE_GONE:
            return Delivery(Outcome.SENT, {"fallback": "text", "errcode": exc.errcode}, error=error, ref_gone=True)
        if message.kind == "card" and exc.errcode == 42014 and message.attempts > 0:
            # the same task_id again after an ambiguous failure or a crash mid-send (the sender
            # counts that attempt too), beyond the duplicate check: the first send got through
            return Delivery(Outcome.SENT, {"assumed": "task_id already used"})
        if exc.kind == "rate":
            return Delivery(Outcome.RETRY, error=error, delay=60.0)
        if exc.kind in ("transient", "token"):
            return Delivery(Outcome.RETRY, error=error, outage=_unreachable(exc))
        if exc.kind == "recipient" and message.channel in (Channel.USER, Channel.CARD_UPDATE):
            return Delivery(Outcome.DEAD, error=error, unreachable=(message.recipient,))
        return Delivery(Outcome.DEAD, error=error)


def _unreachable(exc: WeComAPIError) -> bool:
    """WeCom could not be reached or answered with a server error: an outage to wait out."""
    if exc.http_status is not None and exc.http_status >= 500:
        return True
    return exc.errcode == -1 and exc.errmsg.startswith(("connection", "timeout", "reply is not"))
