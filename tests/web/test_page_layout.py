"""The detail page and the printable dossier laid out for phones and desktops (issue 14), checked in
a real headless Chromium at 390×844 and 1280×800 (the detail page at 1000×800 too) by the boxes Chromium lays out:

- each of the reply's four parts is (nearly) as wide as its card — not a 5-character column;
- no text block is narrower than a readable minimum;
- ``命令行(root)`` is on one line (not "命令行(ro ot)");
- the dossier keeps a left and right margin of at least 8 px on a phone;
- nothing scrolls sideways.

Screenshots go to tests/artifacts/ (ignored by git), one per page and viewport; the paths are
printed. Chromium gets the packaged CJK font (pylopdf-fonts-zh-cn) through a fontconfig file, so
the screenshots show Chinese on a machine without system CJK fonts; the assertions hold either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.domain.lifecycle import NoInput, ReplyInput
from bot.domain.states import Action, Truthfulness
from bot.exports.dossier import Dossier, TimelineEntry, render_dossier_html
from bot.handlers.workflow import perform
from bot.web.detail import EXPIRED_TEXT, INVALID_TEXT
from store import directory
from tests.fakes.browser import font_env
from tests.fakes.detail_page import (
    AUTH,
    CASE,
    CHROMIUM_ARGS,
    card_link,
    chromium_or_skip,
    long_content,
    person_id_of,
    start_runtime,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ROOT_WORD = "命令行(root)"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1, "locale": "zh-CN"},
    "laptop": {"viewport": {"width": 1000, "height": 800}, "device_scale_factor": 1, "locale": "zh-CN"},
}
MIN_TEXT_WIDTH = 180  # px: about 11 Chinese characters at 16 px, the narrowest readable text block
REPLY = ReplyInput(
    Truthfulness.MOSTLY,
    attitude="反映的问题基本属实，我局高度重视，已责成物业服务中心限期整改。",
    process=(
        "11月3日约谈物业公司负责人，责令其停止违规收费并退还已收取的费用；"
        "11月5日会同街道、社区召开业主代表座谈会，通报整改方案。\n"
        f"{ROOT_WORD}登录门禁系统服务器，恢复被误删的业主通行权限，并设置每日自动备份。"
    ),
    verification="经实地核查，3部电梯中2部已于11月6日恢复运行，另1部更换主板后于11月9日恢复；消防通道已清理。",
    feedback="11月10日电话回访网友，网友对处理结果表示满意。",
)

# Everything measured in one pass, in CSS px.
MEASURE = """
() => {
  const box = (e) => e.getBoundingClientRect();
  const content = (e) => {
    const r = box(e), s = getComputedStyle(e);
    const pad = (side) => parseFloat(s['padding' + side]) + parseFloat(s['border' + side + 'Width']);
    return {left: r.left + pad('Left'), right: r.right - pad('Right'), width: r.width - pad('Left') - pad('Right')};
  };
  const words = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let at = node.data.indexOf(WORD);
    while (at >= 0) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + WORD.length);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      words.push({lines: tops.size, height: range.getBoundingClientRect().height,
                  lineHeight: parseFloat(getComputedStyle(node.parentElement).lineHeight)});
      at = node.data.indexOf(WORD, at + 1);
    }
  }
  const texts = [...document.querySelectorAll(TEXT_SELECTOR)]
    .filter((e) => e.innerText.trim() && box(e).width > 0)
    .map((e) => ({tag: e.tagName, text: e.innerText.trim().slice(0, 20), width: box(e).width,
                  left: box(e).left, right: box(e).right}));
  const parts = [...document.querySelectorAll(PART_SELECTOR)].map((e) => {
    const card = content(e.closest(CARD_SELECTOR));
    return {label: e.previousElementSibling ? e.previousElementSibling.innerText : '', width: box(e).width,
            left: box(e).left, cardWidth: card.width, cardLeft: card.left};
  });
  return {words, texts, parts, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth};
}
"""


def _measure_js(text_selector: str, part_selector: str, card_selector: str) -> str:
    return (
        MEASURE.replace("WORD", repr(ROOT_WORD))
        .replace("TEXT_SELECTOR", repr(text_selector))
        .replace("PART_SELECTOR", repr(part_selector))
        .replace("CARD_SELECTOR", repr(card_selector))
    )


def _shot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


Opener = Callable[[str], Awaitable[Any]]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[Any]]]:
    """``await open_page("phone" | "desktop")`` → a Playwright page at that viewport."""
    exe = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        env = font_env(tmp_path)
        chromium = await pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS, env=env)
        contexts: list[Any] = []

        async def open_page(kind: str) -> Any:
            context = await chromium.new_context(**VIEWPORTS[kind])
            contexts.append(context)
            return await context.new_page()

        try:
            yield open_page
        finally:
            for context in contexts:
                await context.close()
            await chromium.close()


@dataclass
class Served:
    runtime: Runtime
    base: str
    number: str


@pytest.fixture
async def served(sqlite_url: str, clock: ManualClock) -> AsyncIterator[Served]:
    """A case with a long message and a submitted four-part reply, served on a real port."""
    runtime = await start_runtime(sqlite_url, clock)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    async with TestClient(TestServer(build_app(runtime))) as api:
        resp = await api.post(
            "/api/cases",
            headers=AUTH,
            json={
                **CASE,
                "title": "小区物业违规收费、电梯停运问题",
                "content": long_content(),
                "source_ref": "RMW-9001",
            },
        )
        assert resp.status == 201
        number = (await resp.json())["number"]
    async with runtime.deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", "zhangsan")
        assert person is not None
        actor = await directory.actor_for(session, person)
    await perform(runtime.deps, number, Action.ACCEPT, actor, NoInput())
    await perform(runtime.deps, number, Action.SUBMIT, actor, REPLY)
    try:
        yield Served(runtime, base, number)
    finally:
        await runner.cleanup()
        await runtime.close()


def _check_layout(m: dict[str, Any], *, parts: int) -> None:
    assert m["scrollWidth"] <= m["innerWidth"], "the page scrolls sideways"
    assert len(m["parts"]) >= parts, m["parts"]
    for part in m["parts"]:
        # each part spans its card: at least 95 % of the card's content box, starting at its left edge
        assert part["width"] >= 0.95 * part["cardWidth"], part
        assert abs(part["left"] - part["cardLeft"]) <= 2, part
    narrow = [t for t in m["texts"] if t["width"] < MIN_TEXT_WIDTH]
    assert narrow == [], narrow
    assert m["words"], f"{ROOT_WORD} is not on the page"
    for word in m["words"]:
        assert word["lines"] == 1 and word["height"] <= 1.2 * word["lineHeight"], word


@pytest.mark.parametrize("kind", ["phone", "desktop", "laptop"])  # the issue saw the squeeze at 1,000 px too
async def test_detail_page_layout(served: Served, browser: Opener, kind: str) -> None:
    page = await browser(kind)
    pid = await person_id_of(served.runtime, "zhangsan")
    resp = await page.goto(card_link(served.runtime, served.number, pid, served.base))
    assert resp is not None and resp.status == 200
    m = await page.evaluate(_measure_js("p, dd, li, h1, h2, footer", "dl.reply dd", "section"))
    shot = _shot_path(f"detail-{kind}")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    _check_layout(m, parts=4)
    labels = [p["label"] for p in m["parts"]]
    for label in ("表明态度", "工作过程", "核查情况", "网友反馈"):
        assert label in labels
    # the basic facts: on a phone the label stacks above its value, which takes the card's width
    dds = await page.evaluate(
        "[...document.querySelectorAll('section:first-of-type dl:not(.reply) dd')].map(e => e.getBoundingClientRect().width)"
    )
    card = await page.evaluate("document.querySelector('main > section').clientWidth - 32")
    if kind == "phone":
        assert min(dds) >= 0.95 * card, (dds, card)
    else:
        assert min(dds) >= 0.7 * card, (dds, card)


def _dossier() -> Dossier:
    long_text = "；".join(f"第{i}项：小区电梯长期停运，物业公司以维修基金不足为由拒不修复" for i in range(1, 6))
    elements = [
        ("留言文号", "LY2026-000123"),
        ("留言标题", "小区物业违规收费、电梯停运问题"),
        ("留言时间", "2026-11-01 20:00"),
        ("留言人", "李四"),
        ("联系方式", "13800138000"),
        ("留言内容", long_text),
        ("来源", "人民网·地方领导留言板（编号 RMW-9001）"),
        ("承办单位", "区住房和城乡建设局（牵头）、区市场监督管理局（协办）"),
        ("办理情况", f"经核查，{ROOT_WORD}登录门禁系统服务器恢复业主通行权限。{long_text}"),
        ("呈报文号", "区住建呈〔2026〕123号"),
    ]
    workflow = [
        ("属实程度", "基本属实"),
        ("表明态度", REPLY.attitude),
        ("工作过程", REPLY.process),
        ("核查情况", REPLY.verification),
        ("网友反馈", REPLY.feedback),
    ]
    timeline = [
        TimelineEntry("2026-11-01 20:05", "接口登记", "系统", "", "→ 待交办"),
        TimelineEntry("2026-11-02 09:10", "交办", "孙督查", "请区住建局牵头办理。", "待交办 → 已交办"),
        TimelineEntry("2026-11-02 10:00", "签收", "张三", "", "已交办 → 办理中"),
        TimelineEntry("2026-11-10 16:30", "提交办理情况", "张三", REPLY.process, "办理中 → 待审核"),
    ]
    return Dossier("LY2026-000123", "小区物业违规收费、电梯停运问题", elements, workflow, timeline, "2026-11-11 09:00")


@pytest.mark.parametrize("kind", ["phone", "desktop"])
async def test_dossier_layout(browser: Opener, kind: str) -> None:
    page = await browser(kind)
    await page.set_content(render_dossier_html(_dossier()))
    m = await page.evaluate(_measure_js("h1, h2, p, td, footer", "table.fields td", "table.fields"))
    shot = _shot_path(f"dossier-{kind}")
    await page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert m["scrollWidth"] <= m["innerWidth"], "the page scrolls sideways"
    width = m["innerWidth"]
    for text in m["texts"]:
        assert text["left"] >= 8 and text["right"] <= width - 8, text  # a margin on both sides
    narrow = [t for t in m["texts"] if t["tag"] != "TD" and t["width"] < MIN_TEXT_WIDTH]
    assert narrow == [], narrow
    values = m["parts"]
    if kind == "phone":
        # one field per block: every value as wide as the table; the record's cells too
        for value in values:
            assert value["width"] >= 0.9 * value["cardWidth"], value
        cells = [t for t in m["texts"] if t["tag"] == "TD"]
        assert min(c["width"] for c in cells) >= MIN_TEXT_WIDTH, cells
    else:
        for value in values:
            assert value["width"] >= 0.6 * value["cardWidth"], value
    for word in m["words"]:
        assert word["lines"] == 1 and word["height"] <= 1.2 * word["lineHeight"], word
    assert len(m["words"]) >= 3  # 办理情况, 工作过程, and the record


async def test_refusals_on_a_phone_say_what_to_do(served: Served, browser: Opener) -> None:
    page = await browser("phone")
    pid = await person_id_of(served.runtime, "zhangsan")
    url = card_link(served.runtime, served.number, pid, served.base)
    resp = await page.goto(url.replace("s=", "s=x"))
    assert resp is not None and resp.status == 403
    text = await page.locator("body").inner_text()
    assert INVALID_TEXT in text and "重新打开" in text and "查询 文号" in text
    assert served.number not in text and CASE["contact"] not in text and "电梯" not in text
    await page.screenshot(path=str(_shot_path("invalid-link-phone")))

    clock = served.runtime.deps.clock
    assert isinstance(clock, ManualClock)
    clock.advance(hours=served.runtime.config.server.link_ttl_hours, seconds=1)
    resp = await page.goto(url)
    assert resp is not None and resp.status == 403
    assert await page.get_by_text(EXPIRED_TEXT, exact=True).is_visible()
    text = await page.locator("body").inner_text()
    assert "企业微信/钉钉" in text and f"查询 {served.number}" in text
    assert f"{served.runtime.config.server.link_ttl_hours} 小时" in text
    assert CASE["contact"] not in text and "电梯" not in text and "物业" not in text
    box = await page.locator("section.refusal").bounding_box()
    assert box is not None and box["x"] >= 8 and box["x"] + box["width"] <= 390 - 8
    shot = _shot_path("expired-link-phone")
    await page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
