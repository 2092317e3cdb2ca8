"""The live work calendar: the package's years, admin-imported years and overrides from the
database, and overrides from the configuration file (which win)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar.package_data import package_years
from bot.calendar.statutory import statutory_year
from bot.domain.workcalendar import CalendarSource, WorkCalendar, YearSpec
from store.models import CalendarOverride, CalendarYear

log = logging.getLogger(__name__)


def spec_from_row(row: CalendarYear) -> YearSpec:
    return YearSpec(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        source=CalendarSource.IMPORTED,
        note=row.note,
    )


async def load_calendar(session: AsyncSession, config_overrides: Mapping[date, bool]) -> WorkCalendar:
    imported = [spec_from_row(r) for r in (await session.execute(select(CalendarYear))).scalars()]
    overrides = {r.day: r.workday for r in (await session.execute(select(CalendarOverride))).scalars()}
    overrides.update(config_overrides)
    return WorkCalendar([*package_years(), *imported], overrides, statutory_year)


async def save_year(session: AsyncSession, spec: YearSpec, *, by: str, now: datetime) -> None:
    """Store (or replace) an imported year."""
    row = await session.get(CalendarYear, spec.year)
    if row is None:
        row = CalendarYear(year=spec.year, imported_at=now)
        session.add(row)
    row.note = spec.note
    row.holidays = sorted(d.isoformat() for d in spec.holidays)
    row.workdays = sorted(d.isoformat() for d in spec.workdays)
    row.imported_at = now
    row.imported_by = by


async def set_override(session: AsyncSession, day: date, workday: bool | None, *, note: str, now: datetime) -> None:
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


class CalendarHolder:
    """Holds the current WorkCalendar; ``refresh`` reloads it after an import or on a timer
    (several processes: each refreshes from the database)."""

    def __init__(self, calendar: WorkCalendar, config_overrides: Mapping[date, bool]) -> None:
        self.current = calendar
        self._config_overrides = dict(config_overrides)

    async def refresh(self, session: AsyncSession) -> WorkCalendar:
        self.current = await load_calendar(session, self._config_overrides)
        return self.current
