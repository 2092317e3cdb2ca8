"""The neutral types between the platform adapters and the rest of the bot.

Inbound: a platform callback becomes an :class:`Inbound`, handed to an injected
:data:`StoreEvent` (persist under its dedupe key before answering) and :data:`Wake` (the inbound
worker has work). Outbound: the outbox sender turns a queued row into an :class:`Outgoing` and
hands it to the platform's :class:`Transport`, which reports a :class:`Delivery`. Adapters see
only these types: no database session, no ORM row. Platform references (a WeCom card's
single-use response code) travel as opaque strings that the runtime records through ``store/``.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from bot.cards.models import Card

# --- inbound ---------------------------------------------------------------------------------

Kind = Literal["text", "click", "enter", "other"]


@dataclass(frozen=True)
class Inbound:
    """One thing a person did on a platform, in the form the chat handlers act on."""

    platform: str  # "wecom" | "dingtalk"
    user: str  # the platform's user id
    kind: Kind
    at: int  # unix seconds
    text: str = ""
    key: str = ""  # the clicked button's key (a packed CardAction)
    task_id: str = ""  # the clicked card's task id (WeCom) / out track id (DingTalk)
    # Opaque reference the platform gave with the click for changing that card afterwards
    # (WeCom: the single-use response code, fresher than the send's); "" when there is none.
    # The inbound worker records it for the card (``store.outbox.refresh_card_ref``).
    reply_ref: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        # what dataclasses.asdict gives, in its order, without its recursion (once per callback)
        return {
            "platform": self.platform,
            "user": self.user,
            "kind": self.kind,
            "at": self.at,
            "text": self.text,
            "key": self.key,
            "task_id": self.task_id,
            "reply_ref": self.reply_ref,
            "extra": copy.deepcopy(self.extra) if self.extra else {},
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Inbound:
        data = dict(data)
        legacy = data.pop("response_code", None)  # events stored before the field was renamed
        if legacy and not data.get("reply_ref"):
            data["reply_ref"] = legacy
        return cls(**data)


#: Persist an event under its dedupe key (committed on return); True when it is new, False for a
#: platform retry of an event stored before.
StoreEvent = Callable[[Inbound, str], Awaitable[bool]]

#: Tell the inbound worker that there is work (never blocks).
Wake = Callable[[], None]

#: The recipient of the card ``task_id`` sent on ``platform``; None when we sent no such card.
CardRecipient = Callable[[str, str], Awaitable[str | None]]

#: ``(scope, token, binding, expires_at)``: record the one-time token as used until ``expires_at``
#: (unix seconds), in storage every process shares. True on its first use and on a repeat with the
#: same ``binding`` (a redelivery of the same request); False when it comes with anything else.
FirstUse = Callable[[str, str, str, float], Awaitable[bool]]


# --- outbound --------------------------------------------------------------------------------


class Channel(StrEnum):
    """Where a message goes (``outbox.channel``)."""

    USER = "user"  # a person
    GROUP = "group"  # a group chat
    WEBHOOK = "webhook"  # the group robot
    CARD_UPDATE = "card_update"  # a change of a card sent before


class Outcome(StrEnum):
    """What became of one delivery attempt."""

    SENT = "sent"
    RETRY = "retry"  # a transient failure: try again later
    DEFER = "defer"  # not now and not an attempt (e.g. the card itself is not sent yet)
    DEAD = "dead"  # a permanent failure: give up


@dataclass(frozen=True)
class Image:
    png_b64: str  # the raw PNG, base64
    md5: str  # hex md5 of the raw PNG


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver: to a person (``user``), a group chat (``group``), the group robot
    (``webhook``), or a change of a card sent before (``card_update``)."""

    platform: str
    channel: str  # a Channel (a stored row's value; the transport refuses one it does not know)
    recipient: str  # user id, chat id, or "supervision" for the webhook
    kind: str  # text / markdown / card / card_update / image
    text: str = ""  # text and markdown
    card: Card | None = None  # card and card_update
    task_id: str = ""  # card and card_update: the card's task id (DingTalk: its outTrackId)
    image: Image | None = None
    attempts: int = 0  # earlier attempts: a retried card send may have got through the first time
    # card_update on a platform whose transport ``needs_card_ref``: the card's current reference,
    # looked up by the sender (WeCom: the single-use response code)
    card_ref: str = ""
    id: int = 0  # the outbox row, for logs
    # an answer to a person's own command or click (the outbox's interactive lane): never held
    # back by a platform's duplicate check, however alike two answers are
    interactive: bool = False

    @classmethod
    def from_payload(
        cls,
        payload: dict[str, Any],
        *,
        platform: str,
        channel: str,
        recipient: str,
        attempts: int = 0,
        card_ref: str = "",
        id: int = 0,
        interactive: bool = False,
    ) -> Outgoing:
        """From a queued payload (``bot.cards.models``: ``{"type": …, "text"|"card"|…}``)."""
        kind = str(payload.get("type", ""))
        card = Card.from_dict(payload["card"]) if "card" in payload else None
        image = Image(payload["png_b64"], payload["md5"]) if kind == "image" else None
        return cls(
            platform=platform,
            channel=channel,
            recipient=recipient,
            kind=kind,
            text=str(payload.get("text", "")),
            card=card,
            task_id=str(payload.get("task_id", "")),
            image=image,
            attempts=attempts,
            card_ref=card_ref,
            id=id,
            interactive=interactive,
        )


@dataclass
class Delivery:
    """What a transport says about one message: the outcome, and facts the sender records."""

    outcome: Outcome
    result: dict[str, Any] = field(default_factory=dict)  # kept on the outbox row
    error: str = ""
    delay: float = 0.0  # seconds, for "retry"/"defer" when the transport knows better
    unreachable: tuple[str, ...] = ()  # recipients the platform says did not get it
    card_ref: str = ""  # a card sent: the platform's reference for changing it later
    ref_spent: bool = False  # a card changed with its reference, which was single-use
    ref_gone: bool = False  # the card's reference was refused (used up or expired): tell in text
    # "retry" because the platform could not be reached (connection refused, HTTP 5xx, timeout):
    # the message waits for it however long it takes, and never becomes a dead letter
    outage: bool = False


@dataclass(frozen=True)
class Limit:
    """A documented sending limit: at most ``count`` messages of ``channel`` per ``seconds``, per
    recipient (a member, a group chat, a robot) or, with ``per_app``, for the whole app.
    ``reserve``: that many of them are kept for the interactive lane (bulk stops earlier), so an
    answer never waits for the window. ``source``: the spec section that gives the number."""

    channel: Channel
    count: int
    seconds: int
    source: str
    reserve: int = 0
    per_app: bool = False


@dataclass(frozen=True)
class PlatformLimits:
    """One platform's limits: sending rates (enforced by the sender's pacing; the platforms drop
    or refuse beyond them) and the content size of each message kind (UTF-8 bytes)."""

    rates: tuple[Limit, ...]
    content_bytes: dict[str, int]  # "<channel>:<kind>" -> bytes

    def for_channel(self, channel: str) -> tuple[Limit, ...]:
        return tuple(limit for limit in self.rates if limit.channel == channel)

    def bytes_for(self, channel: str, kind: str) -> int | None:
        return self.content_bytes.get(f"{channel}:{kind}")


class Transport(Protocol):
    """A platform's way of sending. It gets plain data and answers with facts; the sender does
    the database work before and after. ``deliver`` runs outside any transaction (SQLite has one
    writer: never hold its lock across a slow HTTP call) and must not raise for platform
    errors: it classifies them instead."""

    platform: str
    #: True when a card update needs the reference the platform gave with the send or the
    #: latest click (WeCom); the sender then looks it up and defers until the card is sent.
    needs_card_ref: bool
    #: the platform's documented limits (``bot/platforms/<platform>/limits.py``)
    limits: PlatformLimits

    async def deliver(self, message: Outgoing) -> Delivery: ...
