"""Questions anyone may ask: 查询 <文号> (state and last steps), 待办 (my open cases), 帮助.

Both answer only about cases the person may see (docs/visibility.md): the router's case look-up
refuses the others with "无权查看此件", and 待办 lists through ``store.visible``."""

from __future__ import annotations

from bot.cards import builders as b
from bot.domain.states import Route, State
from bot.handlers.access import lists_for
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.directory import DIRECTORY_COMMANDS, DIRECTORY_ROLES, HTTP_MODE_REFUSAL, refuses_directory
from bot.handlers.help import help_for
from bot.handlers.read_models import event_label
from bot.handlers.worklist import waiting_for
from store import repo, visible
from store.models import Case

on = Router()


@on.command("查询")
async def show(t: Turn, case: Case, rest: str) -> None:
    view = await t.view(case)
    events = await repo.timeline(t.session, case.id)
    lines = [
        f"{case.number} {b.short(case.title, 40)}",
        f"状态：{view.state.label}",
        f"承办单位：{view.unit or '-'}",
        f"到期：{b.due_text(view)}",
    ]
    if case.route != Route.HANDLE.value:  # 第九条
        lines.insert(
            2, f"办理方式：{Route(case.route).label}" + (f"（转{case.transfer_to}）" if case.transfer_to else "")
        )
    lines += [f"{b.hm(e.at, t.tz)} {event_label(e.action)} {e.actor_name}" for e in events[-5:]]
    lines.append(f"详情：{t.notifier.link(case, t.person)}")
    await t.say("\n".join(lines), case)


@on.command("帮助", case=False)
async def help_(t: Turn, rest: str) -> None:
    if refuses_directory(t.event) and t.actor.roles & DIRECTORY_ROLES:
        await t.say(help_for(t.actor.roles, hidden=DIRECTORY_COMMANDS) + "\n（" + HTTP_MODE_REFUSAL + "）")
        return
    await t.say(help_for(t.actor.roles))


@on.command("待办", case=False)
async def todo(t: Turn, rest: str) -> None:
    scope = lists_for(t.deps.config, t.actor)
    wanted = waiting_for(t.actor)
    lines: list[str] = []
    filters = [repo.CaseFilter(state=state, unit_id=unit_id, route=route, limit=20) for state, unit_id, route in wanted]
    for cases in await visible.visible_cases_each(t.session, scope, filters):  # one statement
        for c in cases:
            lines.append(f"{c.number} {State(c.state).label} 到期{b.hm(c.due_at, t.tz) or '-'} {b.short(c.title, 20)}")
    if not lines:
        await t.say("您当前没有待办件。")
        return
    more = f"\n（仅显示前30件，共{len(lines)}件）" if len(lines) > 30 else ""
    await t.say("您的待办件：\n" + "\n".join(lines[:30]) + more)
