"""JSON error responses: every 4xx names the field and says what is wrong."""

from __future__ import annotations

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
    return json_error(status, exc.field or "body", exc.message)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


def _dumps(obj: object) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)
