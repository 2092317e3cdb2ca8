"""管理: the admin's desk page. It shows units with their members and platform ids, people, desk
accounts and the work calendar's years (provisional ones marked), and it changes the directory
through the same use cases as chat's 添加单位/添加成员/停用人员 and the CLI's ``unit``/``person``
commands (bot.handlers.directory): a unit's short name, its groups; a person's platform ids and
roles; (de)activation."""

from __future__ import annotations

import functools
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.domain.errors import UserError
from bot.domain.states import UNIT_ROLES, Role
from bot.handlers.directory import (
    DirectoryError,
    ensure_person,
    ensure_unit,
    grant,
    set_person_active,
    unit_summaries,
)
from bot.web.desk.common import Labels, deps_of, refuse, render, visitor_of
from store import calendar as calendar_store
from store import desk as desk_store
from store import directory
from store.listings import people_with_roles
from store.models import Person

log = logging.getLogger(__name__)
#: the roles an admin may give on the desk (SYSTEM is the bot itself)
GRANTABLE: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
DONE = {
    "unit": "单位已保存。",
    "member": "人员已保存。",
    "revoke": "角色已撤销。",
    "deactivate": "已停用：不再接收卡片和提醒，也不能办理。",
    "activate": "已启用。",
}


def admin_only(handler: Handler) -> Handler:
    """Every page and form here is the admin's: anyone else gets the refusal page."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if Role.ADMIN not in visitor_of(request).actor.roles:
            return refuse(request, 403, "无权访问", "管理页面仅限管理员。")
        return await handler(request)

    return guarded


def _field(form: Any, name: str, limit: int = 100) -> str:
    value = form.get(name, "")
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise DirectoryError(name, f"输入过长（最多{limit}字）")
    return text


@admin_only
async def admin(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _page(
    request: web.Request, *, error: str = "", values: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    deps = deps_of(request)
    now = deps.clock.now()
    tz = deps.config.office.hours().tz
    async with deps.read_sessions() as session:
        summaries = await unit_summaries(session)
        people = await people_with_roles(session)
        accounts = await desk_store.accounts_with_people(session)
        imported = {y.year for y in await calendar_store.imported_years(session)}
        cal = await deps.calendar.ensure_fresh(session)
    year = now.astimezone(tz).year
    years = []
    for y in range(year - 1, year + 2):
        source = cal.source(y)
        years.append({"year": y, "label": source.label, "provisional": source.provisional, "imported": y in imported})
    return render(
        request,
        "admin.html",
        {
            "title": "管理",
            "units": summaries,
            "people": people,
            "accounts": accounts,
            "years": years,
            "grantable": [(r.value, r.label) for r in GRANTABLE],
            "unit_roles": {r.value for r in UNIT_ROLES},
            "role_labels": {r.value: r.label for r in Role},
            "labels": Labels(deps, now),
            "message": DONE.get(request.query.get("done", ""), ""),
            "error": error,
            "values": values or {},
        },
        status=status,
    )


@admin_only
async def save_unit(request: web.Request) -> web.StreamResponse:
    """添加单位, or change a unit's short name and groups (found by its exact name)."""
    deps = deps_of(request)
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in ("name", "code", "wecom_chatid", "dingtalk_conversation_id")}
    try:
        async with deps.sessions() as session, session.begin():
            unit, created = await ensure_unit(
                session,
                _field(form, "name"),
                now=deps.clock.now(),
                code=_field(form, "code", 50),
                wecom_chatid=_field(form, "wecom_chatid", 64) or None,
                dingtalk_conversation_id=_field(form, "dingtalk_conversation_id", 64) or None,
            )
    except UserError as exc:
        return await _page(request, error=exc.message, values=values, status=422)
    log.info("desk: unit %s %s by person %s", unit.id, "added" if created else "changed", visitor_of(request).person.id)
    raise web.HTTPSeeOther("/desk/admin?done=unit")


@admin_only
async def save_member(request: web.Request) -> web.StreamResponse:
    """添加成员: the person these platform ids (or this name) identify, or a new one, with a role
    (a unit's for 承办人/单位负责人). The directory's rules on ids and namesakes apply as in chat."""
    deps = deps_of(request)
    form = await request.post()
    keys = ("name", "wecom_userid", "dingtalk_userid", "role", "unit", "new", "rename")
    values = {k: str(form.get(k, "")) for k in keys}
    try:
        role = Role(values["role"]) if values["role"] else None
        if role is Role.SYSTEM:
            raise ValueError(role)
    except ValueError:
        return await _page(request, error="未知角色。", values=values, status=422)
    try:
        async with deps.sessions() as session, session.begin():
            person, _ = await ensure_person(
                session,
                _field(form, "name"),
                now=deps.clock.now(),
                wecom_userid=_field(form, "wecom_userid", 64) or None,
                dingtalk_userid=_field(form, "dingtalk_userid", 64) or None,
                new=values["new"] == "1",
                rename=values["rename"] == "1",
            )
            if role is not None:
                await grant(session, person, role, _field(form, "unit") if role in UNIT_ROLES else None)
    except UserError as exc:
        # the chat's and CLI's wording names their flags; here they are the form's two boxes
        message = exc.message.replace("请加 --rename", "请勾选“改名”").replace("请加 --new", "请勾选“另一位同名人员”")
        return await _page(request, error=message, values=values, status=422)
    log.info("desk: person %s saved (role %s) by person %s", person.id, role, visitor_of(request).person.id)
    raise web.HTTPSeeOther("/desk/admin?done=member")


async def _person(request: web.Request) -> Person:
    person_id = request.match_info["person_id"]
    async with deps_of(request).read_sessions() as session:
        person = await directory.person_by_id(session, int(person_id)) if person_id.isdigit() else None
    if person is None:
        raise web.HTTPNotFound(reason="未找到此人员。")
    return person


@admin_only
async def revoke(request: web.Request) -> web.StreamResponse:
    """Take one role from a person (a unit's role names the unit); an admin keeps their own 管理员."""
    deps = deps_of(request)
    person = await _person(request)
    form = await request.post()
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        return await _page(request, error="未知角色。", status=422)
    if role is Role.ADMIN and person.id == visitor_of(request).person.id:
        return await _page(request, error="不能撤销自己的管理员角色。", status=422)
    unit_name = str(form.get("unit", "")).strip()
    async with deps.sessions() as session, session.begin():
        unit_id = None
        if role in UNIT_ROLES:
            unit = await directory.unit_by_name(session, unit_name)
            if unit is None:
                return await _page(request, error=f"未知单位“{unit_name}”。", status=422)
            unit_id = unit.id
        changed = await directory.revoke_role(session, person.id, role, unit_id)
    if not changed:
        return await _page(request, error=f"{person.name}没有这个角色。", status=422)
    log.info("desk: role %s revoked from person %s by person %s", role, person.id, visitor_of(request).person.id)
    raise web.HTTPSeeOther("/desk/admin?done=revoke")


@admin_only
async def set_active(request: web.Request) -> web.StreamResponse:
    """停用 / 启用 a person: an inactive person gets no cards or reminders and cannot act or sign in.
    An admin cannot deactivate themselves (the office would lose its way back in)."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    person = await _person(request)
    active = (await request.post()).get("active") == "1"
    if not active and person.id == visitor.person.id:
        return await _page(request, error="不能停用自己的账号。", status=422)
    async with deps.sessions() as session, session.begin():
        fresh = await directory.person_by_id(session, person.id)
        assert fresh is not None
        await set_person_active(session, fresh, active)
    log.info("desk: person %s %s by person %s", person.id, "activated" if active else "deactivated", visitor.person.id)
    raise web.HTTPSeeOther("/desk/admin?done=" + ("activate" if active else "deactivate"))
