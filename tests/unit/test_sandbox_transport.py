"""The sandbox transport and its rendering (issue 15), without a database: what the sender hands
it is kept (or classified), texts are cut where WeCom cuts them, and every shown character is
escaped — markdown gives only our own tags, cards their buttons or, once closed, the replacement
text."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.cards.models import Button, Card
from bot.platforms.sandbox.transport import SandboxTransport
from bot.ports import Outgoing
from bot.web.sandbox.render import card_html, local_url, markdown_html, message_html, text_html
from store.models import SandboxMessage

PUBLIC = "http://bot.example:8080"
CARD = Card(
    title="【交办】拖欠工资<b>",
    desc="承办单位：区人社局",
    body="主要诉求：<script>alert(1)</script>",
    fields=[("文号", "LY2026-000001")],
    buttons=[Button("签收", "ly1|acc|LY2026-000001|1", "primary"), Button("退回", "ly1|ret|LY2026-000001|1", "danger")],
    url=f"{PUBLIC}/cases/LY2026-000001/view?p=1&e=2&s=x",
)


class Kept:
    def __init__(self, fail: bool = False) -> None:
        self.messages: list[Outgoing] = []
        self.fail = fail

    async def __call__(self, message: Outgoing) -> None:
        if self.fail:
            raise OSError("database is locked")
        self.messages.append(message)


async def test_delivered_messages_are_kept() -> None:
    kept = Kept()
    transport = SandboxTransport(kept)
    text = Outgoing("sandbox", "user", "7", "text", text="您好")
    card = Outgoing("sandbox", "user", "7", "card", card=CARD, task_id="t1")
    update = Outgoing("sandbox", "card_update", "7", "card_update", card=CARD, task_id="t1")
    group = Outgoing("sandbox", "group", "supervision", "markdown", text="**逾期**")
    for message in (text, card, update, group):
        assert (await transport.deliver(message)).outcome == "sent"
    assert kept.messages == [text, card, update, group]
    assert transport.needs_card_ref is False and transport.limits.rates == ()


async def test_long_texts_are_cut_as_wecom_cuts_them() -> None:
    kept = Kept()
    await SandboxTransport(kept).deliver(Outgoing("sandbox", "user", "7", "text", text="长" * 3000))
    shown = kept.messages[0].text
    assert len(shown.encode()) <= 2048 and shown.endswith("（内容过长，未完）")


async def test_what_cannot_be_shown_is_dead_and_a_busy_store_is_retried() -> None:
    transport = SandboxTransport(Kept())
    assert (await transport.deliver(Outgoing("sandbox", "fax", "7", "text", text="x"))).outcome == "dead"
    assert (await transport.deliver(Outgoing("sandbox", "user", "7", "video"))).outcome == "dead"
    assert (await transport.deliver(Outgoing("sandbox", "user", "7", "card"))).outcome == "dead"  # no card
    busy = await SandboxTransport(Kept(fail=True)).deliver(Outgoing("sandbox", "user", "7", "text", text="x"))
    assert busy.outcome == "retry" and "locked" in busy.error


def test_text_is_escaped_and_links_work_here() -> None:
    html = text_html(f'<a href="x">点</a> 详情：{PUBLIC}/cases/LY1/view?p=1&e=2', PUBLIC)
    assert '<a href="x">' not in html and "&lt;a href=&quot;x&quot;&gt;" in html
    assert 'href="/cases/LY1/view?p=1&amp;e=2"' in html  # relative: the sandbox may run elsewhere
    assert local_url("https://other.example/x", PUBLIC) == "https://other.example/x"


def test_markdown_gives_only_our_own_tags() -> None:
    text = (
        '# 逾期清单\n**区人社局** <font color="warning">3 件</font>\n> 引用\n'
        "<img src=x onerror=alert(1)> [详情](javascript:alert(1)) [链接](https://x.example/a?b=1&c=2) `code`"
    )
    html = markdown_html(text, PUBLIC)
    assert '<div class="md-h md-h1">逾期清单</div>' in html
    assert "<b>区人社局</b>" in html and '<span class="font-warning">3 件</span>' in html
    assert '<div class="md-quote">引用</div>' in html and "<code>code</code>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript' not in html
    assert 'href="https://x.example/a?b=1&amp;c=2"' in html


def test_a_card_shows_its_buttons_until_closed() -> None:
    html = card_html(CARD.to_dict(), "t1", PUBLIC, interactive=True)
    assert "<script>" not in html and "&lt;script&gt;" in html and "拖欠工资&lt;b&gt;" in html
    assert 'data-key="ly1|acc|LY2026-000001|1"' in html and ">签收</button>" in html and ">退回</button>" in html
    assert 'href="/cases/LY2026-000001/view?p=1&amp;e=2&amp;s=x"' in html
    closed = Card.from_dict(CARD.to_dict() | {"closed": "已签收（张三 11-02 09:30）"})
    grey = card_html(closed.to_dict(), "t1", PUBLIC, interactive=True)
    assert "<button" not in grey and "已签收（张三 11-02 09:30）" in grey and 'class="card closed"' in grey
    readonly = card_html(CARD.to_dict(), "t1", PUBLIC, interactive=False)
    assert readonly.count(" disabled>") == 2


def test_a_line_shows_its_side_and_office_time() -> None:
    at = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    row = SandboxMessage(id=3, channel="user", recipient="7", direction="in", kind="text", text="待办", at=at)
    html = message_html(row, PUBLIC, ZoneInfo("Asia/Shanghai"), interactive=True)
    assert 'class="msg mine"' in html and "<time>11-02 09:30</time>" in html
