"""Deleting what is no longer needed: processed inbound events past the dedupe window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from store.db import Session
from store.models import InboundEvent, InboundStatus


async def prune_inbound(session: Session, before: datetime) -> int:
    """Delete events processed before ``before`` (pending and failed ones stay); returns how many."""
    stmt = delete(InboundEvent).where(InboundEvent.status == InboundStatus.DONE, InboundEvent.processed_at < before)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
