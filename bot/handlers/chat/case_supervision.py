"""督办 of any open case (seed 001 第十三条): a supervisor names the method (明察暗访 / 电话询访 /
实地走访), the instruction and the date the unit must answer by; 专项督办 for a matter reported
again without a solution. Both are timeline entries ("supervise", counted by the 被督办 rule)."""

from __future__ import annotations

import re

from bot.domain.deadlines import workday_deadline
from bot.domain.lifecycle import WorkflowError
from bot.domain.records import check_supervision
from bot.domain.states import Note, State
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.workflow import add_note_in_session
from store import repo
from store.models import Case

on = Router()

#: states whose deadline (the unit's or the office step's) makes a late case 长时间未回复
_TIMED = frozenset(
    {State.ASSIGNED, State.ACCEPTED, State.EXTENSION_REQUESTED, State.SUBMITTED, State.REVIEWED, State.APPROVED}
)
_DAYS = re.compile(r"(?:限期)?(\d{1,2})\s*(?:个)?工作日\s*$")


async def repeated_unresolved(t: Turn, case: Case) -> str | None:
    """The 文号 of an earlier report of the same matter that was not resolved, or None."""
    seen: set[int] = set()
    current = case
    while current.duplicate_of_id and current.duplicate_of_id not in seen:
        seen.add(current.duplicate_of_id)
        earlier = await repo.case_by_id(t.session, current.duplicate_of_id)
        if earlier is None:
            return None
        if earlier.resolved is not True:
            return earlier.number
        current = earlier
    return None


async def _supervise(t: Turn, case: Case, rest: str, special: bool) -> None:
    words = rest.split(maxsplit=1)
    method = words[0] if words else ""
    text = words[1] if len(words) > 1 else ""
    m = _DAYS.search(text)
    days = int(m.group(1)) if m else t.deps.config.deadlines.supervise_days
    text = text[: m.start()].strip() if m else text
    earlier = await repeated_unresolved(t, case)
    late = any(d is not None and d < t.now for d in (case.due_at, case.step_due_at)) and State(case.state) in _TIMED
    try:
        instruction = check_supervision(t.actor, State(case.state), method, text, special, earlier is not None or late)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    hours = t.deps.config.office.hours()
    answer_by = workday_deadline(t.now, days, t.deps.calendar.current, hours).due_at
    word = "专项督办" if special else "督办"
    data = {"method": method, "answer_by": answer_by.isoformat(), "special": special}
    comment = f"{word}（{method}）：{instruction}；{answer_by.astimezone(hours.tz):%Y-%m-%d}前答复"
    await add_note_in_session(t.deps, t.session, case, t.actor, Note.SUPERVISE, comment, data)
    hint = ""
    if not special and earlier is not None:
        hint = f"\n此件为重复反映，前次（{earlier}）未化解，可专项督办：专项督办 {case.number} <方式> <要求>"
    await t.say(f"{case.number}：已{word}，承办单位须于{answer_by.astimezone(hours.tz):%m-%d}前答复。{hint}", case)


@on.command("督办")
async def supervise(t: Turn, case: Case, rest: str) -> None:
    """督办 <文号> <明察暗访|电话询访|实地走访> <要求> [N个工作日]"""
    await _supervise(t, case, rest, special=False)


@on.command("专项督办")
async def special_supervise(t: Turn, case: Case, rest: str) -> None:
    await _supervise(t, case, rest, special=True)
