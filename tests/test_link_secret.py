"""The detail-link key (issue 10): its own secret — ``[server] link_secret`` or generated at first
start and kept in the database, the same for every process sharing it — never derived from the
API token; rotating it invalidates every link; any malformed link parameter is a 403."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.handlers.deps import Deps
from bot.handlers.link_secret import SETTING, load_link_secret
from bot.links import detail_url
from store import repo, settings
from store.models import Setting
from tests.conftest import make_config

AUTH = {"Authorization": "Bearer test-token"}


async def test_config_value_wins(deps: Deps) -> None:
    deps.config.server.link_secret = "from-config-" + "x" * 20
    assert await load_link_secret(deps.config, deps.sessions, deps.clock) == b"from-config-" + b"x" * 20
    async with deps.sessions() as session:
        assert await settings.get(session, SETTING) is None  # nothing generated when configured


async def test_generated_once_kept_in_the_database_not_from_the_api_token(deps: Deps) -> None:
    first = await load_link_secret(deps.config, deps.sessions, deps.clock)
    assert len(first) >= 32
    deps.config.api.token = "another-token-of-enough-length-1234"  # a rotated API token changes nothing
    assert await load_link_secret(deps.config, deps.sessions, deps.clock) == first  # e.g. a second process
    async with deps.sessions() as session:
        assert (await settings.get(session, SETTING) or "").encode() == first
    for token in ("test-token", "another-token-of-enough-length-1234"):
        assert token.encode() not in first
        assert first != hmac.new(token.encode(), b"liuyan/link-secret-from-api-token/v1", hashlib.sha256).digest()
    # rotation: delete the row, and the next start generates a new key
    async with deps.sessions() as session, session.begin():
        await session.execute(delete(Setting).where(Setting.name == SETTING))
    assert await load_link_secret(deps.config, deps.sessions, deps.clock) not in (first, b"")


async def test_processes_share_the_key_and_rotation_invalidates_links(sqlite_url: str, clock: ManualClock) -> None:
    one = await Runtime.start(make_config(sqlite_url), clock=clock)
    two = await Runtime.start(make_config(sqlite_url), clock=clock)
    try:
        assert one.deps.link_secret == two.deps.link_secret != b""
        async with one.deps.sessions() as session:
            assert (await settings.get(session, SETTING) or "").encode() == one.deps.link_secret
        async with TestClient(TestServer(build_app(one))) as api:
            resp = await api.post("/api/cases", headers=AUTH, json={"title": "路灯不亮", "content": "一个月了"})
            number = (await resp.json())["number"]
        # a link made by the first process's notifier opens on the second process
        async with one.deps.sessions() as session:
            case = await repo.case_by_number(session, number)
            admin = await repo.person_by_platform(session, "wecom", "wugl")
            assert case is not None and admin is not None
            person = admin.id
            link = one.deps.notifier.link(case, admin)  # type: ignore[attr-defined]
        path = urlsplit(link)
        async with TestClient(TestServer(build_app(two))) as web:
            assert (await web.get(f"{path.path}?{path.query}")).status == 200
        # rotate by config on a third process: every earlier link is refused
        cfg = make_config(sqlite_url, '[server]\nlink_secret = "rotated-secret-0123456789abcdef"')
        three = await Runtime.start(cfg, clock=clock)
        try:
            async with TestClient(TestServer(build_app(three))) as web:
                assert (await web.get(f"{path.path}?{path.query}")).status == 403
                fresh = detail_url("http://x", three.deps.link_secret, number, person, int(clock.now().timestamp()), 72)
                fresh_path = urlsplit(fresh)
                assert (await web.get(f"{fresh_path.path}?{fresh_path.query}")).status == 200
        finally:
            await three.close()
    finally:
        await two.close()
        await one.close()


@pytest.mark.parametrize(
    "change",
    [
        {"p": "+1"},
        {"p": "１"},
        {"p": " 1"},
        {"p": "1.0"},
        {"p": "-1"},
        {"e": "１７９３"},
        {"e": "1e9"},
        {"e": ""},
        {"s": ""},
        {"s": "é" * 43},
        {"s": "\x00"},
        {"p": "9" * 40},
    ],
)
async def test_malformed_parameters_are_403(sqlite_url: str, clock: ManualClock, change: dict[str, str]) -> None:
    runtime = await Runtime.start(make_config(sqlite_url), clock=clock)
    try:
        async with TestClient(TestServer(build_app(runtime))) as web:
            resp = await web.post("/api/cases", headers=AUTH, json={"title": "路灯不亮", "content": "一个月了"})
            number = (await resp.json())["number"]
            now = int(clock.now().timestamp())
            async with runtime.deps.sessions() as session:
                admin = await repo.person_by_platform(session, "wecom", "wugl")
            assert admin is not None
            good = urlsplit(detail_url("http://x", runtime.deps.link_secret, number, admin.id, now, 72))
            assert (await web.get(f"{good.path}?{good.query}")).status == 200
            query = {k: v[0] for k, v in parse_qs(good.query).items()} | change
            resp = await web.get(f"{good.path}?{urlencode(query)}")
            assert resp.status == 403, change
    finally:
        await runtime.close()
