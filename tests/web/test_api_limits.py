"""Limits are characters per field, whatever the JSON encoding; every 4xx is the JSON error shape
(issue 14)."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from bot.handlers.intake import LIMITS
from tests.fakes.api import AUTH, CASE

JSON = {**AUTH, "Content-Type": "application/json"}


def _shape(body: dict[str, object]) -> dict[str, object]:
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"field", "message", "code"}, body
    return error


async def test_the_largest_content_passes_in_either_encoding(client: TestClient) -> None:
    text = "长" * LIMITS["content"]
    for i, ensure_ascii in enumerate((True, False)):
        body = json.dumps({**CASE, "source_ref": f"LIMIT-{i}", "content": text}, ensure_ascii=ensure_ascii)
        resp = await client.post("/api/cases", data=body.encode(), headers=JSON)
        assert resp.status == 201, (ensure_ascii, await resp.text())
    # characters outside the BMP: one character each, escaped as a surrogate pair (12 bytes)
    body = json.dumps({**CASE, "source_ref": "LIMIT-astral", "content": "𠀀" * LIMITS["content"]})
    resp = await client.post("/api/cases", data=body.encode(), headers=JSON)
    assert resp.status == 201, await resp.text()
    for ensure_ascii in (True, False):
        body = json.dumps({**CASE, "content": text + "长"}, ensure_ascii=ensure_ascii)
        resp = await client.post("/api/cases", data=body.encode(), headers=JSON)
        assert resp.status == 422
        error = _shape(await resp.json())
        assert error["field"] == "content" and str(LIMITS["content"]) in str(error["message"])


async def test_404_and_405_answer_json(client: TestClient) -> None:
    resp = await client.get("/no/such/page")
    assert resp.status == 404 and _shape(await resp.json())["code"] == "not_found"
    resp = await client.get("/api/cases", headers=AUTH)
    assert resp.status == 405
    error = _shape(await resp.json())
    assert error["field"] == "method" and "POST" in str(error["message"]) and resp.headers["Allow"] == "POST"
    resp = await client.post("/healthz")
    assert resp.status == 405 and _shape(await resp.json())["code"] == "method_not_allowed"
    resp = await client.delete("/api/cases/LY2026-000001", headers=AUTH)
    assert resp.status == 405 and _shape(await resp.json())
