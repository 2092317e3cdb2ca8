"""POST /dingtalk/callback (HTTP mode, spec §b.2, §d.4) and the Stream-mode handler (§b.3).

Both persist the event under its dedupe key before answering; the inbound worker does the work.
Robot messages are verified by the ``timestamp``/``sign`` headers. The signature covers only the
timestamp (DingTalk's design), so a header pair is a bearer credential for the hour it verifies:
each pair is accepted once, remembered through the injected ``first_use`` port (the database, so
it holds across processes); the same pair with another body is a replay, refused and logged as a
security event. An identical redelivery is left to the msgId dedupe. Messages that came this way
are marked ``extra["via"] = "http"``: the chat layer refuses admin commands on them. How DingTalk signs HTTP card
callbacks is undocumented (spec §d.4): they need the secret token in the URL, a card we sent
(``outTrackId``) and the clicker must be that card's recipient.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from bot.metrics import Metrics
from bot.platforms.dingtalk.events import (
    CardCallback,
    DingTalkEventError,
    RobotMessage,
    dedupe_key,
    parse_callback,
    to_inbound,
)
from bot.platforms.dingtalk.sign import MAX_SKEW_MS, DingTalkSignError, verify_callback
from bot.ports import CardRecipient, FirstUse, Inbound, StoreEvent, Wake

log = logging.getLogger(__name__)
security = logging.getLogger("bot.security")
PAIR_SCOPE = "dingtalk-sign"  # the ``first_use`` scope of the header pairs
_EMPTY = {"msgtype": "empty"}


class DingTalkInbound:
    def __init__(
        self,
        metrics: Metrics,
        *,
        secret: str,
        token: str,
        store: StoreEvent,
        wake: Wake,
        card_recipient: CardRecipient,
        first_use: FirstUse | None = None,
        now: Callable[[], float] = time.time,
        alerts: list[str] | None = None,
    ) -> None:
        self.metrics = metrics
        self.secret = secret
        self.token = token
        self._store = store
        self.wake = wake
        self.card_recipient = card_recipient  # who a card we sent went to (card-click authorisation)
        self.first_use = first_use or _memory_first_use()  # the database in production (bot.app)
        self.now = now
        self.alerts = alerts if alerts is not None else []  # flushed to the admins by the next tick

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/dingtalk/callback", self.receive)

    async def store(self, inbound: Inbound, key: str) -> bool:
        fresh = await self._store(inbound, key)
        self.metrics.inbound.labels("dingtalk", "stored" if fresh else "duplicate").inc()
        if fresh:
            self.wake()
        return fresh

    async def on_stream_event(self, inbound: Inbound, key: str) -> Mapping[str, Any] | None:
        """Stream mode: persist, then let the ack go out (the card is updated by the outbox)."""
        if inbound.kind == "other":
            self._problem(inbound)
            return None
        await self.store(inbound, key)
        return None

    def _problem(self, inbound: Inbound) -> None:
        """A message we cannot act on: the robot is not published (no staffId) or the monthly
        quota is used up. Nobody can be answered reliably, so the admins are told."""
        problem = inbound.extra.get("problem")
        self.metrics.inbound.labels("dingtalk", "ignored").inc()
        if problem == "no_staff_id":
            self.alerts.append(
                "钉钉机器人收到无法识别发送人的消息：机器人可能尚未发布，请管理员在开发者后台发布机器人。"
            )
        elif problem == "quota_exhausted":
            self.alerts.append("钉钉提示本组织开放接口调用量已用尽，机器人暂时无法收发消息，请管理员处理。")

    def _refuse(self, status: int, reason: str) -> web.Response:
        log.warning("dingtalk callback refused: %s", reason)
        self.metrics.inbound.labels("dingtalk", "refused").inc()
        return web.json_response({"error": reason}, status=status)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, "body too large")
        try:
            event = parse_callback(body)
        except DingTalkEventError as exc:
            return self._refuse(400, f"bad body: {exc}"[:200])
        if isinstance(event, RobotMessage):
            try:
                verify_callback(
                    request.headers.get("timestamp"), request.headers.get("sign"), self.secret, now=self.now
                )
            except DingTalkSignError as exc:
                return self._refuse(403, f"bad signature ({exc.reason})")
            if not await self._pair_unused(request, body):
                security.warning("dingtalk callback refused: signature replay (header pair reused with another body)")
                return self._refuse(403, "signature already used")
        elif not await self._card_allowed(request, event):
            return self._refuse(403, "unknown card or clicker")
        inbound = to_inbound(event, received_at=self.now())
        if inbound is not None and isinstance(event, RobotMessage):
            inbound.extra["via"] = "http"
        if inbound is None or inbound.kind == "other":
            if inbound is not None:
                self._problem(inbound)
            else:
                self.metrics.inbound.labels("dingtalk", "ignored").inc()
            return web.json_response(_EMPTY)
        await self.store(inbound, dedupe_key(event))
        return web.json_response(_EMPTY if isinstance(event, RobotMessage) else {})

    async def _pair_unused(self, request: web.Request, body: bytes) -> bool:
        """True for the first use of this verified (timestamp, sign) pair, and for an identical
        redelivery of the body it first came with; False for the pair with any other body."""
        timestamp = request.headers.get("timestamp", "").strip()
        sign = request.headers.get("sign", "").strip()
        # remembered for as long as the pair verifies: until one hour after its timestamp
        expires_at = (int(timestamp) + MAX_SKEW_MS) / 1000
        body_digest = hashlib.sha256(body).hexdigest()
        return await self.first_use(PAIR_SCOPE, f"{timestamp}:{sign}", body_digest, expires_at)

    async def _card_allowed(self, request: web.Request, event: CardCallback) -> bool:
        given = request.query.get("k", "")
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            return False
        recipient = await self.card_recipient("dingtalk", event.out_track_id)
        return recipient is not None and recipient == event.user_id


def _memory_first_use() -> FirstUse:
    """One process's memory: for an edge built without the shared store (unit tests)."""
    seen: dict[tuple[str, str], str] = {}

    async def first_use(scope: str, token: str, binding: str, expires_at: float) -> bool:
        return seen.setdefault((scope, token), binding) == binding

    return first_use
