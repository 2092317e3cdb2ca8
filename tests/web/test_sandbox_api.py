"""The sandbox's edge over real HTTP (issue 15): typed text and clicks enter the inbound path once,
cards come back through the outbox and are greyed after a click, only the recipient may click,
writes need the page's header, the clock runs the scheduled tick, the pages update live."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import ManualClock, OffsetClock
from bot.config_check import platform_problems
from bot.handlers.messaging import sandbox_user
from bot.web.sandbox import rehearsal
from store import sandbox as rows
from store.models import SandboxMessage
from tests.conftest import make_config
from tests.fakes.sandbox import SANDBOX, person_id, settle, start_sandbox

HEADERS = {"X-Sandbox": "1"}
_ids = itertools.count(1)


def rid() -> str:
    return f"req{next(_ids):08d}"


@dataclass
class Sandbox:
    runtime: Runtime
    client: TestClient

    async def pid(self, wecom: str) -> int:
        return await person_id(self.runtime, wecom)

    async def say(self, wecom: str, text: str, request_id: str | None = None) -> Any:
        body = {"who": str(await self.pid(wecom)), "text": text, "id": request_id or rid()}
        return await self.client.post("/sandbox/api/say", json=body, headers=HEADERS)

    async def click(self, wecom: str, task_id: str, key: str) -> Any:
        body = {"who": str(await self.pid(wecom)), "task_id": task_id, "key": key, "id": rid()}
        return await self.client.post("/sandbox/api/click", json=body, headers=HEADERS)

    async def chat(self, wecom: str) -> list[SandboxMessage]:
        async with self.runtime.deps.sessions() as session:
            return await rows.history(session, "user", sandbox_user(await self.pid(wecom)))

    async def register(self, title: str, unit: str = "区人社局") -> str:
        body = {"who": str(await self.pid("qiandj")), "title": title, "content": "工资拖欠三个月。", "unit": unit}
        resp = await self.client.post("/sandbox/api/register", json=body, headers=HEADERS)
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["number"])


@pytest.fixture
async def sandbox(db_url: str, clock: ManualClock) -> AsyncIterator[Sandbox]:
    runtime = await start_sandbox(db_url, clock)
    async with TestClient(TestServer(build_app(runtime))) as client:
        try:
            yield Sandbox(runtime, client)
        finally:
            await runtime.close()


def cards(chat: list[SandboxMessage]) -> list[SandboxMessage]:
    return [m for m in chat if m.kind == "card"]


def button(card: SandboxMessage, text: str) -> str:
    assert card.data is not None
    return next(b["key"] for b in card.data["buttons"] if b["text"] == text)


async def test_root_leads_a_new_user_to_the_sandbox(sandbox: Sandbox) -> None:
    resp = await sandbox.client.get("/", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/sandbox/"
    page = await (await sandbox.client.get("/sandbox/")).text()
    assert "模拟工作台" in page and "钱登记" in page and "督查群" in page and "区人社局" in page


async def test_a_repeated_request_is_processed_once(sandbox: Sandbox) -> None:
    first = await sandbox.say("zhangsan", "待办", "same-request-0001")
    again = await sandbox.say("zhangsan", "待办", "same-request-0001")
    assert (await first.json()) == {"stored": True}
    assert (await again.json()) == {"stored": False}
    await settle(sandbox.runtime)
    chat = await sandbox.chat("zhangsan")
    assert [m.direction for m in chat] == ["in", "out"]  # one line typed, one answer
    assert chat[0].text == "待办"
    async with sandbox.runtime.deps.sessions() as session:
        from sqlalchemy import func, select

        from store.models import InboundEvent

        count = (
            await session.execute(
                select(func.count()).select_from(InboundEvent).where(InboundEvent.platform == "sandbox")
            )
        ).scalar_one()
    assert count == 1


async def test_a_card_is_clicked_by_its_recipient_and_greyed_for_everyone(sandbox: Sandbox) -> None:
    number = await sandbox.register("拖欠工资")
    await settle(sandbox.runtime)
    zhang, li = cards(await sandbox.chat("zhangsan")), cards(await sandbox.chat("limei"))
    assert len(zhang) == 1 and len(li) == 1
    assert zhang[0].data is not None and zhang[0].data["title"] == "【交办】拖欠工资"
    assert await sandbox.chat("zhaozj") == []  # another unit sees nothing of it
    accept = button(zhang[0], "签收")
    # someone else cannot click Zhang's copy
    refused = await sandbox.click("limei", zhang[0].task_id or "", accept)
    assert refused.status == 403
    # a key that is not on the card is refused
    assert (await sandbox.click("zhangsan", zhang[0].task_id or "", "ly1|acc|LY2099-000001|1")).status == 400
    resp = await sandbox.click("zhangsan", zhang[0].task_id or "", accept)
    assert resp.status == 200
    await settle(sandbox.runtime)
    zhang, li = cards(await sandbox.chat("zhangsan")), cards(await sandbox.chat("limei"))
    assert zhang[0].data is not None and zhang[0].data["closed"].startswith("已签收（张三")
    assert li[0].data is not None and li[0].data["closed"].startswith("已签收（张三")
    assert zhang[1].data is not None and zhang[1].data["title"].startswith("【办理中】")
    assert len(li) == 1  # the handling card goes to the one who signed for it
    again = await sandbox.click("zhangsan", zhang[0].task_id or "", accept)
    assert again.status == 409 and "已签收" in (await again.json())["error"]
    page = await (await sandbox.client.get(f"/sandbox/p/{await sandbox.pid('zhangsan')}")).text()
    assert "已签收（张三" in page and number in page


async def test_writes_need_the_page_header(sandbox: Sandbox) -> None:
    body = {"who": str(await sandbox.pid("zhangsan")), "text": "待办", "id": rid()}
    resp = await sandbox.client.post("/sandbox/api/say", json=body)
    assert resp.status == 403
    resp = await sandbox.client.post("/sandbox/api/say", data="who=1&text=x", headers=HEADERS)
    assert resp.status == 403
    await settle(sandbox.runtime)
    assert await sandbox.chat("zhangsan") == []


async def test_only_dispatchers_register(sandbox: Sandbox) -> None:
    body = {"who": str(await sandbox.pid("zhangsan")), "title": "t", "content": "c"}
    resp = await sandbox.client.post("/sandbox/api/register", json=body, headers=HEADERS)
    assert resp.status == 403
    body = {"who": str(await sandbox.pid("qiandj")), "title": "", "content": "c"}
    resp = await sandbox.client.post("/sandbox/api/register", json=body, headers=HEADERS)
    assert resp.status == 422 and (await resp.json())["error"] == "标题：必填"
    body = {"who": str(await sandbox.pid("qiandj")), "title": "t", "content": "c", "unit": "不存在的局"}
    resp = await sandbox.client.post("/sandbox/api/register", json=body, headers=HEADERS)
    assert resp.status == 422, await resp.text()


async def test_markup_in_typed_text_is_shown_as_text(sandbox: Sandbox) -> None:
    await sandbox.say("zhangsan", '<img src=x onerror="alert(1)">**x**')
    page = await (await sandbox.client.get(f"/sandbox/p/{await sandbox.pid('zhangsan')}/messages")).text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


async def test_advancing_the_clock_runs_the_scheduled_tick(sandbox: Sandbox, clock: ManualClock) -> None:
    await sandbox.register("拖欠工资")
    await settle(sandbox.runtime)
    before = len(await sandbox.chat("zhangsan"))
    resp = await sandbox.client.post("/sandbox/api/clock", json={"hours": 5}, headers=HEADERS)
    assert resp.status == 200
    assert (await resp.json())["queued"] >= 1
    await settle(sandbox.runtime)
    chat = await sandbox.chat("zhangsan")
    assert len(chat) > before and any("签收" in m.text for m in chat[before:])  # 未签收 reminder
    clock_now = sandbox.runtime.deps.clock.now()
    assert clock_now - clock.now() >= timedelta(hours=5)
    # the offset is kept: a restart keeps the office time
    async with sandbox.runtime.deps.sessions() as session:
        assert await rows.clock_offset(session) >= 5 * 3600
    # working days skip the weekend: Monday 09:00 + 5 hours, + 5 working days → the next Monday
    resp = await sandbox.client.post("/sandbox/api/clock", json={"workdays": 5}, headers=HEADERS)
    assert (await resp.json())["now"] == "2026-11-09 14:00 周一"
    for wrong in ({"hours": 0}, {"hours": 241}, {"workdays": 11}, {"hours": 1, "workdays": 1}, {"hours": "1"}):
        assert (await sandbox.client.post("/sandbox/api/clock", json=wrong, headers=HEADERS)).status == 400


async def test_the_clock_is_never_moved_without_an_offset_clock(sandbox: Sandbox, clock: ManualClock) -> None:
    import dataclasses

    deps = dataclasses.replace(sandbox.runtime.deps, clock=clock)
    with pytest.raises(rehearsal.ClockRefused):
        await rehearsal.advance(deps, sandbox.runtime.channels.jobs.tick, hours=1)
    assert isinstance(sandbox.runtime.deps.clock, OffsetClock)


async def test_open_pages_hear_of_new_lines(sandbox: Sandbox) -> None:
    socket = await sandbox.client.ws_connect("/sandbox/live")

    async def next_topic() -> str:
        return str(await asyncio.wait_for(socket.receive_str(), 5))

    assert await next_topic() == "ready"
    await sandbox.say("zhangsan", "帮助")
    me = sandbox_user(await sandbox.pid("zhangsan"))
    assert await next_topic() == f"user:{me}"  # the typed line
    await settle(sandbox.runtime)
    assert await next_topic() == f"user:{me}"  # the answer
    await socket.close()


def test_the_sandbox_is_refused_next_to_a_real_platform() -> None:
    wecom = (
        "[wecom]\nenabled = true\ncorp_id='c'\nagent_id=1\nsecret='s'\ntoken='t'\nencoding_aes_key='" + "a" * 43 + "'\n"
    )
    config = make_config("sqlite+aiosqlite:///:memory:", SANDBOX + wecom)
    lines = platform_problems(config)
    assert len(lines) == 1 and lines[0].startswith("sandbox.enabled: 模拟工作台不能与企业微信或钉钉同时启用")
    allowed = make_config("sqlite+aiosqlite:///:memory:", SANDBOX + "allow_with_platforms = true\n" + wecom)
    assert platform_problems(allowed) == []
    assert make_config("sqlite+aiosqlite:///:memory:").sandbox.enabled is False  # off by default


async def test_the_supervision_group_and_a_unit_page_show_what_the_scheduler_sent(sandbox: Sandbox) -> None:
    number = await sandbox.register("拖欠工资")
    await settle(sandbox.runtime)
    # past the deadline (5 working days) to the next morning's overdue list
    resp = await sandbox.client.post("/sandbox/api/clock", json={"workdays": 6}, headers=HEADERS)
    assert resp.status == 200, await resp.text()
    await settle(sandbox.runtime)
    async with sandbox.runtime.deps.sessions() as session:
        posts = await rows.history(session, "group", "supervision")
    assert any(number in p.text and "超期未办结" in p.text for p in posts)  # the morning list
    assert any("超期" in m.text for m in await sandbox.chat("wangkz"))  # the unit leader told
    page = await (await sandbox.client.get("/sandbox/g/supervision/messages")).text()
    assert number in page and "13800" not in page
    async with sandbox.runtime.deps.sessions() as session:
        from store import directory

        unit = await directory.unit_by_name(session, "区人社局")
        assert unit is not None
    unit_page = await (await sandbox.client.get(f"/sandbox/u/{unit.id}/messages")).text()
    assert "发给 张三（承办人）" in unit_page and "发给 王科长（单位负责人）" in unit_page
    assert "发给 赵住建" not in unit_page


async def test_the_demo_button_loads_the_office_once(sandbox: Sandbox) -> None:
    resp = await sandbox.client.post("/sandbox/api/demo", json={}, headers=HEADERS)
    assert resp.status == 200
    assert "留言 15 件" in (await resp.json())["message"]
    again = await sandbox.client.post("/sandbox/api/demo", json={}, headers=HEADERS)
    assert "留言 0 件" in (await again.json())["message"]
    await settle(sandbox.runtime)
    page = await (await sandbox.client.get("/sandbox/")).text()
    assert "陈老师" in page and "区教育局" in page
    # the demo's open cases reached their handlers (cards closed before they went out never do)
    titles = [c.data["title"] for c in cards(await sandbox.chat("zhangsan")) if c.data]
    assert titles == ["【交办】某建筑公司拖欠农民工工资"]
