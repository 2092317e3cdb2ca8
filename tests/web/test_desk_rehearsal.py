"""The desk in a rehearsal office (only the sandbox, no WeCom or DingTalk): as at /sandbox/, the
sign-in page lets a visitor pick who to be; never when the sandbox is off or beside a platform."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.clock import ManualClock
from tests.fakes.sandbox import SANDBOX
from tests.web.conftest import Desk, csrf_of, desk_on

WECOM = """
[wecom]
enabled = true
corp_id = "ww0000000000000001"
agent_id = 1000002
secret = "s"
token = "t"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
"""


@pytest.fixture
async def rehearsal(db_url: str, clock: ManualClock) -> AsyncIterator[Desk]:
    async for d in desk_on(db_url, clock, SANDBOX):
        yield d


def _people(html: str) -> dict[str, str]:
    """The rehearsal form's choices: label → person id."""
    return {label: pid for pid, label in re.findall(r'<option value="(\d+)">([^<]+)</option>', html)}


async def _pick(s: aiohttp.ClientSession, person: str, token: str | None = None) -> tuple[int, str]:
    async with s.get("/desk/login") as r:
        html = await r.text()
    data = {"csrf": token if token is not None else csrf_of(html), "person": person, "next": "/desk/cases"}
    async with s.post("/desk/login/sandbox", data=data, allow_redirects=False) as r:
        return r.status, r.headers.get("Location", "") or await r.text()


async def test_a_rehearsal_visitor_picks_who_to_be(rehearsal: Desk) -> None:
    s = rehearsal.browser()
    _, html = await rehearsal.page(s, "/desk/login")
    people = _people(html)
    assert "模拟演练：选择身份进入" in html and "张三（承办人@区人社局）" in people and "吴管理（管理员）" in people
    assert await _pick(s, people["张三（承办人@区人社局）"]) == (303, "/desk/cases")
    status, html = await rehearsal.page(s, "/desk/")
    assert status == 200 and "张三" in html and "承办人" in html
    # the sandbox's own page points here
    async with s.get("/sandbox/") as r:
        assert '<a href="/desk/">办理台</a>' in await r.text()


async def test_a_rehearsal_sign_in_needs_the_pages_token_and_an_active_person(rehearsal: Desk) -> None:
    s = rehearsal.browser()
    _, html = await rehearsal.page(s, "/desk/login")
    zhang = _people(html)["张三（承办人@区人社局）"]
    status, html = await _pick(s, zhang, token="forged")
    assert status == 403 and "页面已过期" in html
    status, html = await _pick(s, "99999")
    assert status == 422 and "请选择通讯录中的人员" in html
    admin = await rehearsal.sign_in("wu")
    assert (await rehearsal.post(admin, "/desk/admin", f"/desk/admin/people/{zhang}/active", {"active": "0"}))[0] == 303
    status, html = await _pick(s, zhang)
    assert status == 422 and (await rehearsal.page(s, "/desk/"))[0] == 303


@pytest.mark.parametrize(
    "extra", ["", SANDBOX + "allow_with_platforms = true\n" + WECOM], ids=["no-sandbox", "sandbox-beside-wecom"]
)
async def test_no_picking_outside_a_rehearsal(sqlite_url: str, clock: ManualClock, extra: str) -> None:
    async for desk in desk_on(sqlite_url, clock, extra):
        s = desk.browser()
        _, html = await desk.page(s, "/desk/login")
        assert "选择身份进入" not in html and not _people(html)
        status, html = await _pick(s, "1")
        assert status == 404 and "此登录方式未启用" in html
