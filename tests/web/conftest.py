"""The web tests' fixtures: the bot's HTTP app on a test server (``client``), and the desk on a test
bench: the real app on a real port, desk accounts for the test office's people, and one
browser-like HTTP session (its own cookie jar) per person (``desk``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.handlers.accounts import add_account
from tests.conftest import make_config

PASSWORD = "correct horse battery"
#: desk user name → directory person (tests/conftest.py BASE_CONFIG)
ACCOUNTS = {
    "qian": "钱登记",  # dispatcher
    "sun": "孙督查",  # supervisor
    "zhou": "周书记",  # leader
    "zhang": "张三",  # handler, 区人社局
    "wangkz": "王科长",  # unit leader, 区人社局
    "zhao": "赵住建",  # handler, 区住建局
    "wu": "吴管理",  # admin
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class Desk:
    runtime: Runtime
    base: str
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)

    async def account(self, username: str) -> None:
        """The desk account of ``username`` (ACCOUNTS), made on first use (Argon2 takes a while)."""
        if username not in self.accounts:
            await add_account(self.runtime.deps, username, ACCOUNTS[username], PASSWORD)
            self.accounts.add(username)

    def browser(self) -> aiohttp.ClientSession:
        """A fresh cookie jar, as a new browser would have."""
        session = aiohttp.ClientSession(base_url=self.base, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(session)
        return session

    async def sign_in(self, username: str, password: str = PASSWORD) -> aiohttp.ClientSession:
        """A browser signed in as ``username`` (its form token is read from the sign-in page)."""
        await self.account(username)
        s = self.browser()
        async with s.get("/desk/login") as r:
            token = csrf_of(await r.text())
        data = {"csrf": token, "username": username, "password": password, "next": "/desk/"}
        async with s.post("/desk/login", data=data, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        return s

    async def page(self, s: aiohttp.ClientSession, path: str) -> tuple[int, str]:
        async with s.get(path, allow_redirects=False) as r:
            return r.status, await r.text()

    async def post(self, s: aiohttp.ClientSession, form_page: str, path: str, data: dict[str, Any]) -> Any:
        """Submit a form as the page that shows it would (with that page's CSRF token)."""
        _, html = await self.page(s, form_page)
        async with s.post(path, data={"csrf": csrf_of(html), **data}, allow_redirects=False) as r:
            return r.status, r.headers.get("Location", ""), await r.text()


async def serve_desk(runtime: Runtime) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def start_desk(db_url: str, clock: ManualClock, extra: str = "") -> Runtime:
    runtime = await Runtime.start(make_config(db_url, extra), clock=clock)
    if runtime.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config
        from tests.conftest import truncate_all

        await truncate_all(runtime.engine)
        await bootstrap_from_config(runtime.deps)
    return runtime


@pytest.fixture
async def desk(db_url: str, clock: ManualClock) -> AsyncIterator[Desk]:
    """The desk on SQLite and on PostgreSQL."""
    async for d in desk_on(db_url, clock):
        yield d


async def desk_on(url: str, clock: ManualClock, extra: str = "") -> AsyncIterator[Desk]:
    runtime = await start_desk(url, clock, extra)
    runner, base = await serve_desk(runtime)
    d = Desk(runtime, base)
    try:
        yield d
    finally:
        for s in d.sessions:
            await s.close()
        await runner.cleanup()
        await runtime.close()


@pytest.fixture
async def client(db_url: str, clock: ManualClock) -> AsyncIterator[TestClient]:
    config = make_config(db_url)
    runtime = await Runtime.start(config, clock=clock)
    if runtime.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config
        from tests.conftest import truncate_all

        await truncate_all(runtime.engine)
        await bootstrap_from_config(runtime.deps)
    async with TestClient(TestServer(build_app(runtime))) as c:
        yield c
    await runtime.close()
