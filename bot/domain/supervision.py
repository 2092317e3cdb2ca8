"""督办 with an answer date (seed 001 第十三条): after a supervisor's 督办 or 专项督办 the unit owes
an answer by the date set; it is reminded on that day and listed as 督办逾期未答复 after it. Pure.

The unit answers with ``说明 <文号> <办理情况>`` (what the 督办 message asks for) or by reporting on
the case itself: 进展 (阶段性报告), 提交办理情况 or 再回复. Only the latest 督办 with an answer date
counts; a case that is closed, archived or voided owes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.states import Action, Note, State

#: timeline entries that answer a 督办
UNIT_ANSWERS: frozenset[str] = frozenset(
    {Note.EXPLANATION.value, Action.INTERIM_REPORT.value, Action.SUBMIT.value, Action.RE_REPLY.value}
)
#: the timeline entries that matter here (for the store's query)
RELEVANT: frozenset[str] = UNIT_ANSWERS | {Note.SUPERVISE.value}
#: states in which nothing is owed any more
ENDED: frozenset[State] = frozenset({State.CLOSED, State.ARCHIVED, State.VOIDED})


@dataclass(frozen=True)
class Entry:
    """One timeline entry, as far as a 督办 is concerned."""

    action: str
    at: datetime
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Awaited:
    """A 督办 still waiting for the unit's answer."""

    at: datetime
    answer_by: datetime
    special: bool = False
    method: str = ""


def awaited_answer(state: State, entries: Iterable[Entry]) -> Awaited | None:
    """The latest 督办 with an answer date that no answer of the unit followed, in timeline order;
    None when there is none, it was answered, or the case has ended."""
    if state in ENDED:
        return None
    pending: Awaited | None = None
    for e in entries:
        if e.action in UNIT_ANSWERS:
            pending = None
        elif e.action == Note.SUPERVISE.value:
            answer_by = _when((e.data or {}).get("answer_by"))
            if answer_by is not None:
                data = e.data or {}
                pending = Awaited(e.at, answer_by, bool(data.get("special")), str(data.get("method") or ""))
    return pending


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
