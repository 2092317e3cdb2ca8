"""POST /api/cases takes strict JSON: wrong types, hostile nesting, huge numbers, NaN, lone
surrogates and piles of co-units are 4xx naming the field — never a 500, never a row."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.fakes.api import AUTH, CASE

JSON = {**AUTH, "Content-Type": "application/json"}


async def nothing_written(client: TestClient) -> None:
    resp = await client.get("/api/cases/LY2026-000001", headers=AUTH)
    assert resp.status == 404


def raw_case(**raw: str) -> bytes:
    """CASE as JSON text with some values given as raw JSON (not representable via json.dumps)."""
    import json

    parts = [f"{json.dumps(k)}: {raw[k] if k in raw else json.dumps(v, ensure_ascii=False)}" for k, v in CASE.items()]
    parts += [f"{json.dumps(k)}: {v}" for k, v in raw.items() if k not in CASE]
    return ("{" + ", ".join(parts) + "}").encode()


@pytest.mark.parametrize(
    ("raw", "field", "code"),
    [
        ({"title": "123"}, "title", "wrong_type"),
        ({"petitioner": "12.5"}, "petitioner", "wrong_type"),
        ({"source_ref": "true"}, "source_ref", "wrong_type"),
        ({"contact": "{}"}, "contact", "wrong_type"),
        ({"urgent": '"是"'}, "urgent", "wrong_type"),
        ({"complex": "1"}, "complex", "wrong_type"),
        ({"title": "NaN"}, "title", "not_a_number"),
        ({"content": "Infinity"}, "content", "not_a_number"),
        ({"contact": "-Infinity"}, "contact", "not_a_number"),
        ({"source_ref": "1" + "0" * 5000}, "source_ref", "number_too_large"),
        ({"source_ref": "1e400"}, "source_ref", "number_too_large"),
        ({"title": '"\\ud800 lone"'}, "title", "invalid_text"),
        ({"content": '"ok \\udfff"'}, "content", "invalid_text"),
        ({"co_units": '["\\udc00"]'}, "co_units", "invalid_text"),
    ],
)
async def test_strict_values_are_refused_with_the_field(
    client: TestClient, raw: dict[str, str], field: str, code: str
) -> None:
    resp = await client.post("/api/cases", data=raw_case(**raw), headers=JSON)
    assert 400 <= resp.status < 500, await resp.text()
    err = (await resp.json())["error"]
    assert (err["field"], err["code"]) == (field, code), err
    assert err["message"]
    await nothing_written(client)


@pytest.mark.parametrize("depth", [30_000, 100])
async def test_deep_nesting_is_400(client: TestClient, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    resp = await client.post("/api/cases", data=raw_case(co_units=deep), headers=JSON)
    assert resp.status == 400, await resp.text()
    err = (await resp.json())["error"]
    assert err["code"] == "too_deep" and err["message"]
    await nothing_written(client)


async def test_deep_nesting_inside_strings_is_just_text(client: TestClient) -> None:
    resp = await client.post("/api/cases", json={**CASE, "content": "[" * 5000 + "{"}, headers=AUTH)
    assert resp.status == 201, await resp.text()


async def test_a_repeated_key_is_refused(client: TestClient) -> None:
    body = raw_case()[:-1] + b', "title": 5}'
    resp = await client.post("/api/cases", data=body, headers=JSON)
    assert 400 <= resp.status < 500
    assert (await resp.json())["error"] == {"field": "title", "message": "字段重复", "code": "duplicate_key"}
    await nothing_written(client)


async def test_co_units_are_deduplicated(client: TestClient) -> None:
    resp = await client.post("/api/cases", json={**CASE, "co_units": ["区住建局", " 区住建局 "] * 500}, headers=AUTH)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["co_units"] == ["区住建局"]


async def test_too_many_co_units_are_refused(client: TestClient) -> None:
    many = [f"单位{i}" for i in range(21)]
    resp = await client.post("/api/cases", json={**CASE, "co_units": many}, headers=AUTH)
    assert resp.status == 422
    err = (await resp.json())["error"]
    assert (err["field"], err["code"]) == ("co_units", "too_many")
    await nothing_written(client)
