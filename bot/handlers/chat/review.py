"""The office's decisions on a unit's work: 督查室 审核 (通过 / 退回修改), 领导 审定 (同意 /
驳回), and 督查室 on an extension request (批准 / 不批准延期)."""

from __future__ import annotations

from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import CommentInput, ExtensionDecision, RejectInput
from bot.domain.states import Action
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from store import repo
from store.models import Case

on = Router()


@on.click(Verb.REVIEW_PASS)
async def review_pass(t: Turn, case: Case, action: CardAction) -> None:
    step = Action.REVIEW_PASS if case.needs_leader else Action.REVIEW_PASS_FINAL
    if await t.run(case, step, CommentInput()):
        nxt = "已报领导审定" if case.needs_leader else "请登记员统一回复"
        await t.say(f"{case.number}：审核通过，{nxt}。", case)


@on.click(Verb.REVIEW_REJECT)
async def ask_review_comment(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.REVIEW_REJECT):
        await t.move(case, dlg.button(Verb.REVIEW_REJECT))


@on.step(dlg.Step.REVIEW_COMMENT)
async def review_reject(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    await t.answer(case, Action.REVIEW_REJECT, RejectInput(text), "已退回承办单位修改。")


@on.click(Verb.APPROVE)
async def approve(t: Turn, case: Case, action: CardAction) -> None:
    if await t.run(case, Action.APPROVE, CommentInput()):
        await t.say(f"{case.number}：已同意，请登记员统一回复。", case)


@on.click(Verb.LEADER_REJECT)
async def ask_leader_comment(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.LEADER_REJECT):
        await t.move(case, dlg.button(Verb.LEADER_REJECT))


@on.step(dlg.Step.LEADER_COMMENT)
async def leader_reject(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    await t.answer(case, Action.LEADER_REJECT, RejectInput(text), "已驳回，批示已转承办单位。")


@on.click(Verb.EXT_APPROVE)
async def approve_extension(t: Turn, case: Case, action: CardAction) -> None:
    days = int(action.arg) if action.arg.isdigit() else 0
    if await t.run(case, Action.APPROVE_EXTENSION, ExtensionDecision(days)):
        await t.say(f"{case.number}：已批准延期{days}个工作日。", case)


@on.click(Verb.EXT_REFUSE)
async def ask_refusal_comment(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.REFUSE_EXTENSION):
        await t.move(case, dlg.button(Verb.EXT_REFUSE))


@on.step(dlg.Step.REFUSAL_COMMENT)
async def refuse_extension(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    await t.answer(case, Action.REFUSE_EXTENSION, RejectInput(text), "已不批准延期。")


@on.command("通过")
async def review_pass_command(t: Turn, case: Case, rest: str) -> None:
    step = Action.REVIEW_PASS if case.needs_leader else Action.REVIEW_PASS_FINAL
    await t.finish(case, step, CommentInput(rest), "审核通过。")


@on.command("退回修改")
async def review_reject_command(t: Turn, case: Case, rest: str) -> None:
    if not rest:  # no comment yet: as the button, ask for it
        await ask_review_comment(t, case, CardAction(Verb.REVIEW_REJECT, case.number, case.version))
        return
    await t.finish(case, Action.REVIEW_REJECT, RejectInput(rest), "已退回承办单位修改。")


@on.command("同意")
async def approve_command(t: Turn, case: Case, rest: str) -> None:
    await t.finish(case, Action.APPROVE, CommentInput(rest), "已同意。")


@on.command("驳回")
async def leader_reject_command(t: Turn, case: Case, rest: str) -> None:
    if not rest:  # no 批示 yet: as the button, ask for it
        await ask_leader_comment(t, case, CardAction(Verb.LEADER_REJECT, case.number, case.version))
        return
    await t.finish(case, Action.LEADER_REJECT, RejectInput(rest), "已驳回，批示已转承办单位。")


@on.command("批准延期")
async def approve_extension_command(t: Turn, case: Case, rest: str) -> None:
    """批准延期 <文号> [天数] [意见]: without a number of days, the days the unit asked for."""
    words = rest.split(maxsplit=1)
    if words and words[0].isdigit():
        days, comment = int(words[0]), words[1] if len(words) > 1 else ""
    else:
        days, comment = await requested_days(t, case), rest
    if await t.run(case, Action.APPROVE_EXTENSION, ExtensionDecision(days, comment)):
        await t.say(f"{case.number}：已批准延期{days}个工作日。", case)


@on.command("不批准延期")
async def refuse_extension_command(t: Turn, case: Case, rest: str) -> None:
    if not rest:  # no comment yet: as the button, ask for it
        await ask_refusal_comment(t, case, CardAction(Verb.EXT_REFUSE, case.number, case.version))
        return
    await t.finish(case, Action.REFUSE_EXTENSION, RejectInput(rest), "已不批准延期。")


async def requested_days(t: Turn, case: Case) -> int:
    """The days of the unit's last 延期 request (what the 批准延期 button carries)."""
    for event in reversed(await repo.timeline(t.session, case.id)):
        if event.action == Action.REQUEST_EXTENSION.value:
            return int((event.data or {}).get("days", 0))
    return 0
