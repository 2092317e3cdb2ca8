"""Scoring events entered by the supervision office (seed 004): 信息获得采用 (a bonus) and 低级错误
(a deduction, recorded when a reply is sent back for an error of form). Each is a timeline entry
naming the unit it counts for, so every point stays traceable to its case."""

from __future__ import annotations

from bot.domain.lifecycle import RejectInput, WorkflowError
from bot.domain.records import check_note
from bot.domain.states import Action, Note
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.workflow import add_note_in_session
from store.models import Case

on = Router()


@on.command("信息采用")
async def info_adopted(t: Turn, case: Case, rest: str) -> None:
    try:
        text = check_note(t.actor, "info_adopted", rest)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    if case.unit_id is None:
        await t.say(f"{case.number}：尚未交办，没有可加分的承办单位。", case)
        return
    await add_note_in_session(t.deps, t.session, case, t.actor, Note.INFO_ADOPTED, text, {"unit_id": case.unit_id})
    await t.say(f"{case.number}：已记录信息获得采用，计入承办单位加分。", case)


@on.command("低级错误")
async def low_error(t: Turn, case: Case, rest: str) -> None:
    """退回修改 for an error of form, counted as 低级错误 for the unit."""
    try:
        text = check_note(t.actor, "low_error", rest)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    unit_id = case.unit_id
    if await t.run(case, Action.REVIEW_REJECT, RejectInput(f"低级错误：{text}")):
        await add_note_in_session(t.deps, t.session, case, t.actor, Note.LOW_ERROR, text, {"unit_id": unit_id})
        await t.say(f"{case.number}：已退回承办单位修改，记低级错误一次。", case)
