"""The intake API's bearer token: which values ``serve`` refuses, and how a fresh one is made.

``[api] token = "generate"`` asks the bot to make one at first start and keep it in the database
(``bot.runtime.api_token``); an empty token disables the API."""

from __future__ import annotations

import secrets
from typing import Final

#: the value of ``[api] token`` that asks for a generated token
GENERATE: Final = "generate"
#: shortest token accepted (``token_urlsafe(32)`` gives 43 characters)
MIN_LENGTH: Final = 24
#: values published in examples and guides: anyone knows them
EXAMPLE_VALUES: Final = frozenset({"change-me", "changeme", "test-token", "token", "secret"})

_HOW = '生成一个：liuyan token generate（或设 token = "generate"，首次启动时自动生成）'


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def refusal(token: str) -> str | None:
    """One line saying why ``serve`` must not start with ``token``; None when it may."""
    if token in ("", GENERATE):
        return None
    if token.strip().lower() in EXAMPLE_VALUES:
        return f"[api] token 是示例值，任何人都知道；{_HOW}"
    if len(token) < MIN_LENGTH:
        return f"[api] token 太短（{len(token)} 个字符，至少 {MIN_LENGTH} 个）；{_HOW}"
    return None
