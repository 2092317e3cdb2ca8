"""Which 督办 still waits for the unit's answer (bot/domain/supervision.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.states import State
from bot.domain.supervision import Entry, awaited_answer

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
BY = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)


def supervise(hours: int, by: datetime | None = BY, **extra: object) -> Entry:
    data = {"method": "电话询访", "special": False, **extra}
    if by is not None:
        data["answer_by"] = by.isoformat()
    return Entry("supervise", T0 + timedelta(hours=hours), data)


def test_the_latest_unanswered_supervision_is_awaited() -> None:
    awaited = awaited_answer(State.ACCEPTED, [supervise(0)])
    assert awaited is not None and awaited.answer_by == BY and awaited.method == "电话询访"
    later = BY + timedelta(days=2)
    assert awaited_answer(State.ACCEPTED, [supervise(0), supervise(1, later)]) == awaited_answer(
        State.ACCEPTED, [supervise(1, later)]
    )


def test_any_report_of_the_unit_answers_it() -> None:
    for answer in ("explanation", "interim_report", "submit", "re_reply"):
        assert awaited_answer(State.ACCEPTED, [supervise(0), Entry(answer, T0 + timedelta(hours=1))]) is None
    # an answer before the 督办 does not answer it; other entries do not either
    for other in ("explanation", "instruction", "urge", "accept"):
        assert awaited_answer(State.ACCEPTED, [Entry(other, T0), supervise(1)]) is not None
    assert awaited_answer(State.ACCEPTED, [supervise(0), Entry("look_back", T0 + timedelta(hours=1))]) is not None


def test_nothing_is_owed_without_a_date_or_after_the_case_ended() -> None:
    assert awaited_answer(State.ACCEPTED, [supervise(0, None)]) is None  # the system's ladder notice
    assert awaited_answer(State.ACCEPTED, [Entry("supervise", T0, None)]) is None  # 督办 of a unit's overdue cases
    assert awaited_answer(State.ACCEPTED, [Entry("supervise", T0, {"answer_by": "not a date"})]) is None
    for ended in (State.CLOSED, State.ARCHIVED, State.VOIDED):
        assert awaited_answer(ended, [supervise(0)]) is None
    assert awaited_answer(State.SUBMITTED, [supervise(0)]) is not None
