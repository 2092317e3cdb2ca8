"""立卷 (seed 001 第十五条) and the archive elements filled in later: every channel (chat, CLI,
API) calls these. 立卷 is the lifecycle's ARCHIVE transition (refused with the missing elements);
呈报文号 is recorded with a timeline entry."""

from __future__ import annotations

from bot.domain.lifecycle import Actor, NoInput
from bot.domain.records import check_report_number
from bot.domain.states import Action, Note
from bot.handlers.deps import Deps
from bot.handlers.workflow import CaseNotFound, add_note_in_session, perform
from store import cases as case_rows
from store import repo
from store.db import Session
from store.models import Case


async def archive_case(deps: Deps, number: str, actor: Actor) -> Case:
    """立卷 / 销号: WorkflowError ("archive_incomplete", listing the missing elements) when the
    16 elements are not complete."""
    return await perform(deps, number, Action.ARCHIVE, actor, NoInput())


async def set_report_number_in_session(deps: Deps, session: Session, case: Case, actor: Actor, value: str) -> str:
    text = check_report_number(actor, value)
    before = case.report_number
    await case_rows.set_fields(session, case.id, report_number=text, updated_at=deps.clock.now())
    note = f"呈报文号：{text}" + (f"（原：{before}）" if before and before != text else "")
    await add_note_in_session(deps, session, case, actor, Note.REPORT_NUMBER, note, {"report_number": text})
    await session.refresh(case)
    return text


async def set_report_number(deps: Deps, number: str, actor: Actor, value: str) -> Case:
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        await set_report_number_in_session(deps, session, case, actor, value)
        return case
