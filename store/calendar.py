"""The work calendar's rows: admin-imported years and single-day overrides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select

from store.db import Session
from store.models import CalendarOverride, CalendarYear


async def imported_years(session: Session) -> list[CalendarYear]:
    return list((await session.execute(select(CalendarYear))).scalars())


async def overrides(session: Session) -> dict[date, bool]:
    """Day → working day or not, as set by an admin."""
    return {r.day: r.workday for r in (await session.execute(select(CalendarOverride))).scalars()}


async def save_year(
    session: Session,
    year: int,
    *,
    holidays: Sequence[str],
    workdays: Sequence[str],
    note: str,
    by: str,
    now: datetime,
) -> None:
    """Store (or replace) an imported year (dates as ISO text)."""
    row = await session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, imported_at=now)
        session.add(row)
    row.note = note
    row.holidays = list(holidays)
    row.workdays = list(workdays)
    row.imported_at = now
    row.imported_by = by


async def set_override(session: Session, day: date, workday: bool | None, *, note: str, now: datetime) -> None:
    """Set one day's override; ``None`` removes it."""
    row = await session.get(CalendarOverride, day)
    if workday is None:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        session.add(CalendarOverride(day=day, workday=workday, note=note, created_at=now))
    else:
        row.workday, row.note = workday, note
