"""One case through the whole workflow in the sandbox, in a real headless Chromium (issue 15),
acting as each person in turn in tabs of their own: register → card for the handler → 签收 → the
guided four-part reply → review → leader approval → publication → follow-up → 立卷. Each person
sees what they should, and not what they should not; the other tabs update live (a WebSocket,
no reload). Screenshots at 390×844 and 1280×800 go to tests/artifacts/ (ignored by git).

The server runs as ``liuyan serve`` runs it: its own outbox sender, inbound worker and scheduler,
on a frozen base clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.domain.visibility import NOT_VISIBLE
from tests.fakes.browser import chromium_or_skip, font_env
from tests.fakes.sandbox import (
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    person_id,
    shot_path,
    start_sandbox,
)

WAIT = 20_000  # ms: the longest a page waits for a line to arrive (the work takes well under a second)
TITLE = "城南工地拖欠农民工工资"
CONTACT = "13912345678"
PEOPLE = {
    "qiandj": "钱登记",
    "zhangsan": "张三",
    "limei": "李梅",
    "zhaozj": "赵住建",
    "sundc": "孙督查",
    "zhousj": "周书记",
}


@dataclass
class Served:
    runtime: Runtime
    base: str


@pytest.fixture
async def served(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Served]:
    runtime = await start_sandbox(sqlite_url, clock)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    runtime.start_workers()  # the sender, the worker and the scheduler, as `liuyan serve` runs them
    try:
        yield Served(runtime, f"http://127.0.0.1:{runner.addresses[0][1]}")
    finally:
        await runner.cleanup()
        await runtime.close()


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[Any]:
    exe = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=exe, headless=True, args=CHROMIUM_ARGS, env=font_env(tmp_path)
        )
        try:
            yield browser
        finally:
            await browser.close()


class Desk:
    """One tab per person, all in one phone-sized browser context."""

    def __init__(self, served: Served, context: Any) -> None:
        self.served = served
        self.context = context
        self.tabs: dict[str, Any] = {}

    async def open(self, wecom: str) -> Any:
        page = await self.context.new_page()
        pid = await person_id(self.served.runtime, wecom)
        await page.goto(f"{self.served.base}/sandbox/p/{pid}")
        await page.wait_for_function("() => document.body.dataset.who !== undefined")
        self.tabs[wecom] = page
        return page

    def chat(self, wecom: str) -> Any:
        return self.tabs[wecom].locator("#chat")

    def open_card(self, wecom: str, title: str) -> Any:
        return self.chat(wecom).locator(".card:not(.closed)", has_text=title).last

    async def click(self, wecom: str, title: str, button: str) -> None:
        from playwright.async_api import expect

        card = self.open_card(wecom, title)
        await expect(card).to_be_visible(timeout=WAIT)
        await card.get_by_role("button", name=button, exact=True).click()

    async def say(self, wecom: str, text: str) -> None:
        from playwright.async_api import expect

        page = self.tabs[wecom]
        await page.fill("#say input[name=text]", text)
        await page.click("#say button[type=submit]")
        await expect(page.locator("#say input[name=text]")).to_have_value("", timeout=WAIT)  # accepted

    async def sees(self, wecom: str, text: str) -> None:
        from playwright.async_api import expect

        await expect(self.chat(wecom).get_by_text(text).last).to_be_visible(timeout=WAIT)

    async def last_line(self, wecom: str, text: str) -> None:
        """The newest line from the bot contains ``text`` (waits for it)."""
        from playwright.async_api import expect

        try:
            await expect(self.chat(wecom).locator("li.msg.bot").last).to_contain_text(text, timeout=WAIT)
        except AssertionError:
            print(f"{PEOPLE[wecom]}'s chat:", await self.chat(wecom).inner_text())
            raise

    async def never(self, wecom: str, text: str) -> None:
        assert text not in await self.chat(wecom).inner_text(), f"{PEOPLE[wecom]} sees {text!r}"

    async def shot(self, wecom: str, name: str) -> None:
        page = self.tabs[wecom]
        sizes = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1], f"{name}: the page scrolls sideways at 390 px ({sizes})"
        path = shot_path(f"sandbox-{name}-390x844")
        await page.screenshot(path=str(path))
        print(f"screenshot: {path}")


async def test_one_case_through_the_whole_workflow(served: Served, chromium: Any) -> None:
    from playwright.async_api import expect

    context = await chromium.new_context(**PHONE)
    desk = Desk(served, context)
    for wecom in PEOPLE:
        await desk.open(wecom)

    # the index: a new user finds every person and the groups
    index = await context.new_page()
    await index.goto(served.base + "/")
    assert index.url.endswith("/sandbox/")
    for name in PEOPLE.values():
        await expect(index.get_by_text(name, exact=True).first).to_be_visible()
    await expect(index.get_by_text("督查群").first).to_be_visible()
    path = shot_path("sandbox-index-390x844")
    await index.screenshot(path=str(path), full_page=True)

    # 登记 by the dispatcher (省级: a leader's 审定 is needed), assigned to 区人社局 at once
    page = desk.tabs["qiandj"]
    await page.fill("#r-title", TITLE)
    await page.fill("#r-content", "我们12名工人在城南工地干了半年，工资至今未结清，请有关部门督促解决。")
    await page.select_option("#r-unit", "区人社局")
    await page.select_option("#r-level", "省级")
    await page.select_option("#r-category", "欠薪欠资")
    await page.fill("#r-petitioner", "王先生")
    await page.fill("#r-contact", CONTACT)
    await page.click("#register button[type=submit]")
    await expect(page.locator("#toast")).to_contain_text("已登记 LY2026-000001，已交办区人社局", timeout=WAIT)
    number = "LY2026-000001"

    # the unit's handlers get the card live (no reload); another unit and the office do not
    await expect(desk.open_card("zhangsan", f"【交办】{TITLE}")).to_be_visible(timeout=WAIT)
    await expect(desk.open_card("limei", f"【交办】{TITLE}")).to_be_visible(timeout=WAIT)
    await desk.shot("zhangsan", "assigned")
    for other in ("zhaozj", "sundc", "zhousj"):
        await desk.never(other, TITLE)
    await desk.never("zhangsan", CONTACT)  # contact details never in a card

    # the signed detail link opens on this server: the handler reads the contact there
    detail = desk.open_card("zhangsan", "【交办】").get_by_role("link", name="查看详情 ›")
    async with context.expect_page() as opened:
        await detail.click()
    detail_page = await opened.value
    await expect(detail_page.get_by_text(CONTACT)).to_be_visible(timeout=WAIT)
    await detail_page.close()

    # another unit cannot even ask about it
    await desk.say("zhaozj", f"查询 {number}")
    await desk.last_line("zhaozj", NOT_VISIBLE)

    # 签收: both copies greyed with the replacement text, live in 李梅's tab too
    await desk.click("zhangsan", "【交办】", "签收")
    closed = desk.chat("limei").locator(".card.closed", has_text=f"【交办】{TITLE}")
    await expect(closed).to_contain_text("已签收（张三", timeout=WAIT)
    await expect(closed.get_by_role("button")).to_have_count(0)
    await expect(desk.chat("zhangsan").locator(".card.closed", has_text="【交办】")).to_contain_text("已签收（张三")
    await desk.shot("limei", "greyed")

    # the guided four-part reply, only for the one who signed for it
    await desk.click("zhangsan", "【办理中】", "填报办理结果")
    await desk.never("limei", "【办理中】")
    await desk.click("zhangsan", f"填报办理结果：{number}", "基本属实")
    await desk.last_line("zhangsan", "请发送【表明态度】")
    await desk.say("zhangsan", "反映问题基本属实，我局高度重视。")
    await desk.last_line("zhangsan", "请发送【工作过程】")
    await desk.say("zhangsan", "已责令该公司于11月10日前结清全部欠薪，并约谈负责人，公司已书面承诺整改。")
    await desk.last_line("zhangsan", "请发送【核查情况】")
    await desk.say("zhangsan", "11月3日派员实地核查工资台账。")
    await desk.last_line("zhangsan", "请发送【网友反馈】")
    await desk.say("zhangsan", "已电话联系网友，网友表示认可。")
    await expect(desk.chat("zhangsan").locator(".card:not(.closed)").last).to_contain_text("基本属实", timeout=WAIT)
    await desk.shot("zhangsan", "preview")
    await desk.click("zhangsan", "基本属实", "提交")

    # 审核 by the supervisor; the leader has nothing yet
    await desk.click("sundc", "【待审核】", "审核通过")
    await desk.shot("sundc", "review")
    await desk.never("zhangsan", "【待审核】")
    # 审定 by the leader
    await desk.click("zhousj", "【待审定】", "同意")
    await desk.never("sundc", "【待审定】")

    # 统一回复 by the dispatcher: not published, told by phone
    await desk.click("qiandj", "【待回复】", "不予公开")
    await desk.click("qiandj", "不予公开", "二、明显不合理诉求")
    await desk.click("qiandj", "", "电话")
    await desk.click("qiandj", "", "确认回复")
    # 回访: satisfied, resolved, the evaluation typed
    await desk.click("qiandj", "【待回访】", "满意")
    await desk.click("qiandj", "", "已化解")
    await desk.say("qiandj", "网友表示工资已全部到账，非常满意。")
    await desk.last_line("qiandj", "办结")
    # 立卷 (the 呈报文号 first: an archive needs all 16 elements)
    await desk.say("qiandj", f"呈报文号 {number} 区信字〔2026〕1号")
    await desk.last_line("qiandj", "呈报文号")
    await desk.say("qiandj", f"立卷 {number}")
    await desk.last_line("qiandj", "已立卷归档")
    await desk.shot("qiandj", "archived")

    async with served.runtime.deps.sessions() as session:
        from store import repo

        case = await repo.case_by_number(session, number)
        assert case is not None and case.state == "archived"

    # what nobody outside the case saw, all along
    await desk.never("zhaozj", TITLE)
    for wecom in ("sundc", "zhousj", "qiandj", "limei"):
        await desk.never(wecom, CONTACT)

    # the same chats on a desktop
    wide = await chromium.new_context(**DESKTOP)
    for wecom in ("qiandj", "zhangsan", "sundc", "zhousj"):
        page = await wide.new_page()
        await page.goto(f"{served.base}/sandbox/p/{await person_id(served.runtime, wecom)}")
        await expect(page.locator("#chat li.msg").first).to_be_visible()
        path = shot_path(f"sandbox-{wecom}-1280x800")
        await page.screenshot(path=str(path))
        print(f"screenshot: {path}")
    page = await wide.new_page()
    await page.goto(served.base + "/sandbox/")
    await page.screenshot(path=str(shot_path("sandbox-index-1280x800")))
    await wide.close()
    await context.close()


async def test_a_new_user_loads_the_demo_and_advances_the_clock(served: Served, chromium: Any) -> None:
    """The README's first command, then http://127.0.0.1:8080/: the demo office in one click, the
    clock moved past the deadlines, the supervision group's overdue list on its page."""
    from playwright.async_api import expect

    for name, size in (("390x844", PHONE), ("1280x800", DESKTOP)):
        context = await chromium.new_context(**size)
        page = await context.new_page()
        await page.goto(served.base + "/")
        if name == "390x844":
            await page.click("#demo")
            await expect(page.locator("#toast")).to_contain_text("示例办公室已载入", timeout=WAIT)
            await expect(page.get_by_text("陈老师", exact=True)).to_be_visible(timeout=WAIT)
            for _ in range(2):  # six working days: past the deadlines, to a morning's overdue list
                await page.click("button[data-clock=workdays][data-n='3']")
                await expect(page.locator("#toast")).to_contain_text("定时任务发出", timeout=60_000)
            await expect(page.locator("#clock")).to_contain_text("2026-11-10", timeout=WAIT)
        group = await context.new_page()
        await group.goto(served.base + "/sandbox/g/supervision")
        await expect(group.locator("#chat")).to_contain_text("超期未办结留言", timeout=WAIT)
        await expect(group.locator("#chat")).not_to_contain_text("13800001234")  # no contact in a group
        sizes = await group.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1], sizes
        await group.screenshot(path=str(shot_path(f"sandbox-group-{name}")))
        # the desk, from the sandbox's notice: a rehearsal visitor picks who to be
        await page.goto(served.base + "/sandbox/")
        await page.locator(".notice").get_by_role("link", name="办理台").click()
        await page.locator("#rehearsal").get_by_label("人员").select_option(label="孙督查（督查员）")
        await page.get_by_role("button", name="以此身份进入").click()
        await page.get_by_role("link", name="督办").click()
        await expect(page.locator("main")).to_contain_text("超期", timeout=WAIT)
        sizes = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert sizes[0] <= sizes[1], sizes
        await page.screenshot(path=str(shot_path(f"sandbox-desk-board-{name}")))
        await context.close()
