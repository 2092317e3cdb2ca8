"""JSON error responses: every 4xx names the field and says what is wrong."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.domain.errors import UserError
from bot.domain.lifecycle import WorkflowError


def json_error(status: int, field: str, message: str, code: str | None = None) -> web.Response:
    body = {"error": {"field": field, "message": message, "code": code or _CODES.get(status, "error")}}
    return web.json_response(body, status=status, dumps=_dumps)


def user_error(exc: UserError) -> web.Response:
    """The JSON answer to any refused request (caught once per route)."""
    if isinstance(exc, WorkflowError):
        status = 404 if exc.code == "not_found" else 409 if exc.code in ("wrong_state", "conflict") else 422
        return json_error(status, exc.field or "state", exc.message, exc.code)
    if exc.field == "body":
        status = 413 if exc.code == "too_large" else 400
    else:
        status = 415 if exc.field == "Content-Type" else 422
    return json_error(status, exc.field or "body", exc.message, exc.code or None)


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every 4xx that aiohttp raises (no such route, wrong method, body too large …) in the same
    JSON shape as the API's own errors, instead of aiohttp's plain text."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not 400 <= exc.status < 500:
            raise
        if exc.status == 404:
            return json_error(404, "path", f"没有这个地址：{request.path}")
        if exc.status == 405:
            allowed = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
            message = f"此地址不支持 {request.method} 请求" + (f"（可用：{allowed}）" if allowed else "")
            response = json_error(405, "method", message, "method_not_allowed")
            if allowed:
                response.headers["Allow"] = allowed
            return response
        if exc.status == 413:
            return json_error(413, "body", "请求体过大")
        return json_error(exc.status, "request", exc.reason)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def _dumps(obj: object) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)
