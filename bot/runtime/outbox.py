"""The outbox sender: delivers queued messages through the platform transports, paces them per
person, retries with backoff, and dead-letters with an alert to the admins. Safe with several
processes: rows are claimed with a lease (``locked_until``) before they are sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.states import Role
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.runtime.loop import work_forever
from store import repo
from store.models import OutboxMessage

log = logging.getLogger(__name__)

Outcome = Literal["sent", "retry", "defer", "dead"]

#: WeCom drops messages beyond 30/min and 1000/h per member silently (spec §3.8); keep a margin.
PER_MINUTE = 25
PER_HOUR = 900
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)


@dataclass
class Delivery:
    """What a transport says about one message."""

    outcome: Outcome
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    delay: float = 0.0  # seconds, for "retry"/"defer" when the transport knows better
    unreachable: tuple[str, ...] = ()  # recipients the platform says did not get it


class Transport(Protocol):
    """A platform's way of sending. The network call runs outside any database transaction
    (SQLite has one writer: never hold its lock across a slow HTTP call)."""

    platform: str

    async def prepare(self, session: AsyncSession, row: OutboxMessage) -> dict[str, Any] | None:
        """Database reads the send needs (e.g. a card's update code); None = not yet, defer."""
        ...

    async def deliver(self, row: OutboxMessage, context: dict[str, Any]) -> Delivery:
        """Send one row. Must not raise for platform errors; classify them instead."""
        ...

    async def finish(self, session: AsyncSession, row: OutboxMessage, delivery: Delivery, now: datetime) -> None:
        """Database writes after the send (e.g. store the card's update code)."""
        ...


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1-based): 5 s, 10 s, 20 s … capped at 1 h, ±20 % jitter."""
    base = min(3600.0, 5.0 * 2 ** (attempt - 1))
    return base * random.uniform(0.8, 1.2)


class OutboxSender:
    def __init__(
        self, deps: Deps, transports: dict[str, Transport], *, batch: int = 50, poll: float = 0.5, concurrency: int = 8
    ) -> None:
        self.deps = deps
        self.transports = transports  # shared: platforms are wired after the sender is built
        self.batch = batch
        self.poll = poll
        self.concurrency = concurrency
        self.wake = asyncio.Event()
        self.outbox = Outbox(deps.config)
        self._holder = f"sender-{id(self):x}"

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        await work_forever(self.run_once, self.wake, self.poll, "outbox sender")

    async def run_once(self) -> int:
        """Claim due rows and deliver them; returns how many were handled."""
        ids = await self._claim()
        if not ids:
            return 0
        sem = asyncio.Semaphore(self.concurrency)
        by_recipient: dict[tuple[str, str], list[int]] = {}
        async with self.deps.sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.platform, OutboxMessage.recipient)
                    .where(OutboxMessage.id.in_(ids))
                    .order_by(OutboxMessage.id)
                )
            ).all()
        for row in rows:
            by_recipient.setdefault((row.platform, row.recipient), []).append(row.id)

        async def one_recipient(row_ids: list[int]) -> None:
            async with sem:
                for row_id in row_ids:  # keep each person's messages in order
                    await self._deliver(row_id)

        await asyncio.gather(*(one_recipient(v) for v in by_recipient.values()))
        return len(ids)

    async def _claim(self) -> list[int]:
        now = self.deps.clock.now()
        async with self.deps.sessions() as session, session.begin():
            due = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                    OutboxMessage.platform.in_(list(self.transports)),
                )
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.execute(due)).scalars())
            if ids:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(locked_until=now + LEASE)
                )
        return ids

    # --- one message ------------------------------------------------------------------------

    async def _deliver(self, row_id: int) -> None:
        transport: Transport | None = None
        async with self.deps.sessions() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            if row is None or row.status != "pending":
                return
            now = self.deps.clock.now()
            wait = await self._pace(session, row, now)
            if wait is not None:
                row.next_attempt_at, row.locked_until = wait, None
                return
            transport = self.transports[row.platform]
            context = await transport.prepare(session, row)
            if context is None:
                await self._record(session, row, Delivery("defer", delay=5), now)
                return
        try:
            delivery = await transport.deliver(row, context)
        except Exception as exc:  # a transport bug: keep the message, retry later
            log.exception("transport %s failed on outbox %s", row.platform, row.id)
            delivery = Delivery("retry", error=f"internal: {type(exc).__name__}")
        async with self.deps.sessions() as session, session.begin():
            fresh = await session.get(OutboxMessage, row_id)
            if fresh is None:
                return
            now = self.deps.clock.now()
            await transport.finish(session, fresh, delivery, now)
            await self._record(session, fresh, delivery, now)

    async def _pace(self, session: AsyncSession, row: OutboxMessage, now: datetime) -> datetime | None:
        """When this person got too many messages lately, the time to try again (else None)."""
        if row.channel not in ("user", "card_update"):
            return None
        for window, limit in ((timedelta(minutes=1), PER_MINUTE), (timedelta(hours=1), PER_HOUR)):
            recent = select(func.count(), func.min(OutboxMessage.sent_at)).where(
                OutboxMessage.platform == row.platform,
                OutboxMessage.recipient == row.recipient,
                OutboxMessage.status == "sent",
                OutboxMessage.sent_at > now - window,
            )
            count, oldest = (await session.execute(recent)).one()
            if count >= limit:
                return (oldest or now) + window + timedelta(seconds=1)
        return None

    async def _record(self, session: AsyncSession, row: OutboxMessage, d: Delivery, now: datetime) -> None:
        row.locked_until = None
        if d.outcome == "defer":  # not an attempt (e.g. waiting for the card to be sent first)
            row.next_attempt_at = now + timedelta(seconds=d.delay or 5)
            return
        row.attempts += 1
        if d.outcome == "sent":
            row.status, row.sent_at, row.result, row.last_error = "sent", now, d.result or None, None
            if d.unreachable:
                await self._unreachable(session, row, d.unreachable, now)
            return
        row.last_error = d.error[:500]
        if d.outcome == "retry" and row.attempts < MAX_ATTEMPTS:
            row.next_attempt_at = now + timedelta(seconds=d.delay or backoff(row.attempts))
            log.warning(
                "outbox %s to %s failed (attempt %s), retrying: %s", row.id, row.platform, row.attempts, d.error
            )
            return
        row.status = "dead"
        log.error("outbox %s to %s dead after %s attempts: %s", row.id, row.platform, row.attempts, d.error)
        if d.unreachable:
            await self._unreachable(session, row, d.unreachable, now)
        else:
            await self._alert(
                session,
                f"一条消息未能发送（{row.platform}，{_kind(row)}）：{d.error[:100]}。请检查配置。",
                f"dead:{row.id}",
                now,
                row,
            )

    async def _unreachable(
        self, session: AsyncSession, row: OutboxMessage, users: tuple[str, ...], now: datetime
    ) -> None:
        names = []
        for user in users:
            person = await repo.person_by_platform(session, row.platform, user)
            names.append(f"{person.name}（{user}）" if person else user)
        what = f"，涉及{_kind(row)}" if row.case_id else ""
        await self._alert(
            session,
            f"{'、'.join(names)} 未收到{row.platform}消息{what}：账号无效、未授权或不在应用可见范围，"
            "请管理员核对通讯录和应用可见范围。",
            f"unreachable:{row.platform}:{','.join(users)}",
            now,
            row,
        )

    async def _alert(self, session: AsyncSession, text: str, key: str, now: datetime, row: OutboxMessage) -> None:
        if row.payload.get("alert"):
            return  # never alert about an alert
        admins = await repo.people_with_role(session, Role.ADMIN)
        day = now.date().isoformat()
        payload_text = f"【系统告警】{text}"
        for person in admins:
            for platform in self.outbox.platforms:
                user = person.wecom_userid if platform == "wecom" else person.dingtalk_userid
                if user:
                    await repo.enqueue(
                        session,
                        platform=platform,
                        channel="user",
                        recipient=user,
                        payload={"type": "text", "text": payload_text, "alert": True},
                        now=now,
                        person_id=person.id,
                        dedupe_key=f"alert:{key}:{day}:{platform}:{user}",
                    )
        self.wake.set()


def _kind(row: OutboxMessage) -> str:
    return str(row.payload.get("kind") or row.payload.get("type") or row.channel)
