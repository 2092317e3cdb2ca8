"""When reminders are due, over real holiday periods (pure; no database)."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.domain.nudges import Audience, CaseClock, Kind, due_now, planned, workday_before
from bot.domain.states import State
from tests.conftest import SHANGHAI
from tests.fakes.nudge_cases import CAL, HOURS, RULES, at, case_assigned


def times(case: CaseClock) -> dict[tuple[str, str], datetime]:
    return {
        (n.kind.value, n.threshold.split("@")[0]): n.send_at.astimezone(SHANGHAI)
        for n in planned(case, RULES, CAL, HOURS)
    }


def test_national_day_2025() -> None:
    # assigned on the make-up Sunday 28 Sep 2025: 29, 30 Sep, (1–8 Oct off), 9, 10, 11 (make-up Sat) Oct
    case = case_assigned(at(2025, 9, 28, 10))
    assert case.due_at == at(2025, 10, 11, 17, 30)
    t = times(case)
    assert t[("due", "1d")].date() == at(2025, 10, 10).date()
    assert t[("due", "0d")].date() == at(2025, 10, 11).date()  # the make-up Saturday morning
    assert t[("overdue", "1d")].date() == at(2025, 10, 13).date()
    assert t[("notice", "3d")].date() == at(2025, 10, 15).date()
    for when in t.values():  # staggered: never on the hour or the half hour
        assert when.minute not in (0, 30) and (when.hour, when.minute) >= (8, 33)


def test_spring_festival_2026_unaccepted_and_return_window() -> None:
    case = case_assigned(at(2026, 2, 13, 16), state=State.ASSIGNED)
    # Fri 13 Feb + 5 working days: 14 (make-up Sat), 24, 25, 26, 27
    assert case.due_at == at(2026, 2, 27, 17, 30)
    assert case.return_deadline == at(2026, 2, 24, 17, 30)
    t = times(case)
    # 4 h after 16:00 is 20:00: deferred to the next office opening, the make-up Saturday
    assert t[("unaccepted", "4h")] == at(2026, 2, 14, 8, 30)
    assert t[("unaccepted", "24h")] == at(2026, 2, 14, 16)  # Fri 16:00 + 24 h: the make-up Saturday, in office hours
    assert t[("return_window", "")].date() == at(2026, 2, 24).date()


def test_nothing_outside_office_hours_or_on_holidays() -> None:
    case = case_assigned(at(2026, 2, 13, 16), state=State.ASSIGNED)
    assert due_now(case, at(2026, 2, 13, 21), RULES, CAL, HOURS) == ([], [])
    assert due_now(case, at(2026, 2, 17, 10), RULES, CAL, HOURS) == ([], [])  # 初一
    send, _ = due_now(case, at(2026, 2, 14, 9), RULES, CAL, HOURS)
    assert [n.kind for n in send] == [Kind.UNACCEPTED]


def test_holiday_deferral_goes_out_once_next_morning() -> None:
    case = case_assigned(at(2026, 2, 13, 16), state=State.ASSIGNED)
    send, _ = due_now(case, at(2026, 2, 24, 9, 40), RULES, CAL, HOURS)
    kinds = {(n.kind, n.threshold.split("@")[0]) for n in send}
    assert (Kind.UNACCEPTED, "4h") in kinds and (Kind.UNACCEPTED, "24h") in kinds
    assert (Kind.RETURN_WINDOW, "") in kinds


def test_late_process_sends_only_the_newest_due_reminder() -> None:
    case = case_assigned(at(2026, 11, 2, 9))
    send, superseded = due_now(case, at(2026, 11, 9, 10), RULES, CAL, HOURS)
    assert [n.threshold.split("@")[0] for n in send if n.kind is Kind.DUE] == ["0d"]
    assert [n.threshold.split("@")[0] for n in superseded] == ["1d"]
    due = next(n for n in send if n.kind is Kind.DUE)
    assert Audience.UNIT_LEADER in due.audience  # the leader too on the due day


def test_no_due_reminder_after_the_deadline() -> None:
    case = case_assigned(at(2026, 11, 2, 9))
    send, _ = due_now(case, at(2026, 11, 10, 9, 50), RULES, CAL, HOURS)
    assert {n.kind for n in send} == {Kind.OVERDUE}


def test_ladder() -> None:
    case = case_assigned(at(2026, 11, 2, 9))
    send, _ = due_now(case, at(2026, 11, 12, 10), RULES, CAL, HOURS)
    assert {n.kind for n in send} == {Kind.OVERDUE, Kind.NOTICE}
    notice = next(n for n in send if n.kind is Kind.NOTICE)
    assert set(notice.audience) == {Audience.UNIT_LEADER, Audience.SUPERVISORS}


def test_extension_gives_fresh_reminders() -> None:
    case = case_assigned(at(2026, 11, 2, 9))
    before = {n.key for n in planned(case, RULES, CAL, HOURS)}
    moved = CaseClock(**{**case.__dict__, "due_at": at(2026, 11, 16, 17, 30)})
    after = {n.key for n in planned(moved, RULES, CAL, HOURS)}
    assert before.isdisjoint(after)


def test_urgent_cases_ignore_office_hours() -> None:
    case = case_assigned(at(2026, 11, 7, 20), urgent=True)  # Saturday evening
    assert case.due_at == at(2026, 11, 8, 20)
    send, _ = due_now(case, at(2026, 11, 8, 18, 30), RULES, CAL, HOURS)  # Sunday evening
    assert [n.kind for n in send] == [Kind.DUE]


def test_followup_reminder() -> None:
    case = CaseClock(case_id=1, unit_id=1, state=State.REPLIED, replied_at=at(2026, 11, 2, 15))
    t = times(case)
    assert t[("followup", "3d")].date() == at(2026, 11, 5).date()


def test_interim_reminders_for_complex_cases() -> None:
    interim = at(2026, 11, 16, 17, 30)
    case = CaseClock(**{**case_assigned(at(2026, 11, 2, 9), complex=True).__dict__, "interim_due": interim})
    t = times(case)
    assert t[("interim", "1d")].date() == at(2026, 11, 13).date()
    done = CaseClock(**{**case.__dict__, "interim_count": 1})
    assert not any(n.kind is Kind.INTERIM for n in planned(done, RULES, CAL, HOURS))


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        ((2025, 10, 9), 1, (2025, 9, 30)),  # back over National Day
        ((2026, 2, 24), 1, (2026, 2, 14)),  # back over Spring Festival to the make-up Saturday
        ((2026, 11, 9), 0, (2026, 11, 9)),
    ],
)
def test_workday_before(day: tuple[int, int, int], n: int, expected: tuple[int, int, int]) -> None:
    assert workday_before(CAL, at(*day).date(), n) == at(*expected).date()
