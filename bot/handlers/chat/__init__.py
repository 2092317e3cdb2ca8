"""The chat use cases: a neutral inbound event (a button click or a text) → who is it, what may
they do, run the transition, answer. Platform-neutral: WeCom and DingTalk both land here.

Each event is handled in one transaction: the transition, the timeline entry, the dialogue
state and every message to send (replies, card updates, new cards) commit together.

The use cases live one module per group, each registering on its own ``Router`` (router.py);
``ROUTER`` below includes them all. Where a new button, command or dialogue step goes:
docs/chat-router.md.
"""

from __future__ import annotations

from bot.handlers.chat import (
    accept_return,
    admin,
    approval,
    case_supervision,
    cohandling,
    corrections,
    followthrough,
    publication,
    queries,
    records,
    reply,
    review,
    routing,
    scoring_events,
    supervision,
)
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.deps import Deps
from bot.handlers.messaging import answering
from bot.handlers.notify import ChatNotifier
from bot.ports import Inbound
from store import directory
from store.db import Session

ROUTER = Router().include(
    accept_return.on,
    reply.on,
    review.on,
    approval.on,
    publication.on,
    supervision.on,
    queries.on,
    admin.on,
    cohandling.on,
    corrections.on,
    records.on,
    routing.on,
    followthrough.on,
    case_supervision.on,
    scoring_events.on,
)

__all__ = ["ROUTER", "ChatHandler", "Turn"]


class ChatHandler:
    """What the inbound worker calls for each stored chat event."""

    def __init__(self, deps: Deps, notifier: ChatNotifier, router: Router = ROUTER) -> None:
        self.deps = deps
        self.notifier = notifier
        self.outbox = notifier.outbox
        self.router = router

    async def handle(self, session: Session, event: Inbound) -> None:
        """Handle one event inside the caller's transaction (the inbound worker's)."""
        if event.kind not in ("text", "click"):
            return
        with answering(event.platform, event.user):  # the answers go before bulk messages
            await self._handle(session, event)

    async def _handle(self, session: Session, event: Inbound) -> None:
        now = self.deps.clock.now()
        person = await directory.person_by_platform(session, event.platform, event.user)
        if person is None or not person.active:
            await self.outbox.reply_raw(
                session,
                event.platform,
                event.user,
                f"您还没有登记为留言办理系统的用户，请联系管理员登记您的账号（{event.user}）。",
                now,
            )
            return
        actor = await directory.actor_for(session, person)
        await self.router.dispatch(Turn(self.deps, self.notifier, session, event, person, actor, now))
