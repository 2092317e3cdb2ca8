"""Rows of the history import: a past case written as it was, and the case-number counter kept
ahead of the numbers it brings."""

from __future__ import annotations

from sqlalchemy import update

from store.db import Session
from store.dialect import insert_ignore
from store.models import Case, Counter
from store.search import index_pending


async def add_past_case(session: Session, case: Case) -> Case:
    session.add(case)
    await session.flush()
    await index_pending(session)
    return case


async def raise_counter(session: Session, name: str, at_least: int) -> None:
    """Make the counter ``name`` at least ``at_least`` (the next number comes after it)."""
    await session.execute(insert_ignore(session, Counter, ["name"], {"name": name, "value": 0}))
    await session.execute(update(Counter).where(Counter.name == name, Counter.value < at_least).values(value=at_least))
