"""Citizen text inside WeCom and DingTalk markdown: shown as typed, never as markup.

Neither dialect documents backslash escapes (spec wecom §3.4; DingTalk's robot markdown), so a
backslash could show up literally or not work at all. Instead every character that could start
markup is replaced by its full-width twin, which both clients show as the same sign and neither
parses: ``[`` ``]`` (links, images), ``<`` ``>`` (``<font>``, other HTML, ``<@id>`` mentions,
quotes), `` ` `` (code), ``*`` (bold, italic, rules), ``#`` (headings). Per dialect on top:

- DingTalk also has ``_italic_``, ``~~strike~~``, lists and rules, so ``_`` and ``~`` are
  replaced and a list marker or rule at the start (``- ``, ``+ ``, ``1. ``, ``---``) loses its
  ASCII sign;
- WeCom (markdown v1) has none of those: ``_`` and ``~`` stay as they are.

For both: line breaks become spaces (an inserted text never starts a line of its own, so it cannot
open a heading, quote or list), HTML entities lose their ``&``, and URLs (``scheme://``, ``www.``,
bare domains) get a full-width colon and dots so that no client turns them into a live link.

``group_excerpt`` is the one way a citizen's words get into a group post: masked (``redact``),
flattened, cut, escaped for both dialects (a group post goes to every enabled platform).
"""

from __future__ import annotations

import re

from bot.privacy import redact

_COMMON = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞", "`": "｀", "*": "＊", "#": "＃"})
_DINGTALK_ONLY = str.maketrans({"_": "＿", "~": "～"})
_BREAKS = re.compile(r"[\r\n\t\v\f\x00-\x08\x0e-\x1f\x7f\x85\u2028\u2029]+")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_URL = re.compile(
    r"(?i)(?:(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://|(?<![a-z0-9-])www\.)[^\s\u3000-\u303f\uff00-\uffef]*"
    r"|(?<![a-z0-9.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|gov|edu|int|io|top|xyz|cc|info|me|co|vip|site|"
    r"online|shop|app|link|ly|tk|ru|biz|club|ltd|tv|ai|dev)(?![a-z0-9-])[^\s\u3000-\u303f\uff00-\uffef]*"
)
_LIST_START = re.compile(r"^(?:[-+=](?=\s|$|[-=])|\d+\.(?=\s|$))")  # list item, rule, setext line
_FULL_WIDTH = str.maketrans({"-": "－", "+": "＋", "=": "＝", ".": "．"})


def _defuse_url(match: re.Match[str]) -> str:
    return match.group(0).replace("://", "：//").replace(".", "．")


def _common(text: str) -> str:
    text = _BREAKS.sub(" ", text).lstrip()
    text = _ENTITY.sub("＆", text)
    text = _URL.sub(_defuse_url, text)
    return text.translate(_COMMON)


def escape_wecom(text: str) -> str:
    """``text`` as literal text inside WeCom markdown (appchat, app message, group robot)."""
    return _common(text)


def escape_dingtalk(text: str) -> str:
    """``text`` as literal text inside DingTalk markdown (robot, action card text)."""
    text = _common(text).translate(_DINGTALK_ONLY)
    return _LIST_START.sub(lambda m: m.group(0).translate(_FULL_WIDTH), text)


def escape_markdown(text: str) -> str:
    """Literal in both dialects: for posts that go to every enabled platform."""
    return escape_dingtalk(escape_wecom(text))


def group_excerpt(text: str, limit: int) -> str:
    """A citizen's words (title, excerpt) for a group post: personal data masked, one line, at most
    ``limit`` characters (cut after masking, so no half number is left), escaped for both
    dialects (the full-width signs have the same length, so the limit holds)."""
    flat = redact(" ".join(text.split()))
    cut = flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"
    return escape_markdown(cut)
