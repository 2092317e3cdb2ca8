"""The desk in a real headless Chromium (/usr/bin/chromium) at 390×844 and 1280×800 (issue 15):
a dispatcher signs in, registers a case and assigns it; a supervisor sees the overdue board and
sends a 督办; a unit handler sees only the unit's cases. Assertions read the boxes Chromium lays out
(nothing scrolls sideways; one column on a phone, two on a desktop; the actions beside the case on
a desktop, below it on a phone). Screenshots go to tests/artifacts/desk-*.png (ignored by git)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.domain.lifecycle import NoInput
from bot.domain.states import Action
from bot.handlers.intake import register_case, validate_new_case
from bot.handlers.workflow import perform
from bot.web.api import API_ACTOR
from store import directory
from tests.fakes.browser import chromium_or_skip, font_env
from tests.web.conftest import PASSWORD, Desk, serve_desk, start_desk

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1, "locale": "zh-CN"},
}
SECRET_TITLE = "区住建局独有的机密标题"


@pytest.fixture
async def served(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Desk]:
    runtime = await start_desk(sqlite_url, clock)
    runner, base = await serve_desk(runtime)
    desk = Desk(runtime, base)
    try:
        yield desk
    finally:
        await runner.cleanup()
        await runtime.close()


@pytest.fixture(params=["phone", "desktop"])
async def page(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    exe = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        env = font_env(tmp_path)
        browser = await pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS, env=env)
        context = await browser.new_context(**VIEWPORTS[request.param])
        p = await context.new_page()
        p.kind = request.param  # type: ignore[attr-defined]
        try:
            yield p
        finally:
            await context.close()
            await browser.close()


async def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"desk-{name}-{page.kind}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


async def _fits(page: Any) -> None:
    """Nothing scrolls sideways, and the navigation is on screen."""
    sizes = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], sizes
    nav = await page.locator("nav[aria-label=主导航]").bounding_box()
    assert nav is not None and nav["x"] >= 0 and nav["x"] + nav["width"] <= sizes[1] + 1


async def _sign_in(page: Any, desk: Desk, username: str) -> None:
    await desk.account(username)
    await page.goto(f"{desk.base}/desk/")
    assert "/desk/login" in page.url
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_selector("nav[aria-label=主导航]")
    assert await page.evaluate("typeof htmx") == "object"  # the vendored script ran under the CSP


async def _register(desk: Desk, title: str, unit: str) -> str:
    deps = desk.runtime.deps
    new = validate_new_case(
        {"title": title, "content": f"{title}，请尽快处理。", "unit": unit},
        now=deps.clock.now(),
        tz=deps.config.office.hours().tz,
        categories=[],
    )
    return (await register_case(deps, new, API_ACTOR)).case.number


async def test_dispatcher_registers_and_assigns(served: Desk, page: Any) -> None:
    await _sign_in(page, served, "qian")
    await page.get_by_role("link", name="登记", exact=True).click()
    await page.get_by_label("留言标题").fill("小区门口路灯损坏三个月未修")
    await page.get_by_label("主要诉求").fill("小区门口三盏路灯坏了三个月，晚上出行很不安全，请尽快维修。")
    await page.get_by_label("反映人").fill("李先生")
    await page.get_by_label("联系方式").fill("13800138000")
    await _fits(page)
    await _shot(page, "register")
    await page.get_by_role("button", name="登记", exact=True).click()
    await page.wait_for_selector("text=已登记。")
    assert "/desk/cases/LY2026-" in page.url
    await page.get_by_label("交办至").select_option("区人社局")
    await page.get_by_role("button", name="交办", exact=True).click()
    await page.wait_for_selector("text=已交办。")
    assert await page.locator(".badges").inner_text() == "已交办"
    await _fits(page)
    # the case's main column and the actions: side by side on a desktop, stacked on a phone
    main = await page.locator(".main-col").bounding_box()
    side = await page.locator(".side-col").bounding_box()
    assert main is not None and side is not None
    if page.kind == "desktop":
        assert side["x"] > main["x"] + main["width"] - 1 and abs(side["y"] - main["y"]) < 2
    else:
        assert side["y"] >= main["y"] + main["height"] - 1 and side["width"] > 300
    await _shot(page, "case-assigned")
    # the same tab: sign out, sign in as the unit's handler, and 签收 (the page's token is the new session's)
    case_url = page.url.split("?")[0]
    await page.get_by_role("button", name="退出").click()
    await page.wait_for_selector("text=登录办理台")
    await served.account("zhang")
    await page.get_by_label("用户名").fill("zhang")
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_selector("text=我的待办")
    await page.locator(f"#todo a[href='{case_url.split(served.base, 1)[1]}']").click()  # boosted, no reload
    await page.wait_for_selector("text=我可以办理")
    await page.locator("details.action", has_text="签收").get_by_role("button", name="签收").click()
    await page.wait_for_selector("text=已签收。")


async def test_supervisor_sees_the_board_and_supervises(served: Desk, page: Any, clock: ManualClock) -> None:
    number = await _register(served, "拖欠农民工工资", "区人社局")
    await _register(served, "小区噪声扰民", "区住建局")
    async with served.runtime.deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", "zhangsan")
        assert person is not None
        actor = await directory.actor_for(session, person)
    await perform(served.runtime.deps, number, Action.ACCEPT, actor, NoInput())
    clock.advance(days=40)
    await _sign_in(page, served, "sun")
    await page.get_by_role("link", name="督办", exact=True).click()
    group = page.locator("[data-unit=区人社局]")
    await group.wait_for()
    assert number in await group.inner_text()
    card = await group.bounding_box()
    width = VIEWPORTS[page.kind]["viewport"]["width"]
    assert card is not None and card["width"] >= min(width - 40, 900)
    await _fits(page)
    await _shot(page, "board")
    await group.get_by_role("button", name="督办").click()
    await page.wait_for_selector("text=已督办（1件）。")
    await page.goto(f"{served.base}/desk/cases/{number}")
    assert "孙督查" in await page.locator("ol.timeline").inner_text()


async def test_unit_handler_sees_only_the_units_cases(served: Desk, page: Any) -> None:
    mine = [await _register(served, f"社保缴费问题{i}", "区人社局") for i in range(3)]
    theirs = await _register(served, SECRET_TITLE, "区住建局")
    await _sign_in(page, served, "zhang")
    await page.get_by_role("link", name="留言台账").click()
    await page.wait_for_selector("#ledger li.case")
    text = await page.locator("main").inner_text()
    assert SECRET_TITLE not in text and theirs not in text
    assert all(n in text for n in mine) and "共 3 件" in text
    boxes = [await li.bounding_box() for li in await page.locator("#ledger li.case").all()]
    tops = {round(b["y"]) for b in boxes if b}
    # two cases side by side on a desktop, one column on a phone
    assert len(tops) == (2 if page.kind == "desktop" else 3)
    await _fits(page)
    await _shot(page, "ledger-handler")
    # filter: a keyword, and (under 更多条件) only overdue cases
    await page.get_by_label("关键词").fill("问题1")
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_selector("text=共 1 件")
    assert mine[1] in await page.locator("#ledger").inner_text() and "q=" in page.url
    await page.get_by_text("更多条件").click()
    await page.get_by_label("只看超期").check()
    await page.get_by_role("button", name="查询").click()
    await page.wait_for_selector("text=没有符合条件的留言件。")
    await _fits(page)
    await page.goto(f"{served.base}/desk/cases/{theirs}")
    assert SECRET_TITLE not in await page.content()
    assert "未找到此留言件，或您无权查看" in await page.locator("main").inner_text()


async def test_admin_adds_a_unit_and_a_handler(served: Desk, page: Any) -> None:
    await _sign_in(page, served, "wu")
    await page.get_by_role("link", name="管理").click()
    await page.wait_for_selector("text=添加或修改单位")
    assert await page.locator(".who small").inner_text() == "管理员"
    unit_form = page.locator("#unit-form")
    await unit_form.get_by_label("单位名称").fill("区教育局")
    await unit_form.get_by_label("简称").fill("教育")
    await unit_form.get_by_role("button", name="保存单位").click()
    await page.wait_for_selector("text=单位已保存。")
    member_form = page.locator("#member-form")
    await member_form.get_by_label("姓名").fill("郑老师")
    await member_form.get_by_label("企业微信账号").fill("zhengls")
    await member_form.get_by_label("角色").select_option("handler")
    await member_form.get_by_label("所属单位").select_option("区教育局")
    await member_form.get_by_role("button", name="保存人员").click()
    await page.wait_for_selector("text=人员已保存。")
    assert "郑老师（承办人）" in await page.locator("[data-unit=区教育局]").inner_text()
    await _fits(page)
    # each person's line: the name, the role with its 撤销 and 停用 stay inside the card
    line = page.locator("li[data-person=郑老师]")
    card = await page.locator("section.card", has=line).bounding_box()
    for part in (line, line.get_by_role("button", name="撤销"), line.get_by_role("button", name="停用")):
        box = await part.bounding_box()
        assert box is not None and card is not None
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 1
    # the two form fields side by side on a desktop, one column on a phone
    name_box = await member_form.get_by_label("姓名").bounding_box()
    id_box = await member_form.get_by_label("企业微信账号").bounding_box()
    assert name_box is not None and id_box is not None
    if page.kind == "desktop":
        assert abs(name_box["y"] - id_box["y"]) < 2
    else:
        assert id_box["y"] > name_box["y"] + name_box["height"] - 1
    await _shot(page, "admin")
    await line.get_by_role("button", name="停用").click()
    await page.wait_for_selector("text=已停用：不再接收卡片和提醒")
    assert "已停用" in await page.locator("li[data-person=郑老师]").inner_text()
