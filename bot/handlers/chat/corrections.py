"""Corrections by the office (issue 13), each on the timeline: 作废 a mistaken or duplicate case."""

from __future__ import annotations

from bot.domain.lifecycle import ReasonInput
from bot.domain.states import Action
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from store.models import Case

on = Router()


@on.command("作废")
async def void(t: Turn, case: Case, rest: str) -> None:
    if not rest:
        await t.say(f"{case.number}：请写明作废理由，例如：作废 {case.number} 与LY2026-000001重复登记。", case)
        return
    await t.finish(case, Action.VOID, ReasonInput(rest), "已作废（保留记录，不计入统计、考核和提醒）。")
