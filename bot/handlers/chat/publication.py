"""Publication and follow-up by the dispatcher: 统一回复 (seed 001 第十二条) — public reply and
个别回复 in parallel when there is a contact, public only, or not published (个别回复) on one of
the four grounds; the public text composed in the unit's name and confirmed before it is recorded,
the way the petitioner was told recorded with its time — then the 回访 (满意度, 是否化解,
评价内容) that closes the case."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from bot.cards import builders as b
from bot.cards.payload import CardAction, Verb
from bot.domain.deadlines import workday_deadline
from bot.domain.lifecycle import FollowUpInput, PublishInput
from bot.domain.publication import compose_courtesy_reply, compose_public_reply, offer, refusal
from bot.domain.states import Action, NonPublicGround, ReplyMode, Route, Satisfaction, TellMethod, Truthfulness
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import PRESS_A_BUTTON, Router
from bot.handlers.chat.turn import Turn
from bot.handlers.workflow import has_contact
from store.models import Case

on = Router()

_TELL_BY_TEXT = {m.value: m for m in TellMethod}
_MODE_WORDS = {
    "公开": ReplyMode.PUBLIC,
    "并行": ReplyMode.BOTH,
    "个别": ReplyMode.INDIVIDUAL,
    "不公开": ReplyMode.INDIVIDUAL,
}
_GROUND_WORDS = {
    **{str(i + 1): g for i, g in enumerate(NonPublicGround)},
    **{"一二三四"[i]: g for i, g in enumerate(NonPublicGround)},
}
_MODE_OF = {
    Verb.PUBLISH_PUBLIC: ReplyMode.PUBLIC,
    Verb.PUBLISH_BOTH: ReplyMode.BOTH,
    Verb.PUBLISH_INDIVIDUAL: ReplyMode.INDIVIDUAL,
}
#: the dialogue input that starts each mode (the publish card's buttons)
_START = {
    ReplyMode.PUBLIC: dlg.button(Verb.PUBLISH_PUBLIC),
    ReplyMode.BOTH: dlg.button(Verb.PUBLISH_BOTH),
    ReplyMode.INDIVIDUAL: dlg.button(Verb.PUBLISH_INDIVIDUAL),
}


def _untrue_note(t: Turn) -> bool:
    return t.deps.config.publication.untrue_public_note


async def _may_start(t: Turn, case: Case, mode: ReplyMode) -> bool:
    if not await t.allowed(case, Action.PUBLISH):
        return False
    why = refusal(mode, case.truthfulness, has_contact(case), _untrue_note(t))
    if why is not None:
        await t.say(f"{case.number}：{why}", case)
        return False
    return True


@on.click(Verb.PUBLISH_PUBLIC, Verb.PUBLISH_BOTH, Verb.PUBLISH_INDIVIDUAL)
async def choose_mode(t: Turn, case: Case, action: CardAction) -> None:
    mode = _MODE_OF[action.verb]
    if not await _may_start(t, case, mode):
        return
    data: dict[str, Any] = {"mode": mode.value}
    start = _START[mode]
    if mode is ReplyMode.PUBLIC:
        await _preview(t, case, [start], data)
    elif mode is ReplyMode.BOTH:
        await t.move(case, start, data=data)
        await t.card(case, b.told_card(await t.view(case)), "told")
    else:
        await t.move(case, start, data=data)
        await t.card(case, b.ground_card(await t.view(case)), "ground")


@on.click(Verb.GROUND)
async def choose_ground(t: Turn, case: Case, action: CardAction) -> None:
    ground = b.GROUND_KEYS.get(action.arg)
    event = dlg.button(Verb.GROUND)
    pending = await t.expect(case, event)
    if ground is None or pending is None:
        return
    await t.move(case, event, data={**pending.data, "ground": ground.name})
    await t.card(case, b.told_card(await t.view(case)), "told")


@on.click(Verb.TOLD)
async def choose_told(t: Turn, case: Case, action: CardAction) -> None:
    method = b.TELL_KEYS.get(action.arg)
    event = dlg.button(Verb.TOLD)
    pending = await t.expect(case, event)
    if method is None or pending is None:
        return
    await _preview(t, case, [event], {**pending.data, "told": method.name})


@on.step(dlg.Step.TOLD_VIA)
async def told_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    method = _TELL_BY_TEXT.get(text.strip())
    if method is None:
        await t.say(f"{case.number}：{dlg.PROMPTS[dlg.Step.TOLD_VIA]}", case)
        return
    await _preview(t, case, ["text"], {**pending.data, "told": method.name})


async def _preview(t: Turn, case: Case, events: list[str], data: dict[str, Any]) -> None:
    """Compose the public text in the unit's name (public modes), then show what will be
    published and recorded, for confirmation."""
    mode = ReplyMode(data["mode"])
    view = await t.view(case)
    lines = [f"回复方式：{mode.label}"]
    if mode is ReplyMode.INDIVIDUAL:
        lines.append(f"不予公开的理由：{NonPublicGround[data['ground']].value}")
        data.pop("public_text", None)
    else:
        local = t.now.astimezone(t.deps.config.office.hours().tz).date()
        explanatory = case.truthfulness == Truthfulness.FALSE.value
        if case.route == Route.COURTESY.value:  # 第九条: the 督查室's 礼节性回复
            text = compose_courtesy_reply(case.title, (case.reply or {}).get("courtesy", ""), local)
            lines.append("礼节性回复（督查室）：\n" + text)
        else:
            text = compose_public_reply(
                view.unit or "承办单位", case.title, case.reply or {}, local, explanatory=explanatory
            )
            lines.append("公开回复（以承办单位名义）：\n" + text)
        data["public_text"] = text
    if data.get("told"):
        lines.append(f"告知网友方式：{TellMethod[data['told']].value}")
    summary = "\n".join(lines)
    await t.move(case, *events, data=data)
    await t.card(case, b.publish_preview_card(view, summary), "publish_preview")
    await t.say(f"{case.number} 统一回复预览：\n{summary}\n\n回复“确认”发布并记录，“取消”放弃。", case)


@on.click(Verb.PUBLISH_CONFIRM)
async def confirm(t: Turn, case: Case, action: CardAction) -> None:
    event = dlg.button(Verb.PUBLISH_CONFIRM)
    pending = await t.expect(case, event)
    if pending is None:
        return
    data = pending.data
    mode = ReplyMode(data["mode"])
    told = TellMethod[data["told"]] if data.get("told") else None
    publish = PublishInput(
        mode,
        NonPublicGround[data["ground"]] if data.get("ground") else None,
        told_via=told,
        public_text=str(data.get("public_text", "")),
    )
    if await t.run(case, Action.PUBLISH, publish):
        await t.move(case, event)
        told_text = f"，已{told.value}告知网友" if told and told is not TellMethod.UNREACHABLE else ""
        after = "礼节性回复件已办结" if case.route == Route.COURTESY.value else "请回访网友"
        await t.say(f"{case.number}：已{mode.label}{told_text}（{b.hm(t.now, t.tz)}），{after}。", case)


@on.step(dlg.Step.PUBLISH_CONFIRM)
async def confirm_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    if text.strip() in ("确认", "确认回复"):
        await confirm(t, case, CardAction(Verb.PUBLISH_CONFIRM, case.number, case.version))
    else:
        await t.say(f"{case.number}：{PRESS_A_BUTTON}", case)


@on.command("统一回复")
async def publish_command(t: Turn, case: Case, rest: str) -> None:
    """统一回复 <文号> [公开|并行|个别] [理由一至四] [告知方式]: the buttons' path in one message."""
    words = rest.split()
    mode = _MODE_WORDS.get(words[0]) if words else None
    if mode is None:
        if await t.allowed(case, Action.PUBLISH):
            modes = offer(case.truthfulness, has_contact(case), _untrue_note(t)).modes
            names = "、".join(w for w, m in _MODE_WORDS.items() if m in modes and w != "不公开")
            await t.say(f"{case.number}：请写明回复方式（{names}），例如：统一回复 {case.number} {names[:2]}。", case)
        return
    if not await _may_start(t, case, mode):
        return
    told = next((_TELL_BY_TEXT[w] for w in words[1:] if w in _TELL_BY_TEXT), None)
    data: dict[str, Any] = {"mode": mode.value}
    events = [_START[mode]]
    if mode is ReplyMode.INDIVIDUAL:
        ground = next((_GROUND_WORDS[w] for w in words[1:] if w in _GROUND_WORDS), None)
        ground = ground or offer(case.truthfulness, has_contact(case), _untrue_note(t)).preselected
        if ground is None:
            await t.move(case, *events, data=data)
            await t.card(case, b.ground_card(await t.view(case)), "ground")
            return
        data["ground"] = ground.name
        events.append(dlg.button(Verb.GROUND))
    if mode is not ReplyMode.PUBLIC:
        if told is None:
            await t.move(case, *events, data=data)
            await t.card(case, b.told_card(await t.view(case)), "told")
            return
        data["told"] = told.name
        events.append(dlg.button(Verb.TOLD))
    await _preview(t, case, events, data)


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
    """化解 and not 不满意 closes the case; otherwise it is tracked until the promised date (a date
    in the text, e.g. "承诺12月20日前解决", or ``[deadlines] tracking_days`` working days)."""
    data = FollowUpInput(bool(pending.data.get("resolved")), Satisfaction(pending.data["satisfaction"]), text)
    await _record_follow_up(t, case, data, t.answer)


async def _record_follow_up(
    t: Turn, case: Case, data: FollowUpInput, conclude: Callable[[Case, Action, Any, str], Awaitable[None]]
) -> None:
    if data.settled:
        await conclude(case, Action.FOLLOW_UP, data, "回访已记录，此件办结。")
        return
    promised = promised_date(t, data.evaluation)
    data = FollowUpInput(data.resolved, data.satisfaction, data.evaluation, promised)
    day = promised.astimezone(t.deps.config.office.hours().tz)
    done = f"回访已记录。未化解或不满意，此件转入跟踪，承办单位须于{day:%Y-%m-%d}前解决并再回复。"
    await conclude(case, Action.TRACK, data, done)


_SATISFACTION_WORDS = {s.value: s for s in Satisfaction}
_RESOLVED_WORDS = {"已化解": True, "化解": True, "未化解": False}


@on.command("回访")
async def follow_up_command(t: Turn, case: Case, rest: str) -> None:
    """回访 <文号> <满意|基本满意|不满意> <已化解|未化解> <评价内容>: the 回访 cards in one message."""
    words = rest.split(maxsplit=2)
    sat = _SATISFACTION_WORDS.get(words[0]) if words else None
    resolved = _RESOLVED_WORDS.get(words[1]) if len(words) > 1 else None
    if sat is None or resolved is None:
        if await t.allowed(case, Action.FOLLOW_UP):
            await t.say(f"{case.number}：{FOLLOW_UP_FORM}", case)
        return
    text = words[2] if len(words) > 2 else ""
    await _record_follow_up(t, case, FollowUpInput(resolved, sat, text), t.finish)


FOLLOW_UP_FORM = "请按格式回访：回访 <文号> <满意|基本满意|不满意> <已化解|未化解> <评价内容>。"


def _publish_as(word: str, mode: str) -> object:
    """The 统一回复 buttons' own words: 公开回复 <文号> … = 统一回复 <文号> 公开 …, and so on."""

    async def handler(t: Turn, case: Case, rest: str) -> None:
        await publish_command(t, case, f"{mode} {rest}")

    return on.command(word)(handler)


for _word, _mode in {"公开回复": "公开", "个别回复": "个别", "并行回复": "并行"}.items():
    _publish_as(_word, _mode)


_DATE = re.compile(r"(?:(\d{4})[-年/.])?(\d{1,2})[-月/.](\d{1,2})日?")


def promised_date(t: Turn, text: str) -> datetime:
    """The promised date named in ``text`` (close of that office day), else the default."""
    cfg = t.deps.config
    hours = cfg.office.hours()
    local = t.now.astimezone(hours.tz)
    m = _DATE.search(text)
    if m:
        try:
            day = date(int(m.group(1) or local.year), int(m.group(2)), int(m.group(3)))
        except ValueError:
            day = None
        if day is not None and not m.group(1) and day < local.date():
            day = day.replace(year=day.year + 1)  # "1月10日" said in December
        if day is not None and day > local.date():
            return datetime.combine(day, hours.close, tzinfo=hours.tz)
    return workday_deadline(t.now, cfg.deadlines.tracking_days, t.deps.calendar.current, hours).due_at
