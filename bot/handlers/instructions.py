"""批示: a leader's written instruction on one case, passed to the undertaking unit (a timeline
entry, "instruction"). One use case for the chat's ``批示 <文号> <内容>`` and the desk's case page.
A 批示 may be as short as a leader writes it (“阅”, “同意”), so only emptiness and length are checked."""

from __future__ import annotations

from bot.domain.lifecycle import MAX_COMMENT, Actor, WorkflowError
from bot.domain.records import INSTRUCTION_ROLES
from bot.domain.states import Note
from bot.handlers.deps import Deps
from bot.handlers.workflow import add_note_in_session
from store.db import Session
from store.models import Case


async def instruct_in_session(deps: Deps, session: Session, case: Case, actor: Actor, text: str) -> None:
    """Record the 批示 in the caller's transaction. Raises WorkflowError (``forbidden``,
    ``missing_input``, ``too_long``)."""
    if not actor.roles & INSTRUCTION_ROLES:
        raise WorkflowError("forbidden", "只有领导可以批示。")
    text = text.strip()
    if not text:
        raise WorkflowError("missing_input", "请写明批示内容。", field="text")
    if len(text) > MAX_COMMENT:
        raise WorkflowError("too_long", f"批示内容过长（{len(text)}字，最多{MAX_COMMENT}字）。", field="text")
    await add_note_in_session(deps, session, case, actor, Note.INSTRUCTION, text)
