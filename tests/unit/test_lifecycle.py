"""The pure case lifecycle: table vs diagram, every transition, every guard. No database."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.lifecycle import (
    TRANSITIONS,
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
    allowed_actions,
    decide,
)
from bot.domain.states import Action, NonPublicGround, ReplyMode, Role, Route, Satisfaction, State, Truthfulness

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
UNIT = 7
HANDLER = Actor("张三", frozenset({Role.HANDLER}), frozenset({UNIT}), 1)
OTHER_HANDLER = Actor("赵住建", frozenset({Role.HANDLER}), frozenset({99}), 2)
UNIT_LEADER = Actor("王科长", frozenset({Role.UNIT_LEADER}), frozenset({UNIT}), 3)
DISPATCHER = Actor("钱登记", frozenset({Role.DISPATCHER}), person_id=4)
SUPERVISOR = Actor("孙督查", frozenset({Role.SUPERVISOR}), person_id=5)
LEADER = Actor("周书记", frozenset({Role.LEADER}), person_id=6)
ADMIN = Actor("吴管理", frozenset({Role.ADMIN}), person_id=7)

GOOD_REPLY = ReplyInput(
    Truthfulness.MOSTLY,
    attitude="反映的问题基本属实，我局高度重视。",
    process="经调查，该公司确有拖欠工资情况，已责令其于11月10日前全额支付，并约谈负责人。",
    verification="11月3日派员实地核查，调取工资台账。",
    feedback="已电话联系网友，网友表示满意。",
)

# one valid (facts, actor, input) per action
HAPPY: dict[Action, tuple[CaseFacts, Actor, object]] = {
    Action.ASSIGN: (CaseFacts(State.REGISTERED), DISPATCHER, AssignInput(UNIT)),
    Action.REASSIGN: (CaseFacts(State.RETURNED, unit_id=UNIT), DISPATCHER, AssignInput(8)),
    Action.ACCEPT: (CaseFacts(State.ASSIGNED, unit_id=UNIT), HANDLER, NoInput()),
    Action.RETURN: (
        CaseFacts(State.ASSIGNED, unit_id=UNIT, return_deadline=NOW + timedelta(days=1)),
        HANDLER,
        ReasonInput("不属于我单位职责，建议交区住建局办理"),
    ),
    Action.SUBMIT: (CaseFacts(State.ACCEPTED, unit_id=UNIT), HANDLER, GOOD_REPLY),
    Action.INTERIM_REPORT: (
        CaseFacts(State.ACCEPTED, unit_id=UNIT),
        HANDLER,
        InterimInput("已完成现场调查，正在协调资金。", "拟答复网友：资金到位后一个月内完成维修。"),
    ),
    Action.REQUEST_EXTENSION: (
        CaseFacts(State.ACCEPTED, unit_id=UNIT, complex=True),
        HANDLER,
        ExtensionRequest("涉及多部门协调，需要更多时间", 10),
    ),
    Action.APPROVE_EXTENSION: (CaseFacts(State.EXTENSION_REQUESTED, unit_id=UNIT), SUPERVISOR, ExtensionDecision(10)),
    Action.REFUSE_EXTENSION: (
        CaseFacts(State.EXTENSION_REQUESTED, unit_id=UNIT),
        SUPERVISOR,
        RejectInput("理由不充分"),
    ),
    Action.REVIEW_PASS: (CaseFacts(State.SUBMITTED, unit_id=UNIT, needs_leader=True), SUPERVISOR, CommentInput()),
    Action.REVIEW_PASS_FINAL: (CaseFacts(State.SUBMITTED, unit_id=UNIT), SUPERVISOR, CommentInput("同意")),
    Action.REVIEW_REJECT: (CaseFacts(State.SUBMITTED, unit_id=UNIT), SUPERVISOR, RejectInput("核查情况不具体")),
    Action.APPROVE: (CaseFacts(State.REVIEWED, unit_id=UNIT), LEADER, CommentInput("同意回复")),
    Action.LEADER_REJECT: (CaseFacts(State.REVIEWED, unit_id=UNIT), LEADER, RejectInput("请补充整改时限")),
    Action.PUBLISH: (CaseFacts(State.APPROVED, unit_id=UNIT), DISPATCHER, PublishInput(ReplyMode.PUBLIC)),
    Action.FOLLOW_UP: (
        CaseFacts(State.REPLIED, unit_id=UNIT),
        DISPATCHER,
        FollowUpInput(True, Satisfaction.SATISFIED, "工资已到账"),
    ),
    Action.ARCHIVE: (CaseFacts(State.CLOSED, unit_id=UNIT), DISPATCHER, NoInput()),
    Action.VOID: (CaseFacts(State.REGISTERED), DISPATCHER, ReasonInput("与LY2026-000001重复登记")),
    Action.TRACK: (
        CaseFacts(State.REPLIED, unit_id=UNIT),
        DISPATCHER,
        FollowUpInput(False, Satisfaction.BASICALLY, "尚未解决", NOW + timedelta(days=10)),
    ),
    Action.RE_REPLY: (
        CaseFacts(State.TRACKING, unit_id=UNIT),
        HANDLER,
        ReasonInput("承诺事项已全部落实，工资已到账。"),
    ),
    Action.CLOSE_TRACKING: (CaseFacts(State.TRACKING, unit_id=UNIT), SUPERVISOR, RejectInput("诉求超出政策范围")),
    Action.TRANSFER: (
        CaseFacts(State.REGISTERED),
        SUPERVISOR,
        TransferInput("政法部门", "涉法涉诉类留言，转政法部门办理"),
    ),
    Action.REROUTE: (
        CaseFacts(State.REGISTERED, route=Route.COURTESY),
        DISPATCHER,
        RouteInput(Route.HANDLE, "需由承办单位核实办理"),
    ),
    Action.COURTESY_REPLY: (
        CaseFacts(State.REGISTERED, route=Route.COURTESY),
        SUPERVISOR,
        CourtesyInput("感谢您对我区发展的关心，您的建议已转有关部门研究参考。"),
    ),
}


def test_every_action_has_a_happy_case() -> None:
    assert set(HAPPY) == {t.action for t in TRANSITIONS}


def _diagram_edges() -> set[tuple[str, str, str]]:
    path = Path(__file__).parents[2] / "bot" / "domain" / "lifecycle.mmd"
    edges = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*(\w+)\s*-->\s*(\w+)\s*:\s*(\w+)", line)
        if m:
            edges.add((m.group(1), m.group(2), m.group(3)))
    return edges


def test_diagram_and_table_agree() -> None:
    table = {(t.source.value, t.target.value, t.action.value) for t in TRANSITIONS}
    assert _diagram_edges() == table


def test_every_state_is_reachable_in_the_table() -> None:
    targets = {t.target for t in TRANSITIONS} | {State.REGISTERED}
    assert targets == set(State)


@pytest.mark.parametrize("action", list(HAPPY))
def test_happy_path(action: Action) -> None:
    facts, actor, data = HAPPY[action]
    decision = decide(facts, action, actor, data, NOW)  # type: ignore[arg-type]
    t = next(t for t in TRANSITIONS if t.action is action)
    assert (decision.from_state, decision.to_state) == (t.source, t.target)


@pytest.mark.parametrize("action", list(HAPPY))
def test_wrong_state_is_refused(action: Action) -> None:
    facts, actor, data = HAPPY[action]
    # a state no row of the action starts from (an action may start from several: 改派, 作废)
    wrong = next(s for s in State if not any(t.action is action and t.source is s for t in TRANSITIONS))
    other = CaseFacts(wrong, unit_id=facts.unit_id, complex=facts.complex, needs_leader=facts.needs_leader)
    with pytest.raises(WorkflowError) as err:
        decide(other, action, actor, data, NOW)  # type: ignore[arg-type]
    assert err.value.code == "wrong_state"
    assert wrong.label in err.value.message


ALL_ACTORS = [HANDLER, UNIT_LEADER, DISPATCHER, SUPERVISOR, LEADER, ADMIN]


@pytest.mark.parametrize("action", list(HAPPY))
def test_roles_are_enforced(action: Action) -> None:
    facts, _, data = HAPPY[action]
    t = next(t for t in TRANSITIONS if t.action is action)
    for actor in ALL_ACTORS:
        allowed = bool(actor.roles & t.roles)
        if allowed:
            decide(facts, action, actor, data, NOW)  # type: ignore[arg-type]
        else:
            with pytest.raises(WorkflowError) as err:
                decide(facts, action, actor, data, NOW)  # type: ignore[arg-type]
            assert err.value.code == "forbidden"
            assert "权限" in err.value.message


@pytest.mark.parametrize("action", [t.action for t in TRANSITIONS if t.unit_bound])
def test_unit_actions_need_membership(action: Action) -> None:
    facts, _, data = HAPPY[action]
    with pytest.raises(WorkflowError) as err:
        decide(facts, action, OTHER_HANDLER, data, NOW)  # type: ignore[arg-type]
    assert err.value.code == "not_member"


# 主办 / 协办 (issue 13): only the lead unit takes the case's steps; a co-unit sends its 协办意见.
CO_CASE = {"unit_id": UNIT, "co_unit_ids": frozenset({99})}


@pytest.mark.parametrize(
    ("action", "facts", "data"),
    [
        (Action.ACCEPT, CaseFacts(State.ASSIGNED, **CO_CASE), NoInput()),  # type: ignore[arg-type]
        (
            Action.RETURN,
            CaseFacts(State.ASSIGNED, return_deadline=NOW + timedelta(days=1), **CO_CASE),  # type: ignore[arg-type]
            ReasonInput("不属于我单位职责范围"),
        ),
        (Action.SUBMIT, CaseFacts(State.ACCEPTED, **CO_CASE), GOOD_REPLY),  # type: ignore[arg-type]
    ],
)
def test_only_the_lead_unit_accepts_returns_and_submits(action: Action, facts: CaseFacts, data: object) -> None:
    with pytest.raises(WorkflowError) as err:
        decide(facts, action, OTHER_HANDLER, data, NOW)  # type: ignore[arg-type]
    assert err.value.code == "co_unit" and "协办意见" in err.value.message
    assert decide(facts, action, HANDLER, data, NOW).to_state is not State.REGISTERED  # type: ignore[arg-type]


def test_return_outside_window_is_refused() -> None:
    facts = CaseFacts(State.ASSIGNED, unit_id=UNIT, return_deadline=NOW - timedelta(minutes=1))
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.RETURN, HANDLER, ReasonInput("不属于我单位职责范围"), NOW)
    assert err.value.code == "window_closed"
    assert "2个工作日" in err.value.message


@pytest.mark.parametrize("reason", ["", "   ", "无", "同上", "。。。", "ok", "好的"])
def test_return_needs_a_real_reason(reason: str) -> None:
    facts = CaseFacts(State.ASSIGNED, unit_id=UNIT, return_deadline=NOW + timedelta(days=1))
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.RETURN, HANDLER, ReasonInput(reason), NOW)
    assert err.value.field == "reason"


def test_overlong_reason_is_refused() -> None:
    facts = CaseFacts(State.ASSIGNED, unit_id=UNIT, return_deadline=NOW + timedelta(days=1))
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.RETURN, HANDLER, ReasonInput("不" * 501), NOW)
    assert err.value.code == "too_long"


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("attitude", ""),
        ("process", "已处理"),
        ("process", "已办理完毕"),
        ("verification", "无"),
        ("feedback", "略"),
        ("process", "x" * 5000),
    ],
)
def test_submit_checks_each_part(part: str, value: str) -> None:
    data = ReplyInput(**{**GOOD_REPLY.__dict__, part: value})
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.ACCEPTED, unit_id=UNIT), Action.SUBMIT, HANDLER, data, NOW)
    assert err.value.field == part


def test_submit_needs_truthfulness() -> None:
    data = ReplyInput(**{**GOOD_REPLY.__dict__, "truthfulness": "属实"})  # type: ignore[arg-type]
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.ACCEPTED, unit_id=UNIT), Action.SUBMIT, HANDLER, data, NOW)
    assert err.value.field == "truthfulness"


def test_submit_records_the_four_parts() -> None:
    d = decide(CaseFacts(State.ACCEPTED, unit_id=UNIT), Action.SUBMIT, HANDLER, GOOD_REPLY, NOW)
    assert d.data["truthfulness"] == "基本属实"
    assert set(d.data) == {"truthfulness", "attitude", "process", "verification", "feedback"}
    assert "【核查情况】" in GOOD_REPLY.as_text()


def test_extension_open_to_every_case() -> None:  # issue 13: not only 复杂件
    decision = decide(
        CaseFacts(State.ACCEPTED, unit_id=UNIT),
        Action.REQUEST_EXTENSION,
        HANDLER,
        ExtensionRequest("需要协调多个部门", 5),
        NOW,
    )
    assert decision.to_state is State.EXTENSION_REQUESTED


@pytest.mark.parametrize("days", [0, -1, 61])
def test_extension_days_bounded(days: int) -> None:
    with pytest.raises(WorkflowError) as err:
        decide(
            CaseFacts(State.ACCEPTED, unit_id=UNIT, complex=True),
            Action.REQUEST_EXTENSION,
            HANDLER,
            ExtensionRequest("需要协调多个部门", days),
            NOW,
        )
    assert err.value.code == "bad_days"


def test_review_pass_follows_leader_configuration() -> None:
    plain = CaseFacts(State.SUBMITTED, unit_id=UNIT)
    with pytest.raises(WorkflowError) as err:
        decide(plain, Action.REVIEW_PASS, SUPERVISOR, CommentInput(), NOW)
    assert err.value.code == "no_leader_needed"
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.SUBMITTED, needs_leader=True), Action.REVIEW_PASS_FINAL, SUPERVISOR, CommentInput(), NOW)
    assert err.value.code == "leader_needed"


@pytest.mark.parametrize("action", [Action.REVIEW_REJECT, Action.LEADER_REJECT, Action.REFUSE_EXTENSION])
def test_send_back_needs_a_comment(action: Action) -> None:
    facts, actor, _ = HAPPY[action]
    with pytest.raises(WorkflowError) as err:
        decide(facts, action, actor, RejectInput("  "), NOW)
    assert err.value.field == "comment"


def test_individual_reply_needs_a_ground() -> None:
    facts = CaseFacts(State.APPROVED)
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.PUBLISH, DISPATCHER, PublishInput(ReplyMode.INDIVIDUAL), NOW)
    assert err.value.field == "ground"
    ok = decide(
        facts, Action.PUBLISH, DISPATCHER, PublishInput(ReplyMode.INDIVIDUAL, NonPublicGround.UNREASONABLE), NOW
    )
    assert ok.data["ground"] == NonPublicGround.UNREASONABLE.value
    with pytest.raises(WorkflowError):
        decide(facts, Action.PUBLISH, DISPATCHER, PublishInput(ReplyMode.PUBLIC, NonPublicGround.UNREASONABLE), NOW)


def test_archive_needs_all_elements() -> None:
    facts = CaseFacts(State.CLOSED, missing_archive_elements=("回访时间", "呈报文号"))
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.ARCHIVE, DISPATCHER, NoInput(), NOW)
    assert "回访时间、呈报文号" in err.value.message


def test_missing_input_type_is_refused() -> None:
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.ASSIGNED, unit_id=UNIT), Action.RETURN, HANDLER, NoInput(), NOW)
    assert err.value.code == "bad_input"


def test_allowed_actions() -> None:
    assert set(allowed_actions(State.ASSIGNED)) == {
        Action.ACCEPT,
        Action.RETURN,
        Action.REASSIGN,
        Action.VOID,
        Action.TRANSFER,
        Action.REROUTE,
    }  # issue 13
    assert allowed_actions(State.ARCHIVED) == []


# 改派 before 签收 (issue 13): the dispatcher corrects a wrong assignment before the unit acts.


def test_reassign_before_acceptance_to_another_unit() -> None:
    facts = CaseFacts(State.ASSIGNED, unit_id=UNIT)
    decision = decide(facts, Action.REASSIGN, DISPATCHER, AssignInput(unit_id=99), NOW)
    assert (decision.from_state, decision.to_state) == (State.ASSIGNED, State.ASSIGNED)
    assert decision.data == {"unit_id": 99, "from_unit_id": UNIT}
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.REASSIGN, DISPATCHER, AssignInput(unit_id=UNIT), NOW)
    assert err.value.code == "same_unit"
    with pytest.raises(WorkflowError) as err:
        decide(facts, Action.REASSIGN, HANDLER, AssignInput(unit_id=99), NOW)
    assert err.value.code == "forbidden"
    with pytest.raises(WorkflowError) as err:
        decide(CaseFacts(State.ACCEPTED, unit_id=UNIT), Action.REASSIGN, DISPATCHER, AssignInput(unit_id=99), NOW)
    assert err.value.code == "wrong_state"


def test_assign_action_by_state() -> None:
    from bot.domain.lifecycle import assign_action

    assert assign_action(State.REGISTERED, None, 1) is Action.ASSIGN
    assert assign_action(State.RETURNED, 1, 1) is Action.REASSIGN
    assert assign_action(State.ASSIGNED, 1, 2) is Action.REASSIGN
    assert assign_action(State.ASSIGNED, 1, 1) is Action.ASSIGN  # the same 交办 again: already done
