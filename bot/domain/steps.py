"""Timed office steps after the unit's reply (issue 12; seed 001 第十三条 "长时间未回复的留言…
专项督办"): 审核 by the supervision office, 审定 by a leader, 统一回复 after approval, each with a
limit in working days. Pure; days are working days of the calendar, deadlines end at the close
of the office day (Asia/Shanghai by default), the step's own starting day not counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.deadlines import OfficeHours, workday_deadline
from bot.domain.states import Role, State
from bot.domain.workcalendar import WorkCalendar


@dataclass(frozen=True)
class StepRules:
    review_days: int = 2  # 审核
    approval_days: int = 2  # 审定
    publish_days: int = 1  # 统一回复 after approval


#: the state a reply waits in → (the step's name, the label of a stalled reply, who holds it)
STEPS: dict[State, tuple[str, str, Role]] = {
    State.SUBMITTED: ("审核", "待审核超期", Role.SUPERVISOR),
    State.REVIEWED: ("审定", "待审定超期", Role.LEADER),
    State.APPROVED: ("统一回复", "待回复超期", Role.DISPATCHER),
}


def step_days(state: State, rules: StepRules) -> int | None:
    return {
        State.SUBMITTED: rules.review_days,
        State.REVIEWED: rules.approval_days,
        State.APPROVED: rules.publish_days,
    }.get(state)


def step_deadline(
    state: State, start: datetime, rules: StepRules, cal: WorkCalendar, hours: OfficeHours
) -> datetime | None:
    """When the step that starts at ``start`` in ``state`` is due; None for a state with no step."""
    days = step_days(state, rules)
    if days is None:
        return None
    return workday_deadline(start, days, cal, hours).due_at
