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
from store import deadlines as deadline_rows
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
    """Holds the current WorkCalendar for one process. Every calendar change (``calendar import``,
    ``calendar set``, from any process) bumps the ``calendar`` counter in its transaction;
    ``ensure_fresh`` — one primary-key read, called at the start of every unit of work that
    computes deadlines (inbound event, API request, tick) — reloads when the counter moved, so a
    change is used at once by every process."""

    def __init__(
        self, calendar: WorkCalendar, config_overrides: Mapping[date, bool], version: int | None = None
    ) -> None:
        self.current = calendar
        self._config_overrides = dict(config_overrides)
        #: the counter value ``current`` was loaded at (None: unknown, the first check reloads)
        self.version = version

    async def refresh(self, session: Session) -> WorkCalendar:
        """Reload unconditionally."""
        version = await deadline_rows.calendar_version(session)
        self.current = await load_calendar(session, self._config_overrides)
        self.version = version
        return self.current

    async def ensure_fresh(self, session: Session) -> WorkCalendar:
        """The current calendar, reloaded first when another process (or this one) changed it."""
        version = await deadline_rows.calendar_version(session)
        if version != self.version:
            self.current = await load_calendar(session, self._config_overrides)
            self.version = version
            log.info("calendar reloaded (change %s)", version)
        return self.current

    async def load_pending(self, session: Session) -> WorkCalendar:
        """The calendar as ``session`` sees it (with its own uncommitted change), not kept."""
        return await load_calendar(session, self._config_overrides)

    def adopt(self, calendar: WorkCalendar, version: int) -> None:
        """Use ``calendar`` (loaded at ``version``) from now on: after this process changed it."""
        self.current = calendar
        self.version = version
