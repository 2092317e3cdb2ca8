"""DingTalk robot messages and card callbacks → typed events → the neutral ``Inbound``.

The robot message object (spec §b.1) and the card callback object (spec §d.5) are the same in
HTTP mode (the request body) and Stream mode (the frame's ``data`` string), so one parser serves
both transports. Anything that is not a JSON object of the expected shape raises
:class:`DingTalkEventError`; message kinds liuyan does not act on parse fine and map to ``None``.

Mapping to :class:`~bot.ports.Inbound` (``platform="dingtalk"``):

* text message → ``kind="text"``, ``user`` = ``senderStaffId`` (the org userId, spec §0.3/§b.1),
  ``text`` stripped (groups keep a leading space after the @-mention), ``at`` = ``createAt``
  in seconds. ``richText`` counts as text when it has text parts.
* a message without ``senderStaffId`` (robot not published yet, outsider in an external group)
  or with ``errorMessage`` (the org's robot-message quota is exhausted, error 20001) →
  ``kind="other"`` with ``extra["problem"]`` = ``"no_staff_id"`` / ``"quota_exhausted"``, so
  the caller can refuse with :data:`NO_IDENTITY_TEXT` via ``sessionWebhook`` or alert admins.
* card button → ``kind="click"``, ``user`` = the clicker's ``userId`` (authorise on it, never
  on ``params``), ``key`` = ``params["action"]`` (our packed ``CardAction``; the template binds
  it to the button's ``btnN_key`` variable, see ``bot/cards/dingtalk.py``), ``task_id`` =
  ``outTrackId``; other params (card inputs) go to ``extra["inputs"]``.

Dedupe keys: ``msg:<msgId>`` for messages (spec §b.1); for card callbacks the spec's tuple
(outTrackId, userId, action, params hash) (spec §d.5), see :func:`dedupe_key`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from bot.ports import Inbound

__all__ = [
    "CARD_TOPIC",
    "NO_IDENTITY_TEXT",
    "QUOTA_TEXT",
    "ROBOT_TOPIC",
    "CardCallback",
    "DingTalkEvent",
    "DingTalkEventError",
    "RobotMessage",
    "dedupe_key",
    "parse_callback",
    "parse_card_callback",
    "parse_robot_message",
    "to_inbound",
]

log = logging.getLogger(__name__)

#: Stream topics (spec §b.3)
ROBOT_TOPIC: Final = "/v1.0/im/bot/messages/get"
CARD_TOPIC: Final = "/v1.0/card/instances/callback"

#: Shown to a sender we cannot identify (no senderStaffId, spec §b.1).
NO_IDENTITY_TEXT: Final = (
    "无法识别您的钉钉账号（机器人尚未发布，或您不是本单位通讯录成员），本次操作未执行。请联系管理员。"
)
#: For admins when DingTalk reports the robot-message quota as exhausted (spec §b.1, §g.2 20001).
QUOTA_TEXT: Final = "钉钉提示本单位机器人消息额度已用尽（20001），机器人暂时收不到消息，请管理员处理。"

_MAX_INPUT: Final = 256 * 1024  # bytes; a robot message is a few KB
_TEXT_KINDS: Final = frozenset({"text", "richText"})
_KNOWN_KINDS: Final = frozenset({"text", "richText", "picture", "audio", "video", "file", "unknownMsgType"})


class DingTalkEventError(ValueError):
    """The payload is not a usable DingTalk robot message or card callback."""


@dataclass(frozen=True, slots=True)
class RobotMessage:
    """A message to the robot (spec §b.1). Times are epoch milliseconds.

    ``text`` is the stripped text (``text.content``, the documented top-level ``content``
    slip, or the joined text parts of ``richText``); empty for other kinds.
    """

    msg_id: str
    msgtype: str
    create_at: int
    text: str
    sender_staff_id: str
    sender_nick: str
    sender_id: str
    conversation_type: str  # "1" one-to-one, "2" group
    conversation_id: str
    conversation_title: str
    session_webhook: str
    session_webhook_expired_time: int | None
    robot_code: str
    chatbot_user_id: str
    is_admin: bool
    at_staff_ids: tuple[str, ...]
    error_message: str
    content: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_group(self) -> bool:
        return self.conversation_type == "2"

    def __repr__(self) -> str:  # the session webhook is a credential for 90 minutes
        return (
            f"RobotMessage(msg_id={self.msg_id!r}, msgtype={self.msgtype!r}, "
            f"sender_staff_id={self.sender_staff_id!r}, conversation_type={self.conversation_type!r})"
        )


@dataclass(frozen=True, slots=True)
class CardCallback:
    """A card button callback (spec §d.5). ``params`` are the button's 回传参数."""

    out_track_id: str
    user_id: str
    user_id_type: int
    corp_id: str
    type: str
    space_type: str
    space_id: str
    action_ids: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    extension: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    value: str = ""

    @property
    def action(self) -> str:
        """``params["action"]`` when it is a non-empty string, else ``""``."""
        action = self.params.get("action")
        return action if isinstance(action, str) else ""


DingTalkEvent: TypeAlias = RobotMessage | CardCallback


# -- helpers -------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise DingTalkEventError(f"JSON constant {name} is not allowed")


def _load(data: str | bytes | bytearray | Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON object from text/bytes (or a mapping already decoded, e.g. by a test)."""
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, (bytes, bytearray)):
        if len(data) > _MAX_INPUT:
            raise DingTalkEventError(f"{what} is too large")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise DingTalkEventError(f"{what} is not UTF-8") from None
    elif isinstance(data, str):
        if len(data) > _MAX_INPUT:
            raise DingTalkEventError(f"{what} is too large")
        text = data
    else:
        raise DingTalkEventError(f"{what} has an unsupported type")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except DingTalkEventError:
        raise
    except (ValueError, RecursionError):
        raise DingTalkEventError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise DingTalkEventError(f"{what} is not a JSON object")
    return value


def _str(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise DingTalkEventError(f"missing {key}")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DingTalkEventError(f"{key} is not a string")
    return str(value)


def _ms(obj: Mapping[str, Any], key: str, *, required: bool) -> int | None:
    """Epoch ms; documented as String, sent as number (spec §b.1) — accept both."""
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise DingTalkEventError(f"missing {key}")
        return None
    if isinstance(value, bool):
        raise DingTalkEventError(f"{key} is not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        number = int(value)
    else:
        raise DingTalkEventError(f"{key} is not a millisecond number")
    if not 0 <= number < 10**16:
        raise DingTalkEventError(f"{key} is out of range")
    return number


def _bool(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    return value is True or value == "true"


def _nested(value: Any, what: str) -> dict[str, Any]:
    """``content``/``extension`` arrive as JSON strings (spec §d.5); accept objects too."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return _load(value, what)
    raise DingTalkEventError(f"{what} is neither a JSON string nor an object")


def _rich_text(content: Mapping[str, Any]) -> str:
    parts = content.get("richText")
    if not isinstance(parts, list):
        return ""
    texts = [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "".join(texts)


# -- parsing -------------------------------------------------------------------------------------


def parse_robot_message(data: str | bytes | bytearray | Mapping[str, Any]) -> RobotMessage:
    """Parse the robot message object of spec §b.1 (HTTP body or Stream ``data``)."""
    obj = _load(data, "robot message")
    return _robot_message(obj)


def _robot_message(obj: Mapping[str, Any]) -> RobotMessage:
    msg_id = _str(obj, "msgId", required=True)
    error_message = _str(obj, "errorMessage")
    msgtype = _str(obj, "msgtype")
    if not msgtype and not error_message:
        raise DingTalkEventError("missing msgtype")
    create_at = _ms(obj, "createAt", required=True) or 0
    content: dict[str, Any] = {}
    raw_content = obj.get("content")
    text = ""
    if msgtype == "text":
        inner = obj.get("text")
        if isinstance(inner, dict) and isinstance(inner.get("content"), str):
            text = inner["content"]
        elif isinstance(raw_content, str):  # spec §b.1: one official sample puts it top-level
            text = raw_content
        elif inner is not None and not isinstance(inner, dict):
            raise DingTalkEventError("text is not an object")
    elif isinstance(raw_content, dict):
        content = raw_content
        if msgtype == "richText":
            text = _rich_text(raw_content)
    elif raw_content is not None and not isinstance(raw_content, str):
        raise DingTalkEventError("content is not an object")
    at_ids: list[str] = []
    at_users = obj.get("atUsers")
    if isinstance(at_users, list):
        for user in at_users:
            if isinstance(user, dict) and isinstance(user.get("staffId"), str) and user["staffId"]:
                at_ids.append(user["staffId"])
    elif at_users is not None:
        raise DingTalkEventError("atUsers is not a list")
    conv_type = _str(obj, "conversationType")
    return RobotMessage(
        msg_id=msg_id,
        msgtype=msgtype,
        create_at=create_at,
        text=text.strip(),
        sender_staff_id=_str(obj, "senderStaffId").strip(),
        sender_nick=_str(obj, "senderNick"),
        sender_id=_str(obj, "senderId"),
        conversation_type=conv_type,
        conversation_id=_str(obj, "conversationId"),
        conversation_title=_str(obj, "conversationTitle"),
        session_webhook=_str(obj, "sessionWebhook"),
        session_webhook_expired_time=_ms(obj, "sessionWebhookExpiredTime", required=False),
        robot_code=_str(obj, "robotCode"),
        chatbot_user_id=_str(obj, "chatbotUserId"),
        is_admin=_bool(obj, "isAdmin"),
        at_staff_ids=tuple(at_ids),
        error_message=error_message,
        content=content,
    )


def parse_card_callback(data: str | bytes | bytearray | Mapping[str, Any]) -> CardCallback:
    """Parse the card callback object of spec §d.5 (HTTP body or Stream ``data``)."""
    return _card_callback(_load(data, "card callback"))


def _card_callback(obj: Mapping[str, Any]) -> CardCallback:
    out_track_id = _str(obj, "outTrackId", required=True)
    user_id = _str(obj, "userId", required=True).strip()
    if not user_id:
        raise DingTalkEventError("missing userId")
    raw_type = obj.get("userIdType", 1)
    if isinstance(raw_type, bool) or str(raw_type) not in ("1", "2"):
        raise DingTalkEventError("userIdType is not 1 or 2")
    content = _nested(obj.get("content"), "card callback content")
    private = content.get("cardPrivateData", {})
    if not isinstance(private, dict):
        raise DingTalkEventError("cardPrivateData is not an object")
    raw_ids = private.get("actionIds", [])
    if not isinstance(raw_ids, list) or not all(isinstance(i, str) for i in raw_ids):
        raise DingTalkEventError("actionIds is not a list of strings")
    params = private.get("params", {})
    if not isinstance(params, dict):
        raise DingTalkEventError("params is not an object")
    value = obj.get("value", "")
    return CardCallback(
        out_track_id=out_track_id,
        user_id=user_id,
        user_id_type=int(str(raw_type)),
        corp_id=_str(obj, "corpId"),
        type=_str(obj, "type"),
        space_type=_str(obj, "spaceType"),
        space_id=_str(obj, "spaceId"),
        action_ids=tuple(raw_ids),
        params=params,
        extension=_nested(obj.get("extension"), "card callback extension"),
        value=value if isinstance(value, str) else json.dumps(value, ensure_ascii=False),
    )


def parse_callback(data: str | bytes | bytearray | Mapping[str, Any]) -> DingTalkEvent:
    """HTTP mode: one URL receives both kinds; tell them apart by their fields.

    A card callback carries ``outTrackId`` and no ``msgId``; a robot message carries ``msgId``.
    """
    obj = _load(data, "callback body")
    if "msgId" in obj:
        return _robot_message(obj)
    if "outTrackId" in obj:
        return _card_callback(obj)
    raise DingTalkEventError("neither a robot message nor a card callback")


# -- neutral form --------------------------------------------------------------------------------


def to_inbound(event: DingTalkEvent, *, received_at: float) -> Inbound | None:
    """The neutral event, or ``None`` for what the chat layer does not act on.

    ``received_at`` (unix seconds) stamps card callbacks, which carry no time of their own
    (Stream: pass the frame's ``headers.time``; HTTP: the arrival time).
    """
    if isinstance(event, CardCallback):
        return _click(event, int(received_at))
    at = event.create_at // 1000
    base: dict[str, Any] = {
        "msg_id": event.msg_id,
        "msgtype": event.msgtype,
        "conversation_type": event.conversation_type,
        "conversation_id": event.conversation_id,
        "sender_nick": event.sender_nick,
        "session_webhook": event.session_webhook,
        "session_webhook_expires": event.session_webhook_expired_time,
    }
    if event.conversation_title:
        base["conversation_title"] = event.conversation_title
    if event.error_message:
        log.warning("dingtalk robot message %s carries errorMessage (quota exhausted?)", event.msg_id)
        return Inbound(
            "dingtalk",
            event.sender_staff_id,
            "other",
            at,
            extra=base | {"problem": "quota_exhausted", "error_message": event.error_message[:200]},
        )
    if event.msgtype not in _TEXT_KINDS or not event.text:
        if event.msgtype not in _KNOWN_KINDS:
            log.info("dingtalk robot message of unknown kind %r ignored", event.msgtype[:40])
        return None
    if not event.sender_staff_id:
        log.warning("dingtalk robot message %s has no senderStaffId (robot not published?)", event.msg_id)
        return Inbound("dingtalk", "", "other", at, extra=base | {"problem": "no_staff_id"})
    return Inbound("dingtalk", event.sender_staff_id, "text", at, text=event.text, extra=base)


def _click(event: CardCallback, at: int) -> Inbound | None:
    if event.user_id_type != 1:
        # we create every card with userIdType 1; a unionId cannot be matched to a person
        log.warning("dingtalk card callback for %s with userIdType=%s ignored", event.out_track_id, event.user_id_type)
        return None
    if not event.action:
        log.info("dingtalk card callback for %s without an action param ignored", event.out_track_id)
        return None
    inputs = {k: v for k, v in event.params.items() if k not in ("action", "rev")}
    extra: dict[str, Any] = {"action_ids": list(event.action_ids), "space_type": event.space_type}
    if inputs:
        extra["inputs"] = inputs
    return Inbound("dingtalk", event.user_id, "click", at, key=event.action, task_id=event.out_track_id, extra=extra)


def dedupe_key(event: DingTalkEvent) -> str:
    """Key under which redeliveries of the same callback collapse (unique in the database).

    * robot message: ``msg:<msgId>`` (spec §b.1, §b.3);
    * card callback: ``card:<outTrackId>:<userId>:<sha1 of actionIds+params>`` — spec §d.5's
      (outTrackId, userId, action, params hash). Our template puts the card's ``rev`` (changed
      by every render) into the params, so the same button on a newer version of the card is
      a new event, while a double click or a redelivery on the same version collapses.
    """
    if isinstance(event, RobotMessage):
        return f"msg:{event.msg_id}"
    canon = json.dumps(
        {"ids": list(event.action_ids), "params": event.params}, sort_keys=True, ensure_ascii=False, default=str
    )
    digest = hashlib.sha1(canon.encode("utf-8")).hexdigest()[:20]
    return f"card:{event.out_track_id[:100]}:{event.user_id[:80]}:{digest}"
