"""Deadlines of an open case recomputed from its assignment under another calendar: the handling
deadline (with every approved extension replayed in order), the return window and the interim
report deadline. Pure: the calendar and the rules are parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.deadlines import (
    DeadlineRules,
    OfficeHours,
    extend_deadline,
    handling_deadline,
    return_window_end,
    workday_deadline,
)
from bot.domain.workcalendar import WorkCalendar


@dataclass(frozen=True)
class CaseDeadlines:
    due_at: datetime
    source: str
    return_deadline: datetime
    interim_due: datetime | None  # only complex cases owe an interim report


def replay(
    assigned_at: datetime,
    *,
    complex: bool,
    urgent: bool,
    extensions: Sequence[tuple[datetime, int]],
    rules: DeadlineRules,
    cal: WorkCalendar,
    hours: OfficeHours,
) -> CaseDeadlines:
    """The deadlines of a case assigned at ``assigned_at``; ``extensions`` are (approved at,
    working days), and only those approved after the assignment count (a reassignment starts a
    new clock)."""
    due = handling_deadline(assigned_at, complex=complex, urgent=urgent, rules=rules, cal=cal, hours=hours)
    due_at, source = due.due_at, due.source
    for at, days in extensions:
        if at >= assigned_at:
            extended = extend_deadline(due_at, days, cal, hours)
            due_at, source = extended.due_at, extended.source
    interim = None
    if complex and rules.interim_days != rules.complex_days:
        interim = workday_deadline(assigned_at, rules.interim_days, cal, hours).due_at
    return CaseDeadlines(
        due_at=due_at,
        source=source,
        return_deadline=return_window_end(assigned_at, rules, cal, hours).due_at,
        interim_due=interim,
    )
