"""A change of the work calendar (a year imported, a day overridden) and what it moves.

In the transaction of the change: the ``calendar`` counter is bumped (every process reloads at its
next unit of work, see ``CalendarHolder.ensure_fresh``), every open case's deadlines are
recomputed from its assignment under the new calendar (approved extensions replayed from the
timeline), and each case whose handling deadline, return window or interim report deadline moved
gets a timeline entry and a note to its unit (through the notifier, in the outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.calendar.service import save_year, set_override
from bot.domain.deadline_replay import CaseDeadlines, replay
from bot.domain.lifecycle import Actor
from bot.domain.states import Note
from bot.domain.workcalendar import WorkCalendar, YearSpec
from bot.handlers.deps import Deps
from bot.handlers.read_models import local_time_text
from bot.handlers.workflow import add_note_in_session
from store import deadlines as rows
from store.db import Session
from store.models import Case

RECOMPUTED = Note.DEADLINE_RECOMPUTED
_LABELS = {"due_at": "办理期限", "return_deadline": "退回期限", "interim_due": "阶段性报告期限"}


@dataclass(frozen=True)
class MovedCase:
    number: str
    unit_id: int | None
    #: field → (before, after), only the fields that moved
    moved: dict[str, tuple[datetime | None, datetime | None]]


@dataclass
class CalendarChange:
    what: str
    version: int
    moved: list[MovedCase] = field(default_factory=list)


async def import_year(deps: Deps, spec: YearSpec, actor: Actor) -> CalendarChange:
    what = f"导入{spec.year}年节假日安排" + (f"（{spec.note}）" if spec.note else "")

    async def write(session: Session, now: datetime) -> None:
        await save_year(session, spec, by=actor.name, now=now)

    return await change_calendar(deps, actor, what, write)


async def override_day(deps: Deps, day: date, workday: bool | None, note: str, actor: Actor) -> CalendarChange:
    kind = "取消调整" if workday is None else ("调为工作日" if workday else "调为休息日")
    what = f"{day.isoformat()} {kind}" + (f"（{note}）" if note else "")

    async def write(session: Session, now: datetime) -> None:
        await set_override(session, day, workday, note=note, now=now)

    return await change_calendar(deps, actor, what, write)


async def change_calendar(
    deps: Deps, actor: Actor, what: str, write: Callable[[Session, datetime], Awaitable[None]]
) -> CalendarChange:
    """Run ``write`` (the change itself) and everything it moves in one transaction; this process
    uses the new calendar as soon as it committed."""
    now = deps.clock.now()
    async with deps.sessions() as session, session.begin():
        # the counter first: its row lock makes concurrent changes (other processes) take turns
        result = CalendarChange(what, await rows.bump_calendar_version(session))
        before = await deps.calendar.load_pending(session)
        await write(session, now)
        after = await deps.calendar.load_pending(session)
        cases = await rows.open_assigned_cases(session)
        extensions = await rows.approved_extensions(session, [c.id for c in cases])
        for case in cases:
            moved = await _recompute(deps, session, case, extensions.get(case.id, []), before, after)
            if moved:
                await _record(deps, session, case, actor, what, moved, result.version)
                result.moved.append(MovedCase(case.number, case.unit_id, moved))
    deps.calendar.adopt(after, result.version)
    return result


def _deadlines(deps: Deps, case: Case, extensions: list[tuple[datetime, int]], cal: WorkCalendar) -> CaseDeadlines:
    assert case.assigned_at is not None
    cfg = deps.config
    return replay(
        case.assigned_at,
        complex=case.complex,
        urgent=case.urgent,
        extensions=extensions,
        rules=cfg.deadlines.rules(),
        cal=cal,
        hours=cfg.office.hours(),
    )


async def _recompute(
    deps: Deps,
    session: Session,
    case: Case,
    extensions: list[tuple[datetime, int]],
    before: WorkCalendar,
    after: WorkCalendar,
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Write the deadlines the change moved; returns them. Only what the calendar moves changes
    (a deadline set otherwise — an earlier rule, a correction — is left alone)."""
    old, new = _deadlines(deps, case, extensions, before), _deadlines(deps, case, extensions, after)
    moved: dict[str, tuple[datetime | None, datetime | None]] = {}
    values: dict[str, object] = {}
    if case.due_at is not None and old.due_at != new.due_at:
        moved["due_at"] = (case.due_at, new.due_at)
        values.update(due_at=new.due_at, calendar_source=new.source)
    if case.return_deadline is not None and old.return_deadline != new.return_deadline:
        moved["return_deadline"] = (case.return_deadline, new.return_deadline)
        values["return_deadline"] = new.return_deadline
    if old.interim_due != new.interim_due and case.interim_count == 0:
        moved["interim_due"] = (old.interim_due, new.interim_due)  # computed, not stored
    if values:
        values["updated_at"] = deps.clock.now()
        await rows.set_deadlines(session, case.id, values)
        await session.refresh(case)
    return moved


async def _record(
    deps: Deps,
    session: Session,
    case: Case,
    actor: Actor,
    what: str,
    moved: dict[str, tuple[datetime | None, datetime | None]],
    version: int,
) -> None:
    tz = deps.config.office.tz
    parts = [
        f"{_LABELS[key]}由 {local_time_text(a, tz) or '-'} 改为 {local_time_text(b, tz) or '-'}"
        for key, (a, b) in moved.items()
    ]
    comment = f"工作日历调整（{what}）：" + "；".join(parts) + "。"
    data = {
        "calendar_change": version,
        **{key: [a.isoformat() if a else None, b.isoformat() if b else None] for key, (a, b) in moved.items()},
    }
    await add_note_in_session(deps, session, case, actor, RECOMPUTED, comment, data)
