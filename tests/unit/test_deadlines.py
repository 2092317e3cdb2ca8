"""Deadline rules on real arrangements (expected dates computed by hand, cross-checked
against a day-by-day loop over chinese_calendar.is_workday)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.calendar.package_data import package_calendar
from bot.domain.deadlines import (
    Deadline,
    DeadlineRules,
    OfficeHours,
    extend_deadline,
    handling_deadline,
    hours_deadline,
    is_office_time,
    next_office_open,
    return_window_end,
    workday_deadline,
    working_days_left,
)
from bot.domain.workcalendar import CalendarSource, WorkCalendar, YearSpec

SH = ZoneInfo("Asia/Shanghai")
HOURS = OfficeHours()
RULES = DeadlineRules()


def at(text: str) -> datetime:
    """Local Asia/Shanghai wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def close_of(day: str) -> datetime:
    return at(f"{day}T17:30")


def naive_add(start: date, n: int) -> date:
    d = start
    while n:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return package_calendar()


def imported_2027() -> YearSpec:
    """A hypothetical 2027 import: 元旦 1–3 January (the real notice is not out yet)."""
    return YearSpec(
        year=2027,
        holidays=frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)}),
        workdays=frozenset(),
        source=CalendarSource.IMPORTED,
        note="测试",
    )


HANDLING_CASES = [
    # (assigned_at local, complex, due day)
    ("2024-02-02T10:00", False, "2024-02-08"),  # 春节 2024: make-up Sun 02-04 is day 1
    ("2024-02-08T10:00", False, "2024-02-21"),  # then make-up Sun 02-18
    ("2024-02-12T10:00", False, "2024-02-22"),  # assigned on a holiday
    ("2024-09-27T16:00", False, "2024-10-10"),  # 国庆 2024, make-up Sun 09-29
    ("2024-10-12T09:00", False, "2024-10-18"),  # assigned on a make-up Saturday
    ("2025-01-24T10:00", False, "2025-02-07"),  # 春节 2025, make-up Sun 01-26
    ("2025-01-24T10:00", True, "2025-02-20"),  # complex: make-up Sat 02-08 is day 6
    ("2025-01-26T19:00", False, "2025-02-08"),  # after close on a make-up Sunday
    ("2025-02-08T11:00", False, "2025-02-14"),  # assigned on a make-up Saturday
    ("2025-04-25T10:00", False, "2025-05-06"),  # 劳动节 2025, make-up Sun 04-27
    ("2025-09-22T19:00", False, "2025-09-28"),  # after close: day not counted either way
    ("2025-09-22T07:00", False, "2025-09-28"),  # before opening: same rule
    ("2025-09-26T10:00", False, "2025-10-10"),  # 国庆 2025
    ("2025-09-26T10:00", True, "2025-10-23"),  # complex: make-up Sat 10-11 is day 6
    ("2025-10-03T10:00", False, "2025-10-14"),  # on a holiday: 10-09 is day 1
    ("2026-02-12T10:00", False, "2026-02-26"),  # 春节 2026, make-up Sat 02-14
    ("2026-02-12T10:00", True, "2026-03-11"),  # complex: make-up Sat 02-28 is day 7
    ("2026-09-18T10:00", False, "2026-09-24"),  # 国庆 2026, make-up Sun 09-20
    ("2026-09-30T10:00", False, "2026-10-13"),  # make-up Sat 10-10 is day 3
]


@pytest.mark.parametrize(("assigned", "complex_", "due"), HANDLING_CASES)
def test_handling_deadline(cal: WorkCalendar, assigned: str, complex_: bool, due: str) -> None:
    dl = handling_deadline(at(assigned), complex=complex_, urgent=False, rules=RULES, cal=cal, hours=HOURS)
    assert dl == Deadline(close_of(due), "chinese-calendar", ())
    assert dl.due_at.tzinfo == SH and dl.due_at.time() == time(17, 30)
    n = RULES.complex_days if complex_ else RULES.normal_days
    assert naive_add(at(assigned).date(), n) == date.fromisoformat(due)


def test_local_date_is_taken_in_shanghai(cal: WorkCalendar) -> None:
    # 16:30 UTC Tuesday is 00:30 Wednesday in Shanghai: Wednesday is the uncounted day.
    dl = workday_deadline(datetime(2025, 1, 21, 16, 30, tzinfo=UTC), 5, cal, HOURS)
    assert dl.due_at == close_of("2025-02-05")
    assert dl.due_at.utcoffset() == timedelta(hours=8)


def test_naive_datetimes_are_rejected(cal: WorkCalendar) -> None:
    naive = datetime(2025, 1, 24, 10, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        workday_deadline(naive, 5, cal, HOURS)
    with pytest.raises(ValueError, match="timezone-aware"):
        hours_deadline(naive, 24)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_office_time(naive, cal, HOURS)
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_left(at("2025-01-24T10:00"), naive, cal, HOURS)


# -- years the package does not cover -----------------------------------------------------


def test_complex_case_running_into_uncovered_2027(cal: WorkCalendar) -> None:
    # 2026-12-11 (Fri) + 15 working days: 14 in December; Fri 2027-01-01 is 元旦 under the
    # provisional statutory calendar, so the 15th is Mon 2027-01-04.
    dl = handling_deadline(at("2026-12-11T10:00"), complex=True, urgent=False, rules=RULES, cal=cal, hours=HOURS)
    assert dl.due_at == close_of("2027-01-04")
    assert dl.source == "chinese-calendar 2026 + provisional 2027"
    assert dl.uncovered == (2027,)


def test_weekends_only_without_a_fallback() -> None:
    # the pure calendar without the statutory fallback still counts weekends only
    bare = WorkCalendar(package_calendar().specs.values())
    dl = workday_deadline(at("2026-12-11T10:00"), 15, bare, HOURS)
    assert dl.due_at == close_of("2027-01-01")
    assert (dl.source, dl.uncovered) == ("chinese-calendar 2026 + weekends-only 2027", (2027,))


def test_imported_2027_replaces_the_fallback(cal: WorkCalendar) -> None:
    dl = workday_deadline(at("2026-12-11T10:00"), 15, cal.with_years(imported_2027()), HOURS)
    assert dl.due_at == close_of("2027-01-04")
    assert dl.source == "chinese-calendar 2026 + imported 2027"
    assert dl.uncovered == ()


def test_source_names_only_the_days_counted(cal: WorkCalendar) -> None:
    dl = workday_deadline(at("2026-12-31T10:00"), 5, cal, HOURS)
    assert dl.due_at == close_of("2027-01-08")  # 01-01 is 元旦
    assert (dl.source, dl.uncovered) == ("provisional", (2027,))


def test_source_collapses_consecutive_years(cal: WorkCalendar) -> None:
    dl = extend_deadline(close_of("2025-06-03"), 400, cal, HOURS)
    assert dl.source == "chinese-calendar 2025-2026 + provisional 2027"
    assert dl.uncovered == (2027,)


def test_overrides_win_in_deadlines(cal: WorkCalendar) -> None:
    with_off = package_calendar({date(2025, 2, 7): False})
    dl = workday_deadline(at("2025-01-24T10:00"), 5, with_off, HOURS)
    assert dl.due_at == close_of("2025-02-08")  # the make-up Saturday becomes day 5
    new_year = package_calendar({date(2027, 1, 1): False})
    dl = workday_deadline(at("2026-12-11T10:00"), 15, new_year, HOURS)
    assert dl.due_at == close_of("2027-01-04")
    assert dl.uncovered == (2027,)  # an override is not a year's arrangement: still warn


# -- urgent, return window, extension -----------------------------------------------------


def test_urgent_cases_count_calendar_hours(cal: WorkCalendar) -> None:
    for complex_ in (False, True):
        dl = handling_deadline(
            at("2025-01-28T10:00"),
            complex=complex_,
            urgent=True,
            rules=RULES,
            cal=cal,
            hours=HOURS,
        )
        assert dl == Deadline(at("2025-01-29T10:00"), "hours", ())  # a holiday: still counts
    dl = hours_deadline(datetime(2025, 1, 28, 20, 0, tzinfo=UTC), 6)
    assert dl.due_at == at("2025-01-29T10:00") and dl.due_at.tzinfo == SH
    with pytest.raises(ValueError):
        hours_deadline(at("2025-01-28T10:00"), 0)


@pytest.mark.parametrize(
    ("assigned", "window_end"),
    [
        ("2025-01-24T10:00", "2025-01-27"),  # make-up Sun 01-26 is day 1
        ("2024-10-01T10:00", "2024-10-09"),  # assigned on a holiday
        ("2024-02-08T15:00", "2024-02-18"),  # day 2 is the make-up Sunday after 春节
        ("2025-10-10T18:00", "2025-10-13"),  # after close; make-up Sat 10-11 is day 1
        ("2026-09-18T10:00", "2026-09-21"),
    ],
)
def test_return_window(cal: WorkCalendar, assigned: str, window_end: str) -> None:
    dl = return_window_end(at(assigned), RULES, cal, HOURS)
    assert dl.due_at == close_of(window_end)


def test_extend_deadline_counts_after_the_current_due_day(cal: WorkCalendar) -> None:
    dl = extend_deadline(close_of("2025-02-07"), 5, cal, HOURS)
    assert dl.due_at == close_of("2025-02-13")  # make-up Sat 02-08 is day 1
    dl = extend_deadline(close_of("2025-09-26"), 15, cal, HOURS)
    assert dl.due_at == close_of("2025-10-23")


def test_custom_office_hours(cal: WorkCalendar) -> None:
    hours = OfficeHours(open=time(9, 0), close=time(18, 0))
    dl = workday_deadline(at("2025-01-24T10:00"), 5, cal, hours)
    assert dl.due_at == at("2025-02-07T18:00")
    with pytest.raises(ValueError):
        OfficeHours(open=time(18, 0), close=time(9, 0))
    with pytest.raises(ValueError):
        DeadlineRules(normal_days=0)


# -- working days left --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "left"),
    [
        ("2025-01-24T10:00", 5),  # assignment day
        ("2025-01-30T10:00", 3),  # during 春节: 02-05, 06, 07 left
        ("2025-02-06T09:00", 1),
        ("2025-02-07T09:00", 0),  # due day, before close
        ("2025-02-07T17:29", 0),
        ("2025-02-07T17:30", -1),  # overdue from the due moment
        ("2025-02-08T09:00", -1),  # first working day after (make-up Saturday)
        ("2025-02-09T09:00", -1),  # Sunday: still one working day overdue
        ("2025-02-10T09:00", -2),
        ("2025-02-14T09:00", -6),
    ],
)
def test_working_days_left(cal: WorkCalendar, now: str, left: int) -> None:
    assert working_days_left(at(now), close_of("2025-02-07"), cal, HOURS) == left


# -- office time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        ("2025-02-08T10:00", True),  # make-up Saturday
        ("2025-02-08T08:29", False),
        ("2025-02-08T08:30", True),
        ("2025-02-08T17:30", False),  # closing time is outside
        ("2025-02-15T10:00", False),  # ordinary Saturday
        ("2025-10-01T10:00", False),  # 国庆 holiday
        ("2026-02-14T10:00", True),  # make-up Saturday 2026
        ("2026-02-16T10:00", False),  # 春节 2026
        ("2025-10-06T10:00", False),  # 中秋 inside 国庆
    ],
)
def test_is_office_time(cal: WorkCalendar, now: str, open_: bool) -> None:
    assert is_office_time(at(now), cal, HOURS) is open_


def test_is_office_time_converts_to_shanghai(cal: WorkCalendar) -> None:
    # 02:00 UTC on Saturday 2025-02-08 is 10:00 in Shanghai, a make-up working day.
    assert is_office_time(datetime(2025, 2, 8, 2, 0, tzinfo=UTC), cal, HOURS)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-02-08T10:00", "2025-02-08T10:00"),  # inside: now itself
        ("2025-02-05T07:00", "2025-02-05T08:30"),  # before opening on a working day
        ("2025-01-27T18:00", "2025-02-05T08:30"),  # after close, before 春节
        ("2025-01-25T10:00", "2025-01-26T08:30"),  # Saturday → make-up Sunday
        ("2025-10-01T10:00", "2025-10-09T08:30"),  # 国庆 holiday
        ("2025-10-10T17:30", "2025-10-11T08:30"),  # Friday close → make-up Saturday
        ("2026-12-31T18:00", "2027-01-04T08:30"),  # into an uncovered year: provisional 元旦
    ],
)
def test_next_office_open(cal: WorkCalendar, now: str, expected: str) -> None:
    assert next_office_open(at(now), cal, HOURS) == at(expected)
