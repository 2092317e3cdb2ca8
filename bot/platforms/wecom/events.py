"""Decrypted WeCom callback plaintext → typed events (spec §2) and dedupe keys (spec §1.7).

Parsing uses defusedxml (no DTD, no entities). Bad plaintext raises :class:`WeComParseError`,
a subclass of ``WeComCryptoError`` with code -40002, so a route can catch either.
Unknown ``MsgType``/``Event`` values never fail: they become :class:`OtherMessage` /
:class:`OtherEvent` (spec §2.5: log them and answer an empty 200).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, cast
from xml.etree.ElementTree import Element

from bot.platforms.wecom.crypto import PARSE_ERROR, WeComCryptoError, parse_xml

__all__ = [
    "CardClick",
    "EnterAgent",
    "OtherEvent",
    "OtherMessage",
    "Subscribe",
    "TextMessage",
    "Unsubscribe",
    "WeComEvent",
    "WeComParseError",
    "dedupe_key",
    "parse_event",
]

CardEventName: TypeAlias = Literal["template_card_event", "template_card_menu_event"]


class WeComParseError(WeComCryptoError):
    """The decrypted plaintext is not a usable WeCom message/event (code -40002)."""

    def __init__(self, reason: str) -> None:
        super().__init__(PARSE_ERROR, reason)


@dataclass(frozen=True, slots=True)
class TextMessage:
    """``MsgType=text`` (spec §2.1). ``msg_id`` stays a string: values exceed 2^53."""

    user: str
    corp_id: str
    agent_id: int | None
    create_time: int
    msg_id: str
    content: str


@dataclass(frozen=True, slots=True)
class CardClick:
    """``template_card_event`` / ``template_card_menu_event`` (spec §2.2, §2.3).

    ``selected`` maps QuestionKey → chosen OptionIds (empty without selectors).
    ``response_code`` is single-use for ``message/update_template_card`` (spec §3.6).
    """

    user: str
    corp_id: str
    agent_id: int | None
    create_time: int
    event: CardEventName
    event_key: str
    task_id: str
    card_type: str
    response_code: str
    selected: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class EnterAgent:
    """``enter_agent``: the member opened the app (spec §2.4)."""

    user: str
    corp_id: str
    agent_id: int | None
    create_time: int
    event_key: str = ""


@dataclass(frozen=True, slots=True)
class Subscribe:
    """``subscribe``: member entered the app's visible range (spec §2.5)."""

    user: str
    corp_id: str
    agent_id: int | None
    create_time: int


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """``unsubscribe``: member left the visible range, left the corp or was disabled (spec §2.5)."""

    user: str
    corp_id: str
    agent_id: int | None
    create_time: int


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """Any other ``MsgType=event`` (LOCATION, inactive_alert, batch_job_result, future ones)."""

    event: str
    user: str
    corp_id: str
    agent_id: int | None
    create_time: int
    raw: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """Any other member message (image, voice, video, location, link, future types)."""

    msg_type: str
    user: str
    corp_id: str
    agent_id: int | None
    create_time: int
    msg_id: str
    raw: dict[str, Any] = field(default_factory=dict, hash=False)


WeComEvent: TypeAlias = TextMessage | CardClick | EnterAgent | Subscribe | Unsubscribe | OtherEvent | OtherMessage


def _text(root: Element, tag: str) -> str:
    node = root.find(tag)
    return "" if node is None or node.text is None else node.text


def _required(root: Element, tag: str) -> str:
    value = _text(root, tag).strip()
    if not value:
        raise WeComParseError(f"missing {tag}")
    return value


def _int_field(root: Element, tag: str, *, required: bool) -> int | None:
    value = _text(root, tag).strip()
    if not value:
        if required:
            raise WeComParseError(f"missing {tag}")
        return None
    if not value.isascii() or not value.isdigit():
        raise WeComParseError(f"{tag} is not an integer")
    return int(value)


def _to_raw(elem: Element) -> dict[str, Any]:
    """Children as a dict: leaves → text, nested → dict, repeated tags → list."""
    out: dict[str, Any] = {}
    for child in elem:
        value: Any = _to_raw(child) if len(child) else (child.text or "")
        if child.tag in out:
            prev = out[child.tag]
            out[child.tag] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = value
    return out


def _selected_items(root: Element) -> dict[str, tuple[str, ...]]:
    # spec §2.2: one or many SelectedItem, each one or many OptionId (ElementTree, not xmltodict).
    selected: dict[str, tuple[str, ...]] = {}
    for item in root.iterfind("SelectedItems/SelectedItem"):
        key = _text(item, "QuestionKey").strip()
        if not key:
            raise WeComParseError("SelectedItem without QuestionKey")
        options = tuple((o.text or "").strip() for o in item.iterfind("OptionIds/OptionId"))
        selected[key] = options
    return selected


def parse_event(plaintext: str | bytes) -> WeComEvent:
    """Parse decrypted callback XML into one of the event dataclasses."""
    try:
        root = parse_xml(plaintext)
    except WeComParseError:
        raise
    except WeComCryptoError as exc:
        raise WeComParseError(exc.reason) from None
    msg_type = _required(root, "MsgType")
    user = _required(root, "FromUserName")
    corp_id = _text(root, "ToUserName").strip()
    create_time = _int_field(root, "CreateTime", required=True) or 0  # required: never None
    agent_id = _int_field(root, "AgentID", required=False)
    u, c, a, t = user, corp_id, agent_id, create_time

    if msg_type == "text":
        return TextMessage(u, c, a, t, msg_id=_text(root, "MsgId").strip(), content=_text(root, "Content"))
    if msg_type != "event":
        return OtherMessage(msg_type, u, c, a, t, msg_id=_text(root, "MsgId").strip(), raw=_to_raw(root))

    event = _required(root, "Event")
    if event in ("template_card_event", "template_card_menu_event"):
        return CardClick(
            u,
            c,
            a,
            t,
            event=cast(CardEventName, event),  # narrowed by the test above
            event_key=_text(root, "EventKey"),
            task_id=_required(root, "TaskId"),
            card_type=_text(root, "CardType").strip(),
            response_code=_text(root, "ResponseCode").strip(),
            selected=_selected_items(root),
        )
    if event == "enter_agent":
        return EnterAgent(u, c, a, t, event_key=_text(root, "EventKey"))
    if event == "subscribe":
        return Subscribe(u, c, a, t)
    if event == "unsubscribe":
        return Unsubscribe(u, c, a, t)
    return OtherEvent(event, u, c, a, t, raw=_to_raw(root))


def dedupe_key(event: WeComEvent) -> str:
    """Key under which retries of the same callback collapse (spec §1.7; keep ≥ 10 minutes).

    * messages: ``MsgId`` (if a message ever lacks one: ``FromUserName|CreateTime|MsgType|sha1``);
    * card events: ``FromUserName|CreateTime|Event|TaskId|EventKey`` — never merges two clicks
      in the same second;
    * other events: ``FromUserName|CreateTime|Event`` (the documented key).
    """
    match event:
        case TextMessage() | OtherMessage() if event.msg_id:
            return event.msg_id
        case TextMessage():
            digest = hashlib.sha1(event.content.encode("utf-8")).hexdigest()[:16]
            return f"{event.user}|{event.create_time}|text|{digest}"
        case OtherMessage():
            digest = hashlib.sha1(repr(sorted(event.raw.items())).encode("utf-8")).hexdigest()[:16]
            return f"{event.user}|{event.create_time}|{event.msg_type}|{digest}"
        case CardClick():
            return f"{event.user}|{event.create_time}|{event.event}|{event.task_id}|{event.event_key}"
        case EnterAgent():
            return f"{event.user}|{event.create_time}|enter_agent"
        case Subscribe():
            return f"{event.user}|{event.create_time}|subscribe"
        case Unsubscribe():
            return f"{event.user}|{event.create_time}|unsubscribe"
        case OtherEvent():
            return f"{event.user}|{event.create_time}|{event.event}"
    raise TypeError(f"not a WeCom event: {type(event).__name__}")
