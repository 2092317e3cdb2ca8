"""主办 / 协办 use cases: a co-unit sends its 协办意见; the lead sees them; an overdue co-unit is
reminded and the lateness recorded on the timeline (scored as ``co_overdue``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.calendar.service import CalendarHolder
from bot.cards import builders as b
from bot.config import Config
from bot.domain.cohandling import OPINION, OVERDUE, CoFacts, check_opinion, co_deadline, opinion_unit
from bot.domain.deadlines import is_office_time
from bot.domain.lifecycle import Actor
from bot.domain.states import Role, State
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.handlers.workflow import add_note_in_session
from store import cohandling as rows
from store import directory, nudges, repo
from store.db import Session
from store.models import Case, Person

_SYSTEM = Actor.system()


def co_due(config: Config, calendar: CalendarHolder, case: Case) -> datetime | None:
    """When the co-units of ``case`` owe their 协办意见 ([deadlines] co_days_before)."""
    return co_deadline(
        case.assigned_at, case.due_at, config.deadlines.co_days_before, calendar.current, config.office.hours()
    )


def co_facts(case: Case) -> CoFacts:
    return CoFacts(State(case.state), case.unit_id, frozenset(int(u) for u in case.co_unit_ids or []))


async def record_opinion(deps: Deps, session: Session, case: Case, actor: Actor, text: str) -> str:
    """Record ``actor``'s 协办意见 in the caller's transaction; returns the co-unit's name.
    Raises WorkflowError when they may not send one (lead unit, not a co-unit, case not open)."""
    unit_id = opinion_unit(co_facts(case), actor)
    opinion = check_opinion(text)
    names = await directory.unit_names(session, [unit_id])
    await add_note_in_session(deps, session, case, actor, OPINION, opinion, {"unit_id": unit_id})
    return names.get(unit_id, "")


async def opinion_lines(session: Session, case: Case, tz: ZoneInfo) -> list[str]:
    """ "区住建局（赵住建 11-03 10:00）：…" for each 协办意见 of the case, oldest first."""
    events = await rows.opinions(session, case.id)
    names = await directory.unit_names(session, [int((e.data or {}).get("unit_id", 0)) for e in events])
    return [
        f"{names.get(int((e.data or {}).get('unit_id', 0)), '协办单位')}（{e.actor_name} {b.hm(e.at, tz)}）：{e.comment}"
        for e in events
    ]


async def co_unit_people(session: Session, unit_id: int) -> list[Person]:
    people = await directory.people_with_role(session, Role.HANDLER, unit_id)
    return people + await directory.people_with_role(session, Role.UNIT_LEADER, unit_id)


async def sweep(deps: Deps, outbox: Outbox, now: datetime) -> int:
    """Co-units past their deadline without an opinion: once, a 协办逾期 entry on the timeline
    (counted against the co-unit); each working day, a reminder to its handlers and leader.
    Claimed in the nudges table, so a repeated tick or a second process never repeats one."""
    cfg, cal = deps.config, deps.calendar
    hours = cfg.office.hours()
    if not is_office_time(now, cal.current, hours):
        return 0
    today = now.astimezone(hours.tz).date()
    queued = 0
    async with deps.sessions() as session, session.begin():
        cases = await rows.open_assigned(session)
        given = await rows.opinion_units(session, [c.id for c in cases])
        for case in cases:
            due = co_due(cfg, cal, case)
            if due is None or now <= due or case.assigned_at is None:
                continue
            done = {u for u, at in given.get(case.id, []) if at >= case.assigned_at}
            late = [int(u) for u in case.co_unit_ids or [] if int(u) not in done]
            names = await directory.unit_names(session, late)
            for unit in late:
                scope, threshold = f"case:{case.id}", f"{unit}:{due.astimezone(hours.tz):%Y%m%d}"
                due_day = due.astimezone(hours.tz).date()
                if await nudges.claim(
                    session, scope=scope, kind=OVERDUE, threshold=threshold, day=due_day, now=now, case_id=case.id
                ):
                    comment = f"{names.get(unit, '协办单位')}逾期未报送协办意见（协办时限{b.hm(due, hours.tz)}）"
                    await repo.add_event(
                        session, case.id, now, OVERDUE, _SYSTEM, comment=comment, data={"unit_id": unit}
                    )
                if await nudges.claim(
                    session, scope=scope, kind="co_remind", threshold=threshold, day=today, now=now, case_id=case.id
                ):
                    text = (
                        f"【协办提醒】{case.number} {b.short(case.title, 20)}：协办意见已逾期（协办时限{b.hm(due, hours.tz)}），"
                        f"请尽快报送：协办意见 {case.number} <内容>"
                    )
                    queued += await outbox.text(session, await co_unit_people(session, unit), text, now, case=case)
    return queued
