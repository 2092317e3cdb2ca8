"""issue 11: a DingTalk Stream whose credentials are refused keeps retrying, says so in /healthz
and /metrics, and the admins are warned through the outbox (and told when it is back)."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app, build_channels
from bot.clock import ManualClock
from tests.fakes.office import Office


async def test_refused_stream_is_retried_reported_and_admins_warned(sqlite_url: str, clock: ManualClock) -> None:
    office = await Office.open(sqlite_url, clock, "dingtalk")
    client = None
    try:
        cfg = office.runtime.config.dingtalk
        cfg.mode = "stream"
        # the gateway refuses this app (e.g. Stream mode not enabled for it yet)
        office.fake.fail_next("gateway/connections/open", "authFailed", http_status=401, message="鉴权失败")
        channels = build_channels(
            office.runtime.deps,
            office.runtime.deps.notifier,  # type: ignore[arg-type]
            office.runtime.metrics,
            office.http,
        )
        office.runtime.channels = channels
        stream = channels.stream
        pauses: list[float] = []
        resume = asyncio.Event()

        async def held_sleep(seconds: float) -> None:  # the backoff, under the test's control
            pauses.append(seconds)
            await resume.wait()
            resume.clear()

        stream._sleep = held_sleep
        task = stream.start()
        async with asyncio.timeout(5):
            while not pauses:
                await asyncio.sleep(0.005)
        assert not task.done()  # a 401 does not end the stream task
        client = TestClient(TestServer(build_app(office.runtime)))
        await client.start_server()
        health = await (await client.get("/healthz")).json()
        assert health["status"] == "degraded" and health["database"] == "ok"
        assert health["dingtalk_stream"]["state"] == "auth_failed"
        assert health["dingtalk_stream"]["error"] == "authFailed" and health["dingtalk_stream"]["ok"] is False
        metrics = await (await client.get("/metrics")).text()
        assert "liuyan_dingtalk_stream_up 0.0" in metrics
        assert 'liuyan_dingtalk_stream_failures{state="auth_failed"} 1.0' in metrics
        await channels.jobs.tick()
        await office.settle()
        assert "钉钉 Stream 连接被拒绝" in office.last_text("wugl")

        # the admin fixes it; the next attempt connects
        resume.set()
        await office.fake.wait_connections(1)
        async with asyncio.timeout(5):
            while not stream.status.up:
                await asyncio.sleep(0.005)
        health = await (await client.get("/healthz")).json()
        assert health["status"] == "ok" and health["dingtalk_stream"]["state"] == "connected"
        assert "liuyan_dingtalk_stream_up 1.0" in await (await client.get("/metrics")).text()
        await channels.jobs.tick()
        await office.settle()
        assert "钉钉 Stream 连接已恢复" in office.last_text("wugl")
        await stream.stop()
    finally:
        if client is not None:
            await client.close()
        await office.close()
