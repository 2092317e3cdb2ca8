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
from store import directory, repo, settings
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
            admin = await directory.person_by_platform(session, "wecom", "wugl")
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


def _fullwidth(digits: str) -> str:
    return digits.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})


#: each variant spells the same values another way (so the signature would still match if the
#: page parsed leniently), or is plainly broken
VARIANTS = {
    "plus": lambda q: q | {"p": "+" + q["p"]},
    "space": lambda q: q | {"p": " " + q["p"]},
    "fullwidth person": lambda q: q | {"p": _fullwidth(q["p"])},
    "fullwidth expiry": lambda q: q | {"e": _fullwidth(q["e"])},
    "underscore": lambda q: q | {"e": q["e"][:3] + "_" + q["e"][3:]},
    "float": lambda q: q | {"e": q["e"] + ".0"},
    "negative": lambda q: q | {"p": "-" + q["p"]},
    "empty expiry": lambda q: q | {"e": ""},
    "empty signature": lambda q: q | {"s": ""},
    "non-ascii signature": lambda q: q | {"s": "é" * 43},
    "nul signature": lambda q: q | {"s": "\x00"},
    "huge person": lambda q: q | {"p": "9" * 40},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_malformed_parameters_are_403(sqlite_url: str, clock: ManualClock, variant: str) -> None:
    runtime = await Runtime.start(make_config(sqlite_url), clock=clock)
    try:
        async with TestClient(TestServer(build_app(runtime))) as web:
            resp = await web.post("/api/cases", headers=AUTH, json={"title": "路灯不亮", "content": "一个月了"})
            number = (await resp.json())["number"]
            now = int(clock.now().timestamp())
            async with runtime.deps.sessions() as session:
                admin = await directory.person_by_platform(session, "wecom", "wugl")
            assert admin is not None
            good = urlsplit(detail_url("http://x", runtime.deps.link_secret, number, admin.id, now, 72))
            assert (await web.get(f"{good.path}?{good.query}")).status == 200
            query = VARIANTS[variant]({k: v[0] for k, v in parse_qs(good.query).items()})
            resp = await web.get(f"{good.path}?{urlencode(query)}")
            assert resp.status == 403, variant
    finally:
        await runtime.close()
