"""``/``: the desk in production; the sandbox (tests/web/test_sandbox_api.py) when it is on."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_root_leads_to_the_desk_without_the_sandbox(client: TestClient) -> None:
    resp = await client.get("/", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/desk/"
