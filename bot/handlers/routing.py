"""Routing by type (seed 001 第九条): change a case's route with a reason (改为转办, 改为办理,
改为礼节性回复) and 转阅 a 礼节性回复 case to a unit or a leader for reference (阅知). Every channel
(chat, CLI, API) calls these; the rules are in ``bot.domain.lifecycle`` and ``bot.domain.routing``."""

from __future__ import annotations

from bot.cards import builders as b
from bot.domain.lifecycle import Actor, RouteInput, TransferInput, WorkflowError
from bot.domain.routing import check_forward
from bot.domain.states import Action, Note, Role, Route, State
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.handlers.workflow import CaseNotFound, add_note_in_session, apply_in_session
from store import directory, repo
from store.db import Session
from store.models import Case, Person


def default_destination(deps: Deps, case: Case) -> str:
    """The 去向 the configuration gives the case's category (第九条), or ""."""
    return deps.config.routing.transfer_to.get(case.category or "", "")


async def route_in_session(
    deps: Deps, session: Session, case: Case, actor: Actor, route: Route, reason: str, destination: str = ""
) -> Case:
    """改为转办 (TRANSFER with 去向 and 转办说明) or 改为办理 / 改为礼节性回复 (REROUTE with a reason)."""
    if route is Route.TRANSFER:
        where = destination.strip() or default_destination(deps, case)
        if not where:
            raise WorkflowError(
                "missing_input", "请写明转办去向，例如：改为转办 <文号> 政法部门 <转办说明>。", field="destination"
            )
        return await apply_in_session(deps, session, case, Action.TRANSFER, actor, TransferInput(where, reason))
    return await apply_in_session(deps, session, case, Action.REROUTE, actor, RouteInput(route, reason))


async def change_route(deps: Deps, number: str, actor: Actor, route: Route, reason: str, destination: str = "") -> Case:
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        return await route_in_session(deps, session, case, actor, route, reason, destination)


async def forward_in_session(
    deps: Deps, session: Session, outbox: Outbox, case: Case, actor: Actor, target: str, note: str
) -> str:
    """转阅 a 礼节性回复 case to a unit (its handlers and leaders) or a person (a leader) named
    ``target``: a message for reference, no task and no reply owed; a 转阅 note on the timeline.
    Returns the name of whom it went to."""
    note = check_forward(Route(case.route), State(case.state), actor.roles, note)
    name = target.strip()
    people: list[Person] = []
    unit = await directory.unit_by_name(session, name) if name else None
    if unit is not None:
        for role in (Role.HANDLER, Role.UNIT_LEADER):
            people += await directory.people_with_role(session, role, unit.id)
    else:
        people = [p for p in await directory.people_by_name_or_id(session, name) if p.active] if name else []
        if len(people) > 1:
            raise WorkflowError("ambiguous", f"有{len(people)}人名为“{name}”，请写明账号。", field="target")
    if not people:
        raise WorkflowError("unknown_target", f"未找到单位或人员“{name}”，或其没有可接收消息的成员。", field="target")
    whom = unit.name if unit is not None else people[0].name
    now = deps.clock.now()
    text = (
        f"【转阅】{case.number} {b.short(case.title, 40)}\n{b.short(case.content, 200)}\n"
        f"（{actor.name}转阅，供参阅，无须回复{'：' + note if note else ''}）"
    )
    await outbox.text(session, people, text, now, case=case)
    comment = f"转阅{whom}（阅知，无须回复）" + (f"：{note}" if note else "")
    await add_note_in_session(deps, session, case, actor, Note.FORWARD, comment, {"to": whom})
    return whom
