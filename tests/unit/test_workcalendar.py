"""Work calendar: real arrangements checked against the chinese_calendar package."""

from __future__ import annotations

import random
from datetime import date, timedelta

import chinese_calendar
import pytest
from chinese_calendar.constants import holidays as pkg_holidays

from bot.calendar.package_data import package_calendar, package_years
from bot.domain.workcalendar import CalendarSource, WorkCalendar, YearSpec, coverage_warnings

D = date.fromisoformat


def naive_add(start: date, n: int) -> date:
    """The obvious day-by-day loop over chinese_calendar.is_workday (reference)."""
    d = start
    while n:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


def naive_between(start: date, end: date) -> int:
    return sum(chinese_calendar.is_workday(start + timedelta(days=k)) for k in range(1, (end - start).days + 1))


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    """The package's years without the statutory fallback: these tests are about the pure
    calendar, whose years without a spec count weekends only (the fallback is tested below)."""
    return WorkCalendar(package_calendar().specs.values())


def spec_2027() -> YearSpec:
    """A hypothetical 2027 arrangement (the real notice is not out yet)."""
    off = {D("2027-01-01") + timedelta(days=k) for k in range(3)}
    off |= {D("2027-02-05") + timedelta(days=k) for k in range(9)}
    return YearSpec(
        year=2027,
        holidays=frozenset(off),
        workdays=frozenset({D("2027-01-31"), D("2027-02-20")}),
        source=CalendarSource.IMPORTED,
        note="测试",
    )


# -- the package seed ---------------------------------------------------------------------


def test_package_years_are_derived_from_the_data() -> None:
    specs = package_years()
    years = [s.year for s in specs]
    assert years == list(range(min(pkg_holidays).year, max(pkg_holidays).year + 1))
    assert years[0] == 2004 and years[-1] >= 2026  # 1.11.0: 2004–2026
    assert all(s.source is CalendarSource.PACKAGE for s in specs)
    assert specs[-1].note.startswith("chinesecalendar ")
    with pytest.raises(NotImplementedError):  # why we keep our own table
        chinese_calendar.is_workday(D(f"{years[-1] + 1}-01-04"))


def test_package_calendar_agrees_with_the_package_every_day(cal: WorkCalendar) -> None:
    d, last = D("2004-01-01"), D("2026-12-31")
    while d <= last:
        assert cal.is_workday(d) is chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


# -- single days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2024-02-04", True),  # Sun, 调休上班 for 春节
        ("2024-02-09", True),  # Fri, 除夕 but officially a working day in 2024
        ("2024-02-12", False),  # Mon, 春节
        ("2024-02-18", True),  # Sun, 调休上班
        ("2024-09-29", True),  # Sun, 调休上班 for 国庆
        ("2024-10-07", False),  # Mon, 国庆
        ("2024-10-12", True),  # Sat, 调休上班
        ("2025-01-26", True),  # Sun, 调休上班 for 春节
        ("2025-01-28", False),  # Tue, 春节
        ("2025-02-08", True),  # Sat, 调休上班
        ("2025-04-27", True),  # Sun, 调休上班 for 劳动节
        ("2025-05-05", False),  # Mon, 劳动节
        ("2025-09-28", True),  # Sun, 调休上班 for 国庆
        ("2025-10-06", False),  # Mon, 中秋 inside 国庆
        ("2025-10-08", False),  # Wed, 国庆
        ("2025-10-11", True),  # Sat, 调休上班
        ("2026-01-04", True),  # Sun, 调休上班 for 元旦
        ("2026-02-14", True),  # Sat, 调休上班 for 春节
        ("2026-02-23", False),  # Mon, 春节
        ("2026-02-28", True),  # Sat, 调休上班
        ("2026-09-20", True),  # Sun, 调休上班 for 国庆
        ("2026-10-07", False),  # Wed, 国庆
        ("2026-10-10", True),  # Sat, 调休上班
        ("2026-10-11", False),  # ordinary Sunday
        ("2027-01-01", True),  # Fri, no 2027 data: weekends only
        ("2027-01-02", False),  # Sat
    ],
)
def test_is_workday(cal: WorkCalendar, day: str, working: bool) -> None:
    assert cal.is_workday(D(day)) is working


@pytest.mark.parametrize(
    ("day", "inclusive", "expected"),
    [
        ("2025-09-30", True, "2025-09-30"),
        ("2025-09-30", False, "2025-10-09"),
        ("2025-10-01", True, "2025-10-09"),
        ("2025-10-11", True, "2025-10-11"),  # make-up Saturday
        ("2025-10-10", False, "2025-10-11"),
        ("2024-02-10", True, "2024-02-18"),  # first day of 春节 → make-up Sunday
        ("2026-12-31", False, "2027-01-01"),  # into an uncovered year
    ],
)
def test_next_workday(cal: WorkCalendar, day: str, inclusive: bool, expected: str) -> None:
    assert cal.next_workday(D(day), inclusive=inclusive) == D(expected)


# -- counting -----------------------------------------------------------------------------

ADD_CASES = [
    # (start, n, expected) — computed by hand, cross-checked with naive_add below
    ("2024-02-02", 5, "2024-02-08"),  # Fri before 春节; Sun 02-04 is day 1
    ("2024-02-08", 5, "2024-02-21"),  # 02-09, Sun 02-18, 19, 20, 21
    ("2024-02-12", 5, "2024-02-22"),  # on a holiday: Sun 02-18 is day 1
    ("2024-09-27", 5, "2024-10-10"),  # Sun 09-29, 09-30, 10-08, 09, 10
    ("2024-10-01", 2, "2024-10-09"),
    ("2024-10-12", 5, "2024-10-18"),  # on a make-up Saturday: not counted
    ("2025-01-24", 5, "2025-02-07"),  # Sun 01-26, 01-27, 02-05, 06, 07
    ("2025-01-24", 15, "2025-02-20"),  # Sat 02-08 is day 6
    ("2025-01-26", 5, "2025-02-08"),  # ends on the make-up Saturday
    ("2025-02-08", 5, "2025-02-14"),
    ("2025-04-25", 5, "2025-05-06"),  # Sun 04-27 is day 1
    ("2025-09-26", 5, "2025-10-10"),  # Sun 09-28, 29, 30, 10-09, 10
    ("2025-09-26", 15, "2025-10-23"),  # Sat 10-11 is day 6
    ("2026-02-12", 5, "2026-02-26"),  # 02-13, Sat 02-14, 02-24, 25, 26
    ("2026-02-12", 15, "2026-03-11"),  # Sat 02-28 is day 7
    ("2026-09-18", 5, "2026-09-24"),  # Sun 09-20 is day 1
    ("2026-09-24", 5, "2026-10-09"),  # 中秋 then 国庆
    ("2026-09-30", 5, "2026-10-13"),  # Sat 10-10 is day 3
    ("2026-12-11", 15, "2027-01-01"),  # runs into 2027: weekends only
    ("2026-12-31", 1, "2027-01-01"),
]


@pytest.mark.parametrize(("start", "n", "expected"), ADD_CASES)
def test_add_workdays(cal: WorkCalendar, start: str, n: int, expected: str) -> None:
    assert cal.add_workdays(D(start), n) == D(expected)
    if D(expected).year <= 2026:
        assert naive_add(D(start), n) == D(expected)


@pytest.mark.parametrize("n", [0, -1])
def test_add_workdays_rejects_n_below_one(cal: WorkCalendar, n: int) -> None:
    with pytest.raises(ValueError, match="n must be >= 1"):
        cal.add_workdays(D("2025-01-01"), n)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-01-24", "2025-02-07", 5),
        ("2025-02-07", "2025-01-24", -5),  # mirror
        ("2025-01-24", "2025-01-24", 0),
        ("2025-01-27", "2025-02-04", 0),  # whole 春节 holiday
        ("2025-01-27", "2025-02-05", 1),
        ("2024-12-31", "2025-01-02", 1),  # 元旦 across the year boundary
        ("2025-10-10", "2025-10-13", 2),  # Sat 10-11 make-up + Mon
        ("2026-12-30", "2027-01-04", 3),  # 12-31, weekends-only 01-01 and 01-04
    ],
)
def test_workdays_between(cal: WorkCalendar, start: str, end: str, expected: int) -> None:
    assert cal.workdays_between(D(start), D(end)) == expected


def test_workdays_between_whole_years_match_the_package(cal: WorkCalendar) -> None:
    assert cal.workdays_between(D("2003-12-31"), D("2026-12-31")) == naive_between(D("2003-12-31"), D("2026-12-31"))
    # 2025: 261 weekdays - 18 weekday holidays + 5 make-up weekend days
    assert cal.workdays_between(D("2024-12-31"), D("2025-12-31")) == 248


def test_add_workdays_matches_naive_loop_randomly(cal: WorkCalendar) -> None:
    rng = random.Random(20260101)
    first, last = D("2004-01-01").toordinal(), D("2026-11-30").toordinal()
    for _ in range(1500):
        start = date.fromordinal(rng.randint(first, last))
        n = rng.randint(1, 25)
        expected = naive_add(start, n)
        assert cal.add_workdays(start, n) == expected, (start, n)
        assert cal.workdays_between(start, expected) == n
        assert cal.workdays_between(expected, start) == -n


def test_workdays_between_matches_naive_count_randomly(cal: WorkCalendar) -> None:
    rng = random.Random(7)
    first, last = D("2004-01-01").toordinal(), D("2026-12-31").toordinal()
    for _ in range(200):
        a = date.fromordinal(rng.randint(first, last))
        b = date.fromordinal(min(last, a.toordinal() + rng.randint(0, 800)))
        assert cal.workdays_between(a, b) == naive_between(a, b), (a, b)


@pytest.mark.parametrize("year", [1900, 1999, 2027, 2100, 2199, 2200])
def test_weekends_only_years_never_crash(year: int) -> None:
    cal = WorkCalendar()
    jan1 = date(year, 1, 1)
    weekdays = sum((jan1 + timedelta(days=k)).weekday() < 5 for k in range((date(year + 1, 1, 1) - jan1).days))
    assert cal.workdays_between(jan1 - timedelta(days=1), date(year, 12, 31)) == weekdays
    due = cal.add_workdays(date(year, 12, 31), 10)
    assert due.year == year + 1 and due.weekday() < 5
    assert cal.source(year) is CalendarSource.WEEKENDS


def test_long_spans_across_centuries() -> None:
    cal = WorkCalendar()
    start, end = D("1900-01-01"), D("2200-12-31")
    n = cal.workdays_between(start, end)
    assert cal.add_workdays(start, n) == D("2200-12-31")  # a Wednesday
    assert cal.workdays_between(end, start) == -n


# -- sources, replacement, overrides ------------------------------------------------------


def test_sources_and_coverage(cal: WorkCalendar) -> None:
    assert cal.source(2025) is CalendarSource.PACKAGE
    assert cal.source(2027) is CalendarSource.WEEKENDS
    assert cal.source(2003) is CalendarSource.WEEKENDS
    assert cal.is_covered(2026) and not cal.is_covered(2027)
    assert cal.uncovered_years([2027, 2025, 2003, 2027]) == [2003, 2027]
    assert cal.sources_between(D("2027-01-05"), D("2025-06-01")) == (
        (2025, CalendarSource.PACKAGE),
        (2026, CalendarSource.PACKAGE),
        (2027, CalendarSource.WEEKENDS),
    )


def test_imported_year_replaces_fallback_and_package(cal: WorkCalendar) -> None:
    with_2027 = cal.with_years(spec_2027())
    assert with_2027.source(2027) is CalendarSource.IMPORTED
    assert with_2027.is_covered(2027)
    assert with_2027.add_workdays(D("2026-12-11"), 15) == D("2027-01-04")
    assert with_2027.is_workday(D("2027-01-31"))  # make-up Sunday
    assert not with_2027.is_workday(D("2027-02-08"))
    assert cal.source(2027) is CalendarSource.WEEKENDS  # the original is unchanged

    # IMPORTED after PACKAGE for the same year wins (here: a made-up extra day off).
    pkg_2026 = cal.specs[2026]
    imported = YearSpec(2026, pkg_2026.holidays | {D("2026-12-31")}, pkg_2026.workdays, CalendarSource.IMPORTED)
    replaced = WorkCalendar([*package_years(), imported])
    assert replaced.source(2026) is CalendarSource.IMPORTED
    assert not replaced.is_workday(D("2026-12-31"))
    assert replaced.add_workdays(D("2026-12-30"), 1) == D("2027-01-01")
    assert WorkCalendar([imported, *package_years()]).source(2026) is CalendarSource.PACKAGE


def test_overrides_win_over_everything() -> None:
    overrides = {
        D("2025-10-01"): True,  # 国庆 holiday → working
        D("2025-02-08"): False,  # make-up Saturday → off
        D("2025-02-07"): False,  # ordinary Friday → off
        D("2027-01-01"): False,  # uncovered year: 元旦 entered by the admin
        D("2027-01-02"): True,  # uncovered year: a Saturday made working
    }
    cal = package_calendar(overrides)
    for day, working in overrides.items():
        assert cal.is_workday(day) is working
    assert cal.add_workdays(D("2025-01-24"), 5) == D("2025-02-10")
    assert cal.workdays_between(D("2025-09-30"), D("2025-10-09")) == 2
    assert cal.add_workdays(D("2026-12-31"), 1) == D("2027-01-02")
    assert cal.overrides == overrides
    assert cal.with_overrides({}).is_workday(D("2025-10-01")) is False


def test_yearspec_validates_its_dates() -> None:
    with pytest.raises(ValueError, match="outside the year"):
        YearSpec(2026, frozenset({D("2025-12-31")}), frozenset(), CalendarSource.IMPORTED)
    with pytest.raises(ValueError, match="both holiday and workday"):
        day = D("2026-02-14")
        YearSpec(2026, frozenset({day}), frozenset({day}), CalendarSource.IMPORTED)


# -- coverage warnings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "years"),
    [
        ("2026-06-01", []),
        ("2026-10-31", []),
        ("2026-11-01", [2027]),  # next year, from 1 November
        ("2026-12-31", [2027]),
        ("2027-01-02", [2027]),  # current year uncovered
        ("2027-11-15", [2027, 2028]),
        ("2003-05-01", [2003]),
    ],
)
def test_coverage_warnings(cal: WorkCalendar, today: str, years: list[int]) -> None:
    warnings = coverage_warnings(cal, D(today))
    assert [int(w[:4]) for w in warnings] == years
    for w in warnings:
        assert "工作日历尚未导入" in w and "liuyan calendar import" in w and "仅周末" in w


def test_coverage_warnings_quiet_once_imported(cal: WorkCalendar) -> None:
    assert coverage_warnings(cal.with_years(spec_2027()), D("2026-11-20")) == []
    assert coverage_warnings(cal, D("2026-11-20")) == [
        "2027年工作日历尚未导入：国务院节假日安排发布后请用 `liuyan calendar import` 导入；在此之前按仅周末计算。"
    ]
