"""The provisional calendar of a year without a State Council notice: the statutory holidays of
《全国年节及纪念日放假办法》 computed with lunar-python (issue 13)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.calendar.package_data import package_calendar, package_years
from bot.calendar.statutory import festival_days, statutory_year
from bot.domain.workcalendar import CalendarSource, WorkCalendar, coverage_warnings

D = date.fromisoformat


def test_2027_statutory_days() -> None:
    days = festival_days(2027)
    assert days["元旦"] == [D("2027-01-01")]
    assert days["春节"] == [D("2027-02-05"), D("2027-02-06"), D("2027-02-07"), D("2027-02-08")]  # 除夕 to 初三
    assert days["清明节"] == [D("2027-04-05")]
    assert days["劳动节"] == [D("2027-05-01"), D("2027-05-02")]
    assert days["端午节"] == [D("2027-06-09")]
    assert days["中秋节"] == [D("2027-09-15")]
    assert days["国庆节"] == [D("2027-10-01"), D("2027-10-02"), D("2027-10-03")]


def test_weekend_holidays_are_made_up_on_the_next_weekdays() -> None:
    spec = statutory_year(2027)
    assert spec is not None and spec.source is CalendarSource.STATUTORY
    # 春节: Sat 02-06 and Sun 02-07 → Tue 02-09 and Wed 02-10 (第六条 补假)
    assert {D("2027-02-09"), D("2027-02-10")} <= spec.holidays
    assert spec.names[D("2027-02-09")] == "春节（补假）"
    assert D("2027-02-11") not in spec.holidays
    # 国庆: Sat 10-02, Sun 10-03 → Mon 10-04, Tue 10-05
    assert {D("2027-10-04"), D("2027-10-05")} <= spec.holidays and D("2027-10-06") not in spec.holidays
    assert not spec.workdays  # 调休 cannot be computed


@pytest.mark.parametrize("year", range(2008, 2027))
def test_agrees_with_the_published_arrangements(year: int) -> None:
    # every statutory day the computation names was a day off in the State Council's notice
    published = next(s for s in package_years() if s.year == year)
    for festival, days in festival_days(year).items():
        for day in days:
            assert day in published.holidays or (day.weekday() >= 5 and day not in published.workdays), (festival, day)


def test_production_calendar_uses_it_for_2027() -> None:
    cal = package_calendar()
    assert cal.source(2027) is CalendarSource.STATUTORY and not cal.is_covered(2027)
    assert cal.source(2027).provisional and cal.source(2027).label.startswith("暂定")
    assert not cal.is_workday(D("2027-01-01"))
    # a due date crossing 春节 2027 skips 除夕 to 初三 and the two made-up days
    assert cal.add_workdays(D("2027-02-04"), 1) == D("2027-02-11")
    # the package's own years are untouched
    assert cal.source(2026) is CalendarSource.PACKAGE


def test_warnings_say_provisional() -> None:
    warnings = coverage_warnings(package_calendar(), D("2026-11-02"))
    assert warnings == [
        "2027年工作日历尚未导入：国务院节假日安排发布后请用 `liuyan calendar import` 导入；"
        "在此之前按《全国年节及纪念日放假办法》暂定计算。"
    ]


def test_out_of_range_years_count_weekends_only() -> None:
    assert statutory_year(1900) is None
    cal = WorkCalendar((), None, statutory_year)
    assert cal.source(1900) is CalendarSource.WEEKENDS
