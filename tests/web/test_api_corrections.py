"""PATCH /api/cases/{number} (issue 13): the dispatcher corrects a case's facts, on its timeline."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.fakes.api import AUTH, CASE


async def test_patch_corrects_fields_with_a_timeline_entry(client: TestClient) -> None:
    created = await (await client.post("/api/cases", json=CASE, headers=AUTH)).json()
    n = created["number"]
    fix = {"title": "某公司拖欠农民工工资", "category": "求助", "level": "市级", "contact": "13900139000"}
    resp = await client.patch(f"/api/cases/{n}", json=fix, headers=AUTH)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert (data["title"], data["category"], data["level"]) == ("某公司拖欠农民工工资", "求助", "市级")
    assert data["state"] == created["state"]
    last = data["timeline"][-1]
    assert last["action"] == "edit" and last["label"] == "更正"
    assert "留言标题" in last["comment"] and "联系方式：已更正" in last["comment"]
    assert "13900139000" not in last["comment"]  # personal data is not copied to the timeline


async def test_patch_errors(client: TestClient) -> None:
    n = (await (await client.post("/api/cases", json=CASE, headers=AUTH)).json())["number"]
    cases = [
        ({"title": ""}, 422, "title"),
        ({"level": "乡级"}, 422, "level"),
        ({"category": "不存在的类型"}, 422, "category"),
        ({"state": "closed"}, 422, "state"),
        ({"title": CASE["title"]}, 422, "state"),  # nothing changes
    ]
    for body, status, field in cases:
        resp = await client.patch(f"/api/cases/{n}", json=body, headers=AUTH)
        assert resp.status == status, (body, await resp.text())
        assert (await resp.json())["error"]["field"] == field
    resp = await client.patch("/api/cases/LY2026-424242", json={"title": "新标题"}, headers=AUTH)
    assert resp.status == 404
    resp = await client.patch(f"/api/cases/{n}", json={"title": "新标题"})
    assert resp.status == 401 and "error" in await resp.json()


async def test_patch_changes_the_route(client: TestClient) -> None:
    """第九条 routing by type over the API: ``route`` with a ``reason`` (and ``transfer_to``)."""
    n = (await (await client.post("/api/cases", json=CASE, headers=AUTH)).json())["number"]  # assigned
    body = {"route": "transfer", "reason": "当事人已向法院起诉", "transfer_to": "区法院"}
    resp = await client.patch(f"/api/cases/{n}", json=body, headers=AUTH)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert (data["state"], data["route"], data["transfer_to"], data["unit"]) == (
        "transferred",
        "transfer",
        "区法院",
        None,
    )
    assert data["transfer_note"] == "当事人已向法院起诉" and data["timeline"][-1]["action"] == "transfer"
    resp = await client.patch(
        f"/api/cases/{n}", json={"route": "courtesy", "reason": "属建议类，由督查室回复"}, headers=AUTH
    )
    data = await resp.json()
    assert (data["state"], data["route"], data["transfer_to"]) == ("registered", "courtesy", None)
    errors = [
        ({"route": "elsewhere", "reason": "理由写得很清楚"}, 422, "route"),
        ({"reason": "只有理由没有办理方式"}, 422, "route"),
        ({"route": "handle"}, 422, "reason"),  # a route change needs a reason
        ({"route": "courtesy", "reason": "已经是礼节性回复"}, 422, "route"),  # nothing changes
        ({"route": "handle", "reason": 5}, 422, "reason"),
    ]
    for body, status, field in errors:
        resp = await client.patch(f"/api/cases/{n}", json=body, headers=AUTH)
        assert resp.status == status, (body, await resp.text())
        assert (await resp.json())["error"]["field"] == field, body
    assert (await (await client.get(f"/api/cases/{n}", headers=AUTH)).json())["route"] == "courtesy"
