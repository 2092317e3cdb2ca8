"""The files (立卷存档, seed 001 第十五条): 立卷 <文号> and 呈报文号 <文号> <值> by the dispatcher
or the admin."""

from __future__ import annotations

from bot.domain.lifecycle import NoInput, WorkflowError
from bot.domain.states import Action
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.records import set_report_number_in_session
from store.models import Case

on = Router()


@on.command("立卷")
async def archive(t: Turn, case: Case, rest: str) -> None:
    await t.finish(case, Action.ARCHIVE, NoInput(), "已立卷归档（销号）。")


@on.command("呈报文号")
async def report_number(t: Turn, case: Case, rest: str) -> None:
    try:
        text = await set_report_number_in_session(t.deps, t.session, case, t.actor, rest)
    except WorkflowError as exc:
        await t.say(f"{case.number}：{exc.message}", case)
        return
    await t.say(f"{case.number}：已记录呈报文号 {text}。", case)
