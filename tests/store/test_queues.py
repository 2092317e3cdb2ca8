"""The work queues in store/ (inbound events, the outbox, card references), on SQLite and on
PostgreSQL: one lease claim serves both queues."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.handlers.deps import Deps
from bot.ports import Inbound
from bot.runtime.inbound import EventStore, InboundWorker, store_one
from store import inbox, outbox
from store.models import InboundEvent

LEASE = timedelta(minutes=2)


def click(user: str, task_id: str, ref: str = "", at: int = 1_790_000_000) -> Inbound:
    return Inbound("wecom", user, "click", at, key="k", task_id=task_id, reply_ref=ref)


async def test_inbound_events_are_stored_once_and_claimed_under_a_lease(deps: Deps, clock: ManualClock) -> None:
    now = clock.now()
    rows = [inbox.event_row("wecom", key, "text", {"n": i}, now) for i, key in enumerate(["a", "b", "a", "c", "d"])]
    async with deps.sessions() as session, session.begin():
        assert await inbox.store_events(session, rows) == [True, True, False, True, True]
    async with deps.sessions() as session, session.begin():
        assert await inbox.store_events(session, rows[:1]) == [False]  # a platform retry
    async with deps.sessions() as session, session.begin():
        first = await inbox.claim(session, now=now, lease_until=now + LEASE, limit=2)
    async with deps.sessions() as session, session.begin():
        second = await inbox.claim(session, now=now, lease_until=now + LEASE, limit=5)
        again = await inbox.claim(session, now=now, lease_until=now + LEASE, limit=5)
    assert len(first) == 2 and len(second) == 2 and again == []
    assert first + second == sorted(first + second)  # oldest first
    async with deps.sessions() as session, session.begin():
        row = await inbox.pending(session, first[0])
        assert row is not None and row.attempts == 1  # claiming an event counts an attempt
        assert list(await inbox.pending_payloads(session, first + second)) == first + second
        await inbox.mark_done(session, [first[0]], now)
    later = now + LEASE + timedelta(seconds=1)  # the claimer died: its leases run out
    async with deps.sessions() as session, session.begin():
        back = await inbox.claim(session, now=later, lease_until=later + LEASE, limit=5)
        assert back == first[1:] + second
        assert await inbox.pending(session, first[0]) is None
        assert list(await inbox.pending_payloads(session, first + second)) == first[1:] + second


async def test_outbox_claims_only_due_messages_of_the_given_platforms(deps: Deps, clock: ManualClock) -> None:
    now = clock.now()
    async with deps.sessions() as session, session.begin():
        queued = [
            await outbox.enqueue(
                session,
                platform=platform,
                channel="user",
                recipient="zhangsan",
                payload={"type": "text", "text": "hi"},
                now=now,
                not_before=now + timedelta(minutes=delay),
            )
            for platform, delay in (("wecom", 0), ("dingtalk", 0), ("wecom", 5), ("wecom", 0))
        ]
    ids = [i for i in queued if i is not None]
    assert len(ids) == 4
    wecom_now = [ids[0], ids[3]]
    async with deps.sessions() as session, session.begin():
        claimed = await outbox.claim(session, now=now, lease_until=now + LEASE, limit=10, platforms=["wecom"])
        assert claimed == wecom_now
        assert await outbox.claim(session, now=now, lease_until=now + LEASE, limit=10, platforms=["wecom"]) == []
        row = await outbox.message(session, ids[0])
        assert row is not None and row.attempts == 0 and row.locked_until is not None  # a claim is no attempt
        assert await outbox.recipients(session, claimed) == [(i, "wecom", "zhangsan") for i in wecom_now]
        outbox.mark_sent(row, now, {"msgid": "m"})
        failed = await outbox.message(session, ids[3])
        assert failed is not None
        outbox.mark_failed(failed, "x" * 600, retry_at=now + timedelta(seconds=5))
    async with deps.sessions() as session:
        assert await outbox.sent_since(session, "wecom", "zhangsan", now - timedelta(minutes=1)) == (1, now)
        assert await outbox.pending(session, ids[0]) is None
        retry = await outbox.pending(session, ids[3])
        assert retry is not None and retry.attempts == 1 and len(retry.last_error or "") == 500


async def test_card_references(deps: Deps, clock: ManualClock) -> None:
    now = clock.now()
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
            card={"title": "t"},
            outbox_id=None,
            now=now,
        )
    async with deps.sessions() as session, session.begin():
        assert await outbox.card_ref(session, "T1") == outbox.CardRef(None, False)  # not sent yet
        assert await outbox.card_ref(session, "nope") is None
        assert await outbox.card_recipient(session, "wecom", "T1") == "zhangsan"
        assert await outbox.card_recipient(session, "dingtalk", "T1") is None
        await outbox.keep_card_ref(session, "T1", "send-code")
        await outbox.keep_card_ref(session, "T1", "later")  # the send's code is kept once
        assert await outbox.card_ref(session, "T1") == outbox.CardRef("send-code", False)
        await outbox.spend_card_ref(session, "T1")
        assert await outbox.card_ref(session, "T1") == outbox.CardRef("send-code", True)
        await outbox.refresh_card_ref(session, "T1", "click-code")
        assert await outbox.card_ref(session, "T1") == outbox.CardRef("click-code", False)


async def test_the_worker_records_a_clicks_reference_for_its_card(deps: Deps, clock: ManualClock) -> None:
    """The click's reference is fresher than the send's (WeCom spec §3.6): the runtime records
    it before the handler runs, so no handler needs to know about platform references."""
    now = clock.now()
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
            card={"title": "t"},
            outbox_id=None,
            now=now,
        )
        await outbox.keep_card_ref(session, "T1", "send-code")
        await outbox.spend_card_ref(session, "T1")
    seen: list[Inbound] = []

    async def handle(session: object, event: Inbound) -> None:
        seen.append(event)

    store = EventStore(deps)
    try:
        assert await store.store(click("zhangsan", "T1", "click-code"), "k1") is True
        assert await store.store(click("zhangsan", "T1", "click-code"), "k1") is False
    finally:
        store.close()
    assert await store_one(deps)(click("zhangsan", "T1", at=1_790_000_001), "k2") is True  # no reference
    worker = InboundWorker(deps, handle)
    assert await worker.run_once() == 2
    assert [e.reply_ref for e in seen] == ["click-code", ""]
    async with deps.sessions() as session:
        assert await outbox.card_ref(session, "T1") == outbox.CardRef("click-code", False)
        events = (await session.execute(select(InboundEvent).order_by(InboundEvent.id))).scalars().all()
    assert [(e.dedupe_key, e.status) for e in events] == [("k1", "done"), ("k2", "done")]


async def test_a_failing_event_is_retried_then_given_up(deps: Deps, clock: ManualClock) -> None:
    async def handle(session: object, event: Inbound) -> None:
        raise RuntimeError("boom")

    assert await store_one(deps)(click("zhangsan", "T9"), "k") is True
    worker = InboundWorker(deps, handle)
    for attempt in range(1, 6):
        assert await worker.run_once() == 1
        async with deps.sessions() as session:
            row = (await session.execute(select(InboundEvent))).scalar_one()
            assert row is not None and row.error == "RuntimeError: boom" and row.attempts == attempt
            assert row.status == ("failed" if attempt == 5 else "pending")
            assert row.locked_until == clock.now() + timedelta(seconds=30 * attempt)
        clock.advance(seconds=30 * attempt + 1)
    assert await worker.run_once() == 0
