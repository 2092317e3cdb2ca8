"""主办 / 协办 in chat: a co-unit sends its 协办意见 (card button or ``协办意见 <文号> <内容>``)."""

from __future__ import annotations

from bot.cards.payload import CardAction, Verb
from bot.domain.cohandling import opinion_unit
from bot.domain.lifecycle import WorkflowError
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.cohandling import co_facts, record_opinion
from store.models import Case

on = Router()
DONE = "协办意见已报送主办单位。"


@on.click(Verb.CO_OPINION, any_stage=True)  # the lead's steps do not make the co-unit's card stale
async def ask_opinion(t: Turn, case: Case, action: CardAction) -> None:
    try:
        opinion_unit(co_facts(case), t.actor)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    await t.move(case, dlg.button(Verb.CO_OPINION))


@on.step(dlg.Step.CO_OPINION)
async def opinion_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    if await _record(t, case, text):
        await t.move(case, "text")
        await t.say(f"{case.number}：{DONE}", case)


@on.command("协办意见")
async def opinion_command(t: Turn, case: Case, rest: str) -> None:
    if not rest:  # no text yet: as the button, ask for it
        await ask_opinion(t, case, CardAction(Verb.CO_OPINION, case.number, case.version))
        return
    if await _record(t, case, rest):
        await t.end_dialogue()
        await t.say(f"{case.number}：{DONE}", case)


async def _record(t: Turn, case: Case, text: str) -> bool:
    try:
        await record_opinion(t.deps, t.session, case, t.actor, text)
    except WorkflowError as exc:
        if exc.field is None:  # not theirs or no longer open: the dialogue is over
            await t.end_dialogue()
        await t.say(f"{case.number}：{exc.message}", case)
        return False
    return True
