"""主办 / 协办 in the pure domain: the co-unit's deadline and who may send a 协办意见."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.package_data import package_calendar
from bot.domain.cohandling import CoFacts, check_opinion, co_deadline, opinion_unit
from bot.domain.deadlines import OfficeHours
from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import Role, State

TZ = ZoneInfo("Asia/Shanghai")
HOURS = OfficeHours()
CAL = package_calendar()
LEAD, CO = 7, 99
FACTS = CoFacts(State.ACCEPTED, LEAD, frozenset({CO}))
CO_HANDLER = Actor("赵住建", frozenset({Role.HANDLER}), frozenset({CO}), 2)
LEAD_HANDLER = Actor("张三", frozenset({Role.HANDLER}), frozenset({LEAD}), 1)


def test_co_deadline_is_two_working_days_before_the_leads() -> None:
    assigned = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)  # Monday
    lead_due = datetime(2026, 11, 9, 17, 30, tzinfo=TZ)  # the next Monday (5 working days)
    # Thursday 11-05, the weekend is not counted
    assert co_deadline(assigned, lead_due, 2, CAL, HOURS) == datetime(2026, 11, 5, 17, 30, tzinfo=TZ)
    assert co_deadline(assigned, lead_due, 0, CAL, HOURS) == lead_due
    assert co_deadline(assigned, None, 2, CAL, HOURS) is None


def test_co_deadline_is_never_before_the_first_working_day_nor_after_the_lead() -> None:
    assigned = datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
    short = datetime(2026, 11, 4, 17, 30, tzinfo=TZ)
    assert co_deadline(assigned, short, 5, CAL, HOURS) == datetime(2026, 11, 3, 17, 30, tzinfo=TZ)
    urgent = datetime(2026, 11, 3, 9, 0, tzinfo=TZ)  # 24 hours
    assert co_deadline(assigned, urgent, 2, CAL, HOURS) == urgent


def test_only_a_co_unit_member_sends_an_opinion_while_the_case_is_open() -> None:
    assert opinion_unit(FACTS, CO_HANDLER) == CO
    for actor, code in [
        (LEAD_HANDLER, "lead_unit"),
        (Actor("钱登记", frozenset({Role.DISPATCHER}), person_id=4), "forbidden"),
        (Actor("某人", frozenset({Role.HANDLER}), frozenset({5}), 9), "not_member"),
    ]:
        with pytest.raises(WorkflowError) as err:
            opinion_unit(FACTS, actor)
        assert err.value.code == code
    with pytest.raises(WorkflowError) as err:
        opinion_unit(CoFacts(State.SUBMITTED, LEAD, frozenset({CO})), CO_HANDLER)
    assert err.value.code == "wrong_state"


@pytest.mark.parametrize("text", ["", "无", "好的"])
def test_an_opinion_needs_real_words(text: str) -> None:
    with pytest.raises(WorkflowError):
        check_opinion(text)
