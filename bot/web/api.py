"""The intake API: POST /api/cases, GET /api/cases/{number}, POST /api/cases/{number}/assign."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web

from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import Role
from bot.handlers.deps import Deps
from bot.handlers.intake import InputError, assign_case, register_case, validate_new_case
from bot.handlers.read_models import case_json
from bot.handlers.records import archive_case
from bot.web.errors import json_error
from store import repo

log = logging.getLogger(__name__)
DEPS: web.AppKey[Deps] = web.AppKey("deps", Deps)
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
async def api_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    if not _authorised(request):
        return json_error(401, "Authorization", "需要有效的 Bearer 令牌", "unauthorized")
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, "body", "请求体过大")


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise InputError("Content-Type", "应为 application/json")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise InputError("body", "请求体过大") from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("body", f"不是有效的 JSON：{exc}") from exc


async def create_case(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    try:
        body = await _json_body(request)
        new = validate_new_case(
            body, now=deps.clock.now(), tz=deps.config.office.hours().tz, categories=deps.config.cases.categories
        )
        result = await register_case(deps, new, API_ACTOR)
    except InputError as exc:
        status = 413 if exc.message == "请求体过大" else 415 if exc.field == "Content-Type" else 422
        if exc.field == "body" and status == 422:
            status = 400
        return json_error(status, exc.field, exc.message)
    except WorkflowError as exc:
        return json_error(422, exc.field or "state", exc.message, exc.code)
    async with deps.sessions() as session:
        case = await repo.case_by_id(session, result.case.id)
        assert case is not None
        data = await case_json(session, case)
    return web.json_response(data, status=201 if result.created else 200, dumps=_dumps)


async def get_case(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    number = request.match_info["number"]
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        if case is None:
            return json_error(404, "number", f"未找到文号为 {number} 的留言件")
        data = await case_json(session, case)
    return web.json_response(data, dumps=_dumps)


async def assign(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    number = request.match_info["number"]
    try:
        body = await _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("unit"), str) or not body["unit"].strip():
            raise InputError("unit", "必填")
        case = await assign_case(deps, number, body["unit"], API_ACTOR)
    except InputError as exc:
        return json_error(400 if exc.field == "body" else 422, exc.field, exc.message)
    except WorkflowError as exc:
        status = 404 if exc.code == "not_found" else 409 if exc.code in ("wrong_state", "conflict") else 422
        return json_error(status, exc.field or "state", exc.message, exc.code)
    async with deps.sessions() as session:
        fresh = await repo.case_by_id(session, case.id)
        assert fresh is not None
        data = await case_json(session, fresh)
    return web.json_response(data, dumps=_dumps)


async def archive(request: web.Request) -> web.Response:
    """立卷 / 销号: 422 with the missing elements when the 16 are not complete."""
    deps = request.app[DEPS]
    number = request.match_info["number"]
    try:
        case = await archive_case(deps, number, API_ACTOR)
    except WorkflowError as exc:
        status = 404 if exc.code == "not_found" else 409 if exc.code in ("wrong_state", "conflict") else 422
        return json_error(status, exc.field or "state", exc.message, exc.code)
    async with deps.sessions() as session:
        fresh = await repo.case_by_id(session, case.id)
        assert fresh is not None
        data = await case_json(session, fresh)
    return web.json_response(data, dumps=_dumps)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/cases", create_case)
    app.router.add_get("/api/cases/{number}", get_case)
    app.router.add_post("/api/cases/{number}/assign", assign)
    app.router.add_post("/api/cases/{number}/archive", archive)
