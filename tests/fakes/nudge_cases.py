"""Cases on the packaged calendar for the pure reminder tests: when reminders fall due."""

from __future__ import annotations

from datetime import datetime

from bot.calendar.package_data import package_calendar
from bot.domain.deadlines import DeadlineRules, OfficeHours, handling_deadline, return_window_end
from bot.domain.nudges import CaseClock, NudgeRules
from bot.domain.states import State
from tests.conftest import SHANGHAI

CAL = package_calendar()
HOURS = OfficeHours()
RULES = NudgeRules()


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


def case_assigned(when: datetime, state: State = State.ACCEPTED, **kw: object) -> CaseClock:
    due = handling_deadline(
        when,
        complex=bool(kw.get("complex")),
        urgent=bool(kw.get("urgent")),
        rules=DeadlineRules(),
        cal=CAL,
        hours=HOURS,
    ).due_at
    window = return_window_end(when, DeadlineRules(), CAL, HOURS).due_at
    return CaseClock(case_id=1, unit_id=1, state=state, assigned_at=when, due_at=due, return_deadline=window, **kw)  # type: ignore[arg-type]
