"""A citizen's words inside WeCom and DingTalk markdown show as typed: no live link, emphasis,
font tag, heading, quote, code, list or image, in either dialect."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cards import builders as b
from bot.cards.dingtalk import card_markdown
from bot.cards.markdown import escape_dingtalk, escape_markdown, escape_wecom, group_excerpt
from bot.cards.models import Card
from bot.domain.scoring import ScoringRules
from bot.domain.states import State
from bot.domain.statistics import Period, UnitStats
from bot.privacy import MASK
from bot.reports.compute import HotSubject, Report
from bot.reports.summary import summary_markdown

HOSTILE = [
    "[点我](http://a.cn)",
    "**紧急**",
    '<font color="warning">加急</font>',
    "# 标题",
    "###### 小标题",
    "> 引用",
    "`code`",
    "![图](http://a.cn/x.png)",
    '<a href="http://a.cn">链接</a>',
    "<@zhangsan> 请处理",
    "&lt;font color=&quot;info&quot;&gt;",
    "第一行\n# 第二行\n> 第三行",
    "访问http://evil.example.com/x?a=1领取",
    "点击www.evil.cn或a.cn",
    "_斜体_ *斜体* ~~删除~~",
    "- 列表",
    "+ 列表",
    "1. 列表",
    "---",
    "***",
    "\r\n# 回车换行标题",
]

# what each client renders as markup (spec wecom §3.4; DingTalk's robot markdown)
WECOM_LIVE = {
    "link": re.compile(r"\[[^\]\n]*\]\([^)\n]*\)"),
    "url": re.compile(r"(?i)(?:https?|ftp)://|www\.|[a-z0-9-]+\.(?:cn|com)(?![a-z0-9])"),
    "bold": re.compile(r"\*\*"),
    "tag": re.compile(r"<\s*/?\s*[A-Za-z@!]"),
    "code": re.compile(r"`"),
    "heading": re.compile(r"(?m)^\s*#{1,6}"),
    "quote": re.compile(r"(?m)^\s*>"),
    "entity": re.compile(r"&#?[A-Za-z0-9]+;"),
}
DINGTALK_LIVE = WECOM_LIVE | {
    "italic": re.compile(r"[*_]"),
    "strike": re.compile(r"~~"),
    "list": re.compile(r"(?m)^\s*(?:[-+*]|\d+\.)(?:\s|$)"),
    "image": re.compile(r"!\["),
    "rule": re.compile(r"(?m)^\s*(?:-{3,}|\*{3,}|_{3,})\s*$"),
}
DIALECTS: dict[str, tuple[Callable[[str], str], dict[str, re.Pattern[str]]]] = {
    "wecom": (escape_wecom, WECOM_LIVE),
    "dingtalk": (escape_dingtalk, DINGTALK_LIVE),
}


def live(markdown: str, rules: dict[str, re.Pattern[str]]) -> list[str]:
    return [name for name, rule in rules.items() if rule.search(markdown)]


def reads_the_same(escaped: str, original: str) -> bool:
    """The reader sees the original characters (full-width twins), line breaks as spaces."""
    flat = re.sub(r"[\r\n]+", " ", original).lstrip()
    return unicodedata.normalize("NFKC", escaped) == unicodedata.normalize("NFKC", flat)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_are_literal(dialect: str, title: str) -> None:
    escape, rules = DIALECTS[dialect]
    escaped = escape(title)
    # alone (it starts the line) and inside a list line as the overdue list writes it
    assert live(escaped, rules) == []
    assert live(f"LY2026-000001 {escaped} 超期1个工作日", rules) == []
    assert "\n" not in escaped and "\r" not in escaped
    assert reads_the_same(escaped, title)


def test_wecom_keeps_what_wecom_does_not_parse() -> None:
    # WeCom's markdown has no italics, strike-through or lists: those signs stay ASCII there
    assert escape_wecom("a_b ~x~ - c") == "a_b ~x~ - c"
    assert escape_dingtalk("a_b ~x~") == "a＿b ～x～"


def test_ordinary_text_is_unchanged() -> None:
    text = "某小区（3号楼）路灯不亮，已反映多次！LY2026-000123 2026-12-03 10:30 3000元 3.5万元"
    assert escape_markdown(text) == text


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet='[]()<>*_`#~!-+.&;:/ \n\r1 ahtpwcn点我紧急标题font="', max_size=40))
def test_no_markup_survives_either_dialect(text: str) -> None:
    for escape, rules in DIALECTS.values():
        escaped = escape(text)
        assert live(escaped, rules) == [] and reads_the_same(escaped, text)
    assert live(escape_markdown(text), DINGTALK_LIVE) == []


def test_group_excerpt_masks_then_cuts_then_escapes() -> None:
    title = "电话１３８ １２３４ ５６７８ [点我](http://a.cn) **紧急** 请尽快处理"
    excerpt = group_excerpt(title, 18)
    assert excerpt.startswith("电话" + MASK) and len(excerpt) <= 18 and excerpt.endswith("…")
    assert "１３８" not in excerpt and "138" not in excerpt
    assert live(excerpt, DINGTALK_LIVE) == []
    # cut after masking: a number at the cut is masked whole, not half shown
    assert group_excerpt("联系13812345678", 6) == "联系［已隐…"


def test_monthly_summary_escapes_and_masks_hot_subjects() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    hostile = HotSubject("LY2026-000001", "[点我](http://a.cn) 电话138 1234 5678 **急**", "<b>类</b>", 3, 1)
    report = Report(
        Period.month(2026, 10), datetime(2026, 11, 3, 9, tzinfo=tz), tz, ScoringRules(), 1, UnitStats(), UnitStats(),
        [], [], [], [], [hostile], [],
    )  # fmt: skip
    post = "\n".join(summary_markdown(report))
    line = next(ln for ln in post.splitlines() if "LY2026-000001" in ln)
    assert live(line.removeprefix("> "), DINGTALK_LIVE) == []
    assert "5678" not in line and MASK in line


def _view(title: str, content: str) -> b.CaseView:
    return b.CaseView(
        number="LY2026-000001",
        title=title,
        content=content,
        level="一般",
        source="人民网",
        category="# 城建",
        unit="区住建局",
        state=State.ASSIGNED,
        stage=1,
        due_at=None,
        tz=ZoneInfo("Asia/Shanghai"),
    )


def test_card_excerpts_are_masked() -> None:
    card = b.assignment_card(_view("电话１３８．１２３４．５６７８", "我的电话是 138 1234 5678，邮箱 a@b.cn"), None)
    shown = card.title + card.body
    assert "５６７８" not in shown and "5678" not in shown and "a@b.cn" not in shown
    assert shown.count(MASK) == 3


def test_dingtalk_card_markdown_has_only_our_own_markup() -> None:
    url = "https://liuyan.example.gov.cn/d/LY2026-000001"
    card = b.assignment_card(_view("[点我](http://a.cn)**紧急**", '<font color="warning">加急</font>\n# 标题'), url)
    card = Card(card.title, card.desc, card.body, card.fields, card.buttons, card.url, card.source, "已签收")
    _, text = card_markdown(card)
    lines = text.split("\n\n")
    assert lines[0].startswith("#### ") and lines[-1] == f"[查看详情]({url})"
    assert lines[-2] == "**已签收**"
    body = "\n\n".join(lines[1:-2])
    assert [ln[:2] for ln in lines if ln.startswith("- ")] == ["- "] * len(card.fields)
    assert live(lines[0].removeprefix("#### "), DINGTALK_LIVE) == []
    assert live(body.replace("\n\n- ", "\n\n"), DINGTALK_LIVE) == []


@pytest.mark.parametrize("text", ["a." * 50_000, "http://" + "a" * 100_000, "a-" * 50_000 + ".cn", "&a" * 50_000])
def test_linear_time_on_long_input(text: str) -> None:
    started = time.perf_counter()
    escape_markdown(text)
    assert time.perf_counter() - started < 5
