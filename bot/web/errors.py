"""JSON error responses: every 4xx names the field and says what is wrong."""

from __future__ import annotations

from aiohttp import web


def json_error(status: int, field: str, message: str, code: str | None = None) -> web.Response:
    body = {"error": {"field": field, "message": message, "code": code or _CODES.get(status, "error")}}
    return web.json_response(body, status=status, dumps=_dumps)


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
