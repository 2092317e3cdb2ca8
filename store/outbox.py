"""The outbox (messages queued in the transaction that caused them, delivered afterwards by
``bot/runtime/outbox.py``) and the card tasks (one row per card sent: its platform reference for
changing it later, and whether the case has moved on)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import dialect, queue
from store.models import CardTask, OutboxMessage

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
) -> int | None:
    """Queue one outgoing message in the caller's transaction; returns its id. With a dedupe
    key, a second enqueue of the same key is ignored (returns None)."""
    values = dict(
        platform=platform,
        channel=channel,
        recipient=recipient,
        payload=payload,
        case_id=case_id,
        person_id=person_id,
        dedupe_key=dedupe_key,
        status="pending",
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
    )
    if dedupe_key is None:
        stmt = insert(OutboxMessage).values(**values)
    else:
        stmt = dialect.insert_ignore(session, OutboxMessage, ["dedupe_key"], values)
    result = await session.execute(stmt.returning(OutboxMessage.id))
    return result.scalar_one_or_none()


async def cancel_pending(session: AsyncSession, outbox_id: int) -> bool:
    """Cancel a message not sent yet; False when it is already sent (or gone)."""
    cancelled = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending")
        .values(status="cancelled")
    )
    return bool(cancelled.rowcount)  # type: ignore[attr-defined]


# --- the sender's side ---------------------------------------------------------------------------


async def claim(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int, platforms: Iterable[str]
) -> list[int]:
    """Lease the oldest messages due now on ``platforms`` (see :func:`store.queue.claim`)."""
    return await queue.claim(
        session,
        OutboxMessage,
        now=now,
        lease_until=lease_until,
        limit=limit,
        where=(OutboxMessage.next_attempt_at <= now, OutboxMessage.platform.in_(list(platforms))),
    )


async def recipients(session: AsyncSession, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, platform, recipient) of the messages ``ids``, by id."""
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.recipient)
        .where(OutboxMessage.id.in_(list(ids)))
        .order_by(OutboxMessage.id)
    )
    return [(row.id, row.platform, row.recipient) for row in rows]


async def pending(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    """The message, when it is still to be sent."""
    row = await session.get(OutboxMessage, outbox_id)
    return row if row is not None and row.status == "pending" else None


async def message(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, outbox_id)


async def sent_since(
    session: AsyncSession, platform: str, recipient: str, since: datetime
) -> tuple[int, datetime | None]:
    """(how many messages went to this person after ``since``, the earliest of them): pacing."""
    recent = select(func.count(), func.min(OutboxMessage.sent_at)).where(
        OutboxMessage.platform == platform,
        OutboxMessage.recipient == recipient,
        OutboxMessage.status == "sent",
        OutboxMessage.sent_at > since,
    )
    count, oldest = (await session.execute(recent)).one()
    return int(count), oldest


def postpone(row: OutboxMessage, until: datetime) -> None:
    """Try again at ``until``, without counting an attempt."""
    row.next_attempt_at, row.locked_until = until, None


def mark_sent(row: OutboxMessage, now: datetime, result: dict[str, Any] | None) -> None:
    row.attempts += 1
    row.status, row.sent_at, row.result, row.last_error, row.locked_until = "sent", now, result, None, None


def mark_failed(row: OutboxMessage, error: str, *, retry_at: datetime | None) -> None:
    """A failed attempt: retried at ``retry_at``, or dead when None. ``row.attempts`` counts it."""
    row.attempts += 1
    row.last_error, row.locked_until = error[:500], None
    if retry_at is not None:
        row.next_attempt_at = retry_at
    else:
        row.status = "dead"


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
    return None if task is None else CardRef(task.response_code, task.code_used)


async def keep_card_ref(session: AsyncSession, task_id: str, ref: str) -> None:
    """The reference that came with the card's send, unless one is known already."""
    task = await session.get(CardTask, task_id)
    if task is not None and ref and task.response_code is None:
        task.response_code = ref


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
