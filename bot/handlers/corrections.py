"""Corrections by the office (issue 13), each with a timeline entry: the facts of a case
(``liuyan case set``, ``PATCH /api/cases/{n}``) and its class (复杂件 / 急件)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.corrections import (
    EDIT,
    EDITABLE,
    RECLASSIFY,
    RECOMPUTE_STATES,
    check_edit,
    check_reclassify,
    describe,
    reclassify_label,
)
from bot.domain.deadlines import handling_deadline
from bot.domain.duplicates import normalise_contact, normalise_title
from bot.domain.lifecycle import Actor
from bot.domain.states import State
from bot.handlers.deps import Deps
from bot.handlers.read_models import local_time_text
from bot.handlers.workflow import CaseNotFound, add_note_in_session
from store import corrections, repo
from store.db import Session
from store.models import Case


async def set_fields(deps: Deps, number: str, actor: Actor, wanted: Mapping[str, object]) -> Case:
    """Correct the fields given in ``wanted``; WorkflowError when refused or nothing changes."""
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        current = {name: getattr(case, name) for name in EDITABLE}
        changed = check_edit(State(case.state), actor, current, wanted, deps.config.cases.categories)
        values: dict[str, object] = dict(changed)
        if "title" in changed:
            values["title_key"] = normalise_title(changed["title"] or "")[:200]
        if "contact" in changed:
            values["contact_key"] = normalise_contact(changed["contact"] or "") or None
        values["updated_at"] = deps.clock.now()
        await corrections.update_case(session, case.id, values)
        await add_note_in_session(
            deps, session, case, actor, EDIT, describe(changed, current), {"fields": sorted(changed)}
        )
        await session.refresh(case)
        return case


async def reclassify_in_session(
    deps: Deps, session: Session, case: Case, actor: Actor, complex_: bool | None, urgent: bool | None, reason: str
) -> str:
    """设为/取消 复杂件 or 急件: the deadline is recomputed from the assignment (when the unit still
    works on the case), with a timeline entry; the unit is told (notifier rule ``reclassify``).
    Returns what was done, e.g. "设为复杂件，办理时限 11-23 17:30"."""
    before = (case.complex, case.urgent)
    after = check_reclassify(State(case.state), actor, before, (complex_, urgent), reason)
    now = deps.clock.now()
    values: dict[str, object] = {"complex": after[0], "urgent": after[1], "updated_at": now}
    done = reclassify_label(before, after)
    data: dict[str, object] = {"complex": after[0], "urgent": after[1]}
    if State(case.state) in RECOMPUTE_STATES and case.assigned_at is not None:
        cfg = deps.config
        due = handling_deadline(
            case.assigned_at,
            complex=after[0],
            urgent=after[1],
            rules=cfg.deadlines.rules(),
            cal=deps.calendar.current,
            hours=cfg.office.hours(),
        )
        values.update(due_at=due.due_at, calendar_source=due.source)
        tz = cfg.office.tz
        data.update(due_before=local_time_text(case.due_at, tz), due_at=local_time_text(due.due_at, tz))
        done += f"，办理时限 {local_time_text(case.due_at, tz) or '-'} → {local_time_text(due.due_at, tz)}"
    await corrections.update_case(session, case.id, values)
    await session.refresh(case)
    await add_note_in_session(deps, session, case, actor, RECLASSIFY, f"{done}。理由：{reason.strip()}", data)
    return done


async def reclassify(
    deps: Deps, number: str, actor: Actor, complex_: bool | None, urgent: bool | None, reason: str
) -> str:
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        return await reclassify_in_session(deps, session, case, actor, complex_, urgent, reason)
