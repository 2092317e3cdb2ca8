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
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.domain.archive import ARCHIVE_ELEMENTS, ElementCheck
from bot.domain.deadlines import OfficeHours, workday_deadline
from bot.domain.routing import title_hidden
from bot.domain.scoring import (
    Occurrence,
    ScoringRules,
    average,
    resolution_bonus,
    score_unit,
)
from bot.domain.states import Satisfaction, State
from bot.domain.statistics import (
    Period,
    UnitStats,
    trend_months,
)
from bot.domain.workcalendar import WorkCalendar
from bot.handlers.deps import Deps
from bot.privacy import redact
from bot.reports.model import Breakdown, HotSubject, Report, TrendPoint, UnitReport
from store import reports as queries
from store.db import Session
from store.reports import FINISHED_VALUES, STAT_NAMES, EventRow

NO_DEADLINE_VALUES = (State.REGISTERED.value, State.RETURNED.value)
HOT_SUBJECTS = 10
TREND_MONTHS = 12
UNCATEGORISED = "未分类"
#: timeline actions counted by a rule, by the period in which they were recorded
EVENT_RULES = {
    "review_reject": "review_rejected",
    "leader_reject": "leader_rejected",
    "supervise": "supervised",
    "co_overdue": "co_overdue",
    "commendation": "commendation",
    "low_error": "low_error",
    "info_adopted": "info_adopted",
}


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

    def inside(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.limit

    @classmethod
    def of(cls, period: Period, tz: ZoneInfo, as_of: datetime) -> Window:
        start, end = period.bounds(tz)
        return cls(period, tz, as_of, start, end)


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _hm(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%m-%d %H:%M") if moment is not None else ""


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


async def cohort_stats(session: Session, w: Window, accept: AcceptClock, cal: WorkCalendar) -> Cohort:
    """UnitStats per unit id (None = not assigned) of the cases received in the period, and the
    breakdowns, from one GROUP BY over the cohort plus one streamed pass for the calendar."""
    stats: dict[int | None, UnitStats] = defaultdict(UnitStats)
    by_key: dict[str, dict[str, list[int]]] = {d: {} for d in DIMENSIONS}
    for row in await queries.cohort_groups(session, w.start, w.end, w.as_of):
        s = stats[row.unit_id]
        values = {name: int(getattr(row, name)) for name in STAT_NAMES}
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
    as_of, day = _naive(w.as_of), accept.clock.day
    finished = set(FINISHED_VALUES)
    assigned_state = State.ASSIGNED.value
    async for batch in queries.cohort_assignments(session, w.start, w.end):
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
    for row in await queries.open_overdue_by_unit(session, w.as_of, w.limit):
        if row.unit_id is not None:
            stats[row.unit_id].overdue_now = int(row.now)
            stats[row.unit_id].overdue_in_period = int(row.during) if w.active else 0
    if w.active:
        # finished, late, and still overdue after the period began
        for row in await queries.finished_late_by_unit(session, w.start, w.limit):
            if row.unit_id is not None:
                stats[row.unit_id].overdue_in_period += int(row.n)
    return Cohort(stats, by_key)


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


async def window_events(session: Session, w: Window) -> list[EventRow]:
    """The timeline entries a rule counts, and the reassignments, recorded in [start, limit):
    one scan of case_events (there is no index on action or time), no join — the planner would
    otherwise look up every case's events one by one."""
    if not w.active:
        return []
    return await queries.events_between(session, (*EVENT_RULES, "reassign"), w.start, w.limit)


@dataclass
class _ReturnFacts:
    returned: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    invalid: list[tuple[int, Occurrence]] = field(default_factory=list)


async def return_facts(session: Session, w: Window, events: Sequence[EventRow]) -> _ReturnFacts:
    """Returns (退回) of the cohort, counted for the unit that returned, and the returns the
    dispatcher answered by reassigning the case to the same unit within [start, limit)."""
    facts = _ReturnFacts()
    relevant = await queries.returned_in_cohort(session, w.start, w.end)
    relevant |= {e.case_id for e in events if e.action == "reassign"}
    refs = await queries.case_refs(session, relevant)
    async for batch in queries.assignment_history(session, relevant, w.as_of):
        current: tuple[int | None, int | None] = (None, None)  # (case id, unit id)
        pending: tuple[int, datetime, int | None] | None = None  # the last return: (event id, at, unit)
        for case_id, event_id, action, at, data in batch:
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


def missing_labels(mask: int) -> tuple[str, ...]:
    return tuple(e.label for i, e in enumerate(ARCHIVE_ELEMENTS) if mask & (1 << i))


@dataclass
class _Scoring:
    occurrences: dict[int, list[Occurrence]] = field(default_factory=lambda: defaultdict(list))
    #: follow-ups of the window and how many were resolved, per (unit id, (year, month))
    followed: dict[tuple[int, tuple[int, int]], int] = field(default_factory=lambda: defaultdict(int))
    resolved: dict[tuple[int, tuple[int, int]], int] = field(default_factory=lambda: defaultdict(int))


async def scoring_occurrences(
    session: Session,
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
    start, limit = _naive(w.start), _naive(w.limit)
    finished = set(FINISHED_VALUES)
    no_deadline = set(NO_DEADLINE_VALUES)
    assigned_state, dissatisfied = State.ASSIGNED.value, Satisfaction.DISSATISFIED.value

    hm = accept.clock.hm

    async for batch in queries.scored_cases(session, earliest, w.start, w.limit):
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
    gone = await queries.voided(session, {e.case_id for e in counted})
    counted = [e for e in counted if e.case_id not in gone]
    refs = await queries.case_refs(session, {e.case_id for e in counted})
    for e in counted:
        ref = refs[e.case_id]
        named = (e.data or {}).get("unit_id") or ref.unit_id  # a commendation names the unit it was for
        if named is not None:
            out.occurrences[int(named)].append(
                Occurrence(
                    EVENT_RULES[e.action], ref.number, (e.id,), e.at, f"{_hm(e.at, tz)} {_EVENT_WORDS[e.action]}"
                )
            )
    if rules.enabled("repeated"):
        async for batch in queries.repeated_messages(session, w.start, w.limit):
            for number, received_at, first, unit in batch:
                out.occurrences[unit].append(Occurrence("repeated", number, (), received_at, f"重复反映，原件 {first}"))
    return out


_EVENT_WORDS = {
    "review_reject": "审核退回修改",
    "leader_reject": "领导驳回",
    "supervise": "督办",
    "co_overdue": "协办逾期",
    "commendation": "表扬",
    "low_error": "低级错误",
    "info_adopted": "信息获得采用",
}


# --- breakdowns, hot subjects, trend ----------------------------------------------------------------


async def previous_counts(session: Session, previous: Window) -> dict[str, dict[str, int]]:
    """Cases received in the previous period per category, level and source (one GROUP BY)."""
    counts: dict[str, dict[str, int]] = {d: defaultdict(int) for d in DIMENSIONS}
    for row in await queries.received_by_key(session, previous.start, previous.end):
        for dimension in DIMENSIONS:
            counts[dimension][getattr(row, dimension) or UNCATEGORISED] += int(row.n)
    return counts


def breakdown(figures: dict[str, list[int]], before: dict[str, int]) -> list[Breakdown]:
    """One breakdown: this period's figures per key, with last period's count; a key asked about
    last period and not at all in this one is listed too (a trend)."""
    before = dict(before)
    result = [Breakdown(k, v[0], v[1], v[2], v[3], v[4], v[5], before.pop(k, 0)) for k, v in figures.items()]
    result += [Breakdown(k, 0, 0, 0, 0, 0, 0, n) for k, n in before.items() if n]
    result.sort(key=lambda b: (-b.received, -b.previous, b.key))
    return result


async def hot_subjects(
    session: Session, w: Window, previous: Window, hidden_categories: frozenset[str]
) -> list[HotSubject]:
    """The chains of repeated messages (重复反映) with the most messages in the period."""
    rows = await queries.chain_counts(session, w.start, w.end, HOT_SUBJECTS)
    if not rows:
        return []
    roots = [int(r.root) for r in rows]
    firsts = await queries.chain_heads(session, roots)
    before = await queries.chain_sizes(session, previous.start, previous.end, roots)
    result = []
    for r in rows:
        first = firsts[int(r.root)]
        shown = first.reply_mode != "individual" and not title_hidden(first.category, first.route, hidden_categories)
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


async def trend(session: Session, months: Sequence[Period], tz: ZoneInfo, as_of: datetime) -> list[TrendPoint]:
    bounds = [m.bounds(tz) for m in months]
    rows = await queries.monthly_figures(session, bounds, as_of)
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
    session: Session, config: Config, cal: WorkCalendar, period: Period, as_of: datetime
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

    unit_rows = await queries.units(session)
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
        report_unit = UnitReport(
            row.id,
            row.name,
            stats.get(row.id) or UnitStats(),
            average(rules, [s for _, s in monthly]),
            monthly,
            active=row.active,
        )
        if period.kind == "year":
            # 004: one score for the year from a base of 100, every occurrence of the year counted
            followed = sum(n for (unit, _m), n in scoring.followed.items() if unit == row.id)
            resolved = sum(n for (unit, _m), n in scoring.resolved.items() if unit == row.id)
            bonus = resolution_bonus(rules, followed, resolved)
            occurrences = [*scoring.occurrences.get(row.id, []), *([bonus] if bonus else [])]
            report_unit.yearly = score_unit(rules, occurrences)
            report_unit.consequence = config.scoring.consequences.get(report_unit.yearly.grade, "")
        units.append(report_unit)
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
async def report_session(deps: Deps) -> AsyncIterator[Session]:
    """A session that reads a report in one snapshot without holding SQLite's writer lock
    (store.reports.snapshot_session)."""
    async with queries.snapshot_session(deps.sessions) as session:
        yield session


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
        async for batch in queries.incomplete_records(session, lo, hi, closed_only=closed_only):
            for number, state, missing in batch:
                yield ElementCheck(number, state, missing_labels(int(missing)))
