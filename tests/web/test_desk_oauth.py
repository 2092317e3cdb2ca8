"""Signing in to the desk with WeCom (网页授权) and DingTalk (OAuth), against the fake platforms over
real HTTP: the redirect the browser is sent to, the state bound to a signed cookie, the code
exchanged for the user id exactly as the platform's API documents, and the directory deciding
who that is here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.clock import ManualClock
from tests.conftest import make_config
from tests.fakes.fake_dingtalk import FakeDingTalk
from tests.fakes.fake_wecom import FakeWeCom
from tests.web.conftest import Desk, serve_desk

USERS = ("zhangsan", "qiandj", "sundc", "stranger")


@pytest.fixture
async def wecom_desk(sqlite_url: str, clock: ManualClock) -> AsyncIterator[tuple[Desk, FakeWeCom]]:
    from bot.app import Runtime

    fake = FakeWeCom(users=USERS)
    fake.now = clock.now().timestamp()
    server = TestServer(fake.app())
    await server.start_server()
    config = make_config(sqlite_url)
    w = config.wecom
    w.enabled = True
    w.corp_id, w.agent_id, w.secret = fake.corp_id, fake.agent_id, fake.secret
    w.token, w.encoding_aes_key = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    w.api_base = str(server.make_url("")).rstrip("/")
    runtime = await Runtime.start(config, clock=clock)
    runner, base = await serve_desk(runtime)
    desk = Desk(runtime, base)
    try:
        yield desk, fake
    finally:
        for s in desk.sessions:
            await s.close()
        await runner.cleanup()
        await runtime.close()
        await server.close()


@pytest.fixture
async def dingtalk_desk(sqlite_url: str, clock: ManualClock) -> AsyncIterator[tuple[Desk, FakeDingTalk]]:
    from bot.app import Runtime

    fake = FakeDingTalk(users=["ding-zhangsan", "ding-stranger"])
    base_url = await fake.start()
    config = make_config(sqlite_url)
    d = config.dingtalk
    d.enabled, d.mode = True, "http"
    d.client_id, d.client_secret, d.robot_code = fake.client_id, fake.client_secret, fake.robot_code
    d.api_base = d.oapi_base = base_url
    d.callback_token = "cb-token-0123456789abcdef"
    from tests.fakes.fake_dingtalk import DEFAULT_TEMPLATE_ID

    d.card_template_id = DEFAULT_TEMPLATE_ID
    runtime = await Runtime.start(config, clock=clock)
    runner, base = await serve_desk(runtime)
    desk = Desk(runtime, base)
    try:
        yield desk, fake
    finally:
        for s in desk.sessions:
            await s.close()
        await runner.cleanup()
        await runtime.close()
        await fake.close()


async def _start(s: aiohttp.ClientSession, platform: str) -> tuple[str, dict[str, list[str]]]:
    async with s.get(f"/desk/login/{platform}", allow_redirects=False) as r:
        assert r.status == 302
        location = r.headers["Location"]
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}#{parts.fragment}", parse_qs(parts.query)


async def _back(s: aiohttp.ClientSession, platform: str, query: dict[str, str]) -> tuple[int, str, str]:
    async with s.get(f"/desk/login/{platform}/callback", params=query, allow_redirects=False) as r:
        return r.status, r.headers.get("Location", ""), await r.text()


async def test_wecom_sign_in(wecom_desk: tuple[Desk, FakeWeCom]) -> None:
    desk, fake = wecom_desk
    s = desk.browser()
    _, login = await desk.page(s, "/desk/login")
    assert "企业微信登录" in login and "钉钉登录" not in login
    target, query = await _start(s, "wecom")
    assert target == "https://open.weixin.qq.com/connect/oauth2/authorize#wechat_redirect"
    assert query["appid"] == [fake.corp_id] and query["scope"] == ["snsapi_base"]
    assert query["agentid"] == [str(fake.agent_id)] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8080/desk/login/wecom/callback"]
    state = query["state"][0]
    code = fake.authorize("qiandj")
    status, location, _ = await _back(s, "wecom", {"code": code, "state": state})
    assert status == 303 and location == "/desk/"
    status, html = await desk.page(s, "/desk/")
    assert status == 200 and "钱登记" in html
    [call] = fake.calls("auth/getuserinfo")
    assert call.query["code"] == code and call.query["access_token"]
    # the code is single-use: a replayed callback signs nobody in (40029)
    other = desk.browser()
    _, query = await _start(other, "wecom")
    status, _, html = await _back(other, "wecom", {"code": code, "state": query["state"][0]})
    assert status == 401 and "企业微信登录失败" in html
    assert (await desk.page(other, "/desk/"))[0] == 303


async def test_wecom_state_must_come_from_this_browser(wecom_desk: tuple[Desk, FakeWeCom]) -> None:
    desk, fake = wecom_desk
    victim, attacker = desk.browser(), desk.browser()
    _, query = await _start(attacker, "wecom")
    await _start(victim, "wecom")
    # the attacker's code and state planted in the victim's browser (login CSRF)
    status, _, html = await _back(victim, "wecom", {"code": fake.authorize("sundc"), "state": query["state"][0]})
    assert status == 403 and "重新登录" in html
    assert not fake.calls("auth/getuserinfo")  # refused before the code was spent


async def test_wecom_people_outside_the_directory(wecom_desk: tuple[Desk, FakeWeCom]) -> None:
    desk, fake = wecom_desk
    s = desk.browser()
    _, query = await _start(s, "wecom")
    status, _, html = await _back(s, "wecom", {"code": fake.authorize("stranger"), "state": query["state"][0]})
    assert status == 403 and "不在本办公室的人员名单中" in html
    _, query = await _start(s, "wecom")  # not a member of the corp at all: WeCom gives an openid only
    code = fake.authorize("zhangsan", member=False)
    status, _, html = await _back(s, "wecom", {"code": code, "state": query["state"][0]})
    assert status == 401
    assert (await desk.page(s, "/desk/"))[0] == 303


async def test_dingtalk_sign_in(dingtalk_desk: tuple[Desk, FakeDingTalk]) -> None:
    desk, fake = dingtalk_desk
    s = desk.browser()
    _, login = await desk.page(s, "/desk/login")
    assert "钉钉登录" in login
    target, query = await _start(s, "dingtalk")
    assert target == "https://login.dingtalk.com/oauth2/auth#"
    assert query["client_id"] == [fake.client_id] and query["scope"] == ["openid"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8080/desk/login/dingtalk/callback"]
    code = fake.authorize("ding-zhangsan")
    status, location, _ = await _back(s, "dingtalk", {"authCode": code, "state": query["state"][0]})
    assert status == 303 and location == "/desk/"
    status, html = await desk.page(s, "/desk/")
    assert status == 200 and "张三" in html
    # replayed code: invalidAuthCode
    other = desk.browser()
    _, query = await _start(other, "dingtalk")
    status, _, html = await _back(other, "dingtalk", {"authCode": code, "state": query["state"][0]})
    assert status == 401 and "钉钉登录失败" in html
    # a DingTalk user this office does not know
    _, query = await _start(other, "dingtalk")
    code = fake.authorize("ding-stranger")
    status, _, html = await _back(other, "dingtalk", {"authCode": code, "state": query["state"][0]})
    assert status == 403 and "不在本办公室的人员名单中" in html


async def test_platform_sign_in_is_off_without_the_platform(desk: Desk) -> None:
    s = desk.browser()
    _, login = await desk.page(s, "/desk/login")
    assert "企业微信登录" not in login and "钉钉登录" not in login
    status, _ = await desk.page(s, "/desk/login/wecom")
    assert status == 404
