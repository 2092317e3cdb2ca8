"""Assignment and the unit's answer to it: 交办/改派 (dispatcher), 签收 and 退回 (the unit)."""

from __future__ import annotations

from bot.cards import builders as b
from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import AssignInput, NoInput, ReasonInput, assign_action
from bot.domain.states import Action, State
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from store import directory
from store.models import Case

on = Router()


@on.click(Verb.ACCEPT)
async def accept(t: Turn, case: Case, action: CardAction) -> None:
    if await t.run(case, Action.ACCEPT, NoInput()):
        view = await t.view(case)
        await t.say(f"{case.number}：已签收，请于 {b.due_text(view)} 前办结。", case)


@on.click(Verb.RETURN)
async def ask_return_reason(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.RETURN):
        deadline = b.hm(case.return_deadline, t.tz) if case.return_deadline else ""
        prompt = dlg.PROMPTS[dlg.Step.RETURN_REASON] + (f"（退回期限：{deadline}）" if deadline else "")
        await t.move(case, dlg.button(Verb.RETURN), prompt=prompt)


@on.step(dlg.Step.RETURN_REASON)
async def return_with_reason(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    await t.answer(case, Action.RETURN, ReasonInput(text), "已退回，等待登记员改派。")


@on.command("签收")
async def accept_command(t: Turn, case: Case, rest: str) -> None:
    await accept(t, case, CardAction(Verb.ACCEPT, case.number, case.version))


@on.command("退回")
async def return_command(t: Turn, case: Case, rest: str) -> None:
    if not rest:  # no reason yet: as the button, ask for it
        await ask_return_reason(t, case, CardAction(Verb.RETURN, case.number, case.version))
        return
    await t.finish(case, Action.RETURN, ReasonInput(rest), "已退回，等待登记员改派。")


@on.command("交办", "改派")
async def assign(t: Turn, case: Case, rest: str) -> None:
    unit = await directory.unit_by_name(t.session, rest) if rest else None
    if unit is None:
        await t.say(f"{case.number}：请写明已登记的承办单位名称，例如：交办 {case.number} 区人社局。", case)
        return
    action = assign_action(State(case.state), case.unit_id, unit.id)
    await t.finish(case, action, AssignInput(unit.id), f"已{action.label}{unit.name}。")
