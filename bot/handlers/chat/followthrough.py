"""Follow-through after the reply (seed 001 第十二条 "对已作出承诺的事项，要继续关注…直至问题得到
有效解决，同时做好再回复工作"; seed 002 回头看, 网民评论): 再回复 by the unit (reviewed again),
回头看 and 跟踪销号 by the supervision office, 网友评论 by the dispatcher and the unit's 说明."""

from __future__ import annotations

from bot.domain.lifecycle import ReasonInput, RejectInput, WorkflowError
from bot.domain.records import check_note
from bot.domain.states import Action, Note
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.workflow import add_note_in_session
from store.models import Case

on = Router()


@on.command("再回复")
async def re_reply(t: Turn, case: Case, rest: str) -> None:
    await t.finish(case, Action.RE_REPLY, ReasonInput(rest), "再回复已提交，等待督查室审核。")


@on.command("跟踪销号")
async def close_tracking(t: Turn, case: Case, rest: str) -> None:
    await t.finish(case, Action.CLOSE_TRACKING, RejectInput(rest), "已结束跟踪，此件办结。")


async def _note(t: Turn, case: Case, kind: str, rest: str, done: str) -> None:
    try:
        text = check_note(t.actor, kind, rest)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    await add_note_in_session(t.deps, t.session, case, t.actor, Note(kind), text)
    await t.say(f"{case.number}：{done}", case)


@on.command("回头看")
async def look_back(t: Turn, case: Case, rest: str) -> None:
    await _note(t, case, "look_back", rest, "回头看情况已记录。")


@on.command("网友评论")
async def public_comment(t: Turn, case: Case, rest: str) -> None:
    await _note(t, case, "public_comment", rest, "网友评论已记录并转承办单位说明。")


@on.command("说明")
async def explanation(t: Turn, case: Case, rest: str) -> None:
    await _note(t, case, "explanation", rest, "说明已报送督查室。")
