"""批量审定 (seed 001 第十一条: 督查室 "按月整理并分别报区委、政府有关领导审定"): a leader takes the
replies awaiting 审定 as one list (``审定清单`` or the 批量审定 button) and approves them all, or all
but some (``审定全部 除 <文号> <文号>``). Each approval is the ordinary 领导同意 transition, checked
by the domain case by case; only the cases on the list shown are approved."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.cards import builders as b
from bot.cards.payload import CardAction, Verb
from bot.domain.lifecycle import CommentInput, WorkflowError, transition_for
from bot.domain.states import Action, State
from bot.handlers import dialogue as dlg
from bot.handlers.chat.router import PRESS_A_BUTTON, Router
from bot.handlers.chat.turn import Turn
from bot.handlers.workflow import apply_in_session
from store import directory, repo
from store.models import Case

on = Router()

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_NUMBER = re.compile(r"[A-Za-z]{0,8}\d{4}-\d{6}")
#: the most cases one list carries (a card and a chat message stay readable)
MAX_BATCH = 50
BATCH_COMMENT = "批量审定"


async def awaiting(t: Turn, month: tuple[int, int] | None = None) -> list[Case]:
    """Cases whose reply was reviewed and waits for a leader (reviewed in ``month``, local time)."""
    cases = await repo.list_cases(t.session, repo.CaseFilter(state=State.REVIEWED.value, limit=MAX_BATCH))
    if month is None:
        return cases
    tz = t.tz

    def reviewed(c: Case) -> tuple[int, int]:
        local = (c.reviewed_at or c.updated_at).astimezone(tz)
        return (local.year, local.month)

    return [c for c in cases if reviewed(c) == month]


def _line(case: Case, units: dict[int, str], tz: ZoneInfo) -> str:
    unit = units.get(case.unit_id or 0, "-")
    return f"{case.number} {unit} {b.short(case.title, 20)}（审核{b.hm(case.reviewed_at or case.updated_at, tz)}）"


async def _show(t: Turn, month: tuple[int, int] | None) -> None:
    if not t.actor.roles & transition_for(Action.APPROVE).roles:
        await t.say("只有领导可以审定。")
        return
    cases = await awaiting(t, month)
    if not cases:
        await t.say("目前没有待审定的答复。")
        return
    units = await directory.unit_names(t.session, [c.unit_id for c in cases if c.unit_id])
    lines = [_line(c, units, t.tz) for c in cases]
    first = cases[0]
    await t.move(first, dlg.button(Verb.BATCH_LIST), data={"numbers": [c.number for c in cases]})
    await t.card(first, b.batch_card(await t.view(first), lines), "batch")
    title = f"{month[0]}年{month[1]}月" if month else ""
    await t.say(
        f"{title}待审定答复{len(cases)}件：\n" + "\n".join(lines) + "\n\n回复“审定全部”全部同意，"
        "或“审定全部 除 <文号> <文号>”同意其余各件；发送“取消”放弃。"
    )


@on.command("审定清单", case=False)
async def batch_list(t: Turn, rest: str) -> None:
    month = None
    m = _MONTH.match(rest.strip())
    if rest.strip() and (m is None or not 1 <= int(m.group(2)) <= 12):
        await t.say("月份格式：审定清单 2026-11。")
        return
    if m:
        month = (int(m.group(1)), int(m.group(2)))
    await _show(t, month)


@on.click(Verb.BATCH_LIST)
async def batch_list_button(t: Turn, case: Case, action: CardAction) -> None:
    await _show(t, None)


@on.click(Verb.BATCH_APPROVE)
async def approve_all(t: Turn, case: Case, action: CardAction) -> None:
    await _approve(t, case, set())


@on.step(dlg.Step.BATCH_APPROVAL)
async def approve_by_text(t: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
    head, _, rest = text.strip().partition("除")
    if head.strip() != "审定全部":
        await t.say(f"{PRESS_A_BUTTON}（或回复“审定全部”“审定全部 除 <文号>”）")
        return
    except_ = {n.upper() for n in _NUMBER.findall(rest)}
    unknown = except_ - set(pending.data.get("numbers", []))
    if unknown:
        await t.say(f"{'、'.join(sorted(unknown))} 不在待审定清单中，请核对文号。")
        return
    await _approve(t, case, except_)


async def _approve(t: Turn, first: Case, except_: set[str]) -> None:
    event = dlg.button(Verb.BATCH_APPROVE)
    pending = await t.expect(first, event)
    if pending is None:
        return
    done: list[str] = []
    refused: list[str] = []
    for number in pending.data.get("numbers", []):
        if number in except_:
            continue
        case = await repo.case_by_number(t.session, number)
        if case is None:
            continue
        try:
            await apply_in_session(t.deps, t.session, case, Action.APPROVE, t.actor, CommentInput(BATCH_COMMENT))
        except WorkflowError as exc:
            refused.append(f"{number}：{exc.message}")
            continue
        done.append(number)
    await t.move(first, event)
    lines = [f"已审定{len(done)}件：{'、'.join(done) or '无'}。"]
    if except_:
        lines.append(f"未审定（例外）：{'、'.join(sorted(except_))}，请逐件审定或驳回。")
    if refused:
        lines.append("未能审定：\n" + "\n".join(refused))
    await t.say("\n".join(lines))
