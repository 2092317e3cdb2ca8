"""Neutral cards and messages → DingTalk request bodies (spec §c.3, §d, §e).

Interactive cards use the card platform API (``createAndDeliver`` / ``PUT /v1.0/card/instances``,
spec §d.1–§d.3) with **one generic template** that the admin builds once from
``docs/dingtalk-card-template.json`` (see ``docs/dingtalk-admin.md``). Every value is a string
(spec §d.2: ``cardParamMap`` is string → string). The template variables:

==================  ==========================================================================
``lastMessage``     preview line in the chat list (also sent as ``lastMessageI18n``)
``title``           card title (e.g. 【交办】…)
``desc``            grey line under the title
``body``            main text (主要诉求 / 办理情况 excerpt)
``fields``          the ``Card.fields`` as lines "名称：值" (plain text, one per line)
``fields_json``     the same as a JSON array of ``{"name", "value"}`` (for a loop component)
``source``          small label (``Card.source``)
``url``, ``has_url``  detail link and "true"/"false" (the 查看详情 button's visibility)
``status``          the closed text (``Card.closed``), empty while the card is open
``closed``          "true" when the card is closed: every callback button is hidden
``rev``             a digest of all other values; changes with every new rendering
``btnN_text``       N = 1…6: button text; empty → the button is hidden
``btnN_key``        the button's packed ``CardAction`` (``Button.key``)
``btnN_style``      ``primary`` | ``default`` | ``danger`` (blue / grey / red)
==================  ==========================================================================

Each button ``btnN`` is a 回传请求 (callback) button whose component id is ``btnN`` (it arrives
as ``cardPrivateData.actionIds``) and whose 回传参数 are ``action`` = variable ``btnN_key`` and
``rev`` = variable ``rev``. The callback then carries ``params.action`` = the button's key,
which ``bot.platforms.dingtalk.events`` puts into ``Inbound.key``; the card's ``outTrackId``
becomes ``Inbound.task_id``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from bot.cards.markdown import escape_dingtalk
from bot.cards.models import Card

__all__ = [
    "ACTION_PARAM",
    "MAX_BUTTONS",
    "REV_PARAM",
    "TEMPLATE_VARIABLES",
    "action_card_message",
    "button_action_id",
    "card_markdown",
    "card_params",
    "card_preview",
    "markdown_message",
    "markdown_title",
    "stringify",
    "text_message",
    "webhook_markdown",
    "webhook_text",
]

MAX_BUTTONS: Final = 6
ACTION_PARAM: Final = "action"
REV_PARAM: Final = "rev"
_STYLES: Final = frozenset({"primary", "default", "danger"})

TEMPLATE_VARIABLES: Final[tuple[str, ...]] = (
    "lastMessage",
    "title",
    "desc",
    "body",
    "fields",
    "fields_json",
    "source",
    "url",
    "has_url",
    "status",
    "closed",
    "rev",
    *(f"btn{i}_{part}" for i in range(1, MAX_BUTTONS + 1) for part in ("text", "key", "style")),
)

# Display limits are ours (DingTalk documents none for template variables): keep cards short
# enough for a phone lock screen; the detail page has everything.
_TITLE = 60
_DESC = 120
_BODY = 600
_FIELD_NAME = 10
_FIELD_VALUE = 60
_MAX_FIELDS = 10
_BUTTON_TEXT = 12
_PREVIEW = 40


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def button_action_id(index: int) -> str:
    """The template's component id of the ``index``-th (1-based) callback button."""
    return f"btn{index}"


def card_preview(card: Card) -> str:
    """The chat-list preview of a card (``lastMessage`` / ``lastMessageI18n``)."""
    text = f"{card.title}（{card.closed}）" if card.closed else card.title
    return _clip(text, _PREVIEW)


def card_params(card: Card) -> dict[str, str]:
    """``cardData.cardParamMap`` for the generic template (all keys of ``TEMPLATE_VARIABLES``).

    Always the complete set, so an update with replace or merge semantics gives the same card.
    A closed card (``card.closed``) shows its status and no callback buttons.
    """
    fields = [(_clip(k, _FIELD_NAME), _clip(v, _FIELD_VALUE)) for k, v in card.fields[:_MAX_FIELDS]]
    params: dict[str, str] = {
        "lastMessage": card_preview(card),
        "title": _clip(card.title, _TITLE),
        "desc": _clip(card.desc, _DESC),
        "body": _clip(card.body, _BODY),
        "fields": "\n".join(f"{k}：{v}" for k, v in fields),
        "fields_json": json.dumps([{"name": k, "value": v} for k, v in fields], ensure_ascii=False),
        "source": _clip(card.source, 20),
        "url": card.url or "",
        "has_url": "true" if card.url else "false",
        "status": card.closed or "",
        "closed": "true" if card.closed else "false",
    }
    buttons = [] if card.closed else card.buttons[:MAX_BUTTONS]
    for i in range(1, MAX_BUTTONS + 1):
        button = buttons[i - 1] if i <= len(buttons) else None
        params[f"btn{i}_text"] = _clip(button.text, _BUTTON_TEXT) if button else ""
        params[f"btn{i}_key"] = button.key if button else ""
        params[f"btn{i}_style"] = (button.style if button.style in _STYLES else "default") if button else ""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    params[REV_PARAM] = digest.hexdigest()[:12]
    return params


# -- robot messages (spec §c.3) --------------------------------------------------------------------


def markdown_title(text: str, default: str = "留言办理") -> str:
    """A notification title from markdown: its first non-empty line without markup, ≤ 30 chars."""
    for line in text.splitlines():
        plain = line.strip().lstrip("#>-*").replace("**", "").strip()
        if plain:
            return _clip(plain, 30)
    return default


def text_message(text: str) -> tuple[str, dict[str, str]]:
    """``(msgKey, msgParam)`` for a text message (``sampleText``)."""
    return "sampleText", {"content": text}


def markdown_message(text: str, title: str | None = None) -> tuple[str, dict[str, str]]:
    """``(msgKey, msgParam)`` for markdown (``sampleMarkdown``; ``title`` is the preview line)."""
    return "sampleMarkdown", {"title": title or markdown_title(text), "text": text}


def card_markdown(card: Card) -> tuple[str, str]:
    """``(title, markdown)`` of a card, for places without interactive cards (groups through
    a webhook, fallbacks). Buttons cannot call back here: they are left out."""
    esc = escape_dingtalk  # titles and excerpts carry a citizen's words: never markup
    lines = [f"#### {esc(card.title)}"]
    if card.desc:
        lines.append(esc(card.desc))
    if card.body:
        lines.append(esc(card.body))
    lines.extend(f"- {esc(k)}：{esc(v)}" for k, v in card.fields)
    if card.closed:
        lines.append(f"**{esc(card.closed)}**")
    if card.url:
        lines.append(f"[查看详情]({card.url})")
    return _clip(card.title, 30), "\n\n".join(lines)


def action_card_message(card: Card) -> tuple[str, dict[str, str]]:
    """A card as ``sampleActionCard`` with a 查看详情 link (URL jump only, spec §c.3), or as
    ``sampleMarkdown`` when the card has no link."""
    title, text = card_markdown(card)
    if not card.url:
        return "sampleMarkdown", {"title": title, "text": text}
    return "sampleActionCard", {"title": title, "text": text, "singleTitle": "查看详情", "singleURL": card.url}


# -- custom robot webhook / sessionWebhook bodies (spec §c.5, §e) -----------------------------------


def _at(user_ids: Iterable[str], at_all: bool) -> tuple[list[str], dict[str, Any]]:
    ids = [u for u in dict.fromkeys(user_ids) if u]
    if len(ids) > 50:  # spec §e: atUserIds ≤ 50
        raise ValueError("at most 50 people can be @-mentioned")
    return ids, {"atUserIds": ids, "isAtAll": at_all}


def _mention(text: str, ids: list[str]) -> str:
    # spec §e: an @-ed id must also appear in the text as "@id" to render as a mention
    missing = [f"@{u}" for u in ids if f"@{u}" not in text]
    return text + ("\n\n" + " ".join(missing) if missing else "")


def webhook_text(
    text: str, *, at_user_ids: Iterable[str] = (), at_all: bool = False, msg_uuid: str | None = None
) -> dict[str, Any]:
    """Custom-robot / sessionWebhook text body."""
    ids, at = _at(at_user_ids, at_all)
    body: dict[str, Any] = {"msgtype": "text", "text": {"content": _mention(text, ids)}, "at": at}
    if msg_uuid:
        body["msgUuid"] = msg_uuid
    return body


def webhook_markdown(
    text: str,
    *,
    title: str | None = None,
    at_user_ids: Iterable[str] = (),
    at_all: bool = False,
    msg_uuid: str | None = None,
) -> dict[str, Any]:
    """Custom-robot / sessionWebhook markdown body; ``msg_uuid`` is DingTalk's idempotency key."""
    ids, at = _at(at_user_ids, at_all)
    body: dict[str, Any] = {
        "msgtype": "markdown",
        "markdown": {"title": title or markdown_title(text), "text": _mention(text, ids)},
        "at": at,
    }
    if msg_uuid:
        body["msgUuid"] = msg_uuid
    return body


def stringify(values: Mapping[str, Any]) -> dict[str, str]:
    """Card data must be string → string (spec §d.2): JSON-encode what is not a string."""
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in values.items()}
