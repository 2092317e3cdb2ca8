"""The statutory holidays of 《全国年节及纪念日放假办法》, computed for a year that has no State
Council arrangement yet (design.md "Calendar"; issue 13).

As amended in force from 1 January 2025 (国务院令第798号), the days off for all citizens are:
元旦 1 day (1 January), 春节 4 days (除夕 to 正月初三), 清明节 1 day (the 清明 solar term),
劳动节 2 days (1–2 May), 端午节 1 day (五月初五), 中秋节 1 day (八月十五), 国庆节 3 days
(1–3 October). Before 2025 (the 2013 text): 春节 3 days (初一 to 初三) and 劳动节 1 day.

第六条: a day off for all citizens that falls on a Saturday or Sunday is made up on a working
day (补假): here the first weekdays after that festival that are not themselves holidays. The
State Council's notice for the year usually moves weekends around as well (调休); that cannot be
computed, so such a year is labelled provisional (:attr:`CalendarSource.STATUTORY`) until its
notice is imported.

Lunar dates and solar terms come from ``lunar-python`` (PyPI ``lunar-python``), not a table.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar  # type: ignore[import-untyped]

from bot.domain.workcalendar import CalendarSource, YearSpec

__all__ = ["festival_days", "statutory_year"]

#: Years the lunar computation is trusted for (lunar-python's tables are far wider).
FIRST_YEAR, LAST_YEAR = 1950, 2100
AMENDED_2025 = 2025


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def festival_days(year: int) -> dict[str, list[date]]:
    """Festival → its statutory days off in ``year``, before any 补假."""
    new_year = _lunar(year, 1, 1)
    if year >= AMENDED_2025:
        spring = [new_year - timedelta(days=1) + timedelta(days=i) for i in range(4)]
        labour = [date(year, 5, 1), date(year, 5, 2)]
    else:
        spring = [new_year + timedelta(days=i) for i in range(3)]
        labour = [date(year, 5, 1)]
    return {
        "元旦": [date(year, 1, 1)],
        "春节": spring,
        "清明节": [_qingming(year)],
        "劳动节": labour,
        "端午节": [_lunar(year, 5, 5)],
        "中秋节": [_lunar(year, 8, 15)],
        "国庆节": [date(year, 10, 1) + timedelta(days=i) for i in range(3)],
    }


@cache
def statutory_year(year: int) -> YearSpec | None:
    """The provisional spec for ``year`` (None outside the years it is computed for)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    festivals = festival_days(year)
    names = {d: name for name, days in festivals.items() for d in days}
    off = set(names)
    for name, days in festivals.items():
        owed = sum(d.weekday() >= 5 for d in days)  # 第六条: made up on working days
        day = max(days)
        while owed:
            day += timedelta(days=1)
            if day.year != year:
                break
            if day.weekday() < 5 and day not in off:
                off.add(day)
                names[day] = f"{name}（补假）"
                owed -= 1
    return YearSpec(
        year=year,
        holidays=frozenset(off),
        workdays=frozenset(),
        source=CalendarSource.STATUTORY,
        note="按《全国年节及纪念日放假办法》推算（暂定，未含调休）",
        names=names,
    )
