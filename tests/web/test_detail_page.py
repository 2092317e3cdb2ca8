"""The case detail page behind a card's link: signed, expiring, bound to its recipient, readable on a
phone, the contact only for the unit's handlers (issue "The full message must be readable").

Three layers: unit tests of bot/links.py; HTTP tests on both databases; a real headless Chromium
at a phone viewport (Debian's chromium driven by Playwright; SQLite only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.domain.lifecycle import NoInput, ReplyInput
from bot.domain.states import Action, Truthfulness
from bot.domain.visibility import NOT_VISIBLE
from bot.handlers.workflow import perform
from bot.links import LinkError, detail_url, sign_link, verify_link
from bot.web.detail import EXPIRED_TEXT, HIDDEN_CONTACT, HIDDEN_PETITIONER, INVALID_TEXT
from store import directory
from tests.fakes.detail_page import (
    AUTH,
    CASE,
    CHROMIUM_ARGS,
    CONTACT,
    card_link,
    chromium_or_skip,
    long_content,
    person_id_of,
    start_runtime,
)

SECRET = b"k" * 32
NOW = 1_793_000_000


# --- bot/links.py ------------------------------------------------------------------------------


def test_sign_is_deterministic_urlsafe_unpadded() -> None:
    sig = sign_link(SECRET, "LY2026-000001", 3, NOW)
    assert sig == sign_link(SECRET, "LY2026-000001", 3, NOW)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sig)  # 32 bytes, URL-safe, no "="


@pytest.mark.parametrize(
    "change",
    [
        {"number": "LY2026-000002"},
        {"person_id": 4},
        {"expires": NOW + 3600},
        {"secret": b"other-secret"},
    ],
)
def test_every_signed_field_matters(change: dict[str, Any]) -> None:
    base = {"secret": SECRET, "number": "LY2026-000001", "person_id": 3, "expires": NOW}
    assert sign_link(**base) != sign_link(**{**base, **change})


def test_verify_accepts_until_expiry_then_refuses() -> None:
    sig = sign_link(SECRET, "LY2026-000001", 3, NOW)
    verify_link(SECRET, "LY2026-000001", 3, NOW, sig, now=NOW - 10, max_ttl_hours=72)
    verify_link(SECRET, "LY2026-000001", 3, NOW, sig, now=NOW, max_ttl_hours=72)
    with pytest.raises(LinkError) as err:
        verify_link(SECRET, "LY2026-000001", 3, NOW, sig, now=NOW + 1, max_ttl_hours=72)
    assert err.value.reason == "expired"


@pytest.mark.parametrize("sig", ["", "x", "A" * 43, "é" * 43, None])
def test_verify_refuses_bad_signatures(sig: Any) -> None:
    with pytest.raises(LinkError) as err:
        verify_link(SECRET, "LY2026-000001", 3, NOW, sig, now=NOW - 10, max_ttl_hours=72)
    assert err.value.reason == "invalid"


def test_tampered_expiry_is_invalid_not_expired() -> None:
    sig = sign_link(SECRET, "LY2026-000001", 3, NOW)
    with pytest.raises(LinkError) as err:
        verify_link(SECRET, "LY2026-000001", 3, NOW + 10**6, sig, now=NOW + 10, max_ttl_hours=72)
    assert err.value.reason == "invalid"


def test_detail_url_shape_and_roundtrip() -> None:
    url = detail_url("https://liuyan.example.gov.cn/", SECRET, "LY2026-000001", 7, NOW, 72)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://liuyan.example.gov.cn/cases/LY2026-000001/view"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(q) == {"p", "e", "s"}
    assert q["p"] == "7" and int(q["e"]) == NOW + 72 * 3600
    verify_link(SECRET, "LY2026-000001", 7, int(q["e"]), q["s"], now=NOW, max_ttl_hours=72)


# --- HTTP, on SQLite and PostgreSQL ----------------------------------------------------------


def _link_expiring(runtime: Runtime, number: str, person_id: int, expires: int) -> str:
    """A correctly signed link with a chosen expiry (as a holder of the secret could make)."""
    query = urlencode(
        {"p": person_id, "e": expires, "s": sign_link(runtime.deps.link_secret, number, person_id, expires)}
    )
    return f"/cases/{number}/view?{query}"


@dataclass
class Site:
    runtime: Runtime
    client: TestClient
    clock: ManualClock
    number: str

    async def link_for(self, wecom_userid: str, number: str | None = None) -> str:
        return card_link(self.runtime, number or self.number, await person_id_of(self.runtime, wecom_userid))

    async def get(self, url: str) -> tuple[int, str, Any]:
        resp = await self.client.get(url)
        return resp.status, await resp.text(), resp.headers


@pytest.fixture
async def site(db_url: str, clock: ManualClock) -> AsyncIterator[Site]:
    runtime = await start_runtime(db_url, clock)
    async with TestClient(TestServer(build_app(runtime))) as client:
        resp = await client.post("/api/cases", json=CASE, headers=AUTH)
        assert resp.status == 201, await resp.text()
        yield Site(runtime, client, clock, (await resp.json())["number"])
    await runtime.close()


def _text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def test_unit_handler_sees_everything(site: Site) -> None:
    status, html, headers = await site.get(await site.link_for("zhangsan"))
    assert status == 200, html
    assert headers["Content-Type"].startswith("text/html") and "charset=utf-8" in headers["Content-Type"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Robots-Tag"].startswith("noindex")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp and "script" not in csp
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    text = _text_of(html)
    for expected in (
        site.number,
        CASE["title"],
        CASE["content"],
        "已交办",
        "市级",
        CASE["source"],
        "RMW-7001",
        "欠薪欠资",
        "区人社局",
        "2026-11-09 17:30（已交办）",
        "李四",
        CONTACT,
        "交办",
        "接口登记",
        "仅供 张三 办理使用",
    ):
        assert expected in text, expected
    assert HIDDEN_CONTACT not in text


async def test_unit_leader_sees_contact_co_unit_the_matter_only(site: Site) -> None:
    status, html, _ = await site.get(await site.link_for("wangkz"))  # 王科长, unit leader of 区人社局
    assert status == 200 and CONTACT in html and "李四" in html
    resp = await site.client.post(
        "/api/cases",
        headers=AUTH,
        json={**CASE, "source_ref": "RMW-7002", "co_units": ["区住建局"], "contact": "13900139000"},
    )
    number = (await resp.json())["number"]
    status, html, _ = await site.get(await site.link_for("zhaozj", number))  # co-handling unit
    text = _text_of(html)
    assert status == 200 and CASE["content"] in text  # the matter, to work on
    assert "13900139000" not in html and "李四" not in html  # not the person (docs/visibility.md)
    assert HIDDEN_CONTACT in text and HIDDEN_PETITIONER in text
    assert "区人社局（牵头）" in text and "协办：区住建局" in text


@pytest.mark.parametrize("who", ["sundc", "zhousj", "qiandj", "wugl"])
async def test_office_roles_see_petitioner_and_contact(site: Site, who: str) -> None:
    status, html, _ = await site.get(await site.link_for(who))
    assert status == 200
    assert CONTACT in html and "李四" in html and HIDDEN_CONTACT not in html
    assert CASE["content"] in _text_of(html)


async def test_another_units_handler_sees_nothing(site: Site) -> None:
    """Issue 10: a genuine link of 区住建局's handler to a case of 区人社局 shows nothing."""
    status, html, headers = await site.get(await site.link_for("zhaozj"))
    text = _text_of(html)
    assert status == 403 and NOT_VISIBLE in text and headers["Cache-Control"] == "no-store"
    for secret in (CASE["title"], CASE["content"].splitlines()[0], "李四", CONTACT, "区人社局", site.number):
        assert secret not in text, secret


async def test_sensitive_case_hidden_from_dispatcher_and_other_units(site: Site) -> None:
    resp = await site.client.post(
        "/api/cases",
        headers=AUTH,
        json={**CASE, "source_ref": "RMW-7009", "category": "党风廉政", "title": "举报某局长", "petitioner": "王五"},
    )
    number = (await resp.json())["number"]
    for who in ("qiandj", "zhaozj"):
        status, html, _ = await site.get(await site.link_for(who, number))
        assert status == 403 and "举报某局长" not in html and "王五" not in html, who
    for who in ("sundc", "zhousj", "zhangsan"):
        status, html, _ = await site.get(await site.link_for(who, number))
        assert status == 200 and "王五" in html, who


async def test_expired_link_is_refused(site: Site) -> None:
    url = await site.link_for("zhangsan")
    site.clock.advance(hours=site.runtime.config.server.link_ttl_hours - 1)
    assert (await site.get(url))[0] == 200
    site.clock.advance(hours=1, seconds=1)
    status, html, headers = await site.get(url)
    assert status == 403
    assert EXPIRED_TEXT in html and CONTACT not in html and CASE["title"] not in html
    assert headers["Cache-Control"] == "no-store"


async def test_tampered_links_are_refused(site: Site) -> None:
    good = await site.link_for("sundc")
    parts = urlsplit(good)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    zhangsan = await person_id_of(site.runtime, "zhangsan")
    flipped = ("B" if q["s"][0] == "A" else "A") + q["s"][1:]
    variants = [
        f"{parts.path}?{urlencode({**q, 's': flipped})}",  # signature
        f"{parts.path}?{urlencode({**q, 'p': zhangsan})}",  # person: the supervisor poses as a handler
        f"{parts.path}?{urlencode({**q, 'e': int(q['e']) + 86400})}",  # expiry
        f"{parts.path.replace(site.number, 'LY2026-000002')}?{parts.query}",  # number
        f"{parts.path}?{urlencode({k: v for k, v in q.items() if k != 's'})}",  # no signature
        f"{parts.path}?{urlencode({**q, 'p': 'x'})}",
        f"{parts.path}",
        # expiries far beyond [server] link_ttl_hours, even correctly signed, and absurd ones (issue 10)
        _link_expiring(site.runtime, site.number, zhangsan, int(q["e"]) + 365 * 86400),
        f"{parts.path}?{urlencode({**q, 'e': 10**18})}",
        f"{parts.path}?{urlencode({**q, 'e': -1})}",
        f"{parts.path}?{urlencode({**q, 'p': 10**30})}",
    ]
    for url in variants:
        status, html, _ = await site.get(url)
        assert status == 403, url
        assert INVALID_TEXT in html and CONTACT not in html and CASE["content"] not in html


async def test_refusals_say_what_happened_and_what_to_do(site: Site) -> None:
    """Issue 14: not just "链接无效" — what happened, and how to get a new link; nothing about the case."""
    url = await site.link_for("zhangsan")
    status, html, _ = await site.get(url.replace("s=", "s=x"))
    text = _text_of(html)
    assert status == 403 and INVALID_TEXT in text
    assert "不完整或已被改动" in text and "企业微信/钉钉中重新打开" in text and "查询 文号" in text
    assert site.number not in text and CASE["title"] not in text and CONTACT not in text
    site.clock.advance(hours=site.runtime.config.server.link_ttl_hours, seconds=1)
    status, html, _ = await site.get(url)
    text = _text_of(html)
    assert status == 403 and EXPIRED_TEXT in text and INVALID_TEXT not in text
    assert f"签发后 {site.runtime.config.server.link_ttl_hours} 小时内有效" in text
    assert f"查询 {site.number}" in text and "企业微信/钉钉中重新打开" in text
    assert CASE["title"] not in text and CASE["content"] not in text and CONTACT not in text
    assert "<kbd>" in html and "<script" not in html


async def test_unknown_case_is_404(site: Site) -> None:
    status, html, headers = await site.get(await site.link_for("zhangsan", "LY2026-999999"))
    assert status == 404
    assert "LY2026-999999" in html and headers["Content-Type"].startswith("text/html")


async def test_html_is_escaped(site: Site) -> None:
    evil = {
        **CASE,
        "source_ref": "RMW-7003",
        "title": "<script>alert(1)</script>标题",
        "content": '<img src=x onerror="alert(2)">\n</p><b>粗</b> & "引号"',
        "petitioner": "<i>李</i>",
        "contact": "<u>138</u>",
    }
    number = (await (await site.client.post("/api/cases", json=evil, headers=AUTH)).json())["number"]
    status, html, _ = await site.get(await site.link_for("zhangsan", number))
    assert status == 200
    for raw in ("<script", "<img", "<b>", "<i>", "<u>", 'onerror="'):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;标题" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    assert "&amp; &quot;引号&quot;" in html and "&lt;u&gt;138&lt;/u&gt;" in html


async def test_reply_parts_and_timeline(site: Site) -> None:
    async with site.runtime.deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", "zhangsan")
        assert person is not None
        actor = await directory.actor_for(session, person)
    await perform(site.runtime.deps, site.number, Action.ACCEPT, actor, NoInput())
    reply = ReplyInput(
        Truthfulness.MOSTLY,
        attitude="反映的问题基本属实，我局高度重视。",
        process="经调查，该公司确有拖欠工资情况，\n已责令其于11月10日前全额支付，并约谈负责人。",
        verification="11月3日派员实地核查，调取工资台账。",
        feedback="已电话联系网友，网友表示满意。",
    )
    await perform(site.runtime.deps, site.number, Action.SUBMIT, actor, reply)
    status, html, _ = await site.get(await site.link_for("sundc"))
    assert status == 200
    text = _text_of(html)
    for expected in (
        "办理情况",
        "基本属实",
        reply.attitude,
        reply.process,
        reply.verification,
        reply.feedback,
        "签收",
        "提交办理情况",
        "张三",
        "待审核",
    ):
        assert expected in text, expected
    assert text.index("交办") < text.index("签收") < text.index("提交办理情况")


async def test_never_logs_contact_or_signature(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    url = await site.link_for("zhangsan")
    sig = parse_qs(urlsplit(url).query)["s"][0]
    with caplog.at_level(logging.DEBUG):
        await site.get(url)
        await site.get(url.replace(sig, sig[::-1]))
        site.clock.advance(days=60)
        await site.get(url)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("bot", "store"))]
    assert any("viewed" in m for m in ours)
    assert any("expired" in m for m in ours) and any("invalid" in m for m in ours)
    for message in ours:
        assert sig not in message and sig[::-1] not in message and CONTACT not in message


# --- a real browser at a phone viewport (SQLite) ------------------------------------------------

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


@dataclass
class Served:
    runtime: Runtime
    base: str
    number: str
    content: str


@pytest.fixture
async def served(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Served]:
    runtime = await start_runtime(sqlite_url, clock)
    runner = web.AppRunner(build_app(runtime), access_log=None)  # as in serve(): no query strings in logs
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    content = long_content()
    async with TestClient(TestServer(build_app(runtime))) as api:
        resp = await api.post(
            "/api/cases",
            headers=AUTH,
            json={
                **CASE,
                "title": "小区物业违规收费、电梯停运问题",
                "content": content,
                "source_ref": "RMW-8001",
                "co_units": ["区住建局"],
            },
        )
        assert resp.status == 201
        number = (await resp.json())["number"]
    try:
        yield Served(runtime, base, number, content)
    finally:
        await runner.cleanup()
        await runtime.close()


@pytest.fixture
async def phone(served: Served) -> AsyncIterator[Any]:
    exe = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context(**PHONE)
        try:
            yield await context.new_page()
        finally:
            await context.close()
            await browser.close()


async def _no_horizontal_scroll(page: Any) -> None:
    sizes = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], sizes
    assert sizes[1] == 390


async def test_phone_handler_reads_full_text_and_contact(served: Served, phone: Any, tmp_path: Path) -> None:
    pid = await person_id_of(served.runtime, "zhangsan")
    resp = await phone.goto(card_link(served.runtime, served.number, pid, served.base))
    assert resp is not None and resp.status == 200
    body = phone.locator("p.text")
    assert (await body.inner_text()).strip() == served.content  # full text, line breaks kept
    for line in served.content.splitlines()[::4]:
        await phone.get_by_text(line, exact=False).first.scroll_into_view_if_needed()
        assert await phone.get_by_text(line, exact=False).first.is_visible()
    assert await phone.get_by_text(CONTACT).is_visible()
    assert await phone.get_by_text(HIDDEN_CONTACT).count() == 0
    await _no_horizontal_scroll(phone)
    font_px = await phone.evaluate("parseFloat(getComputedStyle(document.querySelector('p.text')).fontSize)")
    assert font_px >= 15  # readable without zooming
    await phone.screenshot(path=str(tmp_path / "detail-handler-phone.png"), full_page=True)


async def test_phone_co_unit_handler_sees_no_contact(served: Served, phone: Any) -> None:
    pid = await person_id_of(served.runtime, "zhaozj")  # 区住建局, the co-handling unit
    resp = await phone.goto(card_link(served.runtime, served.number, pid, served.base))
    assert resp is not None and resp.status == 200
    assert (await phone.locator("p.text").inner_text()).strip() == served.content
    assert await phone.get_by_text(HIDDEN_CONTACT).is_visible()
    assert CONTACT not in await phone.locator("body").inner_text()
    await _no_horizontal_scroll(phone)


async def test_phone_expired_link_shows_refusal(served: Served, phone: Any, tmp_path: Path) -> None:
    pid = await person_id_of(served.runtime, "zhangsan")
    url = card_link(served.runtime, served.number, pid, served.base)
    clock = served.runtime.deps.clock
    assert isinstance(clock, ManualClock)
    clock.advance(hours=served.runtime.config.server.link_ttl_hours, seconds=1)
    resp = await phone.goto(url)
    assert resp is not None and resp.status == 403
    assert await phone.get_by_text(EXPIRED_TEXT).is_visible()
    text = await phone.locator("body").inner_text()
    assert CONTACT not in text and served.content.splitlines()[0] not in text
    await _no_horizontal_scroll(phone)
    await phone.screenshot(path=str(tmp_path / "detail-expired-phone.png"))
