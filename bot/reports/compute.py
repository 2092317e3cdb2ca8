"""Statistics and scores of a period, read from the database (design.md "Reports and scoring").

Every definition is in docs/reports.md. How it scales (bench/bench_report.py): counts are
aggregated in the database (``GROUP BY``); only narrow tuples of the cases that need the work
calendar or a rule's verdict are streamed through Python in batches, never ORM objects and
never all cases at once. What stays in memory is one row per unit, per category/level/source,
per month of the trend, and one small ``Occurrence`` per deduction or bonus.

Two time frames (both documented):

* statistics are about the cases *received* in the period (the cohort), as of the report time;
* the score counts each fault in the period in which it happened (a deadline that passed, an
  event that was recorded, a follow-up that was made), so that nothing is counted twice and a
  fault that shows after the cohort's report still costs points in the next one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    event,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import case as when
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import aliased
from sqlalchemy.pool import NullPool

from bot.config import Config
from bot.domain.archive import ARCHIVE_ELEMENTS, BLANKS, ElementCheck
from bot.domain.deadlines import OfficeHours, workday_deadline
from bot.domain.scoring import (
    Occurrence,
    ScoringRules,
    UnitScore,
    average,
    resolution_bonus,
    score_unit,
)
from bot.domain.states import Satisfaction, State
from bot.domain.statistics import (
    CountTrend,
    Period,
    UnitStats,
    compare_counts,
    ratio,
    trend_months,
)
from bot.domain.workcalendar import WorkCalendar
from bot.handlers.deps import Deps
from bot.privacy import redact
from store.models import Case, CaseEvent, Unit

OPEN_VALUES = (State.ASSIGNED.value, State.ACCEPTED.value, State.EXTENSION_REQUESTED.value)
#: a reply has been submitted and not (yet) sent back: the unit's part is done
FINISHED_VALUES = (
    State.SUBMITTED.value,
    State.REVIEWED.value,
    State.APPROVED.value,
    State.REPLIED.value,
    State.CLOSED.value,
    State.ARCHIVED.value,
)
NO_DEADLINE_VALUES = (State.REGISTERED.value, State.RETURNED.value)
STREAM_BATCH = 5000
ID_CHUNK = 500  # ids per IN (…) list
HOT_SUBJECTS = 10
TREND_MONTHS = 12
UNCATEGORISED = "未分类"
#: timeline actions counted by a rule, by the period in which they were recorded
EVENT_RULES = {
    "review_reject": "review_rejected",
    "leader_reject": "leader_rejected",
    "supervise": "supervised",
    "commendation": "commendation",
}


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


# --- the query context -------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The period as instants: [start, end) of the period, ``limit`` = min(end, as_of) — faults are
    counted in [start, limit) — and the cohort (留言时间 in [start, end))."""

    period: Period
    tz: ZoneInfo
    as_of: datetime
    start: datetime
    end: datetime

    @property
    def limit(self) -> datetime:
        return min(self.end, self.as_of)

    @property
    def active(self) -> bool:
        """False for a period that has not started at the as-of time (nothing can be counted)."""
        return self.limit > self.start

    def cohort(self) -> ColumnElement[bool]:
        return and_(Case.received_at >= self.start, Case.received_at < self.end)

    def counts(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.limit)

    def inside(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.limit

    @classmethod
    def of(cls, period: Period, tz: ZoneInfo, as_of: datetime) -> Window:
        start, end = period.bounds(tz)
        return cls(period, tz, as_of, start, end)


def _n(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows meeting ``condition`` (0, not NULL, for no rows)."""
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def finished_condition() -> ColumnElement[bool]:
    return and_(Case.state.in_(FINISHED_VALUES), Case.submitted_at.is_not(None))


def _stats_columns(as_of: datetime) -> list[Any]:
    finished = finished_condition()
    open_ = Case.state.in_(OPEN_VALUES)
    return [
        func.count().label("received"),
        _n(Case.assigned_at.is_not(None)).label("assigned"),
        _n(Case.accepted_at.is_not(None)).label("accepted"),
        _n(finished).label("finished"),
        _n(and_(finished, Case.submitted_at <= Case.due_at)).label("finished_on_time"),
        _n(and_(finished, Case.submitted_at > Case.due_at)).label("finished_late"),
        _n(open_).label("open"),
        _n(and_(open_, Case.due_at < as_of)).label("open_overdue"),
        _n(Case.replied_at.is_not(None)).label("replied"),
        _n(and_(Case.replied_at.is_not(None), Case.reply_mode == "public")).label("public"),
        _n(and_(Case.followed_up_at.is_not(None), Case.resolved.is_not(None))).label("followed"),
        _n(and_(Case.followed_up_at.is_not(None), Case.resolved.is_(True))).label("resolved"),
        _n(Case.satisfaction == Satisfaction.SATISFIED.value).label("satisfied"),
        _n(Case.satisfaction == Satisfaction.BASICALLY.value).label("basic"),
        _n(Case.satisfaction == Satisfaction.DISSATISFIED.value).label("dissatisfied"),
        func.coalesce(func.sum(Case.extension_count), 0).label("extensions"),
        _n(Case.extension_count > 0).label("extended_cases"),
        func.coalesce(func.sum(Case.interim_count), 0).label("interims"),
        _n(Case.interim_count > 0).label("interim_cases"),
        _n(Case.duplicate_of_id.is_not(None)).label("repeated"),
    ]


_STAT_NAMES = (
    "received",
    "assigned",
    "accepted",
    "finished",
    "finished_on_time",
    "finished_late",
    "open",
    "open_overdue",
    "replied",
    "public",
    "followed",
    "resolved",
    "satisfied",
    "basic",
    "dissatisfied",
    "extensions",
    "extended_cases",
    "interims",
    "interim_cases",
    "repeated",
)


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _hm(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%m-%d %H:%M") if moment is not None else ""


async def _stream(session: AsyncSession, stmt: Any) -> AsyncIterator[Sequence[Any]]:
    """Rows of ``stmt`` in batches of STREAM_BATCH (a server-side cursor where the driver has one)."""
    connection = await session.connection()  # Core rows: no ORM loading machinery per row
    result = await connection.stream(stmt.execution_options(yield_per=STREAM_BATCH))
    async for batch in result.partitions(STREAM_BATCH):
        yield batch


class AcceptClock:
    """签收时限 of an assignment: close of office on the ``n``-th working day after its local date
    (cached per date: a month of assignments touches ~30 dates)."""

    def __init__(self, n: int, cal: WorkCalendar, hours: OfficeHours) -> None:
        self.n, self.cal, self.hours = n, cal, hours
        self.clock = LocalClock(hours.tz)
        self._cache: dict[date, datetime] = {}
        self._naive: dict[date, datetime] = {}

    def deadline(self, assigned_at: datetime) -> datetime:
        day = _local_day(assigned_at, self.hours.tz)
        due = self._cache.get(day)
        if due is None:
            due = workday_deadline(assigned_at, self.n, self.cal, self.hours).due_at.astimezone(UTC)
            self._cache[day] = due
        return due

    def deadline_naive(self, assigned_at: datetime) -> datetime:
        """``deadline`` for a naive UTC ``assigned_at``, as naive UTC."""
        day = self.clock.day(assigned_at)
        due = self._naive.get(day)
        if due is None:
            due = self._naive[day] = self.deadline(_aware(assigned_at)).replace(tzinfo=None)
        return due

    def earliest_assignment(self, start: datetime) -> datetime:
        """The earliest moment an assignment can have its 签收时限 at or after ``start``: local
        midnight of the ``n``-th working day counted back from the day before ``start``'s date."""
        day = _local_day(start, self.hours.tz)
        found = 0
        while found < self.n:
            day -= timedelta(days=1)
            found += self.cal.is_workday(day)
        return datetime.combine(day, time(), self.hours.tz)


# --- statistics (the cohort) --------------------------------------------------------------------


DIMENSIONS = ("category", "level", "source")


@dataclass
class Cohort:
    """The cohort aggregated once, by unit and by category, level and source together."""

    stats: dict[int | None, UnitStats]
    by_key: dict[str, dict[str, list[int]]]  # dimension → key → Breakdown figures (without previous)


async def cohort_stats(session: AsyncSession, w: Window, accept: AcceptClock, cal: WorkCalendar) -> Cohort:
    """UnitStats per unit id (None = not assigned) of the cases received in the period, and the
    breakdowns, from one GROUP BY over the cohort plus one streamed pass for the calendar."""
    stats: dict[int | None, UnitStats] = defaultdict(UnitStats)
    by_key: dict[str, dict[str, list[int]]] = {d: {} for d in DIMENSIONS}
    keys = [Case.category, Case.level, Case.source]
    rows = await session.execute(
        select(Case.unit_id, *keys, *_stats_columns(w.as_of)).where(w.cohort()).group_by(Case.unit_id, *keys)
    )
    for row in rows:
        s = stats[row.unit_id]
        values = {name: int(getattr(row, name)) for name in _STAT_NAMES}
        for name, value in values.items():
            setattr(s, name, getattr(s, name) + value)
        figures = (
            values["received"],
            values["finished_on_time"],
            values["finished"] + values["open_overdue"],
            values["finished_late"] + values["open_overdue"],
            values["followed"],
            values["resolved"],
        )
        for dimension in DIMENSIONS:
            into = by_key[dimension].setdefault(getattr(row, dimension) or UNCATEGORISED, [0] * 6)
            for i, v in enumerate(figures):
                into[i] += v
    # the work calendar: 签收 on time, working days to finish (narrow rows, streamed; naive UTC)
    stmt = select(
        Case.unit_id, _raw(Case.assigned_at), _raw(Case.accepted_at), _raw(Case.submitted_at), Case.state
    ).where(w.cohort(), Case.assigned_at.is_not(None), Case.unit_id.is_not(None))
    as_of, day = _naive(w.as_of), accept.clock.day
    finished = set(FINISHED_VALUES)
    assigned_state = State.ASSIGNED.value
    async for batch in _stream(session, stmt):
        for unit_id, assigned_at, accepted_at, submitted_at, state in batch:
            s = stats[unit_id]
            deadline = accept.deadline_naive(assigned_at)
            if accepted_at is not None:
                s.accept_judged += 1
                s.accepted_on_time += accepted_at <= deadline
            elif state == assigned_state and deadline < as_of:
                s.accept_judged += 1
            if state in finished and submitted_at is not None:
                s.workdays_total += max(0, cal.workdays_between(day(assigned_at), day(submitted_at)))
                s.workdays_count += 1
    # overdue now / during the period: every case of the unit, whenever received.
    # Open and past due: few rows, found through ix_cases_state_due_at.
    rows = await session.execute(
        select(Case.unit_id, func.count().label("now"), _n(Case.due_at < w.limit).label("during"))
        .where(Case.state.in_(OPEN_VALUES), Case.due_at < w.as_of)
        .group_by(Case.unit_id)
    )
    for row in rows:
        if row.unit_id is not None:
            stats[row.unit_id].overdue_now = int(row.now)
            stats[row.unit_id].overdue_in_period = int(row.during) if w.active else 0
    if w.active:
        # finished, late, and still overdue after the period began: a scan of the table (no index
        # on submitted_at), which SQLite must not walk through an index in unit order
        dialect = _dialect(session)
        unit = _plain(Case.unit_id, dialect)
        rows = await session.execute(
            select(unit.label("unit_id"), func.count().label("n"))
            .where(
                _plain(Case.state, dialect).in_(FINISHED_VALUES),
                Case.submitted_at > w.start,
                Case.submitted_at > Case.due_at,
                _plain(Case.due_at, dialect) < w.limit,
            )
            .group_by(unit)
        )
        for row in rows:
            if row.unit_id is not None:
                stats[row.unit_id].overdue_in_period += int(row.n)
    return Cohort(stats, by_key)


def _raw(column: Any) -> Any:
    """The time column without the UTC-aware conversion of ``UTCDateTime``: naive UTC straight
    from the driver. For the streamed passes, where a Python call per value would dominate."""
    return type_coerce(column, DateTime()).label(column.key)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _day(naive_utc: datetime, tz: ZoneInfo) -> date:
    return naive_utc.replace(tzinfo=UTC).astimezone(tz).date()


class LocalClock:
    """Local dates and times of naive UTC datetimes, for the streamed loops: the zone's offset is
    looked up once per UTC day (a day with a DST change takes the exact, slower way)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, timedelta | None] = {}

    def local(self, naive_utc: datetime) -> datetime:
        """Naive local wall-clock time."""
        ordinal = naive_utc.toordinal()
        if ordinal in self._offsets:
            offset = self._offsets[ordinal]
        else:
            midnight = datetime.fromordinal(ordinal).replace(tzinfo=UTC)
            first = midnight.astimezone(self.tz).utcoffset()
            last = (midnight + timedelta(days=1) - timedelta(microseconds=1)).astimezone(self.tz).utcoffset()
            offset = self._offsets[ordinal] = first if first == last else None
        if offset is None:
            return naive_utc.replace(tzinfo=UTC).astimezone(self.tz).replace(tzinfo=None)
        return naive_utc + offset

    def day(self, naive_utc: datetime) -> date:
        return self.local(naive_utc).date()

    def hm(self, naive_utc: datetime | None) -> str:
        """``10-27 17:30`` (local), "" for None."""
        if naive_utc is None:
            return ""
        t = self.local(naive_utc)
        return f"{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"


def _plain(column: Any, dialect: str) -> Any:
    """The column, but on SQLite as ``+column``: the same value, which the planner may not look
    up in an index. For queries that read most of the table, where SQLite would otherwise walk
    an index range (or an index in GROUP BY order) and fetch every row at random — 5–8× slower
    than a plain scan on a million cases (bench/bench_report.py)."""
    if dialect != "sqlite":
        return column
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)


@dataclass(frozen=True)
class CaseRef:
    number: str
    unit_id: int | None
    received_at: datetime


async def case_refs(session: AsyncSession, ids: set[int]) -> dict[int, CaseRef]:
    """文号, unit and 留言时间 of the cases ``ids`` (primary-key lookups, in chunks)."""
    refs: dict[int, CaseRef] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), ID_CHUNK):
        rows = await session.execute(
            select(Case.id, Case.number, Case.unit_id, Case.received_at).where(Case.id.in_(ordered[i : i + ID_CHUNK]))
        )
        refs.update({r.id: CaseRef(r.number, r.unit_id, r.received_at) for r in rows})
    return refs


@dataclass(frozen=True)
class EventRow:
    id: int
    case_id: int
    action: str
    at: datetime
    data: dict[str, Any] | None


async def window_events(session: AsyncSession, w: Window) -> list[EventRow]:
    """The timeline entries a rule counts, and the reassignments, recorded in [start, limit):
    one scan of case_events (there is no index on action or time), no join — the planner would
    otherwise look up every case's events one by one."""
    if not w.active:
        return []
    stmt = select(CaseEvent.id, CaseEvent.case_id, CaseEvent.action, CaseEvent.at, CaseEvent.data).where(
        CaseEvent.action.in_((*EVENT_RULES, "reassign")), w.counts(CaseEvent.at)
    )
    return [EventRow(*row) async for batch in _stream(session, stmt) for row in batch]


@dataclass
class _ReturnFacts:
    returned: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    invalid: list[tuple[int, Occurrence]] = field(default_factory=list)


async def return_facts(session: AsyncSession, w: Window, events: Sequence[EventRow]) -> _ReturnFacts:
    """Returns (退回) of the cohort, counted for the unit that returned, and the returns the
    dispatcher answered by reassigning the case to the same unit within [start, limit)."""
    facts = _ReturnFacts()
    cohort = select(Case.id).where(w.cohort()).scalar_subquery()
    returned = select(CaseEvent.case_id).where(CaseEvent.action == "return", CaseEvent.case_id.in_(cohort))
    relevant = {int(r) for r in (await session.execute(returned)).scalars()}
    relevant |= {e.case_id for e in events if e.action == "reassign"}
    refs = await case_refs(session, relevant)
    ordered = sorted(relevant)
    for i in range(0, len(ordered), ID_CHUNK):
        stmt = (
            select(CaseEvent.case_id, CaseEvent.id, CaseEvent.action, CaseEvent.at, CaseEvent.data)
            .where(
                CaseEvent.case_id.in_(ordered[i : i + ID_CHUNK]),
                CaseEvent.action.in_(("assign", "reassign", "return")),
                CaseEvent.at <= w.as_of,
            )
            .order_by(CaseEvent.case_id, CaseEvent.id)
        )
        current: tuple[int | None, int | None] = (None, None)  # (case id, unit id)
        pending: tuple[int, datetime, int | None] | None = None  # the last return: (event id, at, unit)
        for case_id, event_id, action, at, data in await session.execute(stmt):
            ref = refs[case_id]
            if current[0] != case_id:
                current, pending = (case_id, None), None
            if action in ("assign", "reassign"):
                unit = (data or {}).get("unit_id")
                if action == "reassign" and pending is not None:
                    ret_id, ret_at, ret_unit = pending
                    if ret_unit is not None and ret_unit == unit and w.inside(at):
                        facts.invalid.append(
                            (
                                ret_unit,
                                Occurrence(
                                    "invalid_return",
                                    ref.number,
                                    (ret_id, event_id),
                                    at,
                                    f"{_hm(ret_at, w.tz)} 退回，{_hm(at, w.tz)} 改派回本单位",
                                ),
                            )
                        )
                    pending = None
                current = (case_id, unit)
            else:  # return
                unit = current[1]
                if unit is not None and w.start <= ref.received_at < w.end:
                    facts.returned[unit] += 1
                pending = (event_id, at, unit)
    return facts


# --- the occurrences the score counts -------------------------------------------------------------


def _blank(column: Any, dialect: str) -> ColumnElement[bool]:
    trimmed = func.btrim(column, BLANKS) if dialect == "postgresql" else func.trim(column, BLANKS)
    return or_(column.is_(None), trimmed == "")


#: archive element key → the column that holds it (``unit`` is the unit id)
ELEMENT_COLUMNS: dict[str, Any] = {
    "number": Case.number, "level": Case.level, "source": Case.source, "petitioner": Case.petitioner,
    "contact": Case.contact, "title": Case.title, "content": Case.content, "received_at": Case.received_at,
    "unit": Case.unit_id, "due_at": Case.due_at, "category": Case.category, "handling": Case.handling,
    "resolved": Case.resolved, "evaluation": Case.evaluation, "followed_up_at": Case.followed_up_at,
    "report_number": Case.report_number,
}  # fmt: skip
_TEXT_KEYS = frozenset(e.key for e in ARCHIVE_ELEMENTS if e.is_text)


def missing_mask(dialect: str) -> ColumnElement[int]:
    """An integer whose bit i is set when ``ARCHIVE_ELEMENTS[i]`` is empty (same rule as
    ``bot.domain.archive.missing_elements``: NULL, or only blanks)."""
    terms = []
    for i, element in enumerate(ARCHIVE_ELEMENTS):
        column = ELEMENT_COLUMNS[element.key]
        empty = _blank(column, dialect) if element.key in _TEXT_KEYS else column.is_(None)
        terms.append(when((empty, 1 << i), else_=0))
    total: Any = terms[0]
    for term in terms[1:]:
        total = total + term
    return total  # type: ignore[no-any-return]


def missing_labels(mask: int) -> tuple[str, ...]:
    return tuple(e.label for i, e in enumerate(ARCHIVE_ELEMENTS) if mask & (1 << i))


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


@dataclass
class _Scoring:
    occurrences: dict[int, list[Occurrence]] = field(default_factory=lambda: defaultdict(list))
    #: follow-ups of the window and how many were resolved, per (unit id, (year, month))
    followed: dict[tuple[int, tuple[int, int]], int] = field(default_factory=lambda: defaultdict(int))
    resolved: dict[tuple[int, tuple[int, int]], int] = field(default_factory=lambda: defaultdict(int))


async def scoring_occurrences(
    session: AsyncSession,
    w: Window,
    accept: AcceptClock,
    rules: ScoringRules,
    returns: _ReturnFacts,
    events: Sequence[EventRow],
) -> _Scoring:
    out = _Scoring()
    for unit, occ in returns.invalid:
        out.occurrences[unit].append(occ)
    if not w.active:
        return out
    tz = w.tz
    # one pass over the cases with a deadline, a 签收时限, a follow-up or a closing in the window
    # (naive UTC throughout the loop; only what becomes an occurrence is made aware)
    earliest = accept.earliest_assignment(w.start)
    stmt = select(
        Case.number,
        Case.unit_id,
        Case.state,
        _raw(Case.assigned_at),
        _raw(Case.accepted_at),
        _raw(Case.due_at),
        _raw(Case.submitted_at),
        _raw(Case.followed_up_at),
        _raw(Case.closed_at),
        Case.resolved,
        Case.satisfaction,
        missing_mask(_dialect(session)).label("missing"),
    ).where(
        or_(
            and_(Case.assigned_at >= earliest, Case.assigned_at < w.limit),
            w.counts(Case.due_at),
            w.counts(Case.followed_up_at),
            w.counts(Case.closed_at),
        )
    )
    start, limit = _naive(w.start), _naive(w.limit)
    finished = set(FINISHED_VALUES)
    no_deadline = set(NO_DEADLINE_VALUES)
    assigned_state, dissatisfied = State.ASSIGNED.value, Satisfaction.DISSATISFIED.value

    hm = accept.clock.hm

    async for batch in _stream(session, stmt):
        for (
            number,
            unit,
            state,
            assigned_at,
            accepted_at,
            due_at,
            submitted_at,
            followed_up_at,
            closed_at,
            resolved,
            satisfaction,
            missing,
        ) in batch:
            if unit is None:  # never assigned: nobody to score
                continue
            found: list[Occurrence] = []
            if due_at is not None and start <= due_at < limit and state not in no_deadline:
                done = state in finished and submitted_at is not None
                if not (done and submitted_at <= due_at):
                    how = f"{hm(submitted_at)} 提交" if done else "到期时未办结"
                    found.append(Occurrence("overdue", number, (), _aware(due_at), f"{hm(due_at)} 到期，{how}"))
            if assigned_at is not None:
                deadline = accept.deadline_naive(assigned_at)
                if start <= deadline < limit:
                    never = accepted_at is None and state == assigned_state
                    if never or (accepted_at is not None and accepted_at > deadline):
                        how = "到期时未签收" if never else f"{hm(accepted_at)} 签收"
                        found.append(
                            Occurrence(
                                "late_acceptance",
                                number,
                                (),
                                _aware(deadline),
                                f"{hm(assigned_at)} 交办，签收时限 {hm(deadline)}，{how}",
                            )
                        )
            if followed_up_at is not None and start <= followed_up_at < limit and resolved is not None:
                day = accept.clock.day(followed_up_at)
                key = (unit, (day.year, day.month))
                out.followed[key] += 1
                out.resolved[key] += bool(resolved)
                if not resolved:
                    found.append(
                        Occurrence(
                            "unresolved", number, (), _aware(followed_up_at), f"{hm(followed_up_at)} 回访：未化解"
                        )
                    )
                if satisfaction == dissatisfied:
                    found.append(
                        Occurrence(
                            "dissatisfied", number, (), _aware(followed_up_at), f"{hm(followed_up_at)} 回访：不满意"
                        )
                    )
            if missing and closed_at is not None and start <= closed_at < limit:
                found.append(
                    Occurrence(
                        "archive_incomplete",
                        number,
                        (),
                        _aware(closed_at),
                        "缺少：" + "、".join(missing_labels(int(missing))),
                    )
                )
            if found:
                out.occurrences[unit].extend(found)
    # timeline events recorded in the window
    counted = [e for e in events if e.action in EVENT_RULES]
    refs = await case_refs(session, {e.case_id for e in counted})
    for e in counted:
        ref = refs[e.case_id]
        unit = (e.data or {}).get("unit_id") or ref.unit_id  # a commendation names the unit it was for
        if unit is not None:
            out.occurrences[int(unit)].append(
                Occurrence(
                    EVENT_RULES[e.action], ref.number, (e.id,), e.at, f"{_hm(e.at, tz)} {_EVENT_WORDS[e.action]}"
                )
            )
    if rules.enabled("repeated"):
        original = aliased(Case)
        stmt = (
            select(Case.number, Case.received_at, original.number, original.unit_id)
            .join(original, original.id == Case.duplicate_of_id)
            .where(w.counts(Case.received_at), original.unit_id.is_not(None))
        )
        async for batch in _stream(session, stmt):
            for number, received_at, first, unit in batch:
                out.occurrences[unit].append(Occurrence("repeated", number, (), received_at, f"重复反映，原件 {first}"))
    return out


_EVENT_WORDS = {
    "review_reject": "审核退回修改",
    "leader_reject": "领导驳回",
    "supervise": "督办",
    "commendation": "表扬",
}


# --- breakdowns, hot subjects, trend ----------------------------------------------------------------


async def previous_counts(session: AsyncSession, previous: Window) -> dict[str, dict[str, int]]:
    """Cases received in the previous period per category, level and source (one GROUP BY)."""
    keys = [Case.category, Case.level, Case.source]
    counts: dict[str, dict[str, int]] = {d: defaultdict(int) for d in DIMENSIONS}
    for row in await session.execute(select(*keys, func.count().label("n")).where(previous.cohort()).group_by(*keys)):
        for dimension in DIMENSIONS:
            counts[dimension][getattr(row, dimension) or UNCATEGORISED] += int(row.n)
    return counts


def breakdown(figures: dict[str, list[int]], before: dict[str, int]) -> list[Breakdown]:
    """One breakdown: this period's figures per key, with last period's count; a key asked about
    last period and not at all in this one is listed too (a trend)."""
    before = dict(before)
    result = [Breakdown(k, *v, previous=before.pop(k, 0)) for k, v in figures.items()]
    result += [Breakdown(k, 0, 0, 0, 0, 0, 0, n) for k, n in before.items() if n]
    result.sort(key=lambda b: (-b.received, -b.previous, b.key))
    return result


async def hot_subjects(
    session: AsyncSession, w: Window, previous: Window, hidden_categories: frozenset[str]
) -> list[HotSubject]:
    """The chains of repeated messages (重复反映) with the most messages in the period."""
    root = func.coalesce(Case.duplicate_of_id, Case.id)
    count = func.count()
    rows = (
        await session.execute(
            select(root.label("root"), count.label("n"))
            .where(w.cohort())
            .group_by(root)
            .having(_n(Case.duplicate_of_id.is_not(None)) >= 1)
            .order_by(count.desc(), root)
            .limit(HOT_SUBJECTS)
        )
    ).all()
    if not rows:
        return []
    roots = [int(r.root) for r in rows]
    firsts = {
        r.id: r
        for r in await session.execute(
            select(Case.id, Case.number, Case.title, Case.category, Case.reply_mode).where(Case.id.in_(roots))
        )
    }
    before = {
        int(k): int(n)
        for k, n in await session.execute(
            select(root, func.count()).where(previous.cohort(), root.in_(roots)).group_by(root)
        )
    }
    result = []
    for r in rows:
        first = firsts[int(r.root)]
        shown = first.reply_mode != "individual" and (first.category or "") not in hidden_categories
        result.append(
            HotSubject(
                first.number,
                redact(first.title) if shown else None,
                first.category or UNCATEGORISED,
                int(r.n),
                before.get(int(r.root), 0),
            )
        )
    return result


async def trend(session: AsyncSession, months: Sequence[Period], tz: ZoneInfo, as_of: datetime) -> list[TrendPoint]:
    bounds = [m.bounds(tz) for m in months]
    finished = finished_condition()
    received = _plain(Case.received_at, _dialect(session))  # a year of cases: scan, not index
    flags = (
        select(
            when(*[(received < end, i) for i, (_, end) in enumerate(bounds[:-1])], else_=len(bounds) - 1).label(
                "bucket"
            ),
            when((finished, 1), else_=0).label("finished"),
            when((and_(finished, Case.submitted_at <= Case.due_at), 1), else_=0).label("on_time"),
            when((and_(finished, Case.submitted_at > Case.due_at), 1), else_=0).label("late"),
            when((and_(Case.state.in_(OPEN_VALUES), Case.due_at < as_of), 1), else_=0).label("open_overdue"),
        )
        .where(received >= bounds[0][0], received < bounds[-1][1])
        .subquery()
    )
    # grouped outside the subquery: PostgreSQL would not see two bound CASE expressions as one
    rows = await session.execute(
        select(
            flags.c.bucket,
            func.count().label("received"),
            func.sum(flags.c.finished).label("finished"),
            func.sum(flags.c.on_time).label("on_time"),
            func.sum(flags.c.late).label("late"),
            func.sum(flags.c.open_overdue).label("open_overdue"),
        ).group_by(flags.c.bucket)
    )
    found = {int(r.bucket): r for r in rows}
    points = []
    for i, month in enumerate(months):
        r = found.get(i)
        if r is None:
            points.append(TrendPoint(month, 0, 0, 0, 0, 0))
        else:
            points.append(
                TrendPoint(
                    month,
                    int(r.received),
                    int(r.finished),
                    int(r.on_time),
                    int(r.late) + int(r.open_overdue),
                    int(r.open_overdue),
                )
            )
    return points


# --- assembling ---------------------------------------------------------------------------------------


def _ranked(units: list[UnitReport]) -> list[UnitReport]:
    """Best score first (then name); equal scores share a rank (1, 2, 2, 4)."""
    units.sort(key=lambda u: (-u.score.score, u.name))
    for i, u in enumerate(units):
        u.rank = units[i - 1].rank if i and units[i - 1].score.score == u.score.score else i + 1
    return units


async def compute_report(
    session: AsyncSession, config: Config, cal: WorkCalendar, period: Period, as_of: datetime
) -> Report:
    """Statistics, breakdowns, hot topics, trend and scores of ``period`` as of ``as_of`` (aware)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    hours = config.office.hours()
    tz = hours.tz
    rules = config.scoring.scoring_rules()
    accept = AcceptClock(config.scoring.accept_workdays, cal, hours)
    w = Window.of(period, tz, as_of)
    previous = Window.of(period.previous(), tz, as_of)

    cohort = await cohort_stats(session, w, accept, cal)
    stats = cohort.stats
    before = await previous_counts(session, previous)
    events = await window_events(session, w)
    returns = await return_facts(session, w, events)
    for unit_id, n in returns.returned.items():
        stats[unit_id].returned += n
    scoring = await scoring_occurrences(session, w, accept, rules, returns, events)

    unit_rows = (await session.execute(select(Unit.id, Unit.name, Unit.active))).all()
    # each month is scored on its own (its own caps); a quarter or a year averages its months
    months = [m for m in period.months() if m.bounds(tz)[0] < as_of] or [period.months()[0]]
    units: list[UnitReport] = []
    for row in unit_rows:
        has_data = row.id in stats or row.id in scoring.occurrences
        if not row.active and not has_data:
            continue
        by_month: dict[tuple[int, int], list[Occurrence]] = defaultdict(list)
        for occ in scoring.occurrences.get(row.id, []):
            assert occ.at is not None  # every occurrence from the database has its moment
            local = occ.at.astimezone(tz)
            by_month[(local.year, local.month)].append(occ)
        monthly = []
        for month in months:
            key = (month.year, month.index)
            occurrences = by_month.get(key, [])
            bonus = resolution_bonus(
                rules, scoring.followed.get((row.id, key), 0), scoring.resolved.get((row.id, key), 0)
            )
            monthly.append((month, score_unit(rules, [*occurrences, *([bonus] if bonus else [])])))
        units.append(
            UnitReport(
                row.id,
                row.name,
                stats.get(row.id) or UnitStats(),
                average(rules, [s for _, s in monthly]),
                monthly,
                active=row.active,
            )
        )
    office = UnitStats.total(stats.values())
    hidden = frozenset(getattr(getattr(config, "nudges", None), "hide_title_categories", ()) or ())
    return Report(
        period=period,
        as_of=as_of,
        tz=tz,
        rules=rules,
        accept_workdays=config.scoring.accept_workdays,
        office=office,
        unassigned=stats.get(None) or UnitStats(),
        units=_ranked(units),
        categories=breakdown(cohort.by_key["category"], before["category"]),
        levels=breakdown(cohort.by_key["level"], before["level"]),
        sources=breakdown(cohort.by_key["source"], before["source"]),
        hot_subjects=await hot_subjects(session, w, previous, hidden),
        trend=await trend(session, trend_months(period, TREND_MONTHS), tz, as_of),
        previous_received=sum(before["level"].values()),
    )


@asynccontextmanager
async def report_session(deps: Deps) -> AsyncIterator[AsyncSession]:
    """A session for reading a report.

    On SQLite every session of the bot begins with BEGIN IMMEDIATE (store/db.py: the writer lock
    up front). A report that reads for seconds must not hold that lock — chat callbacks would
    queue behind it — so on SQLite it reads through its own connection with a plain, deferred
    BEGIN and ``PRAGMA query_only``: in WAL mode a reader sees one consistent snapshot and never
    blocks a writer. PostgreSQL (MVCC) uses the ordinary sessions.
    """
    bind = deps.sessions.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite" or bind.url.database in (None, "", ":memory:"):
        async with deps.sessions() as session:
            yield session
        return
    engine = create_async_engine(bind.url, poolclass=NullPool, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _reader_pragmas)
    event.listen(engine.sync_engine, "begin", _deferred_begin)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
    finally:
        await engine.dispose()


def _reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _deferred_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


async def build_report(deps: Deps, period: Period, *, now: datetime | None = None) -> Report:
    """The report of ``period`` as of ``now`` (default: the clock), read in one snapshot."""
    async with report_session(deps) as session:
        return await compute_report(session, deps.config, deps.calendar.current, period, now or deps.clock.now())


# --- the archive check ----------------------------------------------------------------------------------


async def incomplete_cases(
    deps: Deps, start: date, end: date, *, closed_only: bool = False
) -> AsyncIterator[ElementCheck]:
    """Cases received from ``start`` to ``end`` (local dates, both included) with any of the 16
    archive elements missing, in 文号 order; streamed."""
    tz = deps.config.office.hours().tz
    if start > end:
        raise ValueError(f"开始日期 {start} 晚于结束日期 {end}")
    lo = datetime.combine(start, time(), tz)
    hi = datetime.combine(end + timedelta(days=1), time(), tz)
    async with report_session(deps) as session:
        mask = missing_mask(_dialect(session)).label("missing")
        stmt = select(Case.number, Case.state, mask).where(Case.received_at >= lo, Case.received_at < hi, mask != 0)
        if closed_only:
            stmt = stmt.where(Case.state.in_((State.CLOSED.value, State.ARCHIVED.value)))
        async for batch in _stream(session, stmt.order_by(Case.number)):
            for number, state, missing in batch:
                yield ElementCheck(number, state, missing_labels(int(missing)))
