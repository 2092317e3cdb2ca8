"""The report of a period as the rest of the bot reads it: statistics, breakdowns, hot subjects,
trend and scores (bot/reports/compute.py fills it in; xlsx, chart and summary present it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.scoring import ScoringRules, UnitScore
from bot.domain.statistics import CountTrend, Period, UnitStats, compare_counts, ratio

# --- the report --------------------------------------------------------------------------------


@dataclass
class UnitReport:
    unit_id: int
    name: str
    stats: UnitStats
    score: UnitScore  # a quarter's or a year's: the mean of ``monthly``
    monthly: list[tuple[Period, UnitScore]] = field(default_factory=list)  # months begun by the as-of time
    rank: int = 0
    active: bool = True
    #: a year's report: the year scored at once as 004 describes (base 100 for the year, every
    #: occurrence of the year counted, each rule's cap applied to the year), and the consequence
    #: its grade carries (基本合格 → 书面函告; 不合格 → 约谈)
    yearly: UnitScore | None = None
    consequence: str = ""


@dataclass(frozen=True)
class Breakdown:
    """One row of a breakdown (category, level or source) of the cohort."""

    key: str
    received: int
    finished_on_time: int
    due_decided: int
    overdue: int
    followed: int
    resolved: int
    previous: int = 0  # received in the previous period

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.finished_on_time, self.due_decided)

    @property
    def resolution_rate(self) -> float | None:
        return ratio(self.resolved, self.followed)

    @property
    def trend(self) -> CountTrend:
        return CountTrend(self.key, self.received, self.previous)


@dataclass(frozen=True)
class HotSubject:
    """A matter raised again and again: the first case of a chain of repeated messages (重复反映)."""

    number: str  # 文号 of the first case
    title: str | None  # None when it may not be shown (个别回复, or a category kept out of groups)
    category: str
    count: int  # messages about it received in the period
    previous: int  # … in the previous period

    @property
    def trend(self) -> CountTrend:
        return CountTrend(self.number, self.count, self.previous)


@dataclass(frozen=True)
class TrendPoint:
    month: Period
    received: int
    finished: int
    finished_on_time: int
    overdue: int
    open_overdue: int

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.finished_on_time, self.finished + self.open_overdue)


@dataclass
class Report:
    period: Period
    as_of: datetime  # aware; figures are as of this moment
    tz: ZoneInfo
    rules: ScoringRules
    accept_workdays: int
    office: UnitStats  # every case of the cohort, with or without a unit
    unassigned: UnitStats  # cases of the cohort not (yet) assigned to a unit
    units: list[UnitReport]  # ranked: best score first
    categories: list[Breakdown]
    levels: list[Breakdown]
    sources: list[Breakdown]
    hot_subjects: list[HotSubject]
    trend: list[TrendPoint]
    previous_received: int = 0

    @property
    def as_of_text(self) -> str:
        return self.as_of.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    @property
    def period_text(self) -> str:
        return f"{self.period.start.isoformat()} 至 {self.period.last_day.isoformat()}"

    def unit(self, name: str) -> UnitReport:
        for u in self.units:
            if u.name == name:
                return u
        raise KeyError(name)

    @property
    def hot_categories(self) -> list[CountTrend]:
        return compare_counts(
            {b.key: b.received for b in self.categories}, {b.key: b.previous for b in self.categories}
        )

    def grade_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for u in self.units:
            counts[u.score.grade] = counts.get(u.score.grade, 0) + 1
        return counts


# --- the archive check ---------------------------------------------------------------------------
