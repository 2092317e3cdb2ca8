"""What a card click leaves on the card's row: the fresh WeCom response code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import CardTask


async def refresh_response_code(session: AsyncSession, task_id: str, response_code: str) -> None:
    """A click's WeCom response code is fresher than the send's (spec §3.6): keep it on the card."""
    task = await session.get(CardTask, task_id)
    if task is not None:
        task.response_code, task.code_used = response_code, False
