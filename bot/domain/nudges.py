"""督促协调 (design.md "Nudges and escalation"): which reminders a case owes, and when. Pure.

A nudge is identified by (case, kind, threshold); ``threshold`` embeds the date it refers to, so a
deadline that moves (延期) gets fresh reminders while a repeated sweep never repeats one. Times are
aware datetimes; days are working days of the calendar, in the office time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.deadlines import OfficeHours, is_office_time, next_office_open, working_days_left
from bot.domain.states import State
from bot.domain.workcalendar import WorkCalendar


class Audience(StrEnum):
    HANDLERS = "handlers"
    UNIT_LEADER = "unit_leader"
    SUPERVISORS = "supervisors"
    DISPATCHERS = "dispatchers"
    LEADERS = "leaders"


class Kind(StrEnum):
    DUE = "due"  # before the handling deadline
    UNACCEPTED = "unaccepted"  # assigned, not yet 签收
    RETURN_WINDOW = "return_window"  # the last day to 退回
    INTERIM = "interim"  # complex cases: interim report due
    OVERDUE = "overdue"  # the ladder: unit leader
    NOTICE = "notice"  # the ladder: formal 督办 notice
    FOLLOWUP = "followup"  # replied, not followed up
    STEP = "step"  # 审核 / 审定 / 统一回复 due today (bot/domain/steps.py)
    STEP_OVERDUE = "step_overdue"  # … and past its limit
    PROMISE = "promise"  # 跟踪: the date the unit promised a solution by
    SUPERVISION = "supervision"  # 督办: the unit's answer is due today (bot/domain/supervision.py)
    SUPERVISION_OVERDUE = "supervision_overdue"  # … and was not given by then


@dataclass(frozen=True)
class NudgeRules:
    """Thresholds, in working days unless the name says hours."""

    due_days_before: tuple[int, ...] = (1, 0)  # 1 = the working day before, 0 = the due day's morning
    leader_on_due_day: bool = True
    unaccepted_handler_hours: int = 4
    unaccepted_leader_hours: int = 24
    return_window_warning: bool = True
    interim_days_before: tuple[int, ...] = (1, 0)
    overdue_leader_days: int = 1
    overdue_notice_days: int = 3
    followup_after_days: int = 3
    urgent_remind_hours: int = 2
    stagger_minutes: int = 25


@dataclass(frozen=True)
class CaseClock:
    """The facts of a case that reminders depend on."""

    case_id: int
    unit_id: int | None
    state: State
    complex: bool = False
    urgent: bool = False
    assigned_at: datetime | None = None
    due_at: datetime | None = None
    return_deadline: datetime | None = None
    replied_at: datetime | None = None
    interim_count: int = 0
    interim_due: datetime | None = None
    #: extended (延期): it cannot be finished on time, so it owes an interim report (第十条)
    extended: bool = False
    step_due_at: datetime | None = None  # the office's step on the reply (审核, 审定, 统一回复)
    promised_at: datetime | None = None  # 跟踪: the unit's promised date
    supervision_answer_by: datetime | None = None  # 督办: the answer the unit still owes, due by


@dataclass(frozen=True)
class Nudge:
    case_id: int
    kind: Kind
    threshold: str
    audience: tuple[Audience, ...]
    send_at: datetime
    info: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.case_id, self.kind.value, self.threshold)


_UNIT_OPEN = {State.ASSIGNED, State.ACCEPTED, State.EXTENSION_REQUESTED}
#: who holds the office's step on a reply (bot/domain/steps.py STEPS)
_STEP_AUDIENCE: dict[State, tuple[Audience, ...]] = {
    State.SUBMITTED: (Audience.SUPERVISORS,),
    State.REVIEWED: (Audience.LEADERS,),
    State.APPROVED: (Audience.DISPATCHERS,),
}


def stagger(unit_id: int | None, rules: NudgeRules) -> timedelta:
    """Spread the morning reminders of different units over the first half hour (never on :00
    or :30 — WeCom asks senders to avoid those minutes, spec §3.2)."""
    spread = max(1, rules.stagger_minutes)
    return timedelta(minutes=3 + ((unit_id or 0) * 7919) % spread)


def morning(day: date, unit_id: int | None, rules: NudgeRules, hours: OfficeHours) -> datetime:
    return datetime.combine(day, hours.open, tzinfo=hours.tz) + stagger(unit_id, rules)


def workday_before(cal: WorkCalendar, day: date, n: int) -> date:
    """The n-th working day before ``day`` (n = 0: ``day`` itself)."""
    current = day
    for _ in range(n):
        current = current - timedelta(days=1)
        for _ in range(400):  # bounded: a year has no 400 consecutive days off
            if cal.is_workday(current):
                break
            current -= timedelta(days=1)
    return current


def planned(case: CaseClock, rules: NudgeRules, cal: WorkCalendar, hours: OfficeHours) -> list[Nudge]:
    """Every reminder the case owes in its current state, with its send time."""
    out: list[Nudge] = []
    tz = hours.tz
    if case.state in _UNIT_OPEN and case.due_at is not None:
        due_day = case.due_at.astimezone(tz).date()
        if case.urgent:
            out.append(
                Nudge(
                    case.case_id,
                    Kind.DUE,
                    f"{rules.urgent_remind_hours}h@{case.due_at:%Y%m%d%H%M}",
                    (Audience.HANDLERS, Audience.UNIT_LEADER),
                    case.due_at - timedelta(hours=rules.urgent_remind_hours),
                )
            )
            out.append(
                Nudge(
                    case.case_id,
                    Kind.OVERDUE,
                    f"0h@{case.due_at:%Y%m%d%H%M}",
                    (Audience.HANDLERS, Audience.UNIT_LEADER, Audience.SUPERVISORS),
                    case.due_at,
                )
            )
        else:
            for n in rules.due_days_before:
                day = workday_before(cal, due_day, n)
                due_audience: tuple[Audience, ...] = (Audience.HANDLERS,)
                if n == 0 and rules.leader_on_due_day:
                    due_audience += (Audience.UNIT_LEADER,)
                out.append(
                    Nudge(
                        case.case_id,
                        Kind.DUE,
                        f"{n}d@{due_day}",
                        due_audience,
                        morning(day, case.unit_id, rules, hours),
                        {"days_left": n},
                    )
                )
            ladder: tuple[tuple[int, Kind, tuple[Audience, ...]], ...] = (
                (rules.overdue_leader_days, Kind.OVERDUE, (Audience.UNIT_LEADER,)),
                (rules.overdue_notice_days, Kind.NOTICE, (Audience.UNIT_LEADER, Audience.SUPERVISORS)),
            )
            for days, kind, step_audience in ladder:
                day = cal.add_workdays(due_day, days)
                out.append(
                    Nudge(
                        case.case_id,
                        kind,
                        f"{days}d@{due_day}",
                        step_audience,
                        morning(day, case.unit_id, rules, hours),
                        {"overdue_days": days},
                    )
                )
    if case.state is State.ASSIGNED and case.assigned_at is not None:
        for h, who in (
            (rules.unaccepted_handler_hours, Audience.HANDLERS),
            (rules.unaccepted_leader_hours, Audience.UNIT_LEADER),
        ):
            nominal = case.assigned_at + timedelta(hours=h)
            send = nominal if case.urgent else next_office_open(nominal, cal, hours)
            out.append(
                Nudge(case.case_id, Kind.UNACCEPTED, f"{h}h@{case.assigned_at:%Y%m%d%H%M}", (who,), send, {"hours": h})
            )
        if rules.return_window_warning and case.return_deadline is not None and not case.urgent:
            last = case.return_deadline.astimezone(tz).date()
            out.append(
                Nudge(
                    case.case_id,
                    Kind.RETURN_WINDOW,
                    f"@{last}",
                    (Audience.HANDLERS,),
                    morning(last, case.unit_id, rules, hours),
                )
            )
    if (
        (case.complex or case.extended)
        and case.state in (State.ACCEPTED, State.EXTENSION_REQUESTED)
        and case.interim_count == 0
        and case.interim_due is not None
        and (case.due_at is None or case.interim_due < case.due_at)  # owed before the deadline only
    ):
        interim_day = case.interim_due.astimezone(tz).date()
        for n in rules.interim_days_before:
            out.append(
                Nudge(
                    case.case_id,
                    Kind.INTERIM,
                    f"{n}d@{interim_day}",
                    (Audience.HANDLERS,),
                    morning(workday_before(cal, interim_day, n), case.unit_id, rules, hours),
                    {"days_left": n},
                )
            )
    holders = _STEP_AUDIENCE.get(case.state)
    if holders is not None and case.step_due_at is not None:
        step_day = case.step_due_at.astimezone(tz).date()
        mark = f"{case.state.value}@{case.step_due_at:%Y%m%d%H%M}"
        out.append(Nudge(case.case_id, Kind.STEP, mark, holders, morning(step_day, None, rules, hours)))
        late = morning(cal.add_workdays(step_day, 1), None, rules, hours)
        out.append(Nudge(case.case_id, Kind.STEP_OVERDUE, mark, holders, late))
    if case.state is State.TRACKING and case.promised_at is not None:
        day = case.promised_at.astimezone(tz).date()
        out.append(
            Nudge(
                case.case_id,
                Kind.PROMISE,
                f"@{day}",
                (Audience.HANDLERS, Audience.UNIT_LEADER),
                morning(day, case.unit_id, rules, hours),
            )
        )
    if case.supervision_answer_by is not None:
        answer_by = case.supervision_answer_by
        day = answer_by.astimezone(tz).date()
        mark = f"@{answer_by:%Y%m%d%H%M}"
        info = {"answer_by": int(answer_by.timestamp())}
        out.append(
            Nudge(
                case.case_id,
                Kind.SUPERVISION,
                mark,
                (Audience.HANDLERS, Audience.UNIT_LEADER),
                morning(day, case.unit_id, rules, hours),
                info,
            )
        )
        out.append(
            Nudge(
                case.case_id,
                Kind.SUPERVISION_OVERDUE,
                mark,
                (Audience.UNIT_LEADER, Audience.SUPERVISORS),
                morning(cal.add_workdays(day, 1), case.unit_id, rules, hours),
                info,
            )
        )
    if case.state is State.REPLIED and case.replied_at is not None:
        day = cal.add_workdays(case.replied_at.astimezone(tz).date(), rules.followup_after_days)
        out.append(
            Nudge(
                case.case_id,
                Kind.FOLLOWUP,
                f"{rules.followup_after_days}d@{case.replied_at:%Y%m%d}",
                (Audience.DISPATCHERS,),
                morning(day, None, rules, hours),
            )
        )
    return out


def _still_valid(n: Nudge, case: CaseClock, now: datetime) -> bool:
    if n.kind is Kind.DUE:
        return case.due_at is not None and now < case.due_at
    if n.kind is Kind.RETURN_WINDOW:
        return case.return_deadline is not None and now < case.return_deadline
    if n.kind is Kind.INTERIM:
        return case.interim_due is not None and now < case.interim_due
    if n.kind is Kind.STEP:
        return case.step_due_at is not None and now < case.step_due_at
    if n.kind is Kind.SUPERVISION:
        return case.supervision_answer_by is not None and now < case.supervision_answer_by
    return True


def due_now(
    case: CaseClock, now: datetime, rules: NudgeRules, cal: WorkCalendar, hours: OfficeHours
) -> tuple[list[Nudge], list[Nudge]]:
    """(to send now, superseded). Outside office time only urgent cases get anything. When
    several reminders of one family are due at once (the bot was down), only the newest is
    sent; the older ones are recorded as superseded so they never go out late."""
    if not case.urgent and not is_office_time(now, cal, hours):
        return [], []
    ready = [n for n in planned(case, rules, cal, hours) if n.send_at <= now and _still_valid(n, case, now)]
    send: list[Nudge] = []
    superseded: list[Nudge] = []
    for family in (Kind.DUE, Kind.INTERIM, Kind.UNACCEPTED):
        members = sorted((n for n in ready if n.kind is family), key=lambda n: n.send_at)
        if family is Kind.UNACCEPTED:
            send += members  # different audiences: both go
        elif members:
            send.append(members[-1])
            superseded += members[:-1]
    send += [n for n in ready if n.kind not in (Kind.DUE, Kind.INTERIM, Kind.UNACCEPTED)]
    return send, superseded


def overdue_days(now: datetime, due_at: datetime, cal: WorkCalendar, hours: OfficeHours) -> int:
    """Working days overdue (0 when not overdue)."""
    return max(0, -working_days_left(now, due_at, cal, hours))


def horizon(now: datetime, rules: NudgeRules, cal: WorkCalendar, hours: OfficeHours) -> datetime:
    """The latest deadline that can owe a reminder today: sweeps select cases due before it."""
    today = now.astimezone(hours.tz).date()
    ahead = max([0, *rules.due_days_before, *rules.interim_days_before])
    last = cal.add_workdays(today, ahead) if ahead else today
    return datetime.combine(last, hours.close, tzinfo=hours.tz) + timedelta(hours=rules.urgent_remind_hours + 24)
