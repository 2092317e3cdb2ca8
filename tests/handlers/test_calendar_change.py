"""A calendar you can trust (issue 13): a calendar import or override recomputes every open
case's deadlines (approved extensions replayed), records it on the timeline, tells the units, and
every process uses the change at once — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.domain.deadline_replay import replay
from bot.domain.deadlines import DeadlineRules, OfficeHours
from bot.domain.workcalendar import CalendarSource, YearSpec
from bot.handlers.calendar_change import import_year, override_day
from bot.handlers.deps import Deps
from bot.handlers.intake import NewCase, register_case
from bot.handlers.notify import ChatNotifier
from store import repo
from store.models import CaseEvent, OutboxMessage
from tests.conftest import SHANGHAI, make_config, make_deps, truncate_all
from tests.fakes.calendar_change import ADMIN, WED, second_process

WECOM = """
[wecom]
enabled = true
corp_id = "ww1"
agent_id = 1
secret = "s"
token = "t"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
"""


def at(day: date, hour: int = 17, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def register(deps: Deps, title: str = "小区路灯不亮", unit: str = "区人社局", **kw: object) -> str:
    new = NewCase(title=title, content="某小区路灯坏了一个月", received_at=deps.clock.now(), unit=unit, **kw)  # type: ignore[arg-type]
    return (await register_case(deps, new, ADMIN)).case.number


@pytest.fixture
async def chat_deps(db_url: str, clock: ManualClock) -> AsyncIterator[Deps]:
    deps, engine = await make_deps(db_url, clock, WECOM)
    deps.notifier = ChatNotifier(deps.config, deps.calendar, deps.clock, deps.link_secret)
    yield deps
    await engine.dispose()


async def test_override_recomputes_records_and_tells(chat_deps: Deps) -> None:
    deps = chat_deps
    number = await register(deps)  # Monday 2026-11-02 09:00: due Monday 11-09, return by Wednesday 11-04
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None and case.due_at == at(date(2026, 11, 9)) and case.return_deadline == at(WED)

    change = await override_day(deps, WED, False, "测试", ADMIN)

    assert [m.number for m in change.moved] == [number]
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None
        assert case.due_at == at(date(2026, 11, 10)) and case.return_deadline == at(date(2026, 11, 5))
        events = (await session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
        recomputed = [e for e in events if e.action == "deadline_recomputed"]
        assert len(recomputed) == 1
        assert "2026-11-09 17:30 改为 2026-11-10 17:30" in (recomputed[0].comment or "")
        assert "2026-11-04 调为休息日" in (recomputed[0].comment or "")
        told = (await session.execute(select(OutboxMessage).where(OutboxMessage.case_id == case.id))).scalars().all()
        notes = [m for m in told if "【期限调整】" in str(m.payload)]
        assert {m.recipient for m in notes} == {"zhangsan", "limei", "wangkz"}
    # this process uses it at once; clearing the override moves it back
    assert not deps.calendar.current.is_workday(WED)
    change = await override_day(deps, WED, None, "", ADMIN)
    assert [m.number for m in change.moved] == [number]
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None and case.due_at == at(date(2026, 11, 9))
    # a change that moves nothing touches nothing
    assert (await override_day(deps, date(2026, 12, 30), False, "", ADMIN)).moved == []


async def test_replays_approved_extensions_and_leaves_closed_cases(chat_deps: Deps) -> None:
    deps = chat_deps
    number = await register(deps, complex=True)  # 15 working days: Monday 11-23
    closed = await register(deps, title="已办结的件", unit="区住建局")
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        assert case is not None and case.due_at == at(date(2026, 11, 23))
        await repo.add_event(session, case.id, deps.clock.now(), "approve_extension", ADMIN, data={"days": 3})
        await repo.compare_and_set(session, case.id, case.state, case.version, {"due_at": at(date(2026, 11, 26))})
        other = await repo.case_by_number(session, closed)
        assert other is not None
        await repo.compare_and_set(session, other.id, other.state, other.version, {"state": "closed"})
    await override_day(deps, WED, False, "", ADMIN)
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        other = await repo.case_by_number(session, closed)
        assert case is not None and other is not None
        assert case.due_at == at(date(2026, 11, 27))  # 15 + 3 working days, one fewer working day
        assert other.due_at == at(date(2026, 11, 9))  # closed: left as it was


async def test_importing_a_year_recomputes_provisional_deadlines(chat_deps: Deps, clock: ManualClock) -> None:
    deps = chat_deps
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=SHANGHAI))
    number = await register(deps)  # crosses into 2027: provisional statutory holidays (1 January)
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert (
            case is not None and case.due_at == at(date(2027, 1, 5)) and "provisional" in (case.calendar_source or "")
        )
    # the notice makes 4 January a holiday too
    spec = YearSpec(2027, frozenset({date(2027, 1, 1), date(2027, 1, 4)}), frozenset(), CalendarSource.IMPORTED, "通知")
    change = await import_year(deps, spec, ADMIN)
    assert [m.number for m in change.moved] == [number]
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None and case.due_at == at(date(2027, 1, 6))
        assert "provisional" not in (case.calendar_source or "")


def test_replay_counts_only_extensions_after_the_assignment() -> None:
    from bot.calendar.package_data import package_calendar

    cal, hours, rules = package_calendar(), OfficeHours(), DeadlineRules()
    assigned = at(date(2026, 11, 2), 9, 0)
    old = (assigned - timedelta(days=3), 5)  # approved before a reassignment
    new = (assigned + timedelta(days=1), 2)
    got = replay(assigned, complex=False, urgent=False, extensions=[old, new], rules=rules, cal=cal, hours=hours)
    assert got.due_at == at(date(2026, 11, 11)) and got.return_deadline == at(WED) and got.interim_due is None


# --- several processes -------------------------------------------------------------------------


async def test_another_process_sees_a_change_at_once(deps: Deps, db_url: str, clock: ManualClock) -> None:
    other, engine = await second_process(db_url, clock)
    async with other.sessions() as session:
        await other.calendar.ensure_fresh(session)
    before = other.calendar.current
    await override_day(deps, WED, False, "", ADMIN)
    assert other.calendar.current is before  # nothing pushed into the other process …
    async with other.sessions() as session:
        fresh = await other.calendar.ensure_fresh(session)  # … its next unit of work reloads
    assert not fresh.is_workday(WED)
    async with other.sessions() as session:
        assert await other.calendar.ensure_fresh(session) is fresh  # unchanged: no reload
    await engine.dispose()  # type: ignore[attr-defined]


async def test_api_and_tick_of_another_runtime_use_a_change_at_once(db_url: str, clock: ManualClock) -> None:
    config = make_config(db_url)
    first = await Runtime.start(config, clock=clock)
    if first.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config

        await truncate_all(first.engine)
        await bootstrap_from_config(first.deps)
    second = await Runtime.start(make_config(db_url), clock=clock)
    client = TestClient(TestServer(build_app(second)))
    await client.start_server()
    try:
        await override_day(first.deps, WED, False, "", ADMIN)
        body = {"title": "小区路灯不亮", "content": "某小区路灯坏了一个月", "unit": "区人社局"}
        resp = await client.post("/api/cases", json=body, headers={"Authorization": "Bearer test-token"})
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["due_at"].startswith("2026-11-10T17:30")
        await override_day(first.deps, date(2026, 11, 5), False, "", ADMIN)
        await second.channels.jobs.tick()
        assert not second.deps.calendar.current.is_workday(date(2026, 11, 5))
    finally:
        await client.close()
        await second.close()
        await first.close()
