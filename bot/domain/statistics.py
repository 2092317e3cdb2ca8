"""Periods and the counters of the monthly report (design.md "Reports and scoring"; docs/reports.md).

Pure domain code: no I/O, no clock. Periods are calendar months, quarters and years of *local
civil dates* in the office time zone (Asia/Shanghai by default); ``Period.bounds`` turns them
into aware datetimes. A case belongs to the period it was received in (留言时间).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.domain.workcalendar import WorkCalendar

__all__ = [
    "CountTrend",
    "Period",
    "PeriodKind",
    "UnitStats",
    "compare_counts",
    "nth_workday_of_month",
    "parse_period",
    "ratio",
    "summary_period_due",
    "trend_months",
]

PeriodKind = Literal["month", "quarter", "year"]
_QUARTER_NAMES = ("一", "二", "三", "四")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month (index 1–12), quarter (1–4) or year (index 1) of local dates."""

    kind: PeriodKind
    year: int
    index: int = 1

    def __post_init__(self) -> None:
        top = {"month": 12, "quarter": 4, "year": 1}.get(self.kind)
        if top is None:
            raise ValueError(f"unknown period kind {self.kind!r}")
        if not 1 <= self.index <= top:
            raise ValueError(f"{self.kind} index {self.index} out of range 1..{top}")
        if not 1900 <= self.year <= 9998:
            raise ValueError(f"year {self.year} out of range")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls("month", year, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        return cls("quarter", year, quarter)

    @classmethod
    def whole_year(cls, year: int) -> Period:
        return cls("year", year, 1)

    @classmethod
    def containing(cls, day: date, kind: PeriodKind = "month") -> Period:
        if kind == "month":
            return cls.month(day.year, day.month)
        if kind == "quarter":
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        return cls.whole_year(day.year)

    @property
    def first_month(self) -> int:
        return {"month": self.index, "quarter": 3 * self.index - 2, "year": 1}[self.kind]

    @property
    def month_count(self) -> int:
        return {"month": 1, "quarter": 3, "year": 12}[self.kind]

    @property
    def start(self) -> date:
        """First local date of the period."""
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """First local date *after* the period (exclusive end)."""
        m = self.first_month - 1 + self.month_count
        return date(self.year + m // 12, m % 12 + 1, 1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def key(self) -> str:
        """``2026-10``, ``2026-Q3`` or ``2026`` (also what ``parse_period`` reads)."""
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.index}"
        return str(self.year)

    @property
    def label(self) -> str:
        """``2026年10月``, ``2026年第三季度`` or ``2026年度``."""
        if self.kind == "month":
            return f"{self.year}年{self.index}月"
        if self.kind == "quarter":
            return f"{self.year}年第{_QUARTER_NAMES[self.index - 1]}季度"
        return f"{self.year}年度"

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[local midnight of ``start``, local midnight of ``end``) as aware datetimes in ``tz``."""
        return datetime.combine(self.start, time(), tz), datetime.combine(self.end, time(), tz)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == "year":
            return Period.whole_year(self.year - 1)
        top = 12 if self.kind == "month" else 4
        if self.index == 1:
            return Period(self.kind, self.year - 1, top)
        return Period(self.kind, self.year, self.index - 1)

    def months(self) -> tuple[Period, ...]:
        """The months of the period, in order."""
        return tuple(Period.month(self.year, self.first_month + i) for i in range(self.month_count))

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


_PERIOD_RE = re.compile(r"^\s*(\d{4})(?:\s*-\s*(?:(\d{1,2})|[Qq]([1-4])))?\s*$")


def parse_period(text: str) -> Period:
    """``2026-10`` → October 2026, ``2026-Q3`` → the third quarter, ``2026`` → the year.
    ValueError (Chinese message) for anything else."""
    match = _PERIOD_RE.match(text or "")
    if match is None:
        raise ValueError(f"无法识别的统计期间：{text!r}（例：2026-10、2026-Q3、2026）")
    year = int(match.group(1))
    try:
        if match.group(2):
            return Period.month(year, int(match.group(2)))
        if match.group(3):
            return Period.quarter(year, int(match.group(3)))
        return Period.whole_year(year)
    except ValueError as exc:
        raise ValueError(f"无法识别的统计期间：{text!r}（例：2026-10、2026-Q3、2026）") from exc


def trend_months(period: Period, count: int = 12) -> tuple[Period, ...]:
    """The ``count`` months ending with the last month of ``period`` (oldest first)."""
    last = period.months()[-1]
    months = [last]
    while len(months) < count:
        months.append(months[-1].previous())
    return tuple(reversed(months))


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``; None when the denominator is 0 (shown as "—", never 0 %)."""
    return numerator / denominator if denominator else None


@dataclass
class UnitStats:
    """The counters of one unit (or of the whole office) for one period.

    Cohort counters are about the cases *received* in the period, evaluated at the report's
    as-of time; ``overdue_now`` and ``overdue_in_period`` are about every case of the unit,
    whenever received. Working days follow the work calendar (day of assignment not counted).
    See docs/reports.md for every definition.
    """

    received: int = 0  # 受理 (留言时间 in the period)
    assigned: int = 0  # 已交办
    accepted: int = 0  # 已签收
    accept_judged: int = 0  # 签收已可判定: signed, or not signed with the time limit passed
    accepted_on_time: int = 0  # 按时签收
    returned: int = 0  # 退回 (return events, counted for the unit that returned)
    finished: int = 0  # 已办结 (reply submitted and not sent back)
    finished_on_time: int = 0  # 按期办结 (submitted_at <= due_at)
    finished_late: int = 0  # 超期办结
    open: int = 0  # 在办 (assigned / accepted / extension requested)
    open_overdue: int = 0  # 超期未办结 (open, past due at the as-of time)
    overdue_now: int = 0  # 当前超期 (any case of the unit)
    overdue_in_period: int = 0  # 期内超期 (any case of the unit overdue at some moment of the period)
    workdays_total: int = 0  # Σ working days from assignment to submission (finished cases)
    workdays_count: int = 0
    replied: int = 0  # 已答复
    public: int = 0  # 公开答复
    followed: int = 0  # 已回访 (是否化解 recorded)
    resolved: int = 0  # 已化解
    satisfied: int = 0  # 满意
    basic: int = 0  # 基本满意
    dissatisfied: int = 0  # 不满意
    extensions: int = 0  # 延期 (approved extensions)
    extended_cases: int = 0
    interims: int = 0  # 阶段性报告
    interim_cases: int = 0
    repeated: int = 0  # 重复反映 (linked to an earlier case)
    # replies stalled in the office at the as-of time, by step (bot/domain/steps.py)
    stalled_review: int = 0  # 待审核超期
    stalled_approval: int = 0  # 待审定超期
    stalled_publish: int = 0  # 待回复超期
    # 第九条 登记交办: 信访类 "当日交办"; 建议类、咨询类 礼节性回复; 涉法涉诉、党风廉政 转办
    not_same_day: int = 0  # 未当日交办 (to be handled, not assigned by office close of its day)
    courtesy: int = 0  # 礼节性回复件
    transferred: int = 0  # 转办件 (counted apart: no unit, no deadline)

    @property
    def overdue(self) -> int:
        """超期件 of the cohort: finished late plus still open past due."""
        return self.finished_late + self.open_overdue

    @property
    def due_decided(self) -> int:
        """Cases whose timeliness is decided: finished, or open and already past due."""
        return self.finished + self.open_overdue

    @property
    def accept_rate(self) -> float | None:
        """签收及时率 = accepted on time / acceptance decided."""
        return ratio(self.accepted_on_time, self.accept_judged)

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率 = finished on time / (finished + open past due)."""
        return ratio(self.finished_on_time, self.due_decided)

    @property
    def avg_workdays(self) -> float | None:
        """平均办结用时, working days."""
        return ratio(self.workdays_total, self.workdays_count)

    @property
    def resolution_rate(self) -> float | None:
        """化解率 = resolved / followed up."""
        return ratio(self.resolved, self.followed)

    @property
    def evaluated(self) -> int:
        return self.satisfied + self.basic + self.dissatisfied

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 = (满意 + 基本满意) / evaluated."""
        return ratio(self.satisfied + self.basic, self.evaluated)

    @property
    def public_rate(self) -> float | None:
        """公开答复率 = public replies / replies."""
        return ratio(self.public, self.replied)

    def add(self, other: UnitStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @classmethod
    def total(cls, parts: Iterable[UnitStats]) -> UnitStats:
        result = cls()
        for part in parts:
            result.add(part)
        return result


@dataclass(frozen=True)
class CountTrend:
    """A count this period against the previous period (hot topics, breakdowns)."""

    key: str
    count: int
    previous: int
    extra: Mapping[str, object] = field(default_factory=dict, compare=False)

    @property
    def change(self) -> int:
        return self.count - self.previous

    @property
    def change_rate(self) -> float | None:
        """Relative change; None when the previous count was 0."""
        return ratio(self.change, self.previous)

    @property
    def arrow(self) -> str:
        return "↑" if self.change > 0 else "↓" if self.change < 0 else "→"


def compare_counts(
    current: Mapping[str, int], previous: Mapping[str, int], *, limit: int | None = None
) -> list[CountTrend]:
    """Keys of ``current`` (count > 0) by count descending, then key; with the previous count."""
    rows = [CountTrend(k, n, previous.get(k, 0)) for k, n in current.items() if n > 0]
    rows.sort(key=lambda r: (-r.count, r.key))
    return rows[:limit] if limit is not None else rows


def nth_workday_of_month(year: int, month: int, n: int, cal: WorkCalendar) -> date | None:
    """The ``n``-th working day (1-based) of the month; None if the month has fewer."""
    if n < 1:
        return None
    day = cal.add_workdays(date(year, month, 1) - timedelta(days=1), n)
    return day if day.month == month else None


def summary_period_due(now: datetime, cal: WorkCalendar, tz: ZoneInfo, *, workday: int, at: time) -> Period | None:
    """The month whose summary is due at ``now``: the previous month, on the ``workday``-th
    working day of the current month from ``at`` (local time) to the end of that day; None at
    any other moment or when ``workday`` is 0 (posting switched off)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if workday < 1:
        return None
    local = now.astimezone(tz)
    if nth_workday_of_month(local.year, local.month, workday, cal) != local.date() or local.time() < at:
        return None
    return Period.containing(local.date()).previous()
