"""The outbox sender's lanes, pacing by the platform's table, retries and outages, with a neutral
transport (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.handlers.deps import Deps
from bot.platforms.wecom.limits import LIMITS as WECOM
from bot.ports import Delivery, Outgoing
from bot.runtime.outbox import LEASE, OutboxSender, backoff
from store import outbox
from store.models import OutboxMessage


class Killed(BaseException):
    """kill -9: not an Exception, so nothing in the sender handles it."""


class Stub:
    platform = "wecom"
    needs_card_ref = False
    limits = WECOM

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.answer: Callable[[Outgoing], Delivery] = lambda _m: Delivery("sent")
        self.during: Callable[[Outgoing], Awaitable[None]] | None = None

    async def deliver(self, message: Outgoing) -> Delivery:
        if self.during is not None:
            await self.during(message)
        d = self.answer(message)
        if d.outcome == "sent":
            self.sent.append(message.text or message.kind)
        return d


async def put(
    deps: Deps, clock: ManualClock, text: str, *, lane: int = outbox.BULK, channel: str = "user", to: str = "zhangsan"
) -> None:
    async with deps.sessions() as session, session.begin():
        payload = (
            {"type": "card_update", "task_id": "T"} if channel == "card_update" else {"type": "text", "text": text}
        )
        await outbox.enqueue(
            session, platform="wecom", channel=channel, recipient=to, payload=payload, now=clock.now(), lane=lane
        )


async def drain(sender: OutboxSender) -> None:
    for _ in range(200):
        if await sender.run_once() == 0:
            return
    raise AssertionError("the sender did not settle")


async def statuses(deps: Deps) -> list[tuple[str, int]]:
    async with deps.sessions() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        return [(r.status, r.lane) for r in rows]


async def test_interactive_goes_first_and_bulk_steps_aside_after_one_send(deps: Deps, clock: ManualClock) -> None:
    stub = Stub()
    sender = OutboxSender(deps, {"wecom": stub}, batch=50)
    for i in range(20):
        await put(deps, clock, f"bulk{i}")
    await put(deps, clock, "answer0", lane=outbox.INTERACTIVE)

    async def click_arrives(message: Outgoing) -> None:  # an answer is queued while bulk is sending
        if message.text == "bulk2":
            await put(deps, clock, "answer1", lane=outbox.INTERACTIVE)

    stub.during = click_arrives
    await drain(sender)
    # the queued answer before all bulk; the one queued mid-send right after that one send
    assert stub.sent[:4] == ["answer0", "bulk0", "bulk1", "bulk2"]
    assert stub.sent[4] == "answer1"
    assert stub.sent[5:] == [f"bulk{i}" for i in range(3, 20)]


async def test_pacing_keeps_room_for_answers_and_counts_sends_only(deps: Deps, clock: ManualClock) -> None:
    stub = Stub()
    sender = OutboxSender(deps, {"wecom": stub})
    for i in range(20):  # card updates are not message/send: they do not use the member's budget
        await put(deps, clock, f"u{i}", channel="card_update")
    for i in range(30):
        await put(deps, clock, f"bulk{i}")
    await drain(sender)
    assert len([s for s in stub.sent if s.startswith("bulk")]) == 25  # 30/min, 5 kept for answers
    assert stub.sent.count("card_update") == 20
    for i in range(6):
        await put(deps, clock, f"answer{i}", lane=outbox.INTERACTIVE)
    await drain(sender)
    assert [s for s in stub.sent if s.startswith("answer")] == [f"answer{i}" for i in range(5)]  # 30 in all
    clock.advance(seconds=61)
    await drain(sender)
    # the next minute: the waiting answer first, then the bulk left over, in order
    assert stub.sent[-6:] == ["answer5", "bulk25", "bulk26", "bulk27", "bulk28", "bulk29"]


async def test_the_hour_limit_is_exact(deps: Deps, clock: ManualClock) -> None:
    minute, hour = WECOM.for_channel("user")
    assert (minute.count, minute.seconds, hour.count, hour.seconds) == (30, 60, 1000, 3600)
    assert all(limit.source.startswith("wecom.md §") for limit in WECOM.rates)
    assert WECOM.for_channel("card_update") == ()  # update_template_card: not a member's message


async def test_transient_errors_retry_after_a_second_and_never_die(deps: Deps, clock: ManualClock) -> None:
    assert 0.8 <= backoff(1) <= 1.2 and 1.6 <= backoff(2) <= 2.4 and backoff(40) <= 360
    stub = Stub()
    failures = iter(range(15))
    stub.answer = lambda m: (
        Delivery("retry", error="-1 transient") if next(failures, None) is not None else Delivery("sent")
    )
    sender = OutboxSender(deps, {"wecom": stub})
    await put(deps, clock, "hello")
    await drain(sender)
    assert stub.sent == []
    clock.advance(seconds=1.3)
    await drain(sender)
    async with deps.sessions() as session:
        row = await outbox.message(session, 1)
        assert row is not None and row.attempts == 2  # retried after about a second
    for _ in range(20):
        clock.advance(minutes=6)
        await drain(sender)
    assert stub.sent == ["hello"]
    assert (await statuses(deps))[0] == ("sent", outbox.BULK)
    # past ten failures the admins were told it is still being retried (no admins here: no rows)


async def test_an_outage_is_waited_out_in_order(deps: Deps, clock: ManualClock) -> None:
    stub = Stub()
    down = True
    stub.answer = lambda m: Delivery("retry", error="connection failed", outage=True) if down else Delivery("sent")
    sender = OutboxSender(deps, {"wecom": stub})
    for i in range(5):
        await put(deps, clock, f"m{i}")
    start = clock.now()
    for _ in range(2 * 60):  # two hours, a minute at a time
        clock.advance(minutes=1)
        await drain(sender)
    async with deps.sessions() as session:
        outages = await outbox.outages(session)
    assert [(o.platform, o.waiting) for o in outages] == [("wecom", 5)] and outages[0].since <= start + timedelta(
        minutes=1
    )
    down = False
    clock.advance(seconds=61)
    await drain(sender)
    assert stub.sent == [f"m{i}" for i in range(5)]
    assert {s for s, _ in await statuses(deps)} == {"sent"}
    async with deps.sessions() as session:
        assert await outbox.outages(session) == []


async def test_a_crash_mid_send_is_an_attempt(deps: Deps, clock: ManualClock) -> None:
    """kill -9 after the platform got the message: the lease runs out, the message goes again and
    the transport learns that an earlier attempt may have got through."""
    stub = Stub()
    seen: list[int] = []

    async def crash(message: Outgoing) -> None:
        seen.append(message.attempts)
        if len(seen) == 1:
            raise Killed  # the process dies: nothing after the call is recorded

    stub.during = crash
    sender = OutboxSender(deps, {"wecom": stub})
    await put(deps, clock, "card")
    try:
        await sender.run_once()
    except Killed:
        pass
    clock.advance(seconds=LEASE.total_seconds() + 1)
    await drain(OutboxSender(deps, {"wecom": stub}))
    assert seen == [0, 1] and stub.sent == ["card"]


async def test_an_answer_does_not_wait_for_the_bulk_batch_in_hand(deps: Deps, clock: ManualClock) -> None:
    """The bulk loop is in the middle of a batch (here: a send to another person that hangs); an
    answer queued meanwhile is claimed and sent by the answers' loop at once."""
    stub = Stub()
    sender = OutboxSender(deps, {"wecom": stub}, batch=50, poll=3600.0)  # only wake-ups move it
    for i in range(5):
        await put(deps, clock, f"bulk{i}", to="limei")
    bulk_started, release = asyncio.Event(), asyncio.Event()
    answered = asyncio.Event()

    async def hang_bulk(message: Outgoing) -> None:
        if message.text and message.text.startswith("bulk"):
            bulk_started.set()
            await release.wait()
        else:
            answered.set()

    stub.during = hang_bulk
    task = asyncio.create_task(sender.run())
    try:
        sender.wake.set()
        await asyncio.wait_for(bulk_started.wait(), 10)
        await put(deps, clock, "answer", lane=outbox.INTERACTIVE)
        sender.answer_queued()  # what the inbound worker does after a slice
        await asyncio.wait_for(answered.wait(), 10)
        assert stub.sent == ["answer"]  # while the bulk batch still hangs on its first send
        release.set()
        async with asyncio.timeout(10):
            while len(stub.sent) < 6:  # the bulk batch goes on
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert stub.sent == ["answer"] + [f"bulk{i}" for i in range(5)]


async def test_the_sender_lets_callbacks_being_stored_go_first(deps: Deps, clock: ManualClock) -> None:
    """While a callback is being stored the sender waits (for a lull, or at most ``max_wait``)
    before its next transaction: the callback's commit, which its answer waits for, goes first."""
    from bot.runtime.inbound import write_gate

    stub = Stub()
    sender = OutboxSender(deps, {"wecom": stub})
    gate = write_gate(deps)
    gate.quiet_for, gate.max_wait = 0.0, 3600.0  # only the lull lets it go
    await put(deps, clock, "reminder")
    gate.arrive()  # a callback is being stored
    task = asyncio.create_task(sender.run_once())
    try:
        async with asyncio.timeout(10):
            while not gate._quiet_waiters:  # the sender waits for the lull
                await asyncio.sleep(0)
        assert stub.sent == [] and not task.done()
        gate.depart()  # its commit is done: the sender goes on
        assert await asyncio.wait_for(task, 10) == 1
        assert stub.sent == ["reminder"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_during_a_flood_of_callbacks_sends_go_one_at_a_time(deps: Deps, clock: ManualClock) -> None:
    """A flood that never pauses: the sender does not stop, but lets through one send per
    ``flood_pause`` (each costs the serving loop milliseconds the callbacks need); when the flood
    is over the rest go at once."""
    import time

    from bot.runtime.inbound import write_gate

    stub = Stub()
    sender = OutboxSender(deps, {"wecom": stub})
    sender.flood_pause = 0.2
    gate = write_gate(deps)
    gate.quiet_for, gate.max_wait = 0.01, 0.0
    for who in ("a", "b", "c"):
        await put(deps, clock, who, to=who)
    sent_at: list[float] = []

    async def timed(_message: Outgoing) -> None:
        sent_at.append(time.monotonic())

    stub.during = timed
    gate.arrive()  # a callback is being stored, and another, and another …
    started = time.monotonic()
    try:
        assert await asyncio.wait_for(sender.run_once(), 10) == 3
    finally:
        gate.depart()
    assert sorted(stub.sent) == ["a", "b", "c"]
    # one at a time, each after a whole pause (the flood never pauses): the k-th after k pauses
    assert [round(at - started, 3) >= 0.2 * (k + 1) for k, at in enumerate(sent_at)] == [True] * 3, sent_at
    for who in ("d", "e", "f"):  # no callbacks: no pause
        await put(deps, clock, who, to=who)
    started = time.monotonic()
    assert await sender.run_once() == 3
    assert time.monotonic() - started < 0.5  # with the pauses: 0.6 s at least
