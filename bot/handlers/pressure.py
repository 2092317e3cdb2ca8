"""催办 and 督办 of a unit's overdue cases by a supervisor (督查员): one use case for the chat's
buttons on the overdue list and the desk's supervision board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.lifecycle import Actor
from bot.domain.records import SUPERVISE_ROLES
from bot.domain.states import Note, Role
from bot.handlers.messaging import Outbox
from store import directory, repo
from store.db import Session
from store.models import Case


@dataclass(frozen=True)
class Pressed:
    """The outcome: the unit's overdue cases that got the 催办/督办 entry (empty: nothing to press,
    or ``refused`` says why)."""

    cases: list[Case]
    refused: str = ""


async def press_unit(
    session: Session, outbox: Outbox, actor: Actor, unit_id: int | None, kind: Note, now: datetime
) -> Pressed:
    """催办 (``Note.URGE``: an immediate nudge to the unit's handlers) or 督办 (``Note.SUPERVISE``:
    a formal notice to its handlers and leader) of every overdue case of the unit, each on its
    timeline; in the caller's transaction."""
    if not actor.roles & SUPERVISE_ROLES:
        return Pressed([], "只有督查员可以催办、督办。")
    overdue = [c for c in await repo.due_cases(session, now) if c.unit_id == unit_id and c.unit_id is not None]
    if not overdue or unit_id is None:
        return Pressed([], "该单位目前没有超期件。")
    word = kind.label
    for c in overdue:
        await repo.add_event(session, c.id, now, kind, actor, comment=f"{actor.name}{word}")
    numbers = "、".join(c.number for c in overdue[:10]) + ("等" if len(overdue) > 10 else "")
    people = await directory.people_with_role(session, Role.HANDLER, unit_id)
    if kind is Note.SUPERVISE:
        people += await directory.people_with_role(session, Role.UNIT_LEADER, unit_id)
        text = (
            f"【督办通知】督查室（{actor.name}）对贵单位{len(overdue)}件超期留言发出督办：{numbers}。"
            "请立即办理并报告情况。"
        )
    else:
        text = f"【催办】督查室（{actor.name}）催办贵单位{len(overdue)}件超期留言：{numbers}，请抓紧办理。"
    await outbox.text(session, people, text, now)
    return Pressed(overdue)
