"""The desk's case pages: 我的待办, 留言台账 (with its Excel export), a case, 登记, 交办/改派 and the
case actions. Every page lists or shows only what the visitor may see (bot/domain/visibility.py
through ``bot.handlers.access``), and every action is the chat's and the API's own use case
(``bot.handlers.workflow.perform``, ``bot.handlers.intake``)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.domain.archive import ARCHIVE_ELEMENTS
from bot.domain.duplicates import normalise_contact
from bot.domain.errors import UserError
from bot.domain.records import INSTRUCTION_ROLES, SUPERVISION_METHODS
from bot.domain.states import Action, Level, Role, State
from bot.domain.visibility import Sight
from bot.exports.archive import ledger_workbook
from bot.handlers.access import lists_for, sight_of
from bot.handlers.case_supervision import supervise_in_session
from bot.handlers.commendations import COMMEND_ROLES, commend_in_session
from bot.handlers.instructions import instruct_in_session
from bot.handlers.intake import assign_case, possible_duplicate, register_case, validate_new_case
from bot.handlers.read_models import archive_record, event_label
from bot.handlers.workflow import perform
from bot.handlers.worklist import waiting_for
from bot.web.desk import forms
from bot.web.desk.common import Labels, deps_of, refuse, render, visitor_of
from bot.web.detail import REPLY_PARTS
from store import desk as desk_store
from store import directory, repo
from store.models import Case

log = logging.getLogger(__name__)
NOT_FOUND = "未找到此留言件，或您无权查看。"
EXPORT_CAP = 20_000  # rows in one Excel export of the ledger
COUNT_CAP = 1000  # the ledger counts its cases up to this many ("1000 以上"): a count stops early
TODO_LIMIT = 30  # cases of each (state, unit) pair on 我的待办; the ledger lists them all


async def todo(request: web.Request) -> web.Response:
    """我的待办: what waits for me, by deadline, in working days."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    now = deps.clock.now()
    scope = lists_for(deps.config, visitor.actor)
    async with deps.read_sessions() as session:
        cases = await desk_store.waiting(session, scope, waiting_for(visitor.actor), limit=TODO_LIMIT)
        names = await directory.unit_names(session, [c.unit_id for c in cases if c.unit_id])
    labels = Labels(deps, now)
    overdue = sum(1 for c in cases if labels.overdue(c))
    return render(
        request,
        "todo.html",
        {"title": "我的待办", "cases": cases, "names": names, "labels": labels, "overdue": overdue},
    )


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError("bad_input", f"{field}格式不对（例：2026-11-02）", field=field) from None


def ledger_filter(request: web.Request, *, page_size: int) -> tuple[desk_store.Ledger, dict[str, str], int]:
    """The ledger's filters from the query string → (filter, the values as typed, page number)."""
    deps = deps_of(request)
    tz = deps.config.office.hours().tz
    q = request.query
    typed = {
        k: q.get(k, "").strip()[:100]
        for k in ("state", "unit", "category", "from", "to", "q", "petitioner", "phone", "ref", "overdue")
    }
    try:
        page = max(1, min(int(q.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    state = typed["state"] if typed["state"] in {s.value for s in State} else None
    unit_id = int(typed["unit"]) if typed["unit"].isdigit() else None
    start, end = _day(typed["from"], "from"), _day(typed["to"], "to")
    f = desk_store.Ledger(
        state=state,
        unit_id=unit_id,
        category=typed["category"] or None,
        received_from=datetime.combine(start, time(), tz) if start else None,
        received_to=datetime.combine(end + timedelta(days=1), time(), tz) if end else None,
        keyword=typed["q"] or None,
        petitioner=typed["petitioner"] or None,
        contact_key=normalise_contact(typed["phone"]) or None if typed["phone"] else None,
        source_ref=typed["ref"] or None,
        overdue_at=deps.clock.now() if typed["overdue"] == "1" else None,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    return f, typed, page


async def ledger(request: web.Request) -> web.Response:
    """留言台账: every case I may see, filtered, newest first, a page at a time."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    scope = lists_for(deps.config, visitor.actor)
    try:
        f, typed, page = ledger_filter(request, page_size=deps.config.desk.page_size)
    except UserError as exc:
        return refuse(request, 400, "查询条件有误", exc.message)
    async with deps.read_sessions() as session:
        cases, more = await desk_store.ledger_page(session, scope, f)
        # the last page knows the total; otherwise count (up to COUNT_CAP)
        total = f.offset + len(cases) if not more else await desk_store.ledger_count(session, scope, f, COUNT_CAP)
        units = await directory.list_units(session)
        names = {u.id: u.name for u in units}
    query = {k: v for k, v in typed.items() if v}
    return render(
        request,
        "ledger.html",
        {
            "title": "留言台账",
            "cases": cases,
            "names": names,
            "units": units,
            "states": [s for s in State],
            "categories": deps.config.cases.categories,
            "typed": typed,
            "total": total if total <= COUNT_CAP else f"{COUNT_CAP} 以上",
            "page": page,
            "prev_url": f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else "",
            "next_url": f"?{urlencode({**query, 'page': page + 1})}" if more else "",
            "export_url": f"/desk/cases.xlsx?{urlencode(query)}",
            "labels": Labels(deps, deps.clock.now()),
        },
    )


async def export(request: web.Request) -> web.Response:
    """The filtered ledger as an .xlsx (the archive list's 16 columns; 联系方式 only of the cases
    whose petitioner the visitor may see)."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    scope = lists_for(deps.config, visitor.actor)
    try:
        f, _, _ = ledger_filter(request, page_size=deps.config.desk.page_size)
    except UserError as exc:
        return refuse(request, 400, "查询条件有误", exc.message)
    async with deps.read_sessions() as session:
        ids = await desk_store.ledger_ids(session, scope, f, EXPORT_CAP)

    def personal(case: Case) -> bool:
        return sight_of(deps.config, visitor.actor, case) >= Sight.FULL

    data = await ledger_workbook(deps, ids, personal=personal)
    stamp = deps.clock.now().astimezone(deps.config.office.hours().tz).strftime("%Y%m%d-%H%M")
    log.info("desk export of %d cases by person %s", len(ids), visitor.person.id)
    return web.Response(
        body=data,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="ledger-{stamp}.xlsx"'},
    )


async def _visible_case(request: web.Request, number: str) -> tuple[Case, Sight] | web.Response:
    deps = deps_of(request)
    visitor = visitor_of(request)
    async with deps.read_sessions() as session:
        case = await repo.case_by_number(session, number)
    if case is None:
        return refuse(request, 404, "未找到", NOT_FOUND)
    sight = sight_of(deps.config, visitor.actor, case)
    if sight is Sight.NONE:
        # the same answer as for a case that does not exist: nothing leaks, not even its existence
        log.info("desk: case %s refused (not visible) to person %s", case.number, visitor.person.id)
        return refuse(request, 404, "未找到", NOT_FOUND)
    return case, sight


async def case_page(request: web.Request, *, message: str = "", error: str = "", status: int = 200) -> web.Response:
    """A case: the 16 elements, the reply, the timeline and the actions I may take now."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    found = await _visible_case(request, request.match_info["number"])
    if isinstance(found, web.Response):
        return found
    case, sight = found
    now = deps.clock.now()
    tz = deps.config.office.hours().tz
    async with deps.read_sessions() as session:
        ids = [case.unit_id] if case.unit_id else []
        ids += [int(u) for u in case.co_unit_ids or []]
        names = await directory.unit_names(session, ids)
        events = await repo.timeline(session, case.id)
        record = await archive_record(session, case, tz)
        duplicate = await repo.case_by_id(session, case.duplicate_of_id) if case.duplicate_of_id else None
        assign = forms.may_assign(case, visitor.actor, now, tz)
        units = await directory.list_units(session) if assign else []
    reply = case.reply or {}
    hidden = {"petitioner": "（不公开）", "contact": "（仅承办单位可见）"}
    elements = [
        (e.label, hidden[e.key] if sight < Sight.FULL and e.key in hidden else record.get(e.key) or "")
        for e in ARCHIVE_ELEMENTS
        if e.key not in ("number", "title", "content", "handling")
    ]
    return render(
        request,
        "case.html",
        {
            "title": f"{case.number} {case.title}",
            "case": case,
            "full": sight >= Sight.FULL,
            "elements": elements,
            "due": Labels(deps, now).due(case),
            "names": names,
            "co_units": [names[int(u)] for u in case.co_unit_ids or [] if int(u) in names],
            "events": [(e, event_label(e.action)) for e in events],
            "duplicate": duplicate.number if duplicate else "",
            "actions": forms.available(case, visitor.actor, now, tz),
            "may_supervise": Role.SUPERVISOR in visitor.actor.roles
            and State(case.state) not in (State.REGISTERED, State.CLOSED, State.ARCHIVED, State.VOIDED),
            "may_commend": bool(visitor.actor.roles & COMMEND_ROLES) and case.unit_id is not None,
            "may_instruct": bool(visitor.actor.roles & INSTRUCTION_ROLES),
            "methods": SUPERVISION_METHODS,
            "supervise_days": deps.config.deadlines.supervise_days,
            "assign": assign.label if assign else "",
            "units": [u for u in units if u.active and u.id != case.unit_id],
            "reply_parts": [(label, reply.get(key)) for key, label in REPLY_PARTS if reply.get(key)],
            "options": forms.OPTIONS,
            "labels": Labels(deps, now),
            "message": message,
            "error": error,
        },
        status=status,
    )


async def act(request: web.Request) -> web.Response:
    """One action on a case, through the same use case as the chat and the API."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    found = await _visible_case(request, request.match_info["number"])
    if isinstance(found, web.Response):
        return found
    case, _ = found
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    try:
        action = Action(form.get("action", ""))
        if action in forms.ASSIGNING:
            raise ValueError(action)
    except ValueError:
        return await case_page(request, error="不支持的操作。", status=400)
    try:
        data = forms.parse_input(action, form, deps.config.office.hours().tz)
        await perform(deps, case.number, action, visitor.actor, data)
    except UserError as exc:
        return await case_page(
            request, error=exc.message, status=409 if exc.code in ("wrong_state", "conflict") else 422
        )
    log.info("desk: %s %s by person %s", action.value, case.number, visitor.person.id)
    raise web.HTTPSeeOther(f"/desk/cases/{case.number}?done={action.value}")


async def assign(request: web.Request) -> web.Response:
    """交办 / 改派 to a unit (intake.assign_case: 交办 or 改派 as the state says)."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    found = await _visible_case(request, request.match_info["number"])
    if isinstance(found, web.Response):
        return found
    case, _ = found
    form = await request.post()
    unit = str(form.get("unit", "")).strip()
    if not unit:
        return await case_page(request, error="请选择承办单位。", status=422)
    try:
        await assign_case(deps, case.number, unit, visitor.actor)
    except UserError as exc:
        return await case_page(request, error=exc.message, status=422)
    log.info("desk: assign %s by person %s", case.number, visitor.person.id)
    raise web.HTTPSeeOther(f"/desk/cases/{case.number}?done=assign")


async def note(request: web.Request) -> web.Response:
    """督办 (supervisors), 表扬 (supervisors, leaders) or 批示 (leaders) of one case: the chat's use
    cases (bot.handlers.case_supervision, commendations, instructions), each a timeline entry."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    found = await _visible_case(request, request.match_info["number"])
    if isinstance(found, web.Response):
        return found
    case, _ = found
    form = await request.post()
    kind = str(form.get("kind", ""))
    text = str(form.get("text", "")).strip()
    try:
        async with deps.sessions() as session, session.begin():
            fresh = await repo.case_by_number(session, case.number)
            assert fresh is not None
            if kind == "supervise":
                days = str(form.get("days", "")).strip()
                await supervise_in_session(
                    deps,
                    session,
                    fresh,
                    visitor.actor,
                    str(form.get("method", "")),
                    text,
                    special=form.get("special") == "1",
                    days=int(days) if days.isdigit() else None,
                    now=deps.clock.now(),
                )
            elif kind == "commend":
                await commend_in_session(deps, session, fresh, visitor.actor, text)
            elif kind == "instruct":
                await instruct_in_session(deps, session, fresh, visitor.actor, text)
            else:
                return await case_page(request, error="不支持的操作。", status=400)
    except UserError as exc:
        return await case_page(request, error=exc.message, status=422)
    log.info("desk: %s %s by person %s", kind, case.number, visitor.person.id)
    raise web.HTTPSeeOther(f"/desk/cases/{case.number}?done={kind}")


async def show_case(request: web.Request) -> web.Response:
    done = request.query.get("done", "")
    labels = {a.value: a.label for a in Action}
    labels.update(assign="交办", register="登记", supervise="督办", commend="表扬", instruct="批示")
    message = f"已{labels[done]}。" if done in labels else ""
    return await case_page(request, message=message)


REGISTER_FIELDS = (
    "title",
    "content",
    "unit",
    "level",
    "source",
    "source_ref",
    "petitioner",
    "contact",
    "category",
    "received_at",
)


async def register_form(request: web.Request) -> web.Response:
    deps = deps_of(request)
    async with deps.read_sessions() as session:
        units = await directory.list_units(session)
    return render(
        request,
        "register.html",
        {
            "title": "登记留言",
            "units": [u for u in units if u.active],
            "levels": [lv.value for lv in Level],
            "categories": deps.config.cases.categories,
            "values": {"level": Level.COUNTY.value},
            "duplicate": None,
        },
    )


async def register(request: web.Request) -> web.Response:
    """登记: the intake use case; a likely repeat (重复反映) is shown first and registered only
    when the dispatcher confirms (it is then linked to the earlier case, as every intake does)."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    posted = await request.post()
    values = {k: str(posted.get(k, "")).strip() for k in REGISTER_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v}
    data["complex"] = posted.get("complex") == "1"
    data["urgent"] = posted.get("urgent") == "1"
    async with deps.read_sessions() as session:
        units = [u for u in await directory.list_units(session) if u.active]
    context: dict[str, Any] = {
        "title": "登记留言",
        "units": units,
        "levels": [lv.value for lv in Level],
        "categories": deps.config.cases.categories,
        "values": {**values, "complex": data["complex"], "urgent": data["urgent"]},
        "duplicate": None,
    }
    try:
        new = validate_new_case(
            data, now=deps.clock.now(), tz=deps.config.office.hours().tz, categories=deps.config.cases.categories
        )
        if posted.get("confirm") != "1":
            earlier = await possible_duplicate(deps, new)
            if earlier is not None:
                seen = sight_of(deps.config, visitor.actor, earlier) > Sight.NONE
                context["duplicate"] = {
                    "number": earlier.number if seen else "",
                    "title": earlier.title if seen else "",
                    "same_ref": bool(new.source_ref and earlier.source_ref == new.source_ref),
                }
                return render(request, "register.html", context, status=200)
        result = await register_case(deps, new, visitor.actor)
    except UserError as exc:
        context["error"] = exc.message
        context["error_field"] = exc.field or ""
        return render(request, "register.html", context, status=422)
    log.info("desk: registered %s by person %s", result.case.number, visitor.person.id)
    raise web.HTTPSeeOther(f"/desk/cases/{result.case.number}?done=register")
