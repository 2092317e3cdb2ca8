"""Writing corrected facts of a case (bot/handlers/corrections.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from store.db import Session
from store.models import Case
from store.search import index_pending


async def update_case(session: Session, case_id: int, values: dict[str, Any]) -> None:
    """Set corrected columns. The version is kept: a corrected title does not make the units'
    open cards stale (their buttons act on the same step of the case)."""
    await session.execute(
        update(Case).where(Case.id == case_id).values(**values).execution_options(synchronize_session=False)
    )
    if "title" in values or "content" in values:
        await index_pending(session)
