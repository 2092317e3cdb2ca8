"""Seed the work calendar from the ``chinese_calendar`` package (PyPI ``chinesecalendar``).

The package ships the State Council arrangements as two dicts, ``holidays`` and ``workdays``
(date → festival), and raises ``NotImplementedError`` outside its years. We read the dicts
directly, so a year the package does not cover simply has no spec here (weekends only, with a
warning — see ``bot.domain.workcalendar.coverage_warnings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import chinese_calendar  # type: ignore[import-untyped]
from chinese_calendar import constants

from bot.calendar.statutory import statutory_year
from bot.domain.workcalendar import CalendarSource, WorkCalendar, YearSpec

__all__ = ["package_calendar", "package_version", "package_years"]


def package_version() -> str:
    """The installed ``chinesecalendar`` version, e.g. ``"1.11.0"``."""
    try:
        return version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - vendored or renamed install
        return str(getattr(chinese_calendar, "__version__", "unknown"))


def _chinese_names() -> dict[str, str]:
    """English festival value (as stored in the dicts) → Chinese name (春节…)."""
    return {h.value: h.chinese for h in constants.Holiday}


def package_years() -> list[YearSpec]:
    """One PACKAGE :class:`YearSpec` per year the installed package covers, ascending.

    The covered years are derived from the data the way the package itself validates dates:
    every year from the earliest to the latest holiday it lists (1.11.0: 2004–2026). Days are
    grouped by their own calendar year, so a 31 December that belongs to the next year's New
    Year arrangement lands in its own year's spec.
    """
    return list(_package_years())


@cache
def _package_years() -> tuple[YearSpec, ...]:
    holidays: Mapping[date, str] = constants.holidays
    workdays: Mapping[date, str] = constants.workdays
    if not holidays:
        return ()
    names = _chinese_names()
    first = min(holidays).year
    last = max(holidays).year
    note = f"chinesecalendar {package_version()}"
    specs: list[YearSpec] = []
    for year in range(first, last + 1):
        off = {d: v for d, v in holidays.items() if d.year == year}
        on = {d: v for d, v in workdays.items() if d.year == year}
        specs.append(
            YearSpec(
                year=year,
                holidays=frozenset(off),
                workdays=frozenset(on),
                source=CalendarSource.PACKAGE,
                note=note,
                names={d: names.get(v, v) for d, v in {**off, **on}.items()},
            )
        )
    return tuple(specs)


def package_calendar(overrides: Mapping[date, bool] | None = None) -> WorkCalendar:
    """A :class:`WorkCalendar` seeded from the package, with optional admin overrides; years the
    package lacks take the statutory holidays, provisionally."""
    return WorkCalendar(package_years(), overrides, statutory_year)
