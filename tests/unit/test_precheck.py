"""``precheck``: the refusal ``decide`` would give before it looks at the input. No database."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.lifecycle import (
    TRANSITIONS,
    ActionInput,
    Actor,
    AssignInput,
    CaseFacts,
    CommentInput,
    CourtesyInput,
    ExtensionDecision,
    ExtensionRequest,
    FollowUpInput,
    InterimInput,
    NoInput,
    PublishInput,
    ReasonInput,
    RejectInput,
    ReplyInput,
    RouteInput,
    TransferInput,
    WorkflowError,
    decide,
    precheck,
)
from bot.domain.states import Action, ReplyMode, Role, Route, Satisfaction, State, Truthfulness

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
UNIT = 7
ACTORS = [
    Actor("张三", frozenset({Role.HANDLER}), frozenset({UNIT}), 1),
    Actor("赵住建", frozenset({Role.HANDLER}), frozenset({99}), 2),
    Actor("王科长", frozenset({Role.UNIT_LEADER}), frozenset({UNIT}), 3),
    Actor("钱登记", frozenset({Role.DISPATCHER}), person_id=4),
    Actor("孙督查", frozenset({Role.SUPERVISOR}), person_id=5),
    Actor("周书记", frozenset({Role.LEADER}), person_id=6),
    Actor("吴管理", frozenset({Role.ADMIN}), person_id=7),
    Actor.system(),
]
#: an input every input guard accepts, per action: only state, role and the case's facts can refuse
SOUND: dict[Action, ActionInput] = {
    Action.ASSIGN: AssignInput(UNIT),
    Action.REASSIGN: AssignInput(8),
    Action.ACCEPT: NoInput(),
    Action.RETURN: ReasonInput("不属于我单位职责，建议交区住建局办理"),
    Action.SUBMIT: ReplyInput(
        Truthfulness.MOSTLY,
        "反映的问题基本属实，我局高度重视。",
        "经调查，该公司确有拖欠工资情况，已责令其于11月10日前全额支付。",
        "11月3日派员实地核查。",
        "网友表示满意。",
    ),
    Action.INTERIM_REPORT: InterimInput("已完成现场调查，正在协调资金。", "拟答复资金到位后一个月内完成维修"),
    Action.REQUEST_EXTENSION: ExtensionRequest("涉及多部门协调，需要更多时间", 10),
    Action.APPROVE_EXTENSION: ExtensionDecision(10),
    Action.REFUSE_EXTENSION: RejectInput("理由不充分"),
    Action.REVIEW_PASS: CommentInput(),
    Action.REVIEW_PASS_FINAL: CommentInput(),
    Action.REVIEW_REJECT: RejectInput("核查情况不具体"),
    Action.APPROVE: CommentInput(),
    Action.LEADER_REJECT: RejectInput("请补充整改时限"),
    Action.PUBLISH: PublishInput(ReplyMode.PUBLIC),
    Action.FOLLOW_UP: FollowUpInput(True, Satisfaction.SATISFIED, "工资已到账"),
    Action.ARCHIVE: NoInput(),
    Action.VOID: ReasonInput("与LY2026-000001重复登记"),
    Action.TRACK: FollowUpInput(False, Satisfaction.BASICALLY, "尚未解决", NOW + timedelta(days=10)),
    Action.RE_REPLY: ReasonInput("承诺事项已全部落实，工资已到账。"),
    Action.CLOSE_TRACKING: RejectInput("诉求超出政策范围"),
    Action.TRANSFER: TransferInput("政法部门", "涉法涉诉类留言，转政法部门办理"),
    Action.REROUTE: RouteInput(Route.COURTESY, "属建议类，由督查室礼节性回复"),
    Action.COURTESY_REPLY: CourtesyInput("感谢您对我区发展的关心，您的建议已转有关部门研究参考。"),
}


def _sound(action: Action, facts: CaseFacts) -> ActionInput:
    """SOUND, but a route change always names a route other than the case's."""
    if action is Action.REROUTE and facts.route is Route.COURTESY:
        return RouteInput(Route.HANDLE, "需由承办单位核实办理")
    return SOUND[action]


FACTS = [
    CaseFacts(
        state,
        unit_id=UNIT,
        complex=is_complex,
        needs_leader=needs_leader,
        return_deadline=deadline,
        missing_archive_elements=missing,
        route=route,
    )
    for state, is_complex, needs_leader, deadline, missing, route in itertools.product(
        State,
        (False, True),
        (False, True),
        (None, NOW - timedelta(hours=1), NOW + timedelta(hours=1)),
        ((), ("回访",)),
        (Route.HANDLE, Route.COURTESY),
    )
]


def _outcome(error: WorkflowError | None) -> tuple[str, str] | None:
    return None if error is None else (error.code, error.message)


def test_every_action_has_a_sound_input() -> None:
    assert set(SOUND) == {t.action for t in TRANSITIONS}


@pytest.mark.parametrize("action", list(SOUND))
def test_precheck_refuses_exactly_what_decide_refuses_with_a_sound_input(action: Action) -> None:
    for facts, actor in itertools.product(FACTS, ACTORS):
        try:
            decide(facts, action, actor, _sound(action, facts), NOW)
            expected = None
        except WorkflowError as exc:
            expected = exc
        assert _outcome(precheck(facts, action, actor, NOW)) == _outcome(expected), (facts, actor.name)


def test_precheck_does_not_look_at_the_input() -> None:
    facts = CaseFacts(State.ASSIGNED, unit_id=UNIT, return_deadline=NOW + timedelta(hours=1))
    handler = ACTORS[0]
    with pytest.raises(WorkflowError, match="原因"):
        decide(facts, Action.RETURN, handler, ReasonInput(""), NOW)
    assert precheck(facts, Action.RETURN, handler, NOW) is None


@pytest.mark.parametrize(
    ("facts", "action", "actor", "code"),
    [
        (CaseFacts(State.ACCEPTED, unit_id=UNIT), Action.RETURN, ACTORS[0], "wrong_state"),
        (CaseFacts(State.ASSIGNED, unit_id=UNIT), Action.RETURN, ACTORS[4], "forbidden"),
        (CaseFacts(State.ASSIGNED, unit_id=UNIT), Action.RETURN, ACTORS[1], "not_member"),
        (
            CaseFacts(State.ASSIGNED, unit_id=UNIT, return_deadline=NOW - timedelta(minutes=1)),
            Action.RETURN,
            ACTORS[0],
            "window_closed",
        ),
        (CaseFacts(State.SUBMITTED, unit_id=UNIT), Action.REVIEW_PASS, ACTORS[4], "no_leader_needed"),
        (CaseFacts(State.CLOSED, missing_archive_elements=("回访",)), Action.ARCHIVE, ACTORS[3], "archive_incomplete"),
    ],
)
def test_precheck_refusals(facts: CaseFacts, action: Action, actor: Actor, code: str) -> None:
    refusal = precheck(facts, action, actor, NOW)
    assert refusal is not None and refusal.code == code
