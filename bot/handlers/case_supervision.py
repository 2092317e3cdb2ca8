"""督办 of one open case (seed 001 第十三条): a supervisor names the method (明察暗访 / 电话询访 /
实地走访), the instruction and the working days the unit has to answer; 专项督办 for a matter
reported again without a solution, or a case past its limit. One use case for the chat's
``督办 <文号> …`` and the desk's case page; a timeline entry ("supervise") either way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.deadlines import workday_deadline
from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.records import check_supervision
from bot.domain.states import Note, State
from bot.handlers.deps import Deps
from bot.handlers.workflow import add_note_in_session
from store import repo
from store.db import Session
from store.models import Case

#: states whose deadline (the unit's or the office step's) makes a late case 长时间未回复
TIMED = frozenset(
    {State.ASSIGNED, State.ACCEPTED, State.EXTENSION_REQUESTED, State.SUBMITTED, State.REVIEWED, State.APPROVED}
)
MAX_DAYS = 99


@dataclass(frozen=True)
class Supervised:
    answer_by: datetime  # the unit answers by then (aware)
    earlier: str | None  # an earlier report of the same matter that was not resolved (专项督办 possible)


async def repeated_unresolved(session: Session, case: Case) -> str | None:
    """The 文号 of an earlier report of the same matter that was not resolved, or None."""
    seen: set[int] = set()
    current = case
    while current.duplicate_of_id and current.duplicate_of_id not in seen:
        seen.add(current.duplicate_of_id)
        earlier = await repo.case_by_id(session, current.duplicate_of_id)
        if earlier is None:
            return None
        if earlier.resolved is not True:
            return earlier.number
        current = earlier
    return None


async def supervise_in_session(
    deps: Deps,
    session: Session,
    case: Case,
    actor: Actor,
    method: str,
    text: str,
    *,
    special: bool,
    days: int | None,
    now: datetime,
) -> Supervised:
    """Record the 督办 in the caller's transaction; WorkflowError when refused (bot.domain.records)."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise WorkflowError("bad_input", f"答复期限应为 1–{MAX_DAYS} 个工作日。", field="days")
    earlier = await repeated_unresolved(session, case)
    late = any(d is not None and d < now for d in (case.due_at, case.step_due_at)) and State(case.state) in TIMED
    instruction = check_supervision(actor, State(case.state), method, text, special, earlier is not None or late)
    hours = deps.config.office.hours()
    answer_by = workday_deadline(now, days or deps.config.deadlines.supervise_days, deps.calendar.current, hours).due_at
    word = "专项督办" if special else "督办"
    data = {"method": method, "answer_by": answer_by.isoformat(), "special": special}
    comment = f"{word}（{method}）：{instruction}；{answer_by.astimezone(hours.tz):%Y-%m-%d}前答复"
    await add_note_in_session(deps, session, case, actor, Note.SUPERVISE, comment, data)
    return Supervised(answer_by, earlier)
