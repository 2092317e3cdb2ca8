"""The outbox sender: delivers queued messages through the platform transports, interactive
lane first, paces them by each platform's documented limits, retries with backoff, waits out
platform outages, and dead-letters only what the platform refuses for good (with an alert to the
admins). Safe with several processes: rows are claimed with a lease (``locked_until``) before
they are sent.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from datetime import datetime, timedelta

from bot.domain.states import Role
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox, address
from bot.ports import Channel, Delivery, Outcome, Outgoing, PlatformLimits, Transport
from bot.runtime.inbound import write_gate
from bot.runtime.loop import Wake, work_forever
from store import db, directory
from store import outbox as outbox_store
from store.db import Session
from store.models import OutboxMessage

__all__ = ["LEASE", "OutboxSender", "backoff"]

log = logging.getLogger(__name__)

#: After this many failed attempts of a retryable error the admins are told (it keeps trying).
WARN_AFTER_ATTEMPTS = 10
LEASE = timedelta(minutes=2)
FIRST_RETRY = 1.0  # seconds
MAX_RETRY = 300.0  # seconds
MAX_OUTAGE_RETRY = 60.0  # seconds: once the platform is back, everything moves within a minute
FLOOD_PAUSE = 0.25  # seconds: during a flood of callbacks, about one send per this long
_NO_LIMITS = PlatformLimits(rates=(), content_bytes={})


def backoff(attempt: int, cap: float = MAX_RETRY) -> float:
    """Seconds before retry ``attempt`` (1-based): about 1 s, 2 s, 4 s … ±20 % jitter, at most
    ``cap``."""
    base = FIRST_RETRY * 2 ** min(attempt - 1, 30)
    return float(min(cap, base * random.uniform(0.8, 1.2)))


class _Next(enum.Enum):
    """What a recipient's remaining claimed rows do after one of them."""

    GO_ON = 1
    STEP_ASIDE = 2  # an interactive message to this person is waiting: give the rest back
    WAIT = 3  # paced or blocked: the rest wait too


class OutboxSender:
    def __init__(
        self, deps: Deps, transports: dict[str, Transport], *, batch: int = 50, poll: float = 0.5, concurrency: int = 8
    ) -> None:
        self.deps = deps
        self.sessions = deps.sessions  # while :meth:`run` runs on a SQLite file: its own inline engine
        self.transports = transports  # shared: platforms are wired after the sender is built
        self.batch = batch
        self.poll = poll
        self.concurrency = concurrency
        self.wake = Wake()  # set by the inbound worker's thread too
        self.answers = Wake()  # an interactive message was queued (see :meth:`answer_queued`)
        self.outbox = Outbox(deps.config)
        self.gate = write_gate(deps)
        self.flood_pause = FLOOD_PAUSE
        self._flood = asyncio.Lock()  # during a flood of callbacks: one send at a time (see _yield_to_callbacks)
        self._holder = f"sender-{id(self):x}"

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Two loops: one for the bulk lane, one for answers. An answer queued while the bulk
        loop is in the middle of a batch (up to ``batch`` sends to many people) is claimed and
        sent at once by the other, not after that batch; each lane keeps its own order per
        person, and a bulk message steps aside for a due answer to the same person.

        On a SQLite file the sender's transactions run on an engine of their own whose statements
        run inline on this loop (``store.db.loop_twin``): each transaction goes from BEGIN
        IMMEDIATE to COMMIT without suspending, so it holds the write lock for its CPU time (a
        millisecond or two) instead of a loop iteration per statement, which under a flood of
        callbacks was tens of milliseconds, and the callbacks' commits waited that long."""
        engine = db.loop_twin(self.deps.sessions)
        if engine is None:
            await self._run()
            return
        self.sessions = db.sessionmaker(engine)
        try:
            await self._run()
        finally:
            self.sessions = self.deps.sessions
            await engine.dispose()

    async def _run(self) -> None:
        await asyncio.gather(
            work_forever(lambda: self.run_once((outbox_store.BULK,)), self.wake, self.poll, "outbox sender"),
            work_forever(
                lambda: self.run_once((outbox_store.INTERACTIVE,)), self.answers, self.poll, "outbox sender (answers)"
            ),
        )

    def answer_queued(self) -> None:
        """Wake both loops (from any thread): the inbound worker queued answers, and maybe more."""
        self.answers.set()
        self.wake.set()

    async def run_once(self, lanes: tuple[int, ...] = (outbox_store.INTERACTIVE, outbox_store.BULK)) -> int:
        """Claim due rows of ``lanes`` and deliver them; returns how many were handled."""
        ids = await self._claim(lanes)
        if not ids:
            return 0
        sem = asyncio.Semaphore(self.concurrency)
        by_recipient: dict[tuple[str, str], list[int]] = {}
        async with self.sessions() as session:
            rows = await outbox_store.in_lane_order(session, ids)
        for row_id, platform, recipient in rows:  # interactive first, then by id
            by_recipient.setdefault((platform, recipient), []).append(row_id)

        async def one_recipient(row_ids: list[int]) -> None:
            async with sem:
                for i, row_id in enumerate(row_ids):  # keep each person's messages in order
                    after, until = await self._deliver(row_id)
                    if after is not _Next.GO_ON:
                        # a bulk row never makes an interactive one wait for more than one send;
                        # paced or blocked, the rest wait as long
                        async with self.sessions() as session, session.begin():
                            await outbox_store.release_ids(session, row_ids[i + 1 :], until=until)
                        return

        await asyncio.gather(*(one_recipient(v) for v in by_recipient.values()))
        return len(ids)

    async def _claim(self, lanes: tuple[int, ...]) -> list[int]:
        now = self.deps.clock.now()
        async with self.sessions() as session, session.begin():
            return await outbox_store.claim(
                session, now=now, lease_until=now + LEASE, limit=self.batch, platforms=self.transports, lanes=lanes
            )

    def _limits(self, platform: str) -> PlatformLimits:
        limits = getattr(self.transports[platform], "limits", None)
        return limits if isinstance(limits, PlatformLimits) else _NO_LIMITS

    # --- one message ------------------------------------------------------------------------

    async def _yield_to_callbacks(self) -> None:
        """Callbacks being stored go first (their answers wait for their commits). Between
        floods: a lull of ``quiet_for``, as the inbound worker waits for. During a flood that
        never pauses, one send at a time goes on, each after waiting up to ``flood_pause``: a send
        costs the serving loop several milliseconds of CPU (its transactions, the HTTP call), and
        at the inbound worker's pace (an event per slice, a slice per ``max_wait``) the sends
        alone would take a fifth of the loop from the callbacks. The answers then go out after
        the flood, as the worker's events are processed."""
        gate = self.gate
        if not gate.busy_within(gate.quiet_for):
            return
        async with self._flood:
            await gate.lull(max(gate.max_wait, self.flood_pause))

    async def _deliver(self, row_id: int) -> tuple[_Next, datetime | None]:
        await self._yield_to_callbacks()
        async with self.sessions() as session, session.begin():
            row = await outbox_store.pending(session, row_id)
            if row is None:
                return _Next.GO_ON, None
            now = self.deps.clock.now()
            if row.lane == outbox_store.BULK and await outbox_store.interactive_waiting(
                session, row.platform, row.recipient, now
            ):
                outbox_store.release(row)
                return _Next.STEP_ASIDE, None
            earlier = await outbox_store.earlier_waiting(session, row)
            if earlier is not None:  # an earlier message to this recipient waits: keep the order
                until = max(earlier, now + timedelta(seconds=1))
                outbox_store.postpone(row, until)
                return _Next.WAIT, until
            wait = await self._pace(session, row, now)
            if wait is not None:
                await outbox_store.postpone_recipient(session, row, wait, now)
                outbox_store.postpone(row, wait)
                return _Next.WAIT, wait
            transport = self.transports[row.platform]
            card_ref = await self._card_ref(session, row, transport)
            if card_ref is None:  # the card is not sent yet: its reference comes with the send
                await self._record(session, row, Delivery(Outcome.DEFER, delay=5), now)
                return _Next.GO_ON, None
            platform, channel, recipient = row.platform, row.channel, row.recipient
            payload, attempts, interactive = row.payload, outbox_store.start(row), row.lane == outbox_store.INTERACTIVE
        message: Outgoing | None = None
        try:
            message = Outgoing.from_payload(
                payload,
                platform=platform,
                channel=channel,
                recipient=recipient,
                attempts=attempts,
                card_ref=card_ref,
                id=row_id,
                interactive=interactive,
            )
            if channel == Channel.CARD_UPDATE and transport.needs_card_ref and not card_ref:
                delivery = Delivery(Outcome.SENT, {"skipped": "card code unavailable"})  # spent, or no such card
            else:
                delivery = await transport.deliver(message)
        except Exception as exc:  # a transport bug: keep the message, retry later
            log.exception("transport %s failed on outbox %s", platform, row_id)
            delivery = Delivery(Outcome.RETRY, error=f"internal: {type(exc).__name__}")
        async with self.sessions() as session, session.begin():
            fresh = await outbox_store.message(session, row_id)
            if fresh is None:
                return _Next.GO_ON, None
            now = self.deps.clock.now()
            if message is not None:
                await self._references(session, fresh, message, delivery, now)
            await self._record(session, fresh, delivery, now)
            if delivery.outcome == Outcome.RETRY:
                return _Next.WAIT, fresh.next_attempt_at
        return _Next.GO_ON, None

    async def _card_ref(self, session: Session, row: OutboxMessage, transport: Transport) -> str | None:
        """The reference a card update needs ("" when none is needed or it is gone), or None when
        the card has not been sent yet (try again later)."""
        if row.channel != Channel.CARD_UPDATE or not transport.needs_card_ref:
            return ""
        found = await outbox_store.card_ref(session, row.payload["task_id"])
        if found is None:
            return ""
        return None if found.ref is None else "" if found.used else found.ref

    async def _references(
        self, session: Session, row: OutboxMessage, message: Outgoing, d: Delivery, now: datetime
    ) -> None:
        """Record what the platform said about the card: its reference for changing it later,
        that the reference was used up, or that it is gone (then the person is told in text)."""
        if d.outcome != Outcome.SENT:
            return
        if message.channel == Channel.USER and message.kind == "card":
            if d.card_ref:
                await outbox_store.keep_card_ref(session, message.task_id, d.card_ref)
            elif self.transports[message.platform].needs_card_ref:
                await outbox_store.lose_card_ref(session, message.task_id)
        elif message.channel == Channel.CARD_UPDATE:
            if d.ref_spent:
                await outbox_store.spend_card_ref(session, message.task_id)
            if d.ref_gone and message.card is not None:
                # the card cannot be changed any more: tell the person in a line of text
                await outbox_store.enqueue(
                    session,
                    platform=message.platform,
                    channel=Channel.USER,
                    recipient=message.recipient,
                    payload={"type": "text", "text": f"{message.card.title}：{message.card.closed}"},
                    now=now,
                    case_id=row.case_id,
                    person_id=row.person_id,
                    lane=row.lane,
                )

    async def _pace(self, session: Session, row: OutboxMessage, now: datetime) -> datetime | None:
        """When this recipient got as many messages lately as the platform allows (bulk: less the
        part kept for answers), the time to try again (else None). Limits for the whole app are
        paced by the platform clients themselves (sub-second windows)."""
        for limit in self._limits(row.platform).for_channel(row.channel):
            if limit.per_app:
                continue
            allowed = limit.count - (limit.reserve if row.lane == outbox_store.BULK else 0)
            window = timedelta(seconds=limit.seconds)
            count, oldest = await outbox_store.sent_since(
                session, row.platform, row.recipient, now - window, channels=(row.channel,)
            )
            if count >= allowed:
                return (oldest or now) + window + timedelta(seconds=1)
        return None

    async def _record(self, session: Session, row: OutboxMessage, d: Delivery, now: datetime) -> None:
        if d.outcome == Outcome.DEFER:  # not an attempt (e.g. waiting for the card to be sent first)
            outbox_store.postpone(row, now + timedelta(seconds=d.delay or 5))
            return
        if d.outcome == Outcome.SENT:
            outbox_store.mark_sent(row, now, d.result or None)
            if d.unreachable:
                await self._unreachable(session, row, d.unreachable, now)
            return
        attempts = row.attempts + 1
        if d.outcome == Outcome.RETRY:
            # nothing retryable becomes a dead letter: an outage or a busy platform is waited out
            cap = MAX_OUTAGE_RETRY if d.outage else MAX_RETRY
            delay = d.delay or backoff(attempts, cap)
            outbox_store.mark_failed(
                row, d.error, retry_at=now + timedelta(seconds=delay), unreachable_at=now if d.outage else None
            )
            log.warning("outbox %s to %s failed (attempt %s), retrying: %s", row.id, row.platform, attempts, d.error)
            await self._warn_if_long(session, row, d, now)
            return
        outbox_store.mark_failed(row, d.error, retry_at=None)
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

    async def _warn_if_long(self, session: Session, row: OutboxMessage, d: Delivery, now: datetime) -> None:
        """Tell the admins once when a platform has been unreachable for longer than configured,
        or when one message keeps failing; the messages keep waiting either way."""
        if d.outage and row.unreachable_since is not None:
            minutes = self.deps.config.delivery.outage_alert_minutes
            if now - row.unreachable_since >= timedelta(minutes=minutes):
                since = row.unreachable_since
                await self._alert(
                    session,
                    f"{_PLATFORM_NAMES.get(row.platform, row.platform)}接口自 {since:%H:%M}（UTC）起无法连接，"
                    "消息已暂存，恢复后自动补发。",
                    f"outage:{row.platform}:{since:%Y%m%d%H%M}",
                    now,
                    row,
                )
        elif not d.outage and row.attempts == WARN_AFTER_ATTEMPTS:
            await self._alert(
                session,
                f"一条消息多次发送失败（{row.platform}，{_kind(row)}）：{d.error[:100]}，仍在重试。",
                f"retrying:{row.id}",
                now,
                row,
            )

    async def _unreachable(self, session: Session, row: OutboxMessage, users: tuple[str, ...], now: datetime) -> None:
        names = []
        for user in users:
            person = await directory.person_by_platform(session, row.platform, user)
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

    async def _alert(self, session: Session, text: str, key: str, now: datetime, row: OutboxMessage) -> None:
        if row.payload.get("alert"):
            return  # never alert about an alert
        admins = await directory.people_with_role(session, Role.ADMIN)
        day = now.date().isoformat()
        payload_text = f"【系统告警】{text}"
        for person in admins:
            for platform in self.outbox.platforms:
                user = address(person, platform)
                if user:
                    await outbox_store.enqueue(
                        session,
                        platform=platform,
                        channel=Channel.USER,
                        recipient=user,
                        payload={"type": "text", "text": payload_text, "alert": True},
                        now=now,
                        person_id=person.id,
                        dedupe_key=f"alert:{key}:{day}:{platform}:{user}",
                    )
        self.wake.set()


_PLATFORM_NAMES = {"wecom": "企业微信", "dingtalk": "钉钉", "sandbox": "模拟工作台"}


def _kind(row: OutboxMessage) -> str:
    return str(row.payload.get("kind") or row.payload.get("type") or row.channel)
