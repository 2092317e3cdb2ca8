"""表扬: a supervisor or leader commends the unit that handled a case (a scoring bonus).

The commendation is a timeline entry (action ``commendation``) on the case; its data names the
unit that was commended (the case's unit at that moment), which the monthly score counts
(docs/reports.md, rule ``commendation``).
"""

from __future__ import annotations

from bot.domain.lifecycle import MAX_COMMENT, Actor, WorkflowError, check_text
from bot.domain.states import Note, Role
from bot.handlers.deps import Deps
from bot.handlers.workflow import CaseNotFound, add_note_in_session
from store import repo
from store.db import Session
from store.models import Case

ACTION = Note.COMMENDATION
#: who may commend (design.md "People": supervisors; leaders too)
COMMEND_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER})


async def commend_in_session(deps: Deps, session: Session, case: Case, actor: Actor, comment: str) -> None:
    """Record a commendation of the unit handling ``case`` in the caller's transaction.

    Raises WorkflowError (``forbidden``, ``no_unit``, text checks)."""
    if not actor.roles & COMMEND_ROLES:
        raise WorkflowError("forbidden", "您没有“表扬”的权限（仅限督查员、领导）。")
    text = check_text(comment, field_name="comment", label="表扬理由", min_len=4, max_len=MAX_COMMENT)
    if case.unit_id is None:
        raise WorkflowError("no_unit", f"{case.number} 尚未交办，没有可表扬的承办单位。")
    await add_note_in_session(deps, session, case, actor, ACTION, text, data={"unit_id": case.unit_id})


async def commend(deps: Deps, number: str, actor: Actor, comment: str) -> Case:
    """Record a commendation of the unit handling case ``number``; the reason is required.

    Raises WorkflowError (``forbidden``, ``no_unit``, text checks) or CaseNotFound.
    """
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        await commend_in_session(deps, session, case, actor, comment)
        return case
