"""A case page's action forms: which actions a person may take now (the domain's ``precheck``, the
same pre-check the chat runs before asking for words) and the typed input each form carries.
Nothing here decides a rule: ``bot.handlers.workflow.perform`` checks everything again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.domain.lifecycle import (
    ActionInput,
    Actor,
    AssignInput,
    CommentInput,
    ExtensionDecision,
    ExtensionRequest,
    FollowUpInput,
    NoInput,
    PublishInput,
    ReasonInput,
    RejectInput,
    ReplyInput,
    WorkflowError,
    allowed_actions,
    precheck,
    transition_for,
)
from bot.domain.states import Action, NonPublicGround, ReplyMode, Satisfaction, State, TellMethod, Truthfulness
from bot.handlers.workflow import facts_of
from store.models import Case

#: 交办/改派 have their own form (a unit to choose); the rest is one form per action
ASSIGNING = (Action.ASSIGN, Action.REASSIGN)


@dataclass(frozen=True)
class ActionForm:
    action: Action
    label: str
    kind: str  # the input's class name: NoInput, ReasonInput, ReplyInput …
    danger: bool = False


def available(case: Case, actor: Actor, now: datetime, tz: ZoneInfo) -> list[ActionForm]:
    """The actions ``actor`` may take on ``case`` now, in the table's order (precheck passes)."""
    facts = facts_of(case, tz=tz)
    forms: list[ActionForm] = []
    seen: set[Action] = set()
    for action in allowed_actions(State(case.state)):
        if action in seen or action in ASSIGNING:
            continue
        seen.add(action)
        if precheck(facts, action, actor, now) is None:
            kind = transition_for(action).input_type.__name__
            danger = action in (Action.VOID, Action.RETURN, Action.REVIEW_REJECT, Action.LEADER_REJECT)
            forms.append(ActionForm(action, action.label, kind, danger))
    return forms


def may_assign(case: Case, actor: Actor, now: datetime, tz: ZoneInfo) -> Action | None:
    """交办 (registered) or 改派 (returned, or assigned and not yet signed for) if ``actor`` may."""
    facts = facts_of(case, tz=tz)
    state = State(case.state)
    action = Action.ASSIGN if state is State.REGISTERED else Action.REASSIGN
    if state not in (State.REGISTERED, State.RETURNED, State.ASSIGNED):
        return None
    return action if precheck(facts, action, actor, now) is None else None


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _int(form: Mapping[str, str], name: str, label: str) -> int:
    value = _text(form, name)
    if not value.isdigit():
        raise WorkflowError("bad_input", f"请填写{label}（整数）。", field=name)
    return int(value)


E = TypeVar("E", Truthfulness, ReplyMode, NonPublicGround, TellMethod, Satisfaction)


def _choice(form: Mapping[str, str], name: str, enum: type[E], label: str, *, required: bool = True) -> E | None:
    value = _text(form, name)
    if not value and not required:
        return None
    try:
        return enum(value)
    except ValueError:
        raise WorkflowError("bad_input", f"请选择{label}。", field=name) from None


def parse_input(action: Action, form: Mapping[str, str], tz: ZoneInfo) -> ActionInput:
    """The typed input of ``action`` from its form (the guards check the content)."""
    kind = transition_for(action).input_type
    if kind is NoInput:
        return NoInput()
    if kind is ReasonInput:
        return ReasonInput(_text(form, "reason"))
    if kind is ExtensionRequest:
        return ExtensionRequest(_text(form, "reason"), _int(form, "days", "延期工作日数"))
    if kind is ExtensionDecision:
        return ExtensionDecision(_int(form, "days", "延期工作日数"), _text(form, "comment"))
    if kind is CommentInput:
        return CommentInput(_text(form, "comment"))
    if kind is RejectInput:
        return RejectInput(_text(form, "comment"))
    if kind is ReplyInput:
        truth = _choice(form, "truthfulness", Truthfulness, "属实程度")
        assert truth is not None
        return ReplyInput(
            truth,
            attitude=_text(form, "attitude"),
            process=_text(form, "process"),
            verification=_text(form, "verification"),
            feedback=_text(form, "feedback"),
        )
    if kind is PublishInput:
        mode = _choice(form, "mode", ReplyMode, "回复方式")
        assert mode is not None
        return PublishInput(
            mode,
            ground=_choice(form, "ground", NonPublicGround, "不予公开的理由", required=False),
            report_number=_text(form, "report_number"),
            told_via=_choice(form, "told_via", TellMethod, "告知方式", required=False),
            public_text=_text(form, "public_text"),
        )
    if kind is FollowUpInput:
        satisfaction = _choice(form, "satisfaction", Satisfaction, "满意程度")
        assert satisfaction is not None
        resolved = _text(form, "resolved")
        if resolved not in ("yes", "no"):
            raise WorkflowError("bad_input", "请选择是否化解。", field="resolved")
        promised = None
        if _text(form, "promised_at"):
            try:
                day = datetime.fromisoformat(_text(form, "promised_at")).date()
            except ValueError:
                raise WorkflowError(
                    "bad_input", "承诺解决日期格式不对（例：2026-12-31）。", field="promised_at"
                ) from None
            promised = datetime.combine(day, time(17, 30), tz)
        return FollowUpInput(resolved == "yes", satisfaction, _text(form, "evaluation"), promised)
    if kind is AssignInput:  # pragma: no cover - assignment has its own form
        raise WorkflowError("bad_input", "请在交办表单中选择承办单位。")
    raise WorkflowError("bad_input", "不支持的操作。")  # pragma: no cover


OPTIONS = {
    "truthfulness": [t.value for t in Truthfulness],
    "mode": [(m.value, m.label) for m in ReplyMode],
    "ground": [g.value for g in NonPublicGround],
    "told_via": [t.value for t in TellMethod],
    "satisfaction": [s.value for s in Satisfaction],
}
