"""Corrections in the pure domain: who may correct what, and what the timeline says."""

from __future__ import annotations

import pytest

from bot.domain.corrections import check_edit, describe
from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import Role, State

DISPATCHER = Actor("钱登记", frozenset({Role.DISPATCHER}), person_id=4)
HANDLER = Actor("张三", frozenset({Role.HANDLER}), frozenset({7}), 1)
CURRENT = {"title": "旧标题", "category": "求助", "level": "县（区）级", "contact": None}


def test_only_changed_fields_cleaned() -> None:
    changed = check_edit(State.ACCEPTED, DISPATCHER, CURRENT, {"title": " 新标题 ", "level": "市"}, ["求助"])
    assert changed == {"title": "新标题", "level": "市级"}
    assert describe(changed, CURRENT) == "更正 留言标题：旧标题 → 新标题；级别：县（区）级 → 市级"
    assert describe({"contact": "139"}, CURRENT) == "更正 联系方式：已更正"


@pytest.mark.parametrize(
    ("state", "actor", "wanted", "code"),
    [
        (State.ACCEPTED, HANDLER, {"title": "新标题"}, "forbidden"),
        (State.VOIDED, DISPATCHER, {"title": "新标题"}, "wrong_state"),
        (State.ARCHIVED, DISPATCHER, {"title": "新标题"}, "wrong_state"),
        (State.ACCEPTED, DISPATCHER, {"title": "旧标题"}, "no_change"),
        (State.ACCEPTED, DISPATCHER, {"unit": "区住建局"}, "bad_input"),
        (State.ACCEPTED, DISPATCHER, {"category": "其他"}, "bad_input"),
        (State.ACCEPTED, DISPATCHER, {"title": "长" * 201}, "too_long"),
    ],
)
def test_refusals(state: State, actor: Actor, wanted: dict[str, object], code: str) -> None:
    with pytest.raises(WorkflowError) as err:
        check_edit(state, actor, CURRENT, wanted, ["求助"])
    assert err.value.code == code
