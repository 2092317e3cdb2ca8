"""Times are shown in the office's own time zone (``[office] timezone``), not Beijing time: an
office in Ürümqi (UTC+6) sees its local times on the assignment card and in the case JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from store.models import OutboxMessage
from tests.conftest import make_config

URUMQI = ZoneInfo("Asia/Urumqi")  # two hours behind Asia/Shanghai, no daylight saving
AUTH = {"Authorization": "Bearer test-token"}
WECOM = """
[wecom]
enabled = true
corp_id = "ww1"
agent_id = 1
secret = "s"
token = "t"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
"""


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[tuple[Runtime, TestClient]]:
    config = make_config(db_url, WECOM)
    config.office.timezone = "Asia/Urumqi"
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=URUMQI))  # Monday morning, office time in Ürümqi
    runtime = await Runtime.start(config, clock=clock)
    if runtime.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config
        from tests.conftest import truncate_all

        await truncate_all(runtime.engine)
        await bootstrap_from_config(runtime.deps)
    async with TestClient(TestServer(build_app(runtime))) as client:
        yield runtime, client
    await runtime.close()


async def test_card_and_read_model_show_office_local_times(office: tuple[Runtime, TestClient]) -> None:
    runtime, client = office
    case = {
        "title": "某公司拖欠工资三个月",
        "content": "公司已经三个月没有发工资。",
        "unit": "区人社局",
        "received_at": "2026-11-02T08:45:00+06:00",
    }
    resp = await client.post("/api/cases", json=case, headers=AUTH)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    # five working days from Monday 09:00, at the close of the office day in Ürümqi
    assert created["due_at"] == "2026-11-09T17:30:00+06:00"
    assert created["received_at"] == "2026-11-02T08:45:00+06:00"
    resp = await client.get(f"/api/cases/{created['number']}", headers=AUTH)
    got = await resp.json()
    assert got["due_at"] == "2026-11-09T17:30:00+06:00"
    assert {e["at"] for e in got["timeline"]} == {"2026-11-02T09:00:00+06:00"}

    async with runtime.deps.sessions() as session:
        rows = (await session.execute(select(OutboxMessage).where(OutboxMessage.recipient == "zhangsan"))).scalars()
        cards = [str(m.payload) for m in rows if "【交办】" in str(m.payload)]
    assert cards, "the handler gets an assignment card"
    assert all("11-09 17:30" in c and "11-09 19:30" not in c for c in cards)  # not Beijing time
