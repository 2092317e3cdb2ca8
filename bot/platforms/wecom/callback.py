"""GET|POST /wecom/callback: URL verification and encrypted events (spec §1).

Verify → decrypt → parse → store under the dedupe key (committed) → answer an empty 200 at once;
the inbound worker does the work afterwards (spec §1.6, §1.7: 5 s limit, up to 4 deliveries).

The signed ``timestamp`` must lie within :data:`MAX_SKEW_SECONDS` of our clock: WeCom documents
no window, but its retries come within seconds, so 15 minutes either way covers them and any
sane clock skew, while a callback captured yesterday (or in 2017) is refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from aiohttp import web

from bot.metrics import Metrics
from bot.platforms.wecom.crypto import WeComCrypto, WeComCryptoError
from bot.platforms.wecom.events import CardClick, EnterAgent, TextMessage, WeComEvent, dedupe_key, parse_event
from bot.ports import Inbound, StoreEvent, Wake

log = logging.getLogger(__name__)

#: how far the signed ``timestamp`` may be from our clock, either way (documented in the README)
MAX_SKEW_SECONDS: Final = 15 * 60


def to_inbound(event: WeComEvent) -> Inbound | None:
    """The neutral form of the events the chat layer acts on; None for the rest."""
    if isinstance(event, TextMessage):
        return Inbound("wecom", event.user, "text", event.create_time, text=event.content)
    if isinstance(event, CardClick):
        return Inbound(
            "wecom",
            event.user,
            "click",
            event.create_time,
            key=event.event_key,
            task_id=event.task_id,
            reply_ref=event.response_code,
            extra={"selected": {k: list(v) for k, v in event.selected.items()}} if event.selected else {},
        )
    if isinstance(event, EnterAgent):
        return Inbound("wecom", event.user, "enter", event.create_time)
    return None


class WeComCallback:
    def __init__(
        self,
        crypto: WeComCrypto,
        metrics: Metrics,
        *,
        agent_id: int,
        store: StoreEvent,
        wake: Wake,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.crypto = crypto
        self.metrics = metrics
        self.agent_id = agent_id
        self.store = store  # committed before it returns (the runtime groups concurrent callbacks)
        self.wake = wake
        self.now = now  # unix seconds

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/wecom/callback", self.verify)
        app.router.add_post("/wecom/callback", self.receive)

    def _refuse(self, exc: WeComCryptoError) -> web.Response:
        # never log the body, the signature or any secret: the code and reason are enough
        log.warning("wecom callback refused: %s %s", exc.code, exc.reason)
        self.metrics.inbound.labels("wecom", "refused").inc()
        return web.Response(status=400, text="bad request")

    async def verify(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            plain = self.crypto.verify_url(
                q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
            )
        except WeComCryptoError as exc:
            return self._refuse(exc)
        return web.Response(text=plain, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.metrics.inbound.labels("wecom", "refused").inc()
            return web.Response(status=413, text="too large")
        try:
            plain = self.crypto.decrypt(body, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
            event = parse_event(plain)
        except WeComCryptoError as exc:
            return self._refuse(exc)
        # the timestamp is covered by the signature just checked
        timestamp = q.get("timestamp", "")
        if (
            not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12)
            or abs(int(timestamp) - self.now()) > MAX_SKEW_SECONDS
        ):
            log.warning("wecom callback refused: timestamp outside the %d-minute window", MAX_SKEW_SECONDS // 60)
            self.metrics.inbound.labels("wecom", "refused").inc()
            return web.Response(status=400, text="bad request")
        if event.agent_id is not None and event.agent_id != self.agent_id:
            log.warning("wecom callback for agent %s ignored (ours is %s)", event.agent_id, self.agent_id)
            return web.Response(text="")
        inbound = to_inbound(event)
        if inbound is None:
            log.info("wecom %s ignored", type(event).__name__)
            self.metrics.inbound.labels("wecom", "ignored").inc()
            return web.Response(text="")
        # committed before the 200 (group commit with the callbacks arriving meanwhile)
        fresh = await self.store(inbound, dedupe_key(event))
        self.metrics.inbound.labels("wecom", "stored" if fresh else "duplicate").inc()
        if fresh:
            self.wake()
        return web.Response(text="")
