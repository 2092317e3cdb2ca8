"""Pressure and praise from above: 催办 and 督办 of a unit's overdue cases (督查员), 批示 (领导),
表扬 (督查员, 领导; a scoring bonus for the unit)."""

from __future__ import annotations

from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import WorkflowError
from bot.domain.records import INSTRUCTION_ROLES, SUPERVISE_ROLES
from bot.domain.states import Note
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.commendations import commend_in_session
from bot.handlers.instructions import instruct_in_session
from bot.handlers.pressure import press_unit
from store import directory
from store.models import Case

on = Router()


@on.click(Verb.URGE, Verb.SUPERVISE, any_stage=True)
async def unit_pressure(t: Turn, case: Case, action: CardAction) -> None:
    """催办 (an immediate nudge) or 督办 (a formal notice on every overdue case's timeline)."""
    unit_id = int(action.arg) if action.arg.isdigit() else case.unit_id
    kind = Note.URGE if action.verb is Verb.URGE else Note.SUPERVISE
    await _pressure(t, unit_id, kind)


@on.command("催办", case=False)
async def urge_command(t: Turn, rest: str) -> None:
    """催办 <单位>: the 催办 button of the overdue list, as text."""
    await _pressure_named(t, rest, "催办", Note.URGE)


@on.command("单位督办", case=False)
async def supervise_unit_command(t: Turn, rest: str) -> None:
    """单位督办 <单位>: the 督办 button of the overdue list, as text."""
    await _pressure_named(t, rest, "单位督办", Note.SUPERVISE)


async def _pressure_named(t: Turn, rest: str, word: str, kind: Note) -> None:
    unit = await directory.unit_by_name(t.session, rest.strip()) if rest.strip() else None
    if unit is None and t.actor.roles & SUPERVISE_ROLES:
        await t.say(f"请写明已登记的单位名称，例如：{word} 区人社局。")
        return
    await _pressure(t, unit.id if unit else None, kind)


async def _pressure(t: Turn, unit_id: int | None, kind: Note) -> None:
    pressed = await press_unit(t.session, t.outbox, t.actor, unit_id, kind, t.now)
    if pressed.refused:
        await t.say(pressed.refused)
        return
    await t.say(f"已{kind.label}（{len(pressed.cases)}件）。")


@on.command("批示")
async def instruction(t: Turn, case: Case, rest: str) -> None:
    if t.actor.roles & INSTRUCTION_ROLES and not rest.strip():
        await t.say("请写明批示内容：批示 <文号> <内容>。")  # the command's form, not only "what is missing"
        return
    try:
        await instruct_in_session(t.deps, t.session, case, t.actor, rest)
    except WorkflowError as exc:
        await t.say(exc.message)
        return
    await t.say(f"{case.number}：批示已转承办单位。", case)


@on.command("表扬")
async def commend(t: Turn, case: Case, rest: str) -> None:
    try:
        await commend_in_session(t.deps, t.session, case, t.actor, rest)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    await t.say(f"{case.number}：已记录表扬，计入承办单位本月加分。", case)
