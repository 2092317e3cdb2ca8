"""督办 of any open case (seed 001 第十三条): a supervisor names the method (明察暗访 / 电话询访 /
实地走访), the instruction and the date the unit must answer by; 专项督办 for a matter reported
again without a solution. Both are timeline entries ("supervise", counted by the 被督办 rule)."""

from __future__ import annotations

import re

from bot.domain.lifecycle import WorkflowError
from bot.handlers.case_supervision import supervise_in_session
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from store.models import Case

on = Router()

_DAYS = re.compile(r"(?:限期)?(\d{1,2})\s*(?:个)?工作日\s*$")


async def _supervise(t: Turn, case: Case, rest: str, special: bool) -> None:
    words = rest.split(maxsplit=1)
    method = words[0] if words else ""
    text = words[1] if len(words) > 1 else ""
    m = _DAYS.search(text)
    days = int(m.group(1)) if m else None
    text = text[: m.start()].strip() if m else text
    try:
        done = await supervise_in_session(
            t.deps, t.session, case, t.actor, method, text, special=special, days=days, now=t.now
        )
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    hours = t.deps.config.office.hours()
    word = "专项督办" if special else "督办"
    hint = ""
    if not special and done.earlier is not None:
        hint = f"\n此件为重复反映，前次（{done.earlier}）未化解，可专项督办：专项督办 {case.number} <方式> <要求>"
    await t.say(f"{case.number}：已{word}，承办单位须于{done.answer_by.astimezone(hours.tz):%m-%d}前答复。{hint}", case)


@on.command("督办")
async def supervise(t: Turn, case: Case, rest: str) -> None:
    """督办 <文号> <明察暗访|电话询访|实地走访> <要求> [N个工作日]"""
    await _supervise(t, case, rest, special=False)


@on.command("专项督办")
async def special_supervise(t: Turn, case: Case, rest: str) -> None:
    await _supervise(t, case, rest, special=True)
