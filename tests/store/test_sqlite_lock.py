"""SQLite with another process holding the write lock (a real second connection in BEGIN
IMMEDIATE on the same file): reads do not wait, /healthz says "busy" within 5 s, an API write
answers 503 with Retry-After after a few seconds instead of hanging for 30."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from store.models import Case
from tests.conftest import make_config
from tests.fakes.api import AUTH, CASE


@pytest.fixture
async def runtime(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Runtime]:
    rt = await Runtime.start(make_config(sqlite_url), clock=clock)
    yield rt
    await rt.close()


@pytest.fixture
def held_lock(runtime: Runtime, sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another process's writer (taken once the bot runs): holds the write lock until the test ends."""
    conn = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None, timeout=0)
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    conn.execute("ROLLBACK")
    conn.close()


@pytest.mark.usefixtures("held_lock")
async def test_reads_do_not_wait_for_the_writer(runtime: Runtime) -> None:
    started = time.monotonic()
    async with runtime.deps.read_sessions() as session:
        assert (await session.execute(select(Case))).scalars().all() == []
    assert time.monotonic() - started < 2


async def test_read_sessions_cannot_write(runtime: Runtime) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    async with runtime.deps.read_sessions() as session:
        with pytest.raises(OperationalError, match="readonly"):
            await session.execute(text("DELETE FROM cases"))
    async with runtime.deps.sessions() as session, session.begin():  # the pooled connection is writable again
        await session.execute(text("DELETE FROM cases"))


@pytest.mark.usefixtures("held_lock")
async def test_health_api_reads_and_writes_under_a_held_lock(runtime: Runtime) -> None:
    async with TestClient(TestServer(build_app(runtime))) as client:
        started = time.monotonic()
        resp = await client.get("/healthz")
        assert time.monotonic() - started < 5
        assert resp.status == 503 and (await resp.json())["database"] == "busy"
        started = time.monotonic()
        resp = await client.get("/api/cases/LY2026-000001", headers=AUTH)
        assert resp.status == 404 and time.monotonic() - started < 2
        started = time.monotonic()
        resp = await client.post("/api/cases", json=CASE, headers=AUTH)
        assert time.monotonic() - started < 10
        assert resp.status == 503, await resp.text()
        assert int(resp.headers["Retry-After"]) > 0
        err = (await resp.json())["error"]
        assert err["code"] == "busy" and err["message"]


async def test_health_is_ok_without_a_held_lock(runtime: Runtime) -> None:
    async with TestClient(TestServer(build_app(runtime))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200 and (await resp.json())["database"] == "ok"
