"""Run one lifecycle transition: load, decide (pure domain), compare-and-set, record, notify.

This is the function every channel calls (API, CLI, WeCom, DingTalk). One transaction: the
state change, the timeline entry and the queued messages commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.archive import has_contact as contact_given
from bot.domain.archive import missing_elements
from bot.domain.deadlines import extend_deadline, handling_deadline, return_window_end, same_day_deadline
from bot.domain.lifecycle import (
    ActionInput,
    Actor,
    AssignInput,
    CaseFacts,
    CourtesyInput,
    Decision,
    ExtensionDecision,
    FollowUpInput,
    InterimInput,
    ReplyInput,
    RouteInput,
    TransferInput,
    WorkflowError,
    decide,
)
from bot.domain.states import PUBLIC_MODES, Action, Note, ReplyMode, Route, State
from bot.domain.steps import step_deadline
from bot.handlers.deps import CaseChange, Deps
from bot.handlers.read_models import archive_record, event_label, local_time_text
from store import repo
from store.db import Session
from store.models import Case


class CaseNotFound(WorkflowError):
    def __init__(self, number: str) -> None:
        super().__init__("not_found", f"未找到文号为 {number} 的留言件，请核对文号。", field="number")


def facts_of(case: Case, record: dict[str, Any] | None = None, *, tz: tzinfo, untrue_note: bool = False) -> CaseFacts:
    """The guards' view of ``case``; its times in the office time zone ``tz`` (refusals print them);
    ``untrue_note``: the office's ``[publication] untrue_public_note``."""
    return CaseFacts(
        state=State(case.state),
        unit_id=case.unit_id,
        co_unit_ids=frozenset(int(u) for u in (case.co_unit_ids or [])),
        complex=case.complex,
        return_deadline=case.return_deadline.astimezone(tz) if case.return_deadline else None,
        needs_leader=case.needs_leader,
        missing_archive_elements=missing_elements(record) if record is not None else (),
        truthfulness=case.truthfulness,
        has_contact=has_contact(case),
        untrue_note=untrue_note,
        route=Route(case.route or Route.HANDLE.value),
    )


def has_contact(case: Case) -> bool:
    """Whether the petitioner left a 联系方式 (an 个别回复 is possible)."""
    return contact_given(case.contact)


def effects(deps: Deps, case: Case, decision: Decision, data: ActionInput, now: datetime) -> dict[str, Any]:
    """The column values a decided transition writes (besides state and version)."""
    cfg = deps.config
    cal = deps.calendar.current
    hours = cfg.office.hours()
    values: dict[str, Any] = {"state": decision.to_state.value, "updated_at": now}
    action = decision.action
    if action in (Action.ASSIGN, Action.REASSIGN):
        assert isinstance(data, AssignInput)
        due = handling_deadline(
            now, complex=case.complex, urgent=case.urgent, rules=cfg.deadlines.rules(), cal=cal, hours=hours
        )
        window = return_window_end(now, cfg.deadlines.rules(), cal, hours)
        values.update(
            unit_id=data.unit_id,
            assigned_at=now,
            accepted_at=None,
            due_at=due.due_at,
            return_deadline=window.due_at,
            calendar_source=due.source,
        )
        if case.first_assigned_at is None:
            values["first_assigned_at"] = now  # 当日交办 is judged on the first assignment
    elif action is Action.ACCEPT:
        values["accepted_at"] = now
    elif action is Action.RETURN:
        values["due_at"] = None  # the unit's clock stops; reassignment starts a new one
    elif action is Action.SUBMIT:
        assert isinstance(data, ReplyInput)
        values.update(
            submitted_at=now,
            truthfulness=data.truthfulness.value,
            reply=decision.data,
            handling=data.as_text(),
        )
    elif action in (Action.REVIEW_PASS_FINAL, Action.APPROVE):
        values["approved_at"] = now
    elif action is Action.PUBLISH:
        mode = decision.data["mode"]
        values.update(
            replied_at=now,
            reply_mode=mode,
            reply_ground=decision.data["ground"],
            report_number=decision.data["report_number"] or case.report_number,
        )
        if mode in PUBLIC_MODES:
            values.update(public_reply=decision.data["public_text"] or None, public_replied_at=now)
        if mode != ReplyMode.PUBLIC.value and decision.data["told_via"]:
            values.update(told_via=decision.data["told_via"], told_at=now)
    elif action is Action.FOLLOW_UP:
        values.update(
            resolved=decision.data["resolved"],
            satisfaction=decision.data["satisfaction"],
            evaluation=decision.comment,
            followed_up_at=now,
            closed_at=now,
        )
    elif action is Action.TRACK:
        assert isinstance(data, FollowUpInput)
        values.update(
            resolved=decision.data["resolved"],
            satisfaction=decision.data["satisfaction"],
            evaluation=decision.comment,
            followed_up_at=now,
            promised_at=data.promised_at,
        )
    elif action is Action.RE_REPLY:
        local = now.astimezone(hours.tz)
        values.update(
            submitted_at=now, handling=f"{case.handling or ''}\n【再回复 {local:%Y-%m-%d}】{decision.comment}".strip()
        )
    elif action is Action.CLOSE_TRACKING:
        values["closed_at"] = now
    elif action is Action.ARCHIVE:
        values["archived_at"] = now
    elif action is Action.APPROVE_EXTENSION:
        assert isinstance(data, ExtensionDecision)
        base = case.due_at or now
        new_due = extend_deadline(base, data.days, cal, hours)
        values.update(
            due_at=new_due.due_at,
            calendar_source=new_due.source,
            extension_count=case.extension_count + 1,
        )
    elif action is Action.INTERIM_REPORT:
        assert isinstance(data, InterimInput)
        values.update(interim_count=case.interim_count + 1, reply_proposal=data.proposal.strip())
    elif action is Action.TRANSFER:
        assert isinstance(data, TransferInput)
        values.update(
            route=Route.TRANSFER.value,
            transfer_to=data.destination.strip(),
            transfer_note=data.note.strip(),
            transferred_at=now,
            **_off_the_unit(),
        )
    elif action is Action.REROUTE:
        assert isinstance(data, RouteInput)
        values.update(
            route=data.route.value, transfer_to=None, transfer_note=None, transferred_at=None, **_off_the_unit()
        )
        if data.route is Route.HANDLE:  # 当日交办 from now on (第九条)
            values["assign_due_at"] = case.assign_due_at or same_day_deadline(now, cal, hours)
    elif action is Action.COURTESY_REPLY:
        assert isinstance(data, CourtesyInput)
        values.update(handling=data.text.strip(), reply={"courtesy": data.text.strip()}, approved_at=now)
    if action is Action.REVIEW_PASS:
        values["reviewed_at"] = now
    # the office's next step on the reply (审核, 审定, 统一回复) is timed; any other state is not
    values["step_due_at"] = step_deadline(decision.to_state, now, cfg.deadlines.step_rules(), cal, hours)
    return values


def _off_the_unit() -> dict[str, Any]:
    """A case no longer with a unit (转办, 改变办理方式): no unit, no clock."""
    return {"unit_id": None, "assigned_at": None, "accepted_at": None, "due_at": None, "return_deadline": None}


async def already_done(session: Session, case: Case, action: Action, tz: ZoneInfo) -> WorkflowError | None:
    """A second click on a step someone already took: say who and when (not just "wrong state")."""
    last = await repo.last_event(session, case.id)
    if last is None or last.action != action.value or last.to_state != case.state:
        return None
    return await _conflict(session, case.id, tz)


async def _conflict(session: Session, case_id: int, tz: ZoneInfo) -> WorkflowError:
    last = await repo.last_event(session, case_id)
    if last is None:  # pragma: no cover - a case always has its registration event
        return WorkflowError("conflict", "此件刚被他人处理，请刷新后再试。")
    return WorkflowError(
        "conflict", f"此件已由{last.actor_name}于{local_time_text(last.at, tz)}处理（{event_label(last.action)}）。"
    )


async def apply_in_session(
    deps: Deps, session: Session, case: Case, action: Action, actor: Actor, data: ActionInput
) -> Case:
    """The transition inside the caller's transaction. Raises WorkflowError when refused."""
    now = deps.clock.now()
    record = None
    if action is Action.ARCHIVE:
        record = await archive_record(session, case, deps.config.office.tz)
    try:
        facts = facts_of(
            case, record, tz=deps.config.office.hours().tz, untrue_note=deps.config.publication.untrue_public_note
        )
        decision = decide(facts, action, actor, data, now)
    except WorkflowError as exc:
        if exc.code == "wrong_state":
            already = await already_done(session, case, action, deps.config.office.tz)
            if already is not None:
                raise already from exc
        raise
    values = effects(deps, case, decision, data, now)
    if not await repo.compare_and_set(session, case.id, case.state, case.version, values):
        raise await _conflict(session, case.id, deps.config.office.tz)
    await repo.add_event(
        session,
        case.id,
        now,
        action,
        actor,
        from_state=decision.from_state.value,
        to_state=decision.to_state.value,
        comment=decision.comment,
        data=decision.data,
    )
    await session.refresh(case)
    await deps.notifier.case_changed(
        session,
        CaseChange(
            case=case,
            action=action,
            actor=actor,
            at=now,
            from_state=decision.from_state,
            to_state=decision.to_state,
            comment=decision.comment,
            data=decision.data,
        ),
    )
    return case


async def perform(deps: Deps, number: str, action: Action, actor: Actor, data: ActionInput) -> Case:
    """Load the case by 文号 and apply the transition in its own transaction."""
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        return await apply_in_session(deps, session, case, action, actor, data)


async def add_note_in_session(
    deps: Deps,
    session: Session,
    case: Case,
    actor: Actor,
    kind: Note,
    comment: str,
    data: dict[str, Any] | None = None,
) -> None:
    """A timeline entry that is not a transition (批示, 催办, 督办 …), in the caller's transaction."""
    now = deps.clock.now()
    await repo.add_event(session, case.id, now, kind, actor, comment=comment, data=data)
    await deps.notifier.case_changed(
        session, CaseChange(case=case, action=kind, actor=actor, at=now, comment=comment, data=data or {})
    )


async def add_note(
    deps: Deps, number: str, actor: Actor, kind: Note, comment: str, data: dict[str, Any] | None = None
) -> Case:
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        await add_note_in_session(deps, session, case, actor, kind, comment, data)
        return case
