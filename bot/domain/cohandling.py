"""主办 / 协办 (seed 002 "联合办理"): a co-unit owes the lead unit its 协办意见 before a deadline.

Pure. The lead unit alone takes the case's steps (签收, 退回, 提交: ``Transition.lead_only`` in
lifecycle.py); each co-unit sends an opinion, which the lead sees before it submits. The co-unit's
deadline is ``days_before`` working days before the lead's, never before the first working day
after assignment and never after the lead's own deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.deadlines import OfficeHours, workday_deadline
from bot.domain.lifecycle import MAX_PART, Actor, WorkflowError, check_text
from bot.domain.states import UNIT_ROLES, Note, State
from bot.domain.workcalendar import WorkCalendar

#: the timeline entries of co-handling
OPINION = Note.CO_OPINION  # 协办意见
OVERDUE = Note.CO_OVERDUE  # 协办逾期 (counted against the co-unit)

#: states in which the lead unit still works on the case, so an opinion can still help it
OPEN_FOR_OPINION: frozenset[State] = frozenset({State.ASSIGNED, State.ACCEPTED, State.EXTENSION_REQUESTED})


@dataclass(frozen=True)
class CoFacts:
    state: State
    unit_id: int | None
    co_unit_ids: frozenset[int]


def co_deadline(
    assigned_at: datetime | None, lead_due: datetime | None, days_before: int, cal: WorkCalendar, hours: OfficeHours
) -> datetime | None:
    """Close of office ``days_before`` working days before the lead's due day (None without one)."""
    if assigned_at is None or lead_due is None:
        return None
    day = lead_due.astimezone(hours.tz).date()
    for _ in range(days_before):
        day = day - timedelta(days=1)
        for _ in range(400):  # bounded: a year has no 400 consecutive days off
            if cal.is_workday(day):
                break
            day -= timedelta(days=1)
    due = datetime.combine(day, hours.close, tzinfo=hours.tz)
    earliest = workday_deadline(assigned_at, 1, cal, hours).due_at
    return min(max(due, earliest), lead_due.astimezone(hours.tz))


def opinion_unit(facts: CoFacts, actor: Actor) -> int:
    """The co-unit ``actor`` speaks for; WorkflowError when they may not send a 协办意见 now."""
    if not actor.roles & UNIT_ROLES:
        raise WorkflowError("forbidden", "您没有“协办意见”的权限（仅限协办单位的承办人、单位负责人）。")
    mine = sorted(actor.unit_ids & facts.co_unit_ids)
    if not mine:
        if facts.unit_id in actor.unit_ids:
            raise WorkflowError("lead_unit", "贵单位是此件的主办单位，请在办理情况中写明，无须报送协办意见。")
        raise WorkflowError("not_member", "您不是此件协办单位的成员，不能报送协办意见。")
    if facts.state not in OPEN_FOR_OPINION:
        raise WorkflowError("wrong_state", f"此件当前状态为“{facts.state.label}”，不能报送协办意见。")
    return mine[0]


def check_opinion(text: str) -> str:
    return check_text(text, field_name="opinion", label="协办意见", min_len=4, max_len=MAX_PART)
