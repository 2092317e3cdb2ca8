"""The HTTP interface: intake, queries, reassignment, health and metrics, bad input."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

from tests.fakes.api import AUTH, CASE


async def test_create_and_get(client: TestClient) -> None:
    resp = await client.post("/api/cases", json=CASE, headers=AUTH)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["number"] == "LY2026-000001"
    assert body["state"] == "assigned" and body["unit"] == "区人社局"
    assert body["due_at"] == "2026-11-09T17:30:00+08:00"
    resp = await client.get(f"/api/cases/{body['number']}", headers=AUTH)
    assert resp.status == 200
    got = await resp.json()
    assert got["state"] == "assigned"
    assert [e["action"] for e in got["timeline"]] == ["register", "assign"]
    assert got["contact"] == "13800138000"


async def test_intake_is_idempotent(client: TestClient) -> None:
    first = await client.post("/api/cases", json=CASE, headers=AUTH)
    second = await client.post("/api/cases", json=CASE, headers=AUTH)
    assert first.status == 201 and second.status == 200
    assert (await first.json())["number"] == (await second.json())["number"]


async def test_without_unit_stays_registered(client: TestClient) -> None:
    body = {k: v for k, v in CASE.items() if k not in ("unit", "category")}
    resp = await client.post("/api/cases", json=body, headers=AUTH)
    assert resp.status == 201
    data = await resp.json()
    assert data["state"] == "registered" and data["due_at"] is None
    resp = await client.post(f"/api/cases/{data['number']}/assign", json={"unit": "区住建局"}, headers=AUTH)
    assert resp.status == 200
    assert (await resp.json())["state"] == "assigned"
    again = await client.post(f"/api/cases/{data['number']}/assign", json={"unit": "区住建局"}, headers=AUTH)
    assert again.status == 409


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": "Basic dGVzdA=="}, 401)],
)
async def test_auth_required(client: TestClient, headers: dict[str, str], status: int) -> None:
    resp = await client.post("/api/cases", json=CASE, headers=headers)
    assert resp.status == status
    assert (await resp.json())["error"]["field"] == "Authorization"
    resp = await client.get("/api/cases/LY2026-000001", headers=headers)
    assert resp.status == status


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"content": "  "}, "content"),
        ({"title": "题" * 201}, "title"),
        ({"unit": "不存在的局"}, "unit"),
        ({"level": "乡级"}, "level"),
        ({"category": "不存在的类型"}, "category"),
        ({"received_at": "昨天"}, "received_at"),
        ({"received_at": "2099-01-01T00:00:00+08:00"}, "received_at"),
        ({"complex": "maybe"}, "complex"),
        ({"title": ["a"]}, "title"),
        ({"nonsense": 1}, "nonsense"),
        ({"co_units": "区住建局"}, "co_units"),
        ({"co_units": ["不存在的局"]}, "co_units"),
        ({"contact": "1" * 201}, "contact"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient, patch: dict[str, object], field: str
) -> None:
    body = {**CASE, **patch}
    resp = await client.post("/api/cases", json=body, headers=AUTH)
    assert 400 <= resp.status < 500
    err = (await resp.json())["error"]
    assert err["field"] == field, err
    assert err["message"]
    missing = await client.get("/api/cases/LY2026-000001", headers=AUTH)
    assert missing.status == 404


async def test_malformed_bodies(client: TestClient) -> None:
    resp = await client.post("/api/cases", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "body"
    resp = await client.post("/api/cases", data=b"[1,2]", headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post("/api/cases", data=b"\xff\xfe", headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400
    resp = await client.post(
        "/api/cases", data="title=x", headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 415
    huge = json.dumps({**CASE, "content": "长" * 100_000})
    resp = await client.post("/api/cases", data=huge, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 413


async def test_unknown_case_is_404(client: TestClient) -> None:
    resp = await client.get("/api/cases/LY2026-424242", headers=AUTH)
    assert resp.status == 404
    assert (await resp.json())["error"]["field"] == "number"
    resp = await client.post("/api/cases/LY2026-424242/assign", json={"unit": "区人社局"}, headers=AUTH)
    assert resp.status == 404


async def test_health_and_metrics(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    await client.post("/api/cases", json=CASE, headers=AUTH)
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.status == 200
    assert "liuyan_open_cases 1.0" in text
    assert 'liuyan_http_requests_total{route="/api/cases",status="201"} 1.0' in text


async def test_contact_never_logged(client: TestClient) -> None:
    import io
    import logging

    from bot.runtime.log_setup import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        await client.post("/api/cases", json=CASE, headers=AUTH)
        await client.post("/api/cases", json={**CASE, "level": "bad"}, headers=AUTH)
        await client.get("/api/cases/LY2026-000001", headers=AUTH)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert "LY2026-000001" in stream.getvalue()  # the case number is logged, the phone is not
    assert "13800138000" not in stream.getvalue()
