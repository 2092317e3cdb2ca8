"""The unit's work on an accepted case: the guided 办理情况 reply (属实程度, four parts, preview,
提交), 进展 (阶段性报告) and 延期 (extension request)."""

from __future__ import annotations

import re
from typing import Any

from bot.cards import builders as b
from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import (
    ExtensionRequest,
    ReplyInput,
    WorkflowError,
    check_reply_part,
    split_interim,
)
from bot.domain.states import Action, Truthfulness
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import PRESS_A_BUTTON, Router
from bot.handlers.chat.turn import Turn
from bot.handlers.cohandling import opinion_lines
from bot.handlers.commands import split_reply
from store.models import Case

on = Router()

_TRUTH_BY_TEXT = {t.value: t for t in Truthfulness}
_DAYS = re.compile(r"(\d{1,2})\s*(?:个)?(?:工作日|天|日)?\s*$")
_TRUTH = dlg.button(Verb.TRUTH)


@on.click(Verb.REPLY)
async def start_reply(t: Turn, case: Case, action: CardAction) -> None:
    if await t.allowed(case, Action.SUBMIT):
        await t.move(case, dlg.button(Verb.REPLY))
        await t.card(case, b.truth_card(await t.view(case)), "truth")


@on.click(Verb.TRUTH)
async def choose_truth(t: Turn, case: Case, action: CardAction) -> None:
    truth = Truthfulness.__members__.get(action.arg)
    if truth is None or not await t.allowed(case, Action.SUBMIT):
        return
    await _with_truth(t, case, truth)


@on.step(dlg.Step.REPLY_TRUTH)
async def truth_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    if text in _TRUTH_BY_TEXT:
        await _with_truth(t, case, _TRUTH_BY_TEXT[text])
    else:
        await t.say(f"{case.number}：{PRESS_A_BUTTON}", case)


async def _with_truth(t: Turn, case: Case, truth: Truthfulness) -> None:
    """属实程度 chosen: keep any parts already given (e.g. by 回复 <文号> …) and go on."""
    pending = await t.pending()
    data = dict(pending.data) if pending and pending.number == case.number else {}
    data["truth"] = truth.value
    await _walk(t, case, [_TRUTH], data)


@on.step(dlg.Step.REPLY_ATTITUDE, dlg.Step.REPLY_PROCESS, dlg.Step.REPLY_VERIFICATION, dlg.Step.REPLY_FEEDBACK)
async def reply_part(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    data = dict(pending.data)
    parts = split_reply(text)
    if pending.step is dlg.Step.REPLY_ATTITUDE and parts:
        data.update(parts)
    else:
        data[dlg.REPLY_PART[pending.step]] = text
    await _walk(t, case, [], data)


async def _walk(t: Turn, case: Case, events: list[str], data: dict[str, Any]) -> None:
    """After ``events``, take one "text" edge per reply part already given and sound; stop at the
    first missing or refused part and ask for it, or reach the preview."""
    events = list(events)
    step = await t.step()
    for event in events:
        step = dlg.next_step(step, event)
    prompt = None
    while step in dlg.REPLY_PART:
        part = dlg.REPLY_PART[step]
        if part not in data:
            break
        try:
            data[part] = check_reply_part(part, data[part])
        except WorkflowError as exc:
            data.pop(part)
            prompt = f"{exc.message}\n{dlg.PROMPTS[step]}"
            break
        events.append("text")
        step = dlg.next_step(step, "text")
    await t.move(case, *events, data=data, prompt=prompt)
    if step is dlg.Step.REPLY_PREVIEW:
        reply = _reply_input(data)
        await t.card(case, b.preview_card(await t.view(case), reply.as_text()), "preview")
        co = await opinion_lines(t.session, case, t.tz)
        co_text = ("\n\n协办意见：\n" + "\n".join(co)) if co else ""
        await t.say(
            f"{case.number} 办理情况预览：\n{reply.as_text()}{co_text}\n\n回复“提交”确认，“修改”重填，“取消”放弃。",
            case,
        )


@on.click(Verb.SUBMIT)
async def submit(t: Turn, case: Case, action: CardAction) -> None:
    event = dlg.button(Verb.SUBMIT)
    pending = await t.expect(case, event)
    if pending is None:
        return
    if await t.run(case, Action.SUBMIT, _reply_input(pending.data)):
        await t.move(case, event)
        await t.say(f"{case.number}：办理情况已提交，等待督查室审核。", case)


@on.click(Verb.EDIT)
async def edit(t: Turn, case: Case, action: CardAction) -> None:
    event = dlg.button(Verb.EDIT)
    pending = await t.expect(case, event)
    if pending is not None:
        await t.move(case, event, data={"truth": pending.data.get("truth")})


@on.step(dlg.Step.REPLY_PREVIEW)
async def preview_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    if text in ("提交", "确认"):
        await submit(t, case, CardAction(Verb.SUBMIT, case.number, case.version))
    elif text == "修改":
        await edit(t, case, CardAction(Verb.EDIT, case.number, case.version))
    else:
        await t.say(f"{case.number}：{PRESS_A_BUTTON}", case)


@on.command("回复")
async def reply_command(t: Turn, case: Case, rest: str) -> None:
    """回复 <文号> [属实程度] [表明态度：… 工作过程：… 核查情况：… 网友反馈：…]"""
    if not await t.allowed(case, Action.SUBMIT):
        return
    truth = next((v for v in sorted(_TRUTH_BY_TEXT, key=len, reverse=True) if rest.startswith(v)), None)
    data: dict[str, Any] = {"truth": truth} if truth else {}
    body = rest[len(truth) :].strip() if truth else rest
    data.update(split_reply(body))
    if not truth:
        await t.move(case, dlg.button(Verb.REPLY), data=data)
        await t.card(case, b.truth_card(await t.view(case)), "truth")
        await t.say(f"{case.number}：请先选择属实程度（回复：属实/基本属实/部分属实/不属实）。", case)
        return
    if body and "attitude" not in data and not split_reply(body):
        data["attitude"] = body  # unlabelled text is taken as the first part
    await _walk(t, case, [dlg.button(Verb.REPLY), _TRUTH], data)


@on.command("延期")
async def extend_command(t: Turn, case: Case, rest: str) -> None:
    m = _DAYS.search(rest)
    days = int(m.group(1)) if m else 5
    reason = rest[: m.start()].strip() if m else rest
    await t.finish(
        case, Action.REQUEST_EXTENSION, ExtensionRequest(reason, days), f"延期申请（{days}个工作日）已提交督查室。"
    )


@on.command("进展")
async def progress_command(t: Turn, case: Case, rest: str) -> None:
    """进展 <文号> <阶段性办理情况> 回复建议：<内容> (第十条 "并提出回复建议")."""
    await t.finish(case, Action.INTERIM_REPORT, split_interim(rest), "阶段性情况和回复建议已报送督查室。")


def _reply_input(data: dict[str, Any]) -> ReplyInput:
    return ReplyInput(
        Truthfulness(data["truth"]),
        data.get("attitude", ""),
        data.get("process", ""),
        data.get("verification", ""),
        data.get("feedback", ""),
    )
