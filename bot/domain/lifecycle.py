"""The case lifecycle as an explicit transition table with guards.

Pure: no I/O, no clock of its own. ``decide`` takes the facts of a case, the actor, the action,
its typed input and ``now`` and either returns a ``Decision`` (what to record) or raises one
``WorkflowError`` whose ``message`` is a Chinese sentence the chat layer can show as it is.
The diagram beside this file (``lifecycle.mmd``) is checked against ``TRANSITIONS`` by a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.errors import UserError
from bot.domain.publication import refusal
from bot.domain.states import (
    ROLE_LABELS,
    UNIT_ROLES,
    Action,
    NonPublicGround,
    ReplyMode,
    Role,
    Route,
    Satisfaction,
    State,
    TellMethod,
    Truthfulness,
)

# Text limits (characters). Long enough for a real report, short enough for a card and the DB.
MAX_REASON = 500
MAX_PART = 4000
MAX_COMMENT = 1000
MIN_REASON = 4


class WorkflowError(UserError):
    """A refused transition. ``code`` is stable for programs, ``message`` is for people (中文)."""


@dataclass(frozen=True)
class Actor:
    """The person acting, with the roles and units the directory gives them."""

    name: str
    roles: frozenset[Role]
    unit_ids: frozenset[int] = frozenset()
    person_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(name="系统", roles=frozenset({Role.SYSTEM}))


@dataclass(frozen=True)
class CaseFacts:
    """What the guards need to know about a case (a projection of the stored row)."""

    state: State
    unit_id: int | None = None
    co_unit_ids: frozenset[int] = frozenset()
    complex: bool = False
    return_deadline: datetime | None = None  # aware, in the office time zone (refusals print it)
    needs_leader: bool = False
    missing_archive_elements: tuple[str, ...] = ()
    truthfulness: str | None = None  # 属实程度 of the submitted report
    has_contact: bool = False  # 联系方式 given: an 个别回复 is possible
    untrue_note: bool = False  # the office publishes an explanatory note for a 不属实 case
    route: Route = Route.HANDLE  # 第九条: 交办办理, 礼节性回复 or 转办


# --- typed inputs, one per kind of action -------------------------------------------------


@dataclass(frozen=True)
class NoInput:
    pass


@dataclass(frozen=True)
class AssignInput:
    unit_id: int
    note: str = ""


@dataclass(frozen=True)
class ReasonInput:
    """退回 reason, 阶段性报告 text."""

    reason: str


@dataclass(frozen=True)
class InterimInput:
    """阶段性报告 (第十条: "须在15个工作日内报告阶段性办理情况，并提出回复建议")."""

    progress: str  # 阶段性办理情况
    proposal: str  # 回复建议


@dataclass(frozen=True)
class TransferInput:
    """转办 (第九条): where the case goes and what is said (转办说明)."""

    destination: str  # 去向, e.g. 政法部门, 区纪检委
    note: str  # 转办说明


@dataclass(frozen=True)
class RouteInput:
    """改为办理 / 改为礼节性回复: the new route and why."""

    route: Route
    reason: str


@dataclass(frozen=True)
class CourtesyInput:
    """礼节性回复 written by the 督查室 (第九条)."""

    text: str


@dataclass(frozen=True)
class ExtensionRequest:
    reason: str
    days: int


@dataclass(frozen=True)
class ExtensionDecision:
    days: int = 0
    comment: str = ""


@dataclass(frozen=True)
class ReplyInput:
    """办理情况报告: 属实程度 and the four parts of 第十条."""

    truthfulness: Truthfulness
    attitude: str  # 表明态度
    process: str  # 工作过程
    verification: str  # 核查情况
    feedback: str  # 网友反馈

    def as_text(self) -> str:
        return (
            f"【表明态度】{self.truthfulness.value}。{self.attitude}\n"
            f"【工作过程】{self.process}\n"
            f"【核查情况】{self.verification}\n"
            f"【网友反馈】{self.feedback}"
        )


@dataclass(frozen=True)
class CommentInput:
    """Review pass / leader approval: optional comment or 批示."""

    comment: str = ""


@dataclass(frozen=True)
class RejectInput:
    """Sent back: the comment (or 批示) is required."""

    comment: str


@dataclass(frozen=True)
class PublishInput:
    mode: ReplyMode
    ground: NonPublicGround | None = None
    report_number: str = ""  # 呈报文号
    told_via: TellMethod | None = None  # how the petitioner was told (个别回复)
    public_text: str = ""  # the public reply as published, in the unit's name


@dataclass(frozen=True)
class FollowUpInput:
    resolved: bool  # 是否化解
    satisfaction: Satisfaction
    evaluation: str  # 评价内容
    promised_at: datetime | None = None  # 跟踪: the date the unit promised a solution by

    @property
    def settled(self) -> bool:
        """化解 and not 不满意: the case may close (else it is tracked, seed 001 第十二条)."""
        return self.resolved and self.satisfaction is not Satisfaction.DISSATISFIED


ActionInput = (
    NoInput
    | AssignInput
    | ReasonInput
    | InterimInput
    | TransferInput
    | RouteInput
    | CourtesyInput
    | ExtensionRequest
    | ExtensionDecision
    | ReplyInput
    | CommentInput
    | RejectInput
    | PublishInput
    | FollowUpInput
)

Guard = Callable[[CaseFacts, Actor, ActionInput, datetime], None]

#: guards that look only at the case, the actor and the time, never at the input: ``precheck`` runs them
_FACT_GUARDS: set[Guard] = set()


def _facts_only(guard: Guard) -> Guard:
    _FACT_GUARDS.add(guard)
    return guard


@dataclass(frozen=True)
class Transition:
    action: Action
    source: State
    target: State
    roles: frozenset[Role]
    input_type: type
    guards: tuple[Guard, ...] = ()
    #: the actor must belong to the case's unit (lead or co-handling) when acting in a unit role
    unit_bound: bool = False
    #: only the lead unit (主办) may take it; a co-unit (协办) sends its 协办意见 instead
    lead_only: bool = False
    #: the routes (第九条) of the cases this row applies to; an action may have one row per route
    routes: frozenset[Route] = frozenset(Route)


@dataclass(frozen=True)
class Decision:
    action: Action
    from_state: State
    to_state: State
    comment: str = ""
    data: dict[str, object] = field(default_factory=dict)


# --- text checks ---------------------------------------------------------------------------

_TOKEN_REPLIES = {
    "无",
    "略",
    "同上",
    "好",
    "好的",
    "收到",
    "已办",
    "已办理",
    "已处理",
    "已完成",
    "已解决",
    "ok",
    "okay",
    "test",
    "测试",
    "1",
    "见附件",
    "详见附件",
    "已回复",
    "处理中",
    "办理中",
}
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def _meaningful(text: str) -> str:
    return _PUNCT.sub("", text)


def check_text(value: str, *, field_name: str, label: str, min_len: int = 1, max_len: int = MAX_PART) -> str:
    """Strip and check a free-text field; refuse empty, token and over-long text."""
    text = (value or "").strip()
    if len(text) > max_len:
        raise WorkflowError("too_long", f"{label}过长（{len(text)}字，最多{max_len}字）。", field=field_name)
    core = _meaningful(text)
    if not core:
        raise WorkflowError("missing_input", f"请填写{label}。", field=field_name)
    if core.lower() in _TOKEN_REPLIES or (len(set(core)) == 1 and len(core) > 1):
        raise WorkflowError("token_text", f"{label}不能只写“{text}”，请如实填写具体内容。", field=field_name)
    if len(core) < min_len:
        raise WorkflowError("too_short", f"{label}过于简单（至少{min_len}个字），请写清楚具体情况。", field=field_name)
    return text


# --- guards ------------------------------------------------------------------------------


@_facts_only
def _within_return_window(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    if facts.return_deadline is not None and now > facts.return_deadline:
        end = facts.return_deadline.strftime("%Y-%m-%d %H:%M")
        raise WorkflowError(
            "window_closed",
            f"退回期限已过（须在交办后2个工作日内退回，截止{end}）。如确需调整，请联系登记员改派。",
        )


def _reason_required(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, ReasonInput | ExtensionRequest)
    check_text(data.reason, field_name="reason", label="原因", min_len=MIN_REASON, max_len=MAX_REASON)


def _interim_text(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, InterimInput)
    check_text(data.progress, field_name="progress", label="阶段性办理情况", min_len=8, max_len=MAX_PART)
    check_text(data.proposal, field_name="proposal", label="回复建议", min_len=MIN_REASON, max_len=MAX_PART)


#: where 回复建议 begins in a one-message 进展 (the reminder shows this form)
PROPOSAL_MARKERS = ("回复建议：", "回复建议:", "回复建议 ")


def split_interim(text: str) -> InterimInput:
    """``<阶段性情况> 回复建议：<内容>`` → InterimInput (the proposal empty when not marked)."""
    for marker in PROPOSAL_MARKERS:
        head, found, tail = text.partition(marker)
        if found:
            return InterimInput(head.strip().rstrip("，,;；。 "), tail.strip())
    return InterimInput(text.strip(), "")


# --- routing by type (第九条) ---------------------------------------------------------------

MAX_DESTINATION = 100


def _transfer_input(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, TransferInput)
    check_text(data.destination, field_name="destination", label="转办去向", min_len=2, max_len=MAX_DESTINATION)
    check_text(data.note, field_name="note", label="转办说明", min_len=MIN_REASON, max_len=MAX_REASON)


def _new_route(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, RouteInput)
    if data.route is Route.TRANSFER:
        raise WorkflowError("bad_input", "转办请发送“改为转办 <文号> <去向> <转办说明>”。", field="route")
    if data.route is facts.route and facts.state is not State.TRANSFERRED:
        raise WorkflowError("no_change", f"此件已按“{data.route.label}”处理，无须改变。", field="route")
    check_text(data.reason, field_name="reason", label="理由", min_len=MIN_REASON, max_len=MAX_REASON)


@_facts_only
def _handled_route(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    if facts.route is not Route.HANDLE:
        raise WorkflowError(
            "wrong_route",
            f"此件按第九条“{facts.route.label}”，不交办承办单位。如需交办，请先发送“改为办理 <文号> <理由>”。",
        )


@_facts_only
def _courtesy_route(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    if facts.route is not Route.COURTESY:
        raise WorkflowError(
            "wrong_route",
            f"此件按“{facts.route.label}”处理，不作礼节性回复。如需礼节性回复，请先发送“改为礼节性回复 <文号> <理由>”。",
        )


def _courtesy_text(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, CourtesyInput)
    check_text(data.text, field_name="text", label="礼节性回复", min_len=8, max_len=MAX_PART)


def _extension_days(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    days = data.days if isinstance(data, ExtensionRequest | ExtensionDecision) else 0
    if not 1 <= days <= 60:
        raise WorkflowError("bad_days", "延期天数须为1至60个工作日。", field="days")


#: the four parts of the reply (第十条): field → (label, minimum meaningful characters)
REPLY_PARTS: dict[str, tuple[str, int]] = {
    "attitude": ("表明态度", 4),
    "process": ("工作过程", 15),
    "verification": ("核查情况", 6),
    "feedback": ("网友反馈", 4),
}


def check_reply_part(part: str, text: str) -> str:
    label, minimum = REPLY_PARTS[part]
    return check_text(text, field_name=part, label=label, min_len=minimum)


def _reply_complete(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, ReplyInput)
    if not isinstance(data.truthfulness, Truthfulness):
        raise WorkflowError("missing_input", "请选择属实程度。", field="truthfulness")
    for part in REPLY_PARTS:
        check_reply_part(part, getattr(data, part))


def _comment_required(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, RejectInput)
    check_text(data.comment, field_name="comment", label="退回意见", min_len=2, max_len=MAX_COMMENT)


def _comment_optional(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    comment = getattr(data, "comment", "")
    if comment and len(comment) > MAX_COMMENT:
        raise WorkflowError("too_long", f"意见过长（最多{MAX_COMMENT}字）。", field="comment")


@_facts_only
def _needs_leader(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    if not facts.needs_leader:
        raise WorkflowError("no_leader_needed", "此件无须领导审定，请使用“审核通过”直接进入回复。")


@_facts_only
def _no_leader(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    if facts.needs_leader:
        raise WorkflowError("leader_needed", "此件须报领导审定。")


def _publish_mode(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, PublishInput)
    if data.mode is ReplyMode.INDIVIDUAL and data.ground is None:
        raise WorkflowError("missing_input", "个别回复须说明不公开的理由（第十二条四种情形之一）。", field="ground")
    if data.mode is not ReplyMode.INDIVIDUAL and data.ground is not None:
        raise WorkflowError("bad_input", "公开回复无须填写不公开理由。", field="ground")
    why = refusal(data.mode, facts.truthfulness, facts.has_contact, facts.untrue_note)
    if why is not None:
        raise WorkflowError("not_publishable", why, field="mode")
    if len(data.public_text) > MAX_PART:
        raise WorkflowError("too_long", f"公开回复过长（最多{MAX_PART}字）。", field="public_text")


def _follow_up(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, FollowUpInput)
    check_text(data.evaluation, field_name="evaluation", label="评价内容", min_len=2, max_len=MAX_COMMENT)


def _settled(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, FollowUpInput)
    if not data.settled:
        raise WorkflowError(
            "not_settled", "回访未化解或不满意的，不能办结，须转入跟踪（第十二条：直至问题得到有效解决）。"
        )


def _unsettled(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, FollowUpInput)
    if data.settled:
        raise WorkflowError("settled", "已化解且满意的，请直接办结。")
    if data.promised_at is None or data.promised_at <= now:
        raise WorkflowError("missing_input", "请写明承诺解决的日期（今天以后）。", field="promised_at")


def _re_reply_text(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, ReasonInput)
    check_text(data.reason, field_name="reason", label="再回复内容", min_len=8, max_len=MAX_PART)


def _close_reason(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, RejectInput)
    check_text(data.comment, field_name="comment", label="销号理由", min_len=MIN_REASON, max_len=MAX_COMMENT)


@_facts_only
def _archive_complete(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    if facts.missing_archive_elements:
        missing = "、".join(facts.missing_archive_elements)
        raise WorkflowError("archive_incomplete", f"档案要素不全，不能立卷：缺少{missing}。")


def _assign_target(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, AssignInput)
    if data.unit_id <= 0:
        raise WorkflowError("missing_input", "请指定承办单位。", field="unit")


def _another_unit(facts: CaseFacts, actor: Actor, data: ActionInput, now: datetime) -> None:
    assert isinstance(data, AssignInput)
    if data.unit_id == facts.unit_id:
        raise WorkflowError("same_unit", "此件已交办该单位，无须改派。", field="unit")


# --- the table -----------------------------------------------------------------------------

#: states a case may be voided (作废) from: registered, and not yet reported on by the unit
VOIDABLE = (
    State.REGISTERED,
    State.ASSIGNED,
    State.RETURNED,
    State.ACCEPTED,
    State.EXTENSION_REQUESTED,
    State.TRANSFERRED,
)
#: states a case may be transferred (转办) from: not yet reported on by the unit
TRANSFERABLE = VOIDABLE[:-1]
#: states whose route may be changed to 办理 or 礼节性回复 (the case is registered again)
REROUTABLE = (State.REGISTERED, State.ASSIGNED, State.RETURNED, State.TRANSFERRED)

_DISPATCH = frozenset({Role.DISPATCHER, Role.ADMIN, Role.SYSTEM})
_UNIT = frozenset({Role.HANDLER, Role.UNIT_LEADER})
_SUPERVISE = frozenset({Role.SUPERVISOR})
_LEAD = frozenset({Role.LEADER})
_OFFICE = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Action.ASSIGN, State.REGISTERED, State.ASSIGNED, _DISPATCH, AssignInput, (_handled_route, _assign_target)
    ),
    Transition(
        Action.REASSIGN, State.RETURNED, State.ASSIGNED, _DISPATCH - {Role.SYSTEM}, AssignInput, (_assign_target,)
    ),
    # 改派 before 签收: a wrong assignment is corrected before the unit acts (issue 13)
    Transition(
        Action.REASSIGN,
        State.ASSIGNED,
        State.ASSIGNED,
        _DISPATCH - {Role.SYSTEM},
        AssignInput,
        (_assign_target, _another_unit),
    ),
    Transition(Action.ACCEPT, State.ASSIGNED, State.ACCEPTED, _UNIT, NoInput, (), unit_bound=True, lead_only=True),
    Transition(
        Action.RETURN,
        State.ASSIGNED,
        State.RETURNED,
        _UNIT,
        ReasonInput,
        (_within_return_window, _reason_required),
        unit_bound=True,
        lead_only=True,
    ),
    Transition(
        Action.SUBMIT,
        State.ACCEPTED,
        State.SUBMITTED,
        _UNIT,
        ReplyInput,
        (_reply_complete,),
        unit_bound=True,
        lead_only=True,
    ),
    Transition(
        Action.INTERIM_REPORT, State.ACCEPTED, State.ACCEPTED, _UNIT, InterimInput, (_interim_text,), unit_bound=True
    ),
    Transition(
        Action.REQUEST_EXTENSION,
        State.ACCEPTED,
        State.EXTENSION_REQUESTED,
        _UNIT,
        ExtensionRequest,
        (_reason_required, _extension_days),  # open to every case, decided by a supervisor (issue 13)
        unit_bound=True,
    ),
    Transition(
        Action.APPROVE_EXTENSION,
        State.EXTENSION_REQUESTED,
        State.ACCEPTED,
        _SUPERVISE,
        ExtensionDecision,
        (_extension_days, _comment_optional),
    ),
    Transition(
        Action.REFUSE_EXTENSION,
        State.EXTENSION_REQUESTED,
        State.ACCEPTED,
        _SUPERVISE,
        RejectInput,
        (_comment_required,),
    ),
    Transition(
        Action.REVIEW_PASS,
        State.SUBMITTED,
        State.REVIEWED,
        _SUPERVISE,
        CommentInput,
        (_needs_leader, _comment_optional),
    ),
    Transition(
        Action.REVIEW_PASS_FINAL,
        State.SUBMITTED,
        State.APPROVED,
        _SUPERVISE,
        CommentInput,
        (_no_leader, _comment_optional),
    ),
    Transition(Action.REVIEW_REJECT, State.SUBMITTED, State.ACCEPTED, _SUPERVISE, RejectInput, (_comment_required,)),
    Transition(Action.APPROVE, State.REVIEWED, State.APPROVED, _LEAD, CommentInput, (_comment_optional,)),
    Transition(Action.LEADER_REJECT, State.REVIEWED, State.ACCEPTED, _LEAD, RejectInput, (_comment_required,)),
    Transition(
        Action.PUBLISH,
        State.APPROVED,
        State.REPLIED,
        _DISPATCH - {Role.SYSTEM},
        PublishInput,
        (_publish_mode,),
        routes=frozenset({Route.HANDLE, Route.TRANSFER}),
    ),
    # 礼节性回复 (第九条): the 督查室 writes it, it is published and the case is closed (no 回访)
    Transition(
        Action.PUBLISH,
        State.APPROVED,
        State.CLOSED,
        _DISPATCH - {Role.SYSTEM},
        PublishInput,
        (_publish_mode,),
        routes=frozenset({Route.COURTESY}),
    ),
    Transition(
        Action.COURTESY_REPLY,
        State.REGISTERED,
        State.APPROVED,
        _SUPERVISE,
        CourtesyInput,
        (_courtesy_route, _courtesy_text),
    ),
    Transition(Action.FOLLOW_UP, State.REPLIED, State.CLOSED, _OFFICE, FollowUpInput, (_follow_up, _settled)),
    Transition(Action.TRACK, State.REPLIED, State.TRACKING, _OFFICE, FollowUpInput, (_follow_up, _unsettled)),
    Transition(
        Action.RE_REPLY, State.TRACKING, State.SUBMITTED, _UNIT, ReasonInput, (_re_reply_text,), unit_bound=True
    ),
    Transition(Action.CLOSE_TRACKING, State.TRACKING, State.CLOSED, _SUPERVISE, RejectInput, (_close_reason,)),
    Transition(Action.ARCHIVE, State.CLOSED, State.ARCHIVED, _DISPATCH - {Role.SYSTEM}, NoInput, (_archive_complete,)),
    # 作废: a mistaken or duplicate registration, before the unit has reported (issue 13)
    *(
        Transition(Action.VOID, source, State.VOIDED, _DISPATCH - {Role.SYSTEM}, ReasonInput, (_reason_required,))
        for source in VOIDABLE
    ),
    # 转办 (第九条): 涉法涉诉 → 政法部门, 党风廉政 → 区纪检委阅处，不再专门办理; by the office, or by
    # the system at registration when the category's route is 转办
    *(
        Transition(
            Action.TRANSFER, source, State.TRANSFERRED, _OFFICE | {Role.SYSTEM}, TransferInput, (_transfer_input,)
        )
        for source in TRANSFERABLE
    ),
    # 改为办理 / 改为礼节性回复: registered again under the new route (a unit's cards are greyed)
    *(
        Transition(Action.REROUTE, source, State.REGISTERED, _OFFICE, RouteInput, (_new_route,))
        for source in REROUTABLE
    ),
)

#: an action's first row; an action may have several rows, one per source state (改派)
_BY_ACTION: dict[Action, Transition] = {}
for _t in TRANSITIONS:
    _BY_ACTION.setdefault(_t.action, _t)


def transition_for(action: Action) -> Transition:
    return _BY_ACTION[action]


def _row(action: Action, state: State, route: Route = Route.HANDLE) -> Transition | None:
    """The row of ``action`` that starts from ``state`` for a case of ``route`` (else its first
    row from ``state``, else its first row, for the refusal)."""
    rows = [t for t in TRANSITIONS if t.action is action and t.source is state]
    return next((t for t in rows if route in t.routes), rows[0] if rows else _BY_ACTION.get(action))


def assign_action(state: State, current_unit: int | None = None, unit: int | None = None) -> Action:
    """交办 a registered case; 改派 one that is returned, or not yet signed for by its unit. The
    same 交办 again (same unit, not yet signed for) stays 交办: refused as already done."""
    if state is State.RETURNED or (state is State.ASSIGNED and unit != current_unit):
        return Action.REASSIGN
    return Action.ASSIGN


def allowed_actions(state: State) -> list[Action]:
    """Actions that start from ``state`` (for menus and help texts)."""
    return [t.action for t in TRANSITIONS if t.source is state]


def _check_role(t: Transition, facts: CaseFacts, actor: Actor) -> None:
    acting_roles = actor.roles & t.roles
    if not acting_roles:
        who = "、".join(ROLE_LABELS[r] for r in sorted(t.roles - {Role.SYSTEM}, key=str))
        raise WorkflowError("forbidden", f"您没有“{t.action.label}”的权限（仅限{who}）。")
    if t.unit_bound and acting_roles <= UNIT_ROLES:
        units = {facts.unit_id, *facts.co_unit_ids} - {None}
        if not actor.unit_ids & units:
            raise WorkflowError("not_member", "您不是此件承办单位的成员，不能办理。")
        if t.lead_only and facts.unit_id not in actor.unit_ids:
            raise WorkflowError(
                "co_unit",
                f"贵单位是此件的协办单位，只有主办单位可以{t.action.label}。"
                "请发送“协办意见 <文号> <内容>”报送协办意见。",
            )


def _check_state(t: Transition, facts: CaseFacts) -> None:
    if facts.state is not t.source:
        raise WorkflowError(
            "wrong_state",
            f"此件当前状态为“{facts.state.label}”，不能{t.action.label}。",
        )


def precheck(facts: CaseFacts, action: Action, actor: Actor, now: datetime) -> WorkflowError | None:
    """The refusal ``decide`` would give before looking at the input, or None.

    Runs only the guards that need no input — state, role and membership, and the guards on the
    case and the time (the 退回 window, 领导审定) — in ``decide``'s order, so the chat can
    refuse before asking someone to type a reason in vain.
    """
    t = _row(action, facts.state, facts.route)
    assert t is not None  # Action is an enum and every action has a row
    try:
        _check_state(t, facts)
        _check_role(t, facts, actor)
        for guard in t.guards:
            if guard in _FACT_GUARDS:
                guard(facts, actor, NoInput(), now)
    except WorkflowError as exc:
        return exc
    return None


def decide(facts: CaseFacts, action: Action, actor: Actor, data: ActionInput, now: datetime) -> Decision:
    """Check everything and say what the transition does; raises WorkflowError when refused.

    Order of checks: state first (so a double click says "already handled"), then role and
    membership, then the input.
    """
    t = _row(action, facts.state, facts.route)
    if t is None:  # pragma: no cover - Action is an enum
        raise WorkflowError("unknown_action", "不支持的操作。")
    _check_state(t, facts)
    _check_role(t, facts, actor)
    if not isinstance(data, t.input_type):
        raise WorkflowError("bad_input", f"“{t.action.label}”缺少必要信息。")
    for guard in t.guards:
        guard(facts, actor, data, now)
    recorded = _data_of(data)
    if action in (Action.REASSIGN, Action.TRANSFER, Action.REROUTE) and facts.unit_id is not None:
        recorded["from_unit_id"] = facts.unit_id  # whose cards are greyed, who is told
    return Decision(action, t.source, t.target, comment=_comment_of(data), data=recorded)


def _comment_of(data: ActionInput) -> str:
    if isinstance(data, ReasonInput | ExtensionRequest | RouteInput):
        return data.reason.strip()
    if isinstance(data, InterimInput):
        return data.progress.strip()
    if isinstance(data, TransferInput):
        return data.note.strip()
    if isinstance(data, CourtesyInput):
        return data.text.strip()
    if isinstance(data, CommentInput | RejectInput | ExtensionDecision):
        return data.comment.strip()
    if isinstance(data, FollowUpInput):
        return data.evaluation.strip()
    if isinstance(data, AssignInput):
        return data.note.strip()
    return ""


def _data_of(data: ActionInput) -> dict[str, object]:
    if isinstance(data, ReplyInput):
        return {
            "truthfulness": data.truthfulness.value,
            "attitude": data.attitude.strip(),
            "process": data.process.strip(),
            "verification": data.verification.strip(),
            "feedback": data.feedback.strip(),
        }
    if isinstance(data, ExtensionRequest | ExtensionDecision):
        return {"days": data.days}
    if isinstance(data, AssignInput):
        return {"unit_id": data.unit_id}
    if isinstance(data, InterimInput):
        return {"proposal": data.proposal.strip()}
    if isinstance(data, TransferInput):
        return {"route": Route.TRANSFER.value, "destination": data.destination.strip()}
    if isinstance(data, RouteInput):
        return {"route": data.route.value}
    if isinstance(data, PublishInput):
        return {
            "mode": data.mode.value,
            "ground": data.ground.value if data.ground else None,
            "report_number": data.report_number,
            "told_via": data.told_via.value if data.told_via else None,
            "public_text": data.public_text,
        }
    if isinstance(data, FollowUpInput):
        promised = {"promised_at": data.promised_at.isoformat()} if data.promised_at else {}
        return {"resolved": data.resolved, "satisfaction": data.satisfaction.value, **promised}
    return {}
