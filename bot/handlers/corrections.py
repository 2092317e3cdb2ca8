"""Corrections by the dispatcher (issue 13), each with a timeline entry: the facts of a case
(``liuyan case set``, ``PATCH /api/cases/{n}``)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.corrections import EDIT, EDITABLE, check_edit, describe
from bot.domain.duplicates import normalise_contact, normalise_title
from bot.domain.lifecycle import Actor
from bot.domain.states import State
from bot.handlers.deps import Deps
from bot.handlers.workflow import CaseNotFound, add_note_in_session
from store import corrections, repo
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
