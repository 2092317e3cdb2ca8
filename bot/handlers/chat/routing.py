"""Routing by type (seed 001 第九条) in chat: 改为转办 / 改为办理 / 改为礼节性回复 (the dispatcher
or the supervisor, with a reason), 礼节性回复 (the supervisor) and 转阅 (for reference, 阅知)."""

from __future__ import annotations

from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import CourtesyInput, WorkflowError
from bot.domain.routing import ROUTE_WORDS
from bot.domain.states import Action, Route
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.routing import default_destination, forward_in_session, route_in_session
from store.models import Case

on = Router()

_EXAMPLES = {
    Route.TRANSFER: "改为转办 {n} 政法部门 涉法涉诉类留言，转政法部门办理",
    Route.HANDLE: "改为办理 {n} 需由承办单位核实办理",
    Route.COURTESY: "改为礼节性回复 {n} 属建议类，由督查室礼节性回复",
}


def _route_command(word: str, route: Route) -> None:
    async def handler(t: Turn, case: Case, rest: str) -> None:
        if not rest:
            await t.say(f"{case.number}：请写明{'去向和转办说明' if route is Route.TRANSFER else '理由'}，例如："
                        + _EXAMPLES[route].format(n=case.number), case)  # fmt: skip
            return
        destination, reason = "", rest
        if route is Route.TRANSFER:
            head, _, tail = rest.partition(" ")
            if tail.strip():
                destination, reason = head, tail.strip()
            else:  # only the 说明: the category's 去向 from the configuration
                destination = default_destination(t.deps, case)
        try:
            await route_in_session(t.deps, t.session, case, t.actor, route, reason, destination)
        except WorkflowError as exc:
            await t.say(f"{case.number}：{exc.message}", case)
            return
        if route is Route.TRANSFER:
            done = f"已转办（转{case.transfer_to}），不再交办承办单位办理。"
        elif route is Route.HANDLE:
            done = f"已改为办理，请交办：交办 {case.number} 单位名称。"
        else:
            done = f"已改为礼节性回复，请督查室回复：礼节性回复 {case.number} <回复内容>。"
        await t.say(f"{case.number}：{done}", case)

    on.command(word)(handler)


for _word, _route in ROUTE_WORDS.items():
    _route_command(_word, _route)


COURTESY_DONE = "礼节性回复已记录，待登记员统一回复；发布后即办结。"


@on.click(Verb.COURTESY)
async def ask_courtesy(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.COURTESY_REPLY):
        await t.move(case, dlg.button(Verb.COURTESY))


@on.step(dlg.Step.COURTESY_TEXT)
async def courtesy_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    await t.answer(case, Action.COURTESY_REPLY, CourtesyInput(text), COURTESY_DONE)


@on.command("礼节性回复")
async def courtesy_reply(t: Turn, case: Case, rest: str) -> None:
    if not rest:  # no text yet: as the button, ask for it
        await ask_courtesy(t, case, CardAction(Verb.COURTESY, case.number, case.version))
        return
    if await t.allowed(case, Action.COURTESY_REPLY):
        await t.finish(case, Action.COURTESY_REPLY, CourtesyInput(rest), COURTESY_DONE)


@on.command("转阅")
async def forward(t: Turn, case: Case, rest: str) -> None:
    target, _, note = rest.partition(" ")
    if not target:
        await t.say(f"{case.number}：请写明转阅的单位或领导，例如：转阅 {case.number} 区交通局 供参考。", case)
        return
    try:
        whom = await forward_in_session(t.deps, t.session, t.outbox, case, t.actor, target, note)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    await t.say(f"{case.number}：已转{whom}阅知（无须回复）。", case)
