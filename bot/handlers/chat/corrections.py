"""Corrections by the office (issue 13), each on the timeline: 作废 a mistaken or duplicate case;
设为/取消 复杂件 or 急件 (the deadline recomputed from the assignment)."""

from __future__ import annotations

from bot.domain.lifecycle import ReasonInput, WorkflowError
from bot.domain.states import Action
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.corrections import reclassify_in_session
from store.models import Case

on = Router()


@on.command("作废")
async def void(t: Turn, case: Case, rest: str) -> None:
    if not rest:
        await t.say(f"{case.number}：请写明作废理由，例如：作废 {case.number} 与LY2026-000001重复登记。", case)
        return
    await t.finish(case, Action.VOID, ReasonInput(rest), "已作废（保留记录，不计入统计、考核和提醒）。")


#: command word → (complex, urgent) wanted
_CLASSES: dict[str, tuple[bool | None, bool | None]] = {
    "设为复杂件": (True, None),
    "取消复杂件": (False, None),
    "设为急件": (None, True),
    "取消急件": (None, False),
}


def _reclassify(word: str) -> object:
    async def handler(t: Turn, case: Case, rest: str) -> None:
        if not rest:
            await t.say(f"{case.number}：请写明理由，例如：{word} {case.number} 涉及多个部门，情况复杂。", case)
            return
        complex_, urgent = _CLASSES[word]
        try:
            done = await reclassify_in_session(t.deps, t.session, case, t.actor, complex_, urgent, rest)
        except WorkflowError as exc:
            await t.say(f"{case.number}：{exc.message}", case)
            return
        await t.say(f"{case.number}：已{done}。", case)

    return on.command(word)(handler)


for _word in _CLASSES:
    _reclassify(_word)
