"""The co-unit's (协办) card: its own task and deadline, one button to send its 协办意见."""

from __future__ import annotations

from datetime import datetime

from bot.cards.builders import CaseView, _btn, hm, short
from bot.cards.models import Card
from bot.cards.payload import Verb


def co_card(view: CaseView, co_unit: str, co_due: datetime | None, url: str | None) -> Card:
    return Card(
        title=f"【协办】{short(view.title, 30)}",
        desc=f"主办单位：{view.unit or '-'} · 协办单位：{co_unit}",
        body="主要诉求：" + short(view.content, 120),
        fields=[
            ("文号", view.number),
            ("类型", view.category or "-"),
            ("协办时限", hm(co_due, view.tz) or "-"),
            ("主办时限", hm(view.due_at, view.tz) or "-"),
        ],
        buttons=[_btn("报送协办意见", Verb.CO_OPINION, view, "primary")],
        url=url,
    )
