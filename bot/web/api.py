"""The intake API: POST /api/cases, GET and PATCH /api/cases/{number}, POST /api/cases/{number}/assign."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.domain.errors import UserError
from bot.domain.lifecycle import Actor
from bot.domain.routing import parse_route
from bot.domain.states import Role
from bot.handlers.corrections import set_fields
from bot.handlers.deps import Deps
from bot.handlers.intake import InputError, assign_case, register_case, validate_new_case
from bot.handlers.read_models import case_json
from bot.handlers.records import archive_case
from bot.handlers.routing import change_route
from bot.web.errors import json_error, user_error
from bot.web.json_input import parse_strict
from bot.web.limits import api_body_limit, read_body
from store import repo
from store.db import is_locked
from store.models import Case

log = logging.getLogger(__name__)
DEPS: web.AppKey[Deps] = web.AppKey("deps", Deps)
RETRY_AFTER_SECONDS = 5
API_ACTOR = Actor(name="接口登记", roles=frozenset({Role.SYSTEM, Role.DISPATCHER}))


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _authorised(request: web.Request) -> bool:
    token = request.app[DEPS].config.api.token
    header = request.headers.get("Authorization", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


@web.middleware
async def api_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    if not _authorised(request):
        return json_error(401, "Authorization", "需要有效的 Bearer 令牌", "unauthorized")
    deps = request.app[DEPS]
    try:
        async with deps.read_sessions() as session:  # a calendar change elsewhere counts at once
            await deps.calendar.ensure_fresh(session)
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, "body", "请求体过大")
    except Exception as exc:
        if not is_locked(exc):
            raise
        log.warning("api: database busy (the write lock was not free in time)")
        resp = json_error(503, "database", "数据库正忙，请稍后重试", "busy")
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return resp


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise InputError("Content-Type", "应为 application/json")
    raw = await read_body(request, api_body_limit(request.app[DEPS].config.server.max_body_kb))
    if raw is None:
        raise InputError("body", "请求体过大", code="too_large")
    return parse_strict(raw)


async def create_case(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    try:
        body = await _json_body(request)
        new = validate_new_case(
            body,
            now=deps.clock.now(),
            tz=deps.config.office.hours().tz,
            categories=deps.config.cases.categories,
            strict=True,
        )
        result = await register_case(deps, new, API_ACTOR)
    except UserError as exc:
        return user_error(exc)
    async with deps.sessions() as session:
        case = await repo.case_by_id(session, result.case.id)
        assert case is not None
        data = await case_json(session, case, tz=deps.config.office.tz)
    return web.json_response(data, status=201 if result.created else 200, dumps=_dumps)


async def get_case(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    number = request.match_info["number"]
    async with deps.read_sessions() as session:
        case = await repo.case_by_number(session, number)
        if case is None:
            return json_error(404, "number", f"未找到文号为 {number} 的留言件")
        data = await case_json(session, case, tz=deps.config.office.tz)
    return web.json_response(data, dumps=_dumps)


async def _case_response(deps: Deps, case_id: int) -> web.Response:
    """The case as it is now, as JSON (the answer to every action on it)."""
    async with deps.read_sessions() as session:
        fresh = await repo.case_by_id(session, case_id)
        assert fresh is not None
        data = await case_json(session, fresh, tz=deps.config.office.tz)
    return web.json_response(data, dumps=_dumps)


async def assign(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    number = request.match_info["number"]
    try:
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("unit"), str) or not body["unit"].strip():
            raise InputError("unit", "必填")
        case = await assign_case(deps, number, body["unit"], API_ACTOR)
    except UserError as exc:
        return user_error(exc)
    return await _case_response(deps, case.id)


#: PATCH fields that change the route (第九条) rather than correct a fact
ROUTE_FIELDS = ("route", "reason", "transfer_to")


async def correct(request: web.Request) -> web.Response:
    """PATCH: correct title, category, level, contact, petitioner or report_number (更正); change
    the ``route`` (handle / courtesy / transfer, 第九条) with a ``reason`` (and ``transfer_to``)."""
    deps = request.app[DEPS]
    number = request.match_info["number"]
    try:
        body = await _json_body(request)
        if not isinstance(body, dict) or not body:
            raise InputError("body", "应为含更正字段的 JSON 对象")
        routing = {k: body.pop(k) for k in ROUTE_FIELDS if k in body}
        if routing and "route" not in routing:
            raise InputError("route", "reason、transfer_to 须与 route 一起提交")
        case = await set_fields(deps, number, API_ACTOR, body) if body else None
        if routing:
            case = await _reroute(deps, number, routing)
    except UserError as exc:
        return user_error(exc)
    assert case is not None
    return await _case_response(deps, case.id)


async def _reroute(deps: Deps, number: str, fields: dict[str, Any]) -> Case:
    for key, value in fields.items():
        if not isinstance(value, str):
            raise InputError(key, "应为文字")
    try:
        route = parse_route(fields["route"])
    except ValueError as exc:
        raise InputError("route", str(exc)) from exc
    return await change_route(deps, number, API_ACTOR, route, fields.get("reason", ""), fields.get("transfer_to", ""))


async def archive(request: web.Request) -> web.Response:
    """立卷 / 销号: 422 with the missing elements when the 16 are not complete."""
    deps = request.app[DEPS]
    number = request.match_info["number"]
    try:
        case = await archive_case(deps, number, API_ACTOR)
    except UserError as exc:
        return user_error(exc)
    return await _case_response(deps, case.id)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases", create_case)
    app.router.add_get("/api/cases/{number}", get_case)
    app.router.add_post("/api/cases/{number}/assign", assign)
    app.router.add_patch("/api/cases/{number}", correct)
    app.router.add_post("/api/cases/{number}/archive", archive)
