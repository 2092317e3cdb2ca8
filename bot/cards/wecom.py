"""Neutral cards and messages → WeCom JSON (spec §3.3–§3.6)."""

from __future__ import annotations

from typing import Any

from bot.cards.models import Card

_STYLE = {"primary": 1, "default": 2, "danger": 4}


def clip(text: str, limit: int) -> str:
    """WeCom's suggested lengths are in characters; longer text is cut by the client."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def template_card(card: Card, task_id: str | None = None) -> dict[str, Any]:
    """A ``button_interaction`` card; with ``card.closed`` it is the greyed update (Mode B,
    ``replace_text``, spec §3.6) — ``task_id`` is only set when sending."""
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": clip(card.source, 20), "desc_color": 1},
        "main_title": {"title": clip(card.title, 36)},
        "horizontal_content_list": [{"keyname": clip(k, 5), "value": clip(v, 30)} for k, v in card.fields[:6]],
        "button_list": [
            {"text": clip(b.text, 10), "style": _STYLE.get(b.style, 1), "key": b.key} for b in card.buttons[:6]
        ]
        or [{"text": "已处理", "style": 2, "key": "ly1-none"}],
    }
    if card.desc:
        body["main_title"]["desc"] = clip(card.desc, 44)
    if card.body:
        body["sub_title_text"] = clip(card.body, 160)
    if card.url:
        body["card_action"] = {"type": 1, "url": card.url}
    if task_id is not None:
        body["task_id"] = task_id
    if card.closed:
        body["replace_text"] = card.closed
    return body
