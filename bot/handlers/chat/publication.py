"""Publication and follow-up by the dispatcher: 公开回复 or 个别回复 (with its ground), then the
回访 (满意度, 是否化解, 评价内容) that closes the case."""

from __future__ import annotations

from bot.cards import builders as b
from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import FollowUpInput, PublishInput
from bot.domain.states import Action, ReplyMode, Satisfaction
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from store.models import Case

on = Router()


@on.click(Verb.PUBLISH_PUBLIC)
async def publish_public(t: Turn, case: Case, action: CardAction) -> None:
    if await t.run(case, Action.PUBLISH, PublishInput(ReplyMode.PUBLIC)):
        await t.say(f"{case.number}：已标记为公开回复，请回访网友。", case)


@on.click(Verb.PUBLISH_INDIVIDUAL)
async def ask_ground(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.PUBLISH):
        await t.move(case, dlg.button(Verb.PUBLISH_INDIVIDUAL))
        await t.card(case, b.ground_card(await t.view(case)), "ground")


@on.click(Verb.GROUND)
async def publish_individual(t: Turn, case: Case, action: CardAction) -> None:
    ground = b.GROUND_KEYS.get(action.arg)
    event = dlg.button(Verb.GROUND)
    if ground is None or await t.expect(case, event) is None:
        return
    if await t.run(case, Action.PUBLISH, PublishInput(ReplyMode.INDIVIDUAL, ground)):
        await t.move(case, event)
        await t.say(f"{case.number}：已标记为个别回复（{ground.value}），请回访网友。", case)


@on.click(Verb.SATISFACTION)
async def choose_satisfaction(t: Turn, case: Case, action: CardAction) -> None:
    sat = b.SATISFACTION_KEYS.get(action.arg)
    if sat is None or not await t.allowed(case, Action.FOLLOW_UP):
        return
    await t.move(case, dlg.button(Verb.SATISFACTION), data={"satisfaction": sat.value})
    await t.card(case, b.resolved_card(await t.view(case)), "resolved")


@on.click(Verb.RESOLVED)
async def choose_resolved(t: Turn, case: Case, action: CardAction) -> None:
    event = dlg.button(Verb.RESOLVED)
    pending = await t.expect(case, event)
    if pending is None or action.arg not in ("y", "n"):
        return
    await t.move(case, event, data={**pending.data, "resolved": action.arg == "y"})


@on.step(dlg.Step.FOLLOWUP_EVALUATION)
async def follow_up(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    data = FollowUpInput(bool(pending.data.get("resolved")), Satisfaction(pending.data["satisfaction"]), text)
    await t.answer(case, Action.FOLLOW_UP, data, "回访已记录，此件办结。")
