"""Queueing what people must be told, inside the caller's transaction (the outbox).

A person may be reachable on WeCom, DingTalk or both; every enabled platform on which they have an
id gets its own copy. Cards get a fresh task id per send and a CardTask row, so that the card can
later be greyed out for every recipient when the case moves on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cards.builders import closed
from bot.cards.models import Card, card_payload, markdown_payload, text_payload
from bot.config import Config
from bot.ports import Channel
from bot.privacy import redact
from store import outbox as outbox_store
from store.db import Session
from store.models import Case, Person

#: the chat channels; "sandbox" is the 模拟工作台 (bot/platforms/sandbox), where a person's id is
#: their directory id (:func:`sandbox_user`)
PLATFORMS = ("wecom", "dingtalk", "sandbox")

#: The person whose command or click is being handled (platform, user id), if any.
_answering: ContextVar[tuple[str, str] | None] = ContextVar("answering", default=None)


@contextmanager
def answering(platform: str, user: str) -> Iterator[None]:
    """While handling this person's command or click, what goes to them on that platform (answers,
    dialogue prompts) and every card update is queued in the interactive lane: sent before
    reminders, lists and notices. Messages to anyone else stay bulk."""
    token = _answering.set((platform, user))
    try:
        yield
    finally:
        _answering.reset(token)


def lane(platform: str, user: str, channel: str = Channel.USER) -> int:
    """The outbox lane of a message queued now (see :func:`answering`)."""
    who = _answering.get()
    if who is None:
        return outbox_store.BULK
    if channel == Channel.CARD_UPDATE or who == (platform, user):
        return outbox_store.INTERACTIVE
    return outbox_store.BULK


def enabled_platforms(config: Config) -> tuple[str, ...]:
    return tuple(p for p in PLATFORMS if getattr(config, p).enabled)


#: the sandbox's supervision group (a group view at /sandbox/)
SANDBOX_SUPERVISION = "supervision"


def sandbox_user(person_id: int) -> str:
    """A person's user id in the sandbox: their directory id (every person has one)."""
    return str(person_id)


def address(person: Person, platform: str) -> str | None:
    if platform == "sandbox":
        return sandbox_user(person.id)
    return person.wecom_userid if platform == "wecom" else person.dingtalk_userid


async def _to_user(
    session: Session,
    platform: str,
    user: str,
    payload: dict[str, Any],
    now: datetime,
    case: Case | None = None,
    person: Person | None = None,
    *,
    dedupe_key: str | None = None,
) -> bool:
    """Queue one message to one account on ``platform`` (the interactive lane when it answers that
    account now, :func:`lane`); False when a message of ``dedupe_key`` was queued before."""
    queued = await outbox_store.enqueue(
        session,
        platform=platform,
        channel=Channel.USER,
        recipient=user,
        payload=payload,
        now=now,
        case_id=case.id if case else None,
        person_id=person.id if person else None,
        dedupe_key=dedupe_key,
        lane=lane(platform, user),
    )
    return queued is not None


@dataclass(frozen=True)
class Outbox:
    """Writes outgoing messages for the enabled platforms."""

    config: Config

    @property
    def platforms(self) -> tuple[str, ...]:
        return enabled_platforms(self.config)

    async def text(
        self,
        session: Session,
        people: Iterable[Person],
        text: str,
        now: datetime,
        *,
        case: Case | None = None,
        dedupe: str | None = None,
    ) -> int:
        return await self._each(session, people, text_payload(text), now, case=case, dedupe=dedupe)

    async def markdown(
        self,
        session: Session,
        people: Iterable[Person],
        text: str,
        now: datetime,
        *,
        case: Case | None = None,
        dedupe: str | None = None,
    ) -> int:
        return await self._each(session, people, markdown_payload(text), now, case=case, dedupe=dedupe)

    async def _each(
        self,
        session: Session,
        people: Iterable[Person],
        payload: dict[str, Any],
        now: datetime,
        *,
        case: Case | None,
        dedupe: str | None,
    ) -> int:
        count = 0
        for person in _unique(people):
            for platform in self.platforms:
                user = address(person, platform)
                if not user:
                    continue
                key = f"{dedupe}:{platform}:{user}" if dedupe else None
                count += await _to_user(session, platform, user, payload, now, case, person, dedupe_key=key)
        return count

    async def supervision(self, session: Session, chunks: list[str], now: datetime, *, dedupe: str) -> int:
        """Post markdown to the supervision group of every enabled platform (appchat/group, or the
        group robot webhook). Groups never get contact details: callers pass citizen text through
        ``bot.cards.markdown.group_excerpt``; the post is masked once more here, whatever it holds."""
        count = 0
        for platform in self.platforms:
            target = self.supervision_target(platform)
            if target is None:
                continue
            channel, recipient = target
            for i, chunk in enumerate(chunks):
                queued = await outbox_store.enqueue(
                    session,
                    platform=platform,
                    channel=channel,
                    recipient=recipient,
                    payload={"type": "markdown", "text": redact(chunk)},
                    now=now,
                    dedupe_key=f"{dedupe}:{platform}:{i}",
                )
                count += queued is not None
        return count

    def supervision_target(self, platform: str) -> tuple[Channel, str] | None:
        """(channel, recipient) of the supervision group on ``platform``, or None."""
        if platform == "wecom":
            wecom = self.config.wecom
            if wecom.supervision_chatid:
                return Channel.GROUP, wecom.supervision_chatid
            return (Channel.WEBHOOK, "supervision") if wecom.supervision_webhook_key else None
        if platform == "sandbox":  # the sandbox shows the supervision group as a page of its own
            return Channel.GROUP, SANDBOX_SUPERVISION
        ding = self.config.dingtalk
        if ding.supervision_conversation_id:
            return Channel.GROUP, ding.supervision_conversation_id
        return (Channel.WEBHOOK, "supervision") if ding.supervision_webhook else None

    async def reply_raw(self, session: Session, platform: str, user: str, text: str, now: datetime) -> None:
        """Answer someone who is not (yet) in the directory, on the platform they wrote from."""
        await _to_user(session, platform, user, text_payload(text), now)

    async def reply(
        self, session: Session, platform: str, person: Person, text: str, now: datetime, case: Case | None = None
    ) -> None:
        """Answer a person on the platform they wrote from."""
        user = address(person, platform)
        if user:
            await _to_user(session, platform, user, text_payload(text), now, case, person)

    async def card(
        self,
        session: Session,
        people: Iterable[Person],
        make: Any,
        kind: str,
        case: Case,
        now: datetime,
        *,
        platform: str | None = None,
    ) -> int:
        """Send ``make(person) -> Card`` to each person (a card per person: the detail link is
        bound to its recipient). ``platform`` limits it to one platform (dialogue cards)."""
        count = 0
        for person in _unique(people):
            built: Card = make(person)
            for p in self.platforms if platform is None else (platform,):
                user = address(person, p)
                if not user:
                    continue
                task_id = f"{case.number}-{kind}-{secrets.token_hex(6)}"
                payload = card_payload(built, kind) | {"task_id": task_id}
                outbox_id = await outbox_store.enqueue(
                    session,
                    platform=p,
                    channel=Channel.USER,
                    recipient=user,
                    payload=payload,
                    now=now,
                    case_id=case.id,
                    person_id=person.id,
                    lane=lane(p, user),
                )
                await outbox_store.add_card_task(
                    session,
                    task_id=task_id,
                    platform=p,
                    case_id=case.id,
                    person_id=person.id,
                    recipient=user,
                    kind=kind,
                    stage=case.version,
                    card=built.to_dict(),
                    outbox_id=outbox_id,
                    now=now,
                )
                count += 1
        await session.flush()
        return count

    async def close_cards(
        self,
        session: Session,
        case: Case,
        text: str,
        now: datetime,
        *,
        kinds: Iterable[str] | None = None,
        keep: Iterable[str] = (),
        spare_kinds: Iterable[str] = (),
    ) -> int:
        """Grey out every open card of the case (optionally only some kinds, never ``spare_kinds``)
        for every recipient. A card whose send is still queued is simply not sent."""
        keep = set(keep)
        count = 0
        for task in await outbox_store.open_card_tasks(session, case.id, kinds, spare_kinds):
            if task.task_id in keep:
                continue
            task.closed = True
            if task.outbox_id is not None and await outbox_store.cancel_pending(session, task.outbox_id):
                continue
            card = closed(Card.from_dict(task.card), text)
            await outbox_store.enqueue(
                session,
                platform=task.platform,
                channel=Channel.CARD_UPDATE,
                recipient=task.recipient,
                payload={"type": "card_update", "task_id": task.task_id, "card": card.to_dict()},
                now=now,
                case_id=case.id,
                person_id=task.person_id,
                lane=lane(task.platform, task.recipient, Channel.CARD_UPDATE),
            )
            count += 1
        await session.flush()
        return count


def split_markdown(header: str, sections: list[tuple[str, list[str]]], limit_bytes: int = 2000) -> list[str]:
    """Cut a long group post into messages of at most ``limit_bytes`` (UTF-8; WeCom appchat
    markdown: 2048, spec §5.1), between lines only. Every message starts with the header; a
    section cut in two repeats its heading with "（续）"."""

    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    chunks: list[str] = []
    current = [header]
    for heading, lines in sections:
        for i, line in enumerate(lines):
            add = ([heading] if heading and i == 0 else []) + [line]
            if size("\n".join(current + add)) > limit_bytes and len(current) > 1:
                chunks.append("\n".join(current))
                current = [f"{header}（续）"] + ([f"{heading}（续）"] if heading and i else [])
            current += add
    chunks.append("\n".join(current))
    return chunks


def _unique(people: Iterable[Person]) -> list[Person]:
    seen: set[int] = set()
    result = []
    for p in people:
        if p.id not in seen:
            seen.add(p.id)
            result.append(p)
    return result
