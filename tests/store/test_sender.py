"""The outbox sender with a neutral transport: the sender, not the transport, looks up and records
a card's platform reference (on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from bot.cards.models import Card
from bot.clock import ManualClock
from bot.handlers.deps import Deps
from bot.ports import Delivery, Outgoing
from bot.runtime.outbox import OutboxSender
from store import outbox
from store.models import OutboxMessage


class StubTransport:
    platform = "wecom"
    needs_card_ref = True

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.gone = False

    async def deliver(self, message: Outgoing) -> Delivery:
        self.sent.append(message)
        if message.kind == "card":
            return Delivery("sent", {"msgid": "m"}, card_ref=f"rc-{len(self.sent)}")
        if message.kind == "card_update":
            if self.gone:
                return Delivery("sent", {"fallback": "text"}, error="gone", ref_gone=True)
            return Delivery("sent", {"updated": True}, ref_spent=True)
        return Delivery("sent")


async def queue(deps: Deps, clock: ManualClock, channel: str, payload: dict[str, object]) -> None:
    async with deps.sessions() as session, session.begin():
        await outbox.enqueue(
            session, platform="wecom", channel=channel, recipient="zhangsan", payload=payload, now=clock.now()
        )


def update() -> dict[str, object]:
    return {"type": "card_update", "task_id": "T1", "card": Card("件", closed="已签收").to_dict()}


async def rows(deps: Deps) -> list[tuple[str, str, int, dict[str, object] | None]]:
    async with deps.sessions() as session:
        found = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [(r.channel, r.status, r.attempts, r.result) for r in found]


async def ref(deps: Deps) -> outbox.CardRef | None:
    async with deps.sessions() as session:
        return await outbox.card_ref(session, "T1")


async def test_the_sender_owns_card_references(deps: Deps, clock: ManualClock) -> None:
    transport = StubTransport()
    sender = OutboxSender(deps, {"wecom": transport})
    async with deps.sessions() as session, session.begin():
        await outbox.add_card_task(
            session,
            task_id="T1",
            platform="wecom",
            case_id=None,
            person_id=None,
            recipient="zhangsan",
            kind="assign",
            stage=1,
            card=Card("件").to_dict(),
            outbox_id=None,
            now=clock.now(),
        )
    # an update of a card not sent yet waits for the card (no attempt, no call)
    await queue(deps, clock, "card_update", update())
    assert await sender.run_once() == 1
    assert transport.sent == [] and await rows(deps) == [("card_update", "pending", 0, None)]

    # the send brings the reference; the update then gets it as plain data and spends it
    await queue(deps, clock, "user", {"type": "card", "kind": "assign", "card": Card("件").to_dict(), "task_id": "T1"})
    assert await sender.run_once() == 1
    assert await ref(deps) == outbox.CardRef("rc-1", False)
    clock.advance(seconds=6)
    assert await sender.run_once() == 1
    assert transport.sent[-1].card_ref == "rc-1" and transport.sent[-1].kind == "card_update"
    assert await ref(deps) == outbox.CardRef("rc-1", True)

    # a spent reference: nothing to call, the update is settled as skipped
    await queue(deps, clock, "card_update", update())
    assert await sender.run_once() == 1
    assert len(transport.sent) == 2
    assert (await rows(deps))[-1] == ("card_update", "sent", 1, {"skipped": "card code unavailable"})

    # a click brings a fresh reference; the platform refuses it: the person is told in text
    async with deps.sessions() as session, session.begin():
        await outbox.refresh_card_ref(session, "T1", "rc-click")
    transport.gone = True
    await queue(deps, clock, "card_update", update())
    assert await sender.run_once() == 1
    assert transport.sent[-1].card_ref == "rc-click"
    assert await sender.run_once() == 1
    assert (transport.sent[-1].kind, transport.sent[-1].text) == ("text", "件：已签收")
    assert [r[:2] for r in await rows(deps)][-2:] == [("card_update", "sent"), ("user", "sent")]
