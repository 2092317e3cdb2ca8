"""``[api] token = "generate"``: the token is made at the first start, kept in the database
(``settings``, the same for every process) and shown once on stderr to whoever started the bot
— not through the log, which may be shipped elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

from bot.api_token import new_token
from store import settings
from store.db import Sessions

SETTING = "api_token"


def _show(token: str) -> None:
    print(
        f"liuyan: 已生成接口令牌（API token），只显示这一次，请妥善保存：{token}\n"
        "liuyan: generated the API token (shown once; use it as 'Authorization: Bearer …')",
        file=sys.stderr,
        flush=True,
    )


async def stored_or_new(sessions: Sessions, now: datetime, show: Callable[[str], None] = _show) -> str:
    """The stored token; at the first start a new one, stored and shown (by the process that won)."""
    made = new_token()
    async with sessions() as session, session.begin():
        token = await settings.get_or_create(session, SETTING, lambda: made, now)
    if token == made:
        show(token)
    return token
