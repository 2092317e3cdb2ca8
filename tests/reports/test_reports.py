"""Statistics and scores over a generated October 2026 with known outcomes (SQLite and PostgreSQL).

Every expected figure below is worked out by hand from the cases in ``october`` (tests/fakes/october.py) and the 2026
calendar (1–7 October holidays, Saturday 10 October a make-up working day, 31 October a
Saturday); docs/reports.md has the definitions. The report is made at the clock fixture's
moment, Monday 2 November 2026 09:00, the first working day after the month.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import Role
from bot.domain.statistics import Period, UnitStats
from bot.handlers.commendations import commend
from bot.reports.compute import Report, build_report, incomplete_cases
from store import directory
from store.models import Case, OutboxMessage
from tests.conftest import make_deps
from tests.fakes.october import CHAT, CONTACT, OCTOBER, SCORING, october, t


@pytest.fixture
async def scenario(db_url: str, clock: ManualClock) -> Any:
    deps, engine = await make_deps(db_url, clock, SCORING)
    world = await october(deps)
    yield deps, world
    await engine.dispose()


def stats(**values: int) -> UnitStats:
    return UnitStats(**values)


RSJ = stats(
    received=5,
    assigned=5,
    accepted=3,
    accept_judged=4,
    accepted_on_time=2,
    returned=2,
    finished=3,
    finished_on_time=2,
    finished_late=1,
    open=2,
    open_overdue=1,
    overdue_now=1,
    overdue_in_period=3,
    workdays_total=4 + 8 + 5,
    workdays_count=3,
    replied=2,
    public=1,
    followed=1,
    resolved=1,
    satisfied=1,
    repeated=1,
)
ZJJ = stats(
    received=4,
    assigned=4,
    accepted=4,
    accept_judged=4,
    accepted_on_time=4,
    finished=2,
    finished_on_time=2,
    open=2,
    open_overdue=1,
    overdue_now=1,
    overdue_in_period=1,
    workdays_total=3 + 4,
    workdays_count=2,
    replied=2,
    public=2,
    followed=2,
    resolved=2,
    satisfied=1,
    basic=1,
    extensions=1,
    extended_cases=1,
    interims=2,
    interim_cases=1,
    repeated=2,
)
EMPTY = UnitStats()


async def test_statistics_per_unit_and_office(scenario: Any) -> None:
    deps, _ = scenario
    report = await build_report(deps, OCTOBER)
    assert report.unit("区人社局").stats == RSJ
    assert report.unit("区住建局").stats == ZJJ
    assert report.unit("区信访局").stats == EMPTY  # a unit with no cases
    assert report.unassigned == stats(received=1)  # A7, received 23:59:59 on 31 October
    assert report.office == UnitStats.total([RSJ, ZJJ, stats(received=1)])
    o = report.office
    assert (o.received, o.overdue, o.due_decided) == (10, 3, 7)
    assert o.accept_rate == 6 / 8 and o.on_time_rate == 4 / 7 and o.avg_workdays == 24 / 5
    assert o.resolution_rate == 1.0 and o.satisfaction_rate == 1.0 and o.public_rate == 3 / 4
    rsj = report.unit("区人社局").stats
    assert rsj.accept_rate == 0.5 and rsj.on_time_rate == 0.5 and rsj.avg_workdays == 17 / 3
    zjj = report.unit("区住建局").stats
    assert zjj.on_time_rate == 2 / 3 and zjj.avg_workdays == 3.5 and zjj.satisfaction_rate == 1.0
    assert EMPTY.on_time_rate is None and EMPTY.resolution_rate is None and EMPTY.avg_workdays is None
    assert report.previous_received == 3  # S1 (30 September 23:59:59), S2, A5
    assert report.as_of_text == "2026-11-02 09:00" and report.period_text == "2026-10-01 至 2026-10-31"


async def test_breakdowns_hot_subjects_and_trend(scenario: Any) -> None:
    deps, _ = scenario
    report = await build_report(deps, OCTOBER)
    cats = {b.key: b for b in report.categories}
    assert {k: (b.received, b.previous) for k, b in cats.items()} == {
        "欠薪欠资": (3, 1),
        "问题房开": (3, 1),
        "政策咨询": (1, 0),
        "投诉举报": (1, 0),
        "城市管理": (1, 1),
        "未分类": (1, 0),
    }
    assert [b.key for b in report.categories[:2]] == ["欠薪欠资", "问题房开"]
    wage = cats["欠薪欠资"]  # A1 on time, A2 late, A4 open and not due
    assert (wage.finished_on_time, wage.due_decided, wage.overdue, wage.followed, wage.resolved) == (1, 2, 1, 1, 1)
    house = cats["问题房开"]  # B1 on time; B3 open past due; B2 not due
    assert (house.finished_on_time, house.due_decided, house.overdue) == (1, 2, 1)
    assert [(t.key, t.count, t.previous, t.change) for t in report.hot_categories[:2]] == [
        ("欠薪欠资", 3, 1, 2),
        ("问题房开", 3, 1, 2),
    ]
    assert {b.key: b.received for b in report.levels} == {"县（区）级": 5, "市级": 4, "省级": 1}
    assert {b.key: b.received for b in report.sources} == {"人民网": 7, "12345": 2, "市长信箱": 1}
    # B1 with its repeats B2 and B3; A3 repeats A5 (September, 个别回复: its title is not shown)
    assert [(s.number, s.count, s.previous, s.category) for s in report.hot_subjects] == [
        ("T-B1", 3, 0, "问题房开"),
        ("T-A5", 1, 1, "欠薪欠资"),
    ]
    assert report.hot_subjects[0].title == "B1号留言：某事项" and report.hot_subjects[1].title is None
    assert report.trend[0].month.key == "2025-11" and report.trend[-1].month.key == "2026-10"
    october_point, september = report.trend[-1], report.trend[-2]
    assert (october_point.received, october_point.finished, october_point.finished_on_time, october_point.overdue) == (
        10,
        5,
        4,
        3,
    )
    assert (september.received, september.finished, september.finished_on_time, september.overdue) == (3, 2, 1, 1)
    assert september.on_time_rate == 0.5
    assert all(p.received == 0 for p in report.trend[:-2])


def _items(report: Report, unit: str) -> list[tuple[str, str | None, float, float, tuple[int, ...]]]:
    return [
        (i.occurrence.rule, i.occurrence.case_number, i.nominal, i.points, i.occurrence.event_ids)
        for i in report.unit(unit).score.items
    ]


async def test_every_deduction_and_bonus(scenario: Any) -> None:
    deps, world = scenario
    report = await build_report(deps, OCTOBER)
    n, ev = world.number, world.events
    assert _items(report, "区人社局") == [
        # overdue, 2 points each, capped at 3: A5 (due 10 Oct), A2 (due 19 Oct), A3 (due 27 Oct)
        ("overdue", n("A5"), 2, -2, ()),
        ("overdue", n("A2"), 2, -1, ()),
        ("overdue", n("A3"), 2, 0, ()),
        # 签收时限 13 Oct 17:30, signed 14 Oct; 21 Oct 17:30, never signed
        ("late_acceptance", n("A2"), 1, -1, ()),
        ("late_acceptance", n("A3"), 1, -1, ()),
        ("invalid_return", n("A6"), 2, -2, (ev["A6:return"], ev["A6:reassign"])),
        ("review_rejected", n("A2"), 1, -1, (ev["A2:review_reject"],)),
        ("supervised", n("A3"), 1, -1, (ev["A3:supervise"],)),  # not the one at 1 Nov 00:00
        ("unresolved", n("A5"), 1, -1, ()),
        ("dissatisfied", n("A5"), 2, -2, ()),
        ("archive_incomplete", n("A5"), 1, -1, ()),
        ("repeated", n("A3"), 0.5, -0.5, ()),
        ("commendation", n("A5"), 2, 2, (ev["A5:commendation"],)),  # at 1 Oct 00:00:00
    ]
    rsj = report.unit("区人社局").score
    assert (rsj.deductions, rsj.bonuses, rsj.score, rsj.grade) == (13.5, 2, 88.5, "基本合格")
    assert rsj.line("overdue").capped and rsj.line("overdue").points == -3  # type: ignore[union-attr]
    notes = {(i.occurrence.rule, i.occurrence.case_number): i.occurrence.note for i in rsj.items}
    assert notes[("overdue", n("A5"))] == "10-10 17:30 到期，10-12 10:00 提交"
    assert notes[("overdue", n("A3"))] == "10-27 17:30 到期，到期时未办结"
    assert notes[("late_acceptance", n("A3"))] == "10-20 09:10 交办，签收时限 10-21 17:30，到期时未签收"
    assert notes[("archive_incomplete", n("A5"))] == "缺少：呈报文号"
    assert notes[("invalid_return", n("A6"))] == "10-15 14:00 退回，10-16 09:00 改派回本单位"

    assert _items(report, "区住建局") == [
        ("overdue", n("B3"), 2, -2, ()),  # sent back by the leader, open when due
        ("late_acceptance", n("S2"), 1, -1, ()),  # assigned 30 Sep: 签收时限 8 Oct 17:30 (after the holiday)
        ("leader_rejected", n("B3"), 2, -2, (ev["B3:leader_reject"],)),
        ("repeated", n("B2"), 0.5, -0.5, ()),
        ("repeated", n("B3"), 0.5, -0.5, ()),
        ("high_resolution", None, 2, 2, ()),  # B1 and B4 followed up and resolved: 2/2
        ("commendation", n("B1"), 2, 2, (ev["B1:commendation"],)),
    ]
    zjj = report.unit("区住建局").score
    assert (zjj.deductions, zjj.bonuses, zjj.score, zjj.grade) == (6, 4, 98, "合格")
    xfj = report.unit("区信访局").score
    assert (xfj.items, xfj.score, xfj.grade) == ([], 100, "合格")
    assert [(u.rank, u.name) for u in report.units] == [(1, "区信访局"), (2, "区住建局"), (3, "区人社局")]
    # B1 was returned by 区人社局 and went to another unit: a valid return, counted but no deduction
    assert report.unit("区人社局").stats.returned == 2
    # traceable: per unit, the items add up to the score exactly
    for u in report.units:
        assert 100 + sum(i.points for i in u.score.items) == u.score.score


async def test_empty_month(scenario: Any) -> None:
    deps, _ = scenario
    report = await build_report(deps, Period.month(2025, 6))
    # only the snapshot at the report time is not about the period: A3 and B3 are overdue now
    assert report.office == stats(overdue_now=2) and report.unassigned == EMPTY
    assert report.categories == [] and report.levels == [] and report.hot_subjects == []
    assert [(u.name, u.score.score, u.score.grade, u.rank) for u in report.units] == [
        ("区人社局", 100, "合格", 1),
        ("区住建局", 100, "合格", 1),
        ("区信访局", 100, "合格", 1),
    ]
    assert all(p.received == 0 for p in report.trend)


async def test_quarter_and_year_cover_their_months(scenario: Any) -> None:
    deps, _ = scenario
    q4 = await build_report(deps, Period.quarter(2026, 4))
    year = await build_report(deps, Period.whole_year(2026))
    q3 = await build_report(deps, Period.quarter(2026, 3))
    assert q4.office.received == 11  # October and A8 (1 November)
    assert q3.office.received == 3 and year.office.received == 14
    # faults are counted when they happen: the September cohort's October faults are in Q4
    assert [i.occurrence.rule for i in q3.unit("区人社局").score.items] == []
    assert len(year.unit("区人社局").score.items) == len(q4.unit("区人社局").score.items)
    assert q4.previous_received == q3.office.received
    # each month is scored with its own caps; a quarter or a year is the mean of its months so far
    rsj = q4.unit("区人社局")
    assert [(m.key, s.score) for m, s in rsj.monthly] == [("2026-10", 88.5), ("2026-11", 99)]  # 督办 1 Nov 00:00
    assert (rsj.score.score, rsj.score.grade, rsj.score.deductions, rsj.score.bonuses) == (93.75, "合格", 7.25, 1)
    assert rsj.score.line("supervised").count == 2  # type: ignore[union-attr]
    assert q4.unit("区住建局").score.score == 99 and q3.unit("区人社局").score.score == 100
    assert len(year.unit("区人社局").monthly) == 11  # December has not begun on 2 November
    assert year.unit("区人社局").score.score == 98.86  # (9 × 100 + 88.5 + 99) / 11


async def test_a_period_in_progress_counts_up_to_now(scenario: Any, clock: ManualClock) -> None:
    deps, world = scenario
    clock.set(t(10, 20, 12))  # midday 20 October
    report = await build_report(deps, OCTOBER)
    rsj = report.unit("区人社局").score
    # A2 was due 19 Oct and not submitted by then; A3 (due 27 Oct) is not overdue yet
    assert [i.occurrence.case_number for i in rsj.items if i.occurrence.rule == "overdue"] == [
        world.number("A5"),
        world.number("A2"),
    ]


async def test_archive_check_lists_missing_elements(scenario: Any) -> None:
    deps, world = scenario
    found = [c async for c in incomplete_cases(deps, OCTOBER.start, OCTOBER.last_day)]
    numbers = [c.number for c in found]
    assert world.number("A1") not in numbers and world.number("B1") not in numbers  # complete
    a3 = next(c for c in found if c.number == world.number("A3"))
    assert a3.missing == ("办理情况", "是否化解", "评价内容", "回访时间", "呈报文号") and not a3.ready
    assert [c async for c in incomplete_cases(deps, OCTOBER.start, OCTOBER.last_day, closed_only=True)] == []
    september = [
        c
        async for c in incomplete_cases(
            deps, Period.month(2026, 9).start, Period.month(2026, 9).last_day, closed_only=True
        )
    ]
    assert [(c.number, c.missing, c.ready) for c in september] == [(world.number("A5"), ("呈报文号",), True)]


async def test_commendation_use_case(scenario: Any, clock: ManualClock) -> None:
    deps, world = scenario
    async with deps.sessions() as session:
        supervisor = await directory.actor_for(session, (await directory.person_by_name(session, "孙督查"))[0])
    with pytest.raises(WorkflowError) as denied:
        await commend(deps, world.number("B4"), Actor("张三", frozenset({Role.HANDLER})), "办理认真细致，群众满意")
    assert denied.value.code == "forbidden"
    with pytest.raises(WorkflowError):
        await commend(deps, world.number("B4"), supervisor, "好")
    with pytest.raises(WorkflowError) as no_unit:
        await commend(deps, world.number("A7"), supervisor, "登记及时准确")
    assert no_unit.value.code == "no_unit"
    await commend(deps, world.number("B4"), supervisor, "办理认真细致，群众满意")  # 2 Nov: November's score
    clock.advance(hours=1)
    report = await build_report(deps, Period.month(2026, 11))
    line = report.unit("区住建局").score.line("commendation")
    assert line is not None and line.count == 1 and line.points == 2
    assert line.items[0].occurrence.case_number == world.number("B4")


# --- the chat summary -------------------------------------------------------------------------------


async def test_queue_monthly_summary(db_url: str, clock: ManualClock) -> None:
    from sqlalchemy import select

    from bot.reports.summary import queue_monthly_summary

    deps, engine = await make_deps(db_url, clock, CHAT)
    try:
        world = await october(deps)
        async with deps.sessions() as session, session.begin():
            queued = await queue_monthly_summary(deps, session, OCTOBER, clock.now())
        async with deps.sessions() as session:
            rows = list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
        assert queued == len(rows) > 0
        group = [r for r in rows if r.channel == "group"]
        image = [r for r in rows if r.channel == "webhook"]
        users = [r for r in rows if r.channel == "user"]
        assert {r.recipient for r in group} == {"chat-supervision"} and group[0].payload["type"] == "markdown"
        text = "\n".join(r.payload["text"] for r in group)
        assert "2026年10月网民留言办理情况通报" in text and "区人社局" in text and "88.5" in text
        assert all(len(r.payload["text"].encode()) <= 2048 for r in group)
        assert "需关注单位" in text and "B1号留言" in text  # public hot subject shown
        assert len(image) == 1 and image[0].payload["type"] == "image"
        assert image[0].payload["png_b64"] and len(image[0].payload["md5"]) == 32
        # 王科长 leads 区人社局 (the only unit leader): his own line, with the unit's 文号
        assert [r.recipient for r in users] == ["wangkz"]
        line = users[0].payload["text"]
        assert "区人社局" in line and "排名 3/3" in line and world.number("A2") in line and "区住建局" not in line
        everything = repr([r.payload for r in rows if r.channel != "webhook"])
        assert CONTACT not in everything and "A5号留言" not in everything and "具体诉求" not in everything
        # once per period
        async with deps.sessions() as session, session.begin():
            assert await queue_monthly_summary(deps, session, OCTOBER, clock.now()) == 0
    finally:
        await engine.dispose()


async def test_a_report_never_holds_the_sqlite_writer_lock(sqlite_url: str, clock: ManualClock) -> None:
    """Every bot session on SQLite begins with BEGIN IMMEDIATE; a report reads for seconds and
    must not make chat callbacks queue behind it."""
    import asyncio

    from sqlalchemy import func, select, update

    from bot.reports.compute import report_session

    deps, engine = await make_deps(sqlite_url, clock, SCORING)
    try:
        world = await october(deps)
        async with report_session(deps) as reader:
            before = (await reader.execute(select(func.count()).select_from(Case))).scalar_one()

            async def write() -> None:
                async with deps.sessions() as session, session.begin():
                    await session.execute(update(Case).where(Case.id == world.ids["A4"]).values(state="accepted"))

            await asyncio.wait_for(write(), timeout=5)  # not blocked by the open report
            # … and the report keeps reading its own snapshot
            assert (await reader.execute(select(func.count()).select_from(Case))).scalar_one() == before
            state = select(Case.state).where(Case.id == world.ids["A4"])
            assert (await reader.execute(state)).scalar_one() == "assigned"
        with pytest.raises(Exception, match="readonly"):
            async with report_session(deps) as reader:
                await reader.execute(update(Case).values(state="closed"))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_local_clock_agrees_with_zoneinfo(zone: str) -> None:
    from datetime import UTC, timedelta
    from zoneinfo import ZoneInfo

    from bot.reports.compute import LocalClock

    tz = ZoneInfo(zone)
    clock = LocalClock(tz)
    moment = datetime(2026, 1, 1)
    while moment < datetime(2027, 1, 1):  # every 37 minutes of a year, DST changes included
        exact = moment.replace(tzinfo=UTC).astimezone(tz)
        assert clock.local(moment) == exact.replace(tzinfo=None)
        assert clock.hm(moment) == exact.strftime("%m-%d %H:%M")
        moment += timedelta(minutes=37)
