"""第十条 interim report (issue 13): a complex or extended case owes 进展 with 回复建议 within
``interim_days`` of its assignment — when that comes before its deadline."""

from __future__ import annotations

from bot.domain.nudges import CaseClock, Kind, planned
from tests.fakes.nudge_cases import CAL, HOURS, RULES, at, case_assigned


def _interims(case: CaseClock) -> list[str]:
    return [n.threshold for n in planned(case, RULES, CAL, HOURS) if n.kind is Kind.INTERIM]


def test_an_extended_case_owes_an_interim_report() -> None:
    base = case_assigned(at(2026, 11, 2, 9))  # due 11-09
    interim = at(2026, 11, 23, 17, 30)  # 15 working days
    extended = CaseClock(
        **{**base.__dict__, "due_at": at(2026, 12, 4, 17, 30), "interim_due": interim, "extended": True}
    )
    assert _interims(extended) == ["1d@2026-11-23", "0d@2026-11-23"]
    assert _interims(CaseClock(**{**extended.__dict__, "interim_count": 1})) == []
    # not extended, or the interim point after the deadline: nothing owed
    assert _interims(CaseClock(**{**extended.__dict__, "extended": False})) == []
    assert _interims(CaseClock(**{**extended.__dict__, "due_at": at(2026, 11, 12, 17, 30)})) == []


def test_a_complex_case_due_at_the_interim_point_owes_none() -> None:
    case = case_assigned(at(2026, 11, 2, 9), complex=True)  # due 11-23 = the interim point
    assert _interims(CaseClock(**{**case.__dict__, "interim_due": case.due_at})) == []
