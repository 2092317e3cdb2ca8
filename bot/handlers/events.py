"""The neutral inbound event: what a platform adapter hands to the chat handlers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["text", "click", "enter", "other"]


@dataclass(frozen=True)
class Inbound:
    platform: str  # "wecom" | "dingtalk"
    user: str  # the platform's user id
    kind: Kind
    at: int  # unix seconds
    text: str = ""
    key: str = ""  # the clicked button's key (a packed CardAction)
    task_id: str = ""  # the card's task id (WeCom) / out track id (DingTalk)
    response_code: str = ""  # WeCom: single-use code to update the clicked card
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Inbound:
        return cls(**data)
