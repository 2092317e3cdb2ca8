"""The sandbox's chat lines as WeCom shows them, as HTML: every character of a message is
escaped; markdown is WeCom's small dialect (headings, ``**bold**``, ``[text](url)``,
``<font color="info|comment|warning">``, ``> quote``, `` `code` ``) turned into our own tags; a
card is drawn from the template card WeCom gets (bot.cards.wecom), with its buttons — greyed,
with the replacement text, once closed. Links to this server (the signed detail links) are made
relative, so they open on whatever address the sandbox is served at."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from bot.cards.models import Card
from bot.cards.wecom import template_card
from store.models import SandboxMessage

_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u303f\uff00-\uffef]+")
# WeCom markdown, inline: [text](url), **bold**, <font color="x">text</font>, `code`
_INLINE = re.compile(
    r"\[(?P<ltext>[^\]\n]{1,200})\]\((?P<lurl>https?://[^)\s]{1,2000})\)"
    r"|\*\*(?P<bold>[^*\n]{1,500})\*\*"
    r'|<font color="(?P<color>info|comment|warning)">(?P<ftext>[^<\n]{0,500})</font>'
    r"|`(?P<code>[^`\n]{1,500})`"
)
_STYLE_CLASS = {"primary": "primary", "danger": "danger", "default": "plain"}


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def local_url(url: str, public_url: str) -> str:
    """A link to this server made relative (the sandbox may be served on another address);
    anything else stays as it is."""
    base = public_url.rstrip("/")
    if base and url.startswith(base + "/"):
        return url[len(base) :]
    return url


def _link(url: str, text: str, public_url: str) -> str:
    return f'<a href="{_e(local_url(url, public_url))}" target="_blank" rel="noopener noreferrer">{_e(text)}</a>'


def text_html(text: str, public_url: str) -> str:
    """Plain text: escaped, URLs clickable (WeCom links them too)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(_e(text[last : match.start()]))
        out.append(_link(match.group(0), match.group(0), public_url))
        last = match.end()
    out.append(_e(text[last:]))
    return "".join(out)


def _inline(line: str, public_url: str) -> str:
    out, last = [], 0
    for m in _INLINE.finditer(line):
        out.append(_e(line[last : m.start()]))
        if m.group("ltext") is not None:
            out.append(_link(m.group("lurl"), m.group("ltext"), public_url))
        elif m.group("bold") is not None:
            out.append(f"<b>{_e(m.group('bold'))}</b>")
        elif m.group("color") is not None:
            out.append(f'<span class="font-{m.group("color")}">{_e(m.group("ftext"))}</span>')
        else:
            out.append(f"<code>{_e(m.group('code'))}</code>")
        last = m.end()
    out.append(_e(line[last:]))
    return "".join(out)


def markdown_html(text: str, public_url: str) -> str:
    """WeCom markdown (v1) as HTML; anything else shows as typed."""
    lines = []
    for line in text.split("\n"):
        heading = re.match(r"(#{1,6}) (.*)", line)
        if heading:
            level = len(heading.group(1))
            lines.append(f'<div class="md-h md-h{level}">{_inline(heading.group(2), public_url)}</div>')
        elif line.startswith(">"):
            lines.append(f'<div class="md-quote">{_inline(line[1:].lstrip(), public_url)}</div>')
        elif line.strip():
            lines.append(f"<div>{_inline(line, public_url)}</div>")
        else:
            lines.append('<div class="md-gap"></div>')
    return "".join(lines)


def card_html(card_data: dict[str, Any], task_id: str, public_url: str, *, interactive: bool) -> str:
    """A ``button_interaction`` template card as WeCom draws it (title, description, the
    key/value lines, the buttons); a closed card shows its replacement text instead of buttons."""
    card = Card.from_dict(card_data)
    wecom = template_card(card)
    title = wecom["main_title"]
    parts = [f'<div class="card-source">{_e(wecom["source"]["desc"])}</div>']
    parts.append(f'<div class="card-title">{_e(title["title"])}</div>')
    if title.get("desc"):
        parts.append(f'<div class="card-desc">{_e(title["desc"])}</div>')
    if wecom.get("sub_title_text"):
        parts.append(f'<div class="card-sub">{_e(wecom["sub_title_text"])}</div>')
    if wecom["horizontal_content_list"]:
        rows = "".join(
            f"<dt>{_e(item['keyname'])}</dt><dd>{_e(item['value'])}</dd>" for item in wecom["horizontal_content_list"]
        )
        parts.append(f'<dl class="card-fields">{rows}</dl>')
    if card.url:
        parts.append(f'<div class="card-link">{_link(card.url, "查看详情 ›", public_url)}</div>')
    if card.closed:
        parts.append(f'<div class="card-done" role="status">{_e(card.closed)}</div>')
    else:
        buttons = []
        for button in card.buttons[:6]:
            text = wecom_button_text(button.text)
            attrs = f'data-task="{_e(task_id)}" data-key="{_e(button.key)}"'
            disabled = "" if interactive else " disabled"
            cls = _STYLE_CLASS.get(button.style, "plain")
            buttons.append(f'<button type="button" class="btn {cls}" {attrs}{disabled}>{_e(text)}</button>')
        if buttons:
            parts.append(f'<div class="card-buttons">{"".join(buttons)}</div>')
    state = " closed" if card.closed else ""
    return f'<div class="card{state}" data-task="{_e(task_id)}">{"".join(parts)}</div>'


def wecom_button_text(text: str) -> str:
    return text if len(text) <= 10 else text[:9] + "…"


def when_text(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m-%d %H:%M")


def message_html(
    row: SandboxMessage, public_url: str, tz: ZoneInfo, *, interactive: bool, to: str | None = None
) -> str:
    """One chat line. ``to``: whose chat it is, in views that merge several (a unit's)."""
    side = "mine" if row.direction == "in" else "bot"
    if row.kind == "card" and row.data is not None:
        inner = card_html(row.data, row.task_id or "", public_url, interactive=interactive)
    elif row.kind == "markdown":
        inner = f'<div class="bubble md">{markdown_html(row.text, public_url)}</div>'
    elif row.kind == "image" and row.data is not None:
        src = "data:image/png;base64," + str(row.data.get("png_b64", ""))
        inner = f'<div class="bubble"><img alt="图表" src="{_e(src)}"></div>'
    else:
        inner = f'<div class="bubble text">{text_html(row.text, public_url)}</div>'
    label = f'<span class="to">发给 {_e(to)}</span>' if to else ""
    return (
        f'<li class="msg {side}" data-id="{row.id}"><div class="meta">{label}'
        f"<time>{_e(when_text(row.at, tz))}</time></div>{inner}</li>"
    )


def messages_html(
    rows: Iterable[SandboxMessage],
    public_url: str,
    tz: ZoneInfo,
    *,
    interactive: bool,
    names: dict[str, str] | None = None,
) -> str:
    items = [
        message_html(r, public_url, tz, interactive=interactive, to=(names or {}).get(r.recipient) if names else None)
        for r in rows
    ]
    if not items:
        return '<li class="empty">还没有消息。</li>'
    return "".join(items)
