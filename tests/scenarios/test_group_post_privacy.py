"""Group posts leak nothing and carry no citizen markup: phone numbers in a case's title and
content (full-width, split by separators) never reach the supervision group, and a hostile title
shows as literal text — on WeCom and on DingTalk, through the fake servers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.clock import ManualClock
from bot.handlers.messaging import Outbox
from tests.conftest import SHANGHAI
from tests.fakes.office import Office


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


@pytest.fixture(params=["wecom", "dingtalk"])
async def office(request: pytest.FixtureRequest, db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    clock.set(at(2026, 2, 12, 10))
    o = await Office.open(db_url, clock, request.param)
    yield o
    await o.close()


async def tick(office: Office, when: datetime) -> None:
    office.clock.set(when)
    await office.runtime.channels.jobs.tick()
    await office.settle()


def digits(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


LINK = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)")


async def test_overdue_list_holds_no_phone_number_and_no_citizen_markup(office: Office) -> None:
    await office.register(
        title="电话１３８１２３４５６７８",
        content="我的手机 139 8765 4321，座机（0571）8888-1234，请回电。",
        contact="13987654321",
        source_ref="P1",
    )
    await office.register(title="手机138.1234.5678急", content="同上", contact=None, source_ref="P2")
    await office.register(title="[点我](http://a.cn)", contact=None, source_ref="M1")
    await office.register(title='**紧急**<font color="warning">加急</font>', contact=None, source_ref="M2")
    await office.register(title="# 标题\n> 引用", contact=None, source_ref="M3")

    await tick(office, at(2026, 2, 27, 9, 5))  # overdue: the morning list to the supervision group
    posts = office.group_posts()
    assert posts, "no overdue list was posted"
    post = "\n".join(posts)
    assert post.count("> LY") == 5  # every case is listed
    # phone numbers in any spelling: gone
    for number in ("13812345678", "13987654321", "057188881234"):
        assert number not in digits(post)
    assert "［已隐去］" in post
    # the citizen's markup shows as text, the list's own markup is untouched
    assert not LINK.search(post) and "http://" not in post
    assert "**紧急**" not in post and "<font" not in post
    assert not re.search(r"(?m)^#+ 标题|^> 引用", post)
    assert "［点我］" in post and "＊＊紧急＊＊" in post and "＃ 标题" in post
    assert post.startswith("## 超期未办结留言")


async def test_the_supervision_post_is_masked_whatever_it_holds(office: Office) -> None:
    # the last line of defence: a caller that forgot group_excerpt still leaks no number
    deps = office.runtime.deps
    async with deps.sessions() as session, session.begin():
        await Outbox(deps.config).supervision(
            session, ["## 测试\n> 联系人 138 1234 5678 / １３９８７６５４３２１"], office.clock.now(), dedupe="t"
        )
    await office.settle()
    (post,) = office.group_posts()
    assert "12345678" not in digits(post) and "87654321" not in digits(post) and "联系人" in post
