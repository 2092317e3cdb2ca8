"""The live work calendar: the package's years, admin-imported years and overrides from the
database, and overrides from the configuration file (which win)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime

from bot.calendar.package_data import package_years
from bot.calendar.statutory import statutory_year
from bot.domain.workcalendar import CalendarSource, WorkCalendar, YearSpec
from store import calendar as rows
from store.db import Session
from store.models import CalendarYear

log = logging.getLogger(__name__)


def spec_from_row(row: CalendarYear) -> YearSpec:
    return YearSpec(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        source=CalendarSource.IMPORTED,
        note=row.note,
    )


async def load_calendar(session: Session, config_overrides: Mapping[date, bool]) -> WorkCalendar:
    imported = [spec_from_row(r) for r in await rows.imported_years(session)]
    overrides = await rows.overrides(session)
    overrides.update(config_overrides)
    return WorkCalendar([*package_years(), *imported], overrides, statutory_year)


async def save_year(session: Session, spec: YearSpec, *, by: str, now: datetime) -> None:
    """Store (or replace) an imported year."""
    await rows.save_year(
        session,
        spec.year,
        holidays=sorted(d.isoformat() for d in spec.holidays),
        workdays=sorted(d.isoformat() for d in spec.workdays),
        note=spec.note,
        by=by,
        now=now,
    )


async def set_override(session: Session, day: date, workday: bool | None, *, note: str, now: datetime) -> None:
    """Set one day's override; ``None`` removes it."""
    await rows.set_override(session, day, workday, note=note, now=now)


class CalendarHolder:
    """Holds the current WorkCalendar; ``refresh`` reloads it after an import or on a timer
    (several processes: each refreshes from the database)."""

    def __init__(self, calendar: WorkCalendar, config_overrides: Mapping[date, bool]) -> None:
        self.current = calendar
        self._config_overrides = dict(config_overrides)

    async def refresh(self, session: Session) -> WorkCalendar:
        self.current = await load_calendar(session, self._config_overrides)
        return self.current
