"""DingTalk HTTP mode against the running app: a leaked (timestamp, sign) pair cannot carry another
body, across processes; admin commands are refused over HTTP mode (Stream and WeCom remain)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from store.models import InboundEvent, Unit
from tests.fakes.office import Office, Request


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock, "dingtalk")
    yield o
    await o.close()


async def count(office: Office, model: type) -> int:
    async with office.runtime.deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_header_pair_is_accepted_once_even_by_another_process(office: Office, clock: ManualClock) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    fake = office.fake
    now_ms = int(clock.now().timestamp() * 1000)
    first = fake.signed_callback(fake.robot_message("zhangsan", "帮助", create_at_ms=now_ms), timestamp_ms=now_ms)
    assert await office.post(Request(first.url, first.body, first.headers)) == 200
    assert await count(office, InboundEvent) == 1
    # the attacker keeps the headers and writes their own body, as the admin
    forged = fake.signed_callback(
        fake.robot_message("wugl", "添加单位 假单位", create_at_ms=now_ms), timestamp_ms=now_ms
    )
    assert forged.headers == first.headers and forged.body != first.body
    assert await office.post(Request(forged.url, forged.body, forged.headers)) == 403
    # a second process sharing the database refuses it too
    other = await Runtime.start(office.runtime.config, clock=clock, migrate=False, http=office.http)
    try:
        async with TestClient(TestServer(build_app(other))) as client:
            resp = await client.post(forged.url, data=forged.body, headers=forged.headers)
            assert resp.status == 403
    finally:
        await other.close()
    await office.settle()
    assert await count(office, InboundEvent) == 1
    async with office.runtime.deps.sessions() as session:
        names = (await session.execute(select(Unit.name))).scalars().all()
    assert "假单位" not in names


async def test_admin_commands_are_refused_over_http_mode(office: Office) -> None:
    units = await count(office, Unit)
    await office.say("wugl", "添加单位 区教育局")
    reply = office.texts("wugl")[-1]
    assert "HTTP" in reply and "Stream" in reply and "企业微信" in reply
    await office.say("wugl", "添加成员 区住建局 陈老师 chenls 负责人")
    assert "HTTP" in office.texts("wugl")[-1]
    assert await count(office, Unit) == units
