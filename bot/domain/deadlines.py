"""Deadline rules for a case (design.md, "Deadlines"; seed 001 第十条).

Pure domain code: the clock and the calendar are parameters. Every ``datetime`` argument must
be timezone-aware (ValueError otherwise); local dates are taken in ``OfficeHours.tz``
(Asia/Shanghai by default) and every returned ``datetime`` is aware, in that zone.

Counting rule: the day of assignment is never counted; a deadline is the close of office on the
N-th working day after it. A case assigned on a holiday or weekend therefore counts its first
working day as day 1, and the hour of assignment (before opening, after closing) does not
matter — only its local date does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.workcalendar import CalendarSource, WorkCalendar

__all__ = [
    "SHANGHAI",
    "Deadline",
    "DeadlineRules",
    "OfficeHours",
    "extend_deadline",
    "handling_deadline",
    "hours_deadline",
    "is_office_time",
    "next_office_open",
    "return_window_end",
    "workday_deadline",
    "working_days_left",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class OfficeHours:
    """Office opening and closing wall-clock times in ``tz`` (default Asia/Shanghai)."""

    open: time = time(8, 30)
    close: time = time(17, 30)
    tz: ZoneInfo = SHANGHAI

    def __post_init__(self) -> None:
        if not self.open < self.close:
            raise ValueError(f"office opens ({self.open}) must be before it closes ({self.close})")


@dataclass(frozen=True)
class DeadlineRules:
    """Time limits: ``*_days`` in working days, ``urgent_hours`` in calendar hours."""

    normal_days: int = 5
    complex_days: int = 15
    urgent_hours: int = 24
    return_days: int = 2
    interim_days: int = 15

    def __post_init__(self) -> None:
        for name in ("normal_days", "complex_days", "urgent_hours", "return_days", "interim_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Deadline:
    """A computed deadline.

    ``due_at`` is aware, in the office time zone. ``source`` names the calendar(s) used, e.g.
    ``"chinese-calendar"`` or ``"chinese-calendar 2026 + provisional 2027"`` (``"hours"`` for
    urgent limits). ``uncovered`` lists the years counted provisionally (no published
    arrangement: statutory holidays or weekends only), for admin warnings and labels.
    """

    due_at: datetime
    source: str
    uncovered: tuple[int, ...] = ()


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _local_date(value: datetime, hours: OfficeHours) -> date:
    return value.astimezone(hours.tz).date()


def _describe(sources: tuple[tuple[int, CalendarSource], ...]) -> str:
    """``"chinese-calendar"`` for one source; else ``"chinese-calendar 2026 + weekends-only
    2027"`` with consecutive years of the same source collapsed (``2025-2026``)."""
    if len({src for _, src in sources}) == 1:
        return str(sources[0][1])
    runs: list[tuple[CalendarSource, int, int]] = []
    for year, src in sources:
        if runs and runs[-1][0] is src and runs[-1][2] == year - 1:
            runs[-1] = (src, runs[-1][1], year)
        else:
            runs.append((src, year, year))
    return " + ".join(f"{src} {a}" if a == b else f"{src} {a}-{b}" for src, a, b in runs)


def workday_deadline(start: datetime, n: int, cal: WorkCalendar, hours: OfficeHours) -> Deadline:
    """Close of office on the ``n``-th working day after ``start``'s local date.

    ``n`` is in working days (>= 1). ``start``'s own day is never counted, whatever the hour;
    a start on a holiday or weekend makes the first working day day 1. ``start`` must be aware.
    """
    _require_aware("start", start)
    day = _local_date(start, hours)
    due_day = cal.add_workdays(day, n)
    # Only the days after `day` were consulted, so name the calendars of those days.
    sources = cal.sources_between(day + timedelta(days=1), due_day)
    uncovered = tuple(y for y, src in sources if src.provisional)
    return Deadline(
        due_at=datetime.combine(due_day, hours.close, tzinfo=hours.tz),
        source=_describe(sources),
        uncovered=uncovered,
    )


def hours_deadline(start: datetime, hours: int, *, tz: ZoneInfo = SHANGHAI) -> Deadline:
    """``start`` plus ``hours`` calendar hours (elapsed time; nights and holidays count).

    For urgent cases (急事急办). ``start`` must be aware; the result is expressed in ``tz``.
    """
    _require_aware("start", start)
    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    due = (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(tz)
    return Deadline(due_at=due, source="hours")


def handling_deadline(
    assigned_at: datetime,
    *,
    complex: bool,
    urgent: bool,
    rules: DeadlineRules,
    cal: WorkCalendar,
    hours: OfficeHours,
) -> Deadline:
    """The handling deadline (办理时限) of a case assigned at ``assigned_at``.

    Urgent: ``rules.urgent_hours`` calendar hours (urgent wins over complex). Complex:
    ``rules.complex_days`` working days. Otherwise ``rules.normal_days`` working days.
    """
    if urgent:
        return hours_deadline(assigned_at, rules.urgent_hours, tz=hours.tz)
    n = rules.complex_days if complex else rules.normal_days
    return workday_deadline(assigned_at, n, cal, hours)


def return_window_end(assigned_at: datetime, rules: DeadlineRules, cal: WorkCalendar, hours: OfficeHours) -> Deadline:
    """Last moment a unit may return (退回) a case: close of office on the
    ``rules.return_days``-th working day after assignment."""
    return workday_deadline(assigned_at, rules.return_days, cal, hours)


def extend_deadline(current_due: datetime, extra_days: int, cal: WorkCalendar, hours: OfficeHours) -> Deadline:
    """An extension (延期): close of office ``extra_days`` working days after the current due
    day (the due day itself is not counted again)."""
    return workday_deadline(current_due, extra_days, cal, hours)


def working_days_left(now: datetime, due_at: datetime, cal: WorkCalendar, hours: OfficeHours) -> int:
    """Whole working days from ``now``'s local date to ``due_at``'s local date.

    1 on the working day before the due day, 0 on the due day before ``due_at``; negative once
    overdue: -1 from ``due_at`` through the first working day after the due day, -2 on the
    second, and so on. Dates are local to ``hours.tz``.
    """
    _require_aware("now", now)
    _require_aware("due_at", due_at)
    left = cal.workdays_between(_local_date(now, hours), _local_date(due_at, hours))
    if now >= due_at:
        return min(left, -1)
    return left


def is_office_time(now: datetime, cal: WorkCalendar, hours: OfficeHours) -> bool:
    """True on a working day between opening (inclusive) and closing (exclusive), local time."""
    _require_aware("now", now)
    local = now.astimezone(hours.tz)
    return cal.is_workday(local.date()) and hours.open <= local.time() < hours.close


def next_office_open(now: datetime, cal: WorkCalendar, hours: OfficeHours) -> datetime:
    """``now`` if it is office time; else the next opening (same day if before opening on a
    working day, otherwise the next working day's opening), aware in ``hours.tz``."""
    _require_aware("now", now)
    if is_office_time(now, cal, hours):
        return now
    local = now.astimezone(hours.tz)
    day = local.date()
    if not (cal.is_workday(day) and local.time() < hours.open):
        day = cal.next_workday(day, inclusive=False)
    return datetime.combine(day, hours.open, tzinfo=hours.tz)


def same_day_deadline(registered_at: datetime, cal: WorkCalendar, hours: OfficeHours) -> datetime:
    """当日交办 (seed 001 第九条: 信访类"当日交办"): office close of the registration day when it is a
    working day and the office has not closed yet, else of the next working day. A case not
    assigned by then counts as 未当日交办 (the same moment the dispatchers are reminded)."""
    _require_aware("registered_at", registered_at)
    local = registered_at.astimezone(hours.tz)
    day = local.date()
    if not (cal.is_workday(day) and local.time() < hours.close):
        day = cal.next_workday(day, inclusive=False)
    return datetime.combine(day, hours.close, tzinfo=hours.tz)
