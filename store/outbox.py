"""The outbox (messages queued in the transaction that caused them, delivered afterwards by
``bot/runtime/outbox.py``) and the card tasks (one row per card sent: its platform reference for
changing it later, and whether the case has moved on)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import dialect, queue
from store.models import CardTask, OutboxMessage, OutboxStatus

#: The lanes: answers to a person's command or click go before reminders, lists and notices.
INTERACTIVE = 0
BULK = 1

# --- queueing --------------------------------------------------------------------------------


async def enqueue(
    session: AsyncSession,
    *,
    platform: str,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    now: datetime,
    case_id: int | None = None,
    person_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    lane: int = BULK,
) -> int | None:
    """Queue one outgoing message in the caller's transaction; returns its id. With a dedupe
    key, a second enqueue of the same key is ignored (returns None). ``lane``: INTERACTIVE rows
    are claimed before BULK ones."""
    values = dict(
        platform=platform,
        channel=channel,
        recipient=recipient,
        payload=payload,
        case_id=case_id,
        person_id=person_id,
        dedupe_key=dedupe_key,
        lane=lane,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
    )
    if dedupe_key is None:  # the common case (every answer): a statement built once
        new_id: int = (await session.execute(_INSERT, values)).scalar_one()
        return new_id
    stmt = dialect.insert_ignore(session, OutboxMessage, ["dedupe_key"], values)
    result = await session.execute(stmt.returning(OutboxMessage.id))
    return result.scalar_one_or_none()


_INSERT = insert(cast(Table, OutboxMessage.__table__)).returning(OutboxMessage.__table__.c.id)


async def cancel_pending(session: AsyncSession, outbox_id: int) -> bool:
    """Cancel a message not sent yet; False when it is already sent (or gone)."""
    cancelled = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED)
    )
    return bool(cancelled.rowcount)  # type: ignore[attr-defined]


# --- the sender's side ---------------------------------------------------------------------------


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    platforms: Iterable[str],
    lanes: Sequence[int] = (INTERACTIVE, BULK),
) -> list[int]:
    """Lease the messages of ``lanes`` due now on ``platforms``, interactive lane first, then
    oldest (see :func:`store.queue.claim`)."""
    where = [OutboxMessage.next_attempt_at <= now, OutboxMessage.platform.in_(list(platforms))]
    if len(lanes) == 1:  # one lane: the claim reads ix_outbox_status_lane_id from that lane on
        where.append(OutboxMessage.lane == lanes[0])
    return await queue.claim(
        session,
        OutboxMessage,
        pending=OutboxStatus.PENDING,
        now=now,
        lease_until=lease_until,
        limit=limit,
        where=where,
        order_by=(OutboxMessage.lane,),
    )


async def recipients(session: AsyncSession, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, platform, recipient) of the messages ``ids``, by id."""
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.recipient)
        .where(OutboxMessage.id.in_(list(ids)))
        .order_by(OutboxMessage.id)
    )
    return [(row.id, row.platform, row.recipient) for row in rows]


async def in_lane_order(session: AsyncSession, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, platform, recipient) of the messages ``ids``, interactive lane first, then by id."""
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.recipient)
        .where(OutboxMessage.id.in_(list(ids)))
        .order_by(OutboxMessage.lane, OutboxMessage.id)
    )
    return [(row.id, row.platform, row.recipient) for row in rows]


def start(row: OutboxMessage) -> int:
    """Note, before the platform is called, that a send of the row is starting; returns how many
    earlier attempts may have reached the platform, counting one cut short by a crash (the note
    stays behind when the process dies mid-send)."""
    started = int((row.result or {}).get("started", 0))
    earlier = max(row.attempts, started)
    row.result = {**(row.result or {}), "started": row.attempts + 1}
    return earlier


async def interactive_waiting(session: AsyncSession, platform: str, recipient: str, now: datetime) -> bool:
    """Whether an interactive message to this person is due (a bulk one then steps aside)."""
    found = await session.execute(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.lane == INTERACTIVE,
            OutboxMessage.platform == platform,
            OutboxMessage.recipient == recipient,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),  # claimable
        )
        .limit(1)
    )
    return found.first() is not None


def release(row: OutboxMessage) -> None:
    """Give the row back unsent and without an attempt: the next claim takes it in lane order."""
    row.locked_until = None


async def release_ids(session: AsyncSession, ids: Sequence[int], *, until: datetime | None = None) -> None:
    """Give claimed rows back unsent (optionally not before ``until``)."""
    if not ids:
        return
    values: dict[str, Any] = {"locked_until": None}
    if until is not None:
        values["next_attempt_at"] = until
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == OutboxStatus.PENDING)
        .values(**values)
    )


async def postpone_recipient(session: AsyncSession, row: OutboxMessage, until: datetime, now: datetime) -> None:
    """Paced: every message of the row's channel and lane due now to the same recipient (and not
    claimed by someone else) waits until ``until`` too, in one statement (5,000 queued reminders
    are not claimed and paced one by one)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.platform == row.platform,
            OutboxMessage.recipient == row.recipient,
            OutboxMessage.channel == row.channel,
            OutboxMessage.lane == row.lane,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
        )
        .values(next_attempt_at=until)
    )


async def earlier_waiting(session: AsyncSession, row: OutboxMessage) -> datetime | None:
    """When an earlier message of the same lane to the same recipient is still pending, waiting
    for its retry, the time it is due: this one must not overtake it. Card updates
    are not waited for (they wait for their card's send themselves)."""
    found = await session.execute(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.platform == row.platform,
            OutboxMessage.recipient == row.recipient,
            OutboxMessage.lane == row.lane,
            OutboxMessage.id < row.id,
            OutboxMessage.attempts > 0,  # failed before and waiting for its retry
            # a card update may wait for its card's send, which may come later: never wait for it
            OutboxMessage.channel != "card_update",
        )
    )
    due: datetime | None = found.scalar_one()
    return due


async def pending(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    """The message, when it is still to be sent."""
    row = await session.get(OutboxMessage, outbox_id)
    return row if row is not None and row.status == OutboxStatus.PENDING else None


async def message(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, outbox_id)


async def sent_since(
    session: AsyncSession, platform: str, recipient: str, since: datetime, channels: Iterable[str] = ("user",)
) -> tuple[int, datetime | None]:
    """(how many messages of ``channels`` went to this recipient after ``since``, the earliest
    of them): pacing. Card updates are not messages (WeCom counts ``message/send`` only)."""
    recent = select(func.count(), func.min(OutboxMessage.sent_at)).where(
        OutboxMessage.platform == platform,
        OutboxMessage.recipient == recipient,
        OutboxMessage.channel.in_(list(channels)),
        OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.sent_at > since,
    )
    count, oldest = (await session.execute(recent)).one()
    return int(count), oldest


def postpone(row: OutboxMessage, until: datetime) -> None:
    """Try again at ``until``, without counting an attempt."""
    row.next_attempt_at, row.locked_until = until, None


def mark_sent(row: OutboxMessage, now: datetime, result: dict[str, Any] | None) -> None:
    row.attempts += 1
    row.status, row.sent_at, row.result, row.last_error, row.locked_until = OutboxStatus.SENT, now, result, None, None
    row.unreachable_since = None


def mark_failed(
    row: OutboxMessage, error: str, *, retry_at: datetime | None, unreachable_at: datetime | None = None
) -> None:
    """A failed attempt: retried at ``retry_at``, or dead when None. ``row.attempts`` counts it.
    ``unreachable_at``: the platform could not be reached (kept from the first such failure)."""
    row.attempts += 1
    row.last_error, row.locked_until = error[:500], None
    if unreachable_at is None:
        row.unreachable_since = None
    elif row.unreachable_since is None:
        row.unreachable_since = unreachable_at
    if retry_at is not None:
        row.next_attempt_at = retry_at
    else:
        row.status = OutboxStatus.DEAD


@dataclass(frozen=True)
class Outage:
    """A platform the sender cannot reach: since when, and how many messages wait for it."""

    platform: str
    since: datetime
    waiting: int


async def outages(session: AsyncSession) -> list[Outage]:
    """Platforms with messages waiting because the platform was unreachable at their last try."""
    unreachable = await session.execute(
        select(OutboxMessage.platform, func.min(OutboxMessage.unreachable_since))
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.unreachable_since.is_not(None))
        .group_by(OutboxMessage.platform)
    )
    found = []
    for platform, since in unreachable.all():
        if since is None:
            continue
        waiting = await session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.platform == platform)
        )
        found.append(Outage(platform, since, int(waiting.scalar_one())))
    return found


# --- card tasks ----------------------------------------------------------------------------------


async def add_card_task(
    session: AsyncSession,
    *,
    task_id: str,
    platform: str,
    case_id: int | None,
    person_id: int | None,
    recipient: str,
    kind: str,
    stage: int,
    card: dict[str, Any],
    outbox_id: int | None,
    now: datetime,
) -> None:
    """Remember a card queued for sending (flushed with the caller's next flush)."""
    session.add(
        CardTask(
            task_id=task_id,
            platform=platform,
            case_id=case_id,
            person_id=person_id,
            recipient=recipient,
            kind=kind,
            stage=stage,
            card=card,
            outbox_id=outbox_id,
            created_at=now,
        )
    )


async def open_card_tasks(
    session: AsyncSession, case_id: int, kinds: Iterable[str] | None = None, spare_kinds: Iterable[str] = ()
) -> list[CardTask]:
    """The cards of a case not greyed out yet (optionally only some kinds, never ``spare_kinds``)."""
    stmt = select(CardTask).where(CardTask.case_id == case_id, CardTask.closed.is_(False))
    if kinds is not None:
        stmt = stmt.where(CardTask.kind.in_(list(kinds)))
    spare = list(spare_kinds)
    if spare:
        stmt = stmt.where(CardTask.kind.not_in(spare))
    return list((await session.execute(stmt)).scalars())


async def card_recipient(session: AsyncSession, platform: str, task_id: str) -> str | None:
    """Who the card ``task_id`` was sent to on ``platform``; None when there is no such card."""
    task = await session.get(CardTask, task_id)
    return task.recipient if task is not None and task.platform == platform else None


@dataclass(frozen=True)
class CardRef:
    """A card's platform reference for changing it (WeCom: the single-use response code)."""

    ref: str | None  # None: the card has not been sent yet (the reference comes with the send)
    used: bool  # spent by an earlier change


async def card_ref(session: AsyncSession, task_id: str) -> CardRef | None:
    """The reference of the card ``task_id``; None when there is no such card."""
    task = await session.get(CardTask, task_id)
    if task is None:
        return None
    if task.response_code is None and task.outbox_id is not None:
        send = await session.get(OutboxMessage, task.outbox_id)
        if send is not None and send.status in (OutboxStatus.DEAD, OutboxStatus.CANCELLED):
            return CardRef("", True)  # the card never went out: nothing will bring a reference
    return CardRef(task.response_code, task.code_used)


async def keep_card_ref(session: AsyncSession, task_id: str, ref: str) -> None:
    """The reference that came with the card's send, unless one is known already."""
    task = await session.get(CardTask, task_id)
    if task is not None and ref and task.response_code is None:
        task.response_code = ref


async def lose_card_ref(session: AsyncSession, task_id: str) -> None:
    """The card went out but its reference did not come back (WeCom: a repeated send answered
    42014): changes wait for a click's fresh reference instead of for the send."""
    task = await session.get(CardTask, task_id)
    if task is not None and task.response_code is None:
        task.response_code, task.code_used = "", True


async def refresh_card_ref(session: AsyncSession, task_id: str, ref: str) -> None:
    """The reference that came with a click on the card: fresher than the send's (and unused)."""
    task = await session.get(CardTask, task_id)
    if task is not None and ref:
        task.response_code, task.code_used = ref, False


async def spend_card_ref(session: AsyncSession, task_id: str) -> None:
    """The card's reference was used for a change (it is single-use)."""
    task = await session.get(CardTask, task_id)
    if task is not None:
        task.code_used = True
