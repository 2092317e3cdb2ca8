"""Neutral messages and cards; each platform has a renderer (bot/cards/wecom.py, dingtalk.py).

They travel through the outbox as JSON (``to_dict``/``from_dict``), so they hold only plain data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Style = Literal["primary", "default", "danger"]


@dataclass(frozen=True)
class Button:
    text: str  # ≤ 10 characters on WeCom
    key: str  # a packed CardAction
    style: Style = "default"


@dataclass(frozen=True)
class Card:
    """An interactive card for one person. ``closed`` greys it out with that text (no buttons)."""

    title: str
    desc: str = ""
    body: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    url: str | None = None
    source: str = "留言办理"
    closed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Card:
        return cls(
            title=data["title"],
            desc=data.get("desc", ""),
            body=data.get("body", ""),
            fields=[(str(k), str(v)) for k, v in data.get("fields", [])],
            buttons=[Button(**b) for b in data.get("buttons", [])],
            url=data.get("url"),
            source=data.get("source", "留言办理"),
            closed=data.get("closed"),
        )


def text_payload(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def markdown_payload(text: str) -> dict[str, Any]:
    return {"type": "markdown", "text": text}


def card_payload(card: Card, kind: str) -> dict[str, Any]:
    return {"type": "card", "kind": kind, "card": card.to_dict()}
