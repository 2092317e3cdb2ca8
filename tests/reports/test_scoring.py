"""The pure parts of the monthly report: scoring rules and caps, grades, periods, summary dates."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.package_data import package_calendar
from bot.config import ConfigError, parse_config
from bot.domain.scoring import (
    CATALOGUE,
    Occurrence,
    Rule,
    ScoringRules,
    describe,
    resolution_bonus,
    score_unit,
)
from bot.domain.statistics import (
    Period,
    UnitStats,
    compare_counts,
    nth_workday_of_month,
    parse_period,
    summary_period_due,
    trend_months,
)
from bot.domain.workcalendar import CalendarSource, WorkCalendar, YearSpec

SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def rules(**points: tuple[float, float]) -> ScoringRules:
    """The default rules with some (points, cap) replaced."""
    base = ScoringRules()
    return ScoringRules(rules=tuple(Rule(r.key, *points.get(r.key, (r.points, r.cap))) for r in base.rules))


# --- scoring ----------------------------------------------------------------------------------------


def test_defaults_are_the_catalogue() -> None:
    r = ScoringRules()
    assert [x.key for x in r.rules] == [c.key for c in CATALOGUE]
    assert (r.rule("overdue").points, r.rule("overdue").cap) == (2, 20)  # type: ignore[union-attr]
    assert not r.enabled("repeated") and r.enabled("commendation")
    assert (r.base, r.max_deduction, r.max_bonus, r.pass_score, r.basic_score) == (100, 100, 10, 90, 75)


def test_no_occurrences_is_full_marks() -> None:
    s = score_unit(ScoringRules(), [])
    assert (s.score, s.grade, s.lines, s.deductions, s.bonuses) == (100, "合格", (), 0, 0)


def test_points_per_occurrence_and_the_rule_cap_in_time_order() -> None:
    occ = [Occurrence("overdue", f"N{i}", (), at(10, 10 + i)) for i in (3, 1, 2, 0)]
    s = score_unit(rules(overdue=(4, 10)), occ)
    line = s.line("overdue")
    assert line is not None
    assert [(i.occurrence.case_number, i.nominal, i.points, i.capped) for i in line.items] == [
        ("N0", 4, -4, False),
        ("N1", 4, -4, False),
        ("N2", 4, -2, True),
        ("N3", 4, 0, True),
    ]
    assert (line.count, line.nominal, line.points, line.capped) == (4, 16, -10, True)
    assert (s.deductions, s.score, s.grade) == (10, 90, "合格")


def test_total_caps_cut_across_rules_in_catalogue_order() -> None:
    r = ScoringRules(rules=rules(overdue=(30, 0), dissatisfied=(30, 0)).rules, max_deduction=50, max_bonus=3)
    occ = [
        Occurrence("dissatisfied", "D1", (), at(10, 1)),
        Occurrence("overdue", "O1", (), at(10, 30)),
        Occurrence("overdue", "O2", (), at(10, 31)),
        Occurrence("commendation", "C1", (7,), at(10, 2)),
        Occurrence("commendation", "C2", (8,), at(10, 3)),
    ]
    s = score_unit(r, occ)
    # overdue comes first in the catalogue: 30 + 20 reach the total cap, 不满意 counts 0
    assert [(i.occurrence.rule, i.points) for i in s.items] == [
        ("overdue", -30),
        ("overdue", -20),
        ("dissatisfied", 0),
        ("commendation", 2),
        ("commendation", 1),
    ]
    assert (s.deductions, s.bonuses, s.score, s.grade) == (50, 3, 53, "不合格")
    assert s.line("dissatisfied").capped  # type: ignore[union-attr]
    # a rule cut by the total cap keeps its own budget: nothing it did not lose is claimed
    assert s.line("commendation").nominal == 4 and s.line("commendation").points == 3  # type: ignore[union-attr]


def test_fractions_add_up_exactly() -> None:
    occ = [Occurrence("repeated", f"R{i}", (), at(10, 1)) for i in range(10)]
    s = score_unit(rules(repeated=(0.1, 0.7)), occ)
    assert s.line("repeated").points == -0.7 and s.score == 99.3  # type: ignore[union-attr]
    assert sum(i.points for i in s.items) == pytest.approx(-0.7)


def test_switched_off_rules_and_unknown_rules() -> None:
    s = score_unit(rules(overdue=(0, 0)), [Occurrence("overdue", "N1"), Occurrence("repeated", "N2")])
    assert s.lines == () and s.score == 100  # overdue switched off, repeated off by default
    with pytest.raises(ValueError, match="unknown"):
        score_unit(ScoringRules(), [Occurrence("nonsense")])
    with pytest.raises(ValueError):
        Rule("nonsense", 1)
    with pytest.raises(ValueError):
        Rule("overdue", -1)


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "合格"), (90, "合格"), (89.99, "基本合格"), (75, "基本合格"), (74.5, "不合格"), (0, "不合格")],
)
def test_grade_thresholds(score: float, grade: str) -> None:
    assert ScoringRules().grade(score) == grade


def test_grades_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        ScoringRules(pass_score=70, basic_score=80)


@pytest.mark.parametrize(
    ("followed", "resolved", "bonus"), [(5, 5, True), (10, 9, True), (10, 8, False), (4, 4, False), (0, 0, False)]
)
def test_resolution_bonus(followed: int, resolved: int, bonus: bool) -> None:
    occ = resolution_bonus(ScoringRules(), followed, resolved)
    assert (occ is not None) is bonus
    if occ is not None:
        assert occ.rule == "high_resolution" and f"回访{followed}件" in occ.note


def test_describe_lists_every_rule() -> None:
    rows = describe(rules(repeated=(0, 0), overdue=(2, 0)))
    assert [r[0] for r in rows] == [c.label for c in CATALOGUE]
    assert rows[0][:4] == ("超期办理", "扣分", "2分/件", "不封顶")
    assert next(r for r in rows if r[0] == "同一事项重复反映")[2] == "不计分"


def test_scoring_configuration() -> None:
    cfg = parse_config("""
[scoring]
max_bonus = 5
pass_score = 95
basic_score = 80
rules = { overdue = { points = 3 }, repeated = { points = 0.5, cap = 2 } }
""").scoring
    r = cfg.scoring_rules()
    assert (r.rule("overdue").points, r.rule("overdue").cap) == (3, 20)  # type: ignore[union-attr]
    assert (r.rule("repeated").points, r.rule("repeated").cap) == (0.5, 2)  # type: ignore[union-attr]
    assert (r.max_bonus, r.grade(94), r.grade(80), cfg.summary_workday, cfg.summary_time) == (
        5,
        "基本合格",
        "基本合格",
        1,
        time(9, 0),
    )
    with pytest.raises(ConfigError, match="scoring.rules"):
        parse_config("[scoring]\nrules = { overtime = { points = 1 } }\n")
    with pytest.raises(ConfigError, match="basic_score"):
        parse_config("[scoring]\npass_score = 70\nbasic_score = 80\n")
    with pytest.raises(ConfigError, match="points"):
        parse_config("[scoring]\nrules = { overdue = { points = -1 } }\n")


def test_example_config_has_the_scoring_block() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text(encoding="utf-8")
    cfg = parse_config(text).scoring
    assert cfg.scoring_rules() == parse_config("").scoring.scoring_rules()  # the example = the defaults
    assert "[scoring]" in text and "[scoring.rules]" in text


# --- statistics ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "label", "start", "end"),
    [
        ("2026-10", "2026-10", "2026年10月", date(2026, 10, 1), date(2026, 11, 1)),
        ("2026-12", "2026-12", "2026年12月", date(2026, 12, 1), date(2027, 1, 1)),
        ("2026-Q3", "2026-Q3", "2026年第三季度", date(2026, 7, 1), date(2026, 10, 1)),
        (" 2026-q4 ", "2026-Q4", "2026年第四季度", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026", "2026", "2026年度", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-2", "2026-02", "2026年2月", date(2026, 2, 1), date(2026, 3, 1)),
    ],
)
def test_periods(text: str, key: str, label: str, start: date, end: date) -> None:
    p = parse_period(text)
    assert (p.key, p.label, p.start, p.end) == (key, label, start, end)
    assert parse_period(p.key) == p
    lo, hi = p.bounds(SH)
    assert lo == datetime(start.year, start.month, start.day, tzinfo=SH) and hi.date() == end
    assert p.contains(start) and p.contains(p.last_day) and not p.contains(end)
    assert p.previous().end == p.start


@pytest.mark.parametrize("text", ["2026-13", "2026-0", "2026-Q5", "26-10", "2026/10", "", "october"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError, match="统计期间"):
        parse_period(text)


def test_previous_months_and_trend() -> None:
    assert Period.month(2026, 1).previous() == Period.month(2025, 12)
    assert Period.quarter(2026, 1).previous() == Period.quarter(2025, 4)
    assert Period.whole_year(2026).previous() == Period.whole_year(2025)
    assert [m.key for m in Period.quarter(2026, 3).months()] == ["2026-07", "2026-08", "2026-09"]
    assert Period.containing(date(2026, 11, 30), "quarter") == Period.quarter(2026, 4)
    months = trend_months(Period.month(2026, 3), 12)
    assert (months[0].key, months[-1].key, len(months)) == ("2025-04", "2026-03", 12)
    assert [m.key for m in trend_months(Period.whole_year(2026))] == [f"2026-{m:02d}" for m in range(1, 13)]


def test_unit_stats_rates() -> None:
    empty = UnitStats()
    assert (
        empty.on_time_rate,
        empty.accept_rate,
        empty.resolution_rate,
        empty.satisfaction_rate,
        empty.public_rate,
        empty.avg_workdays,
    ) == (None,) * 6
    s = UnitStats(
        finished=3,
        finished_on_time=2,
        finished_late=1,
        open_overdue=1,
        satisfied=1,
        basic=2,
        dissatisfied=1,
        workdays_total=10,
        workdays_count=4,
        accept_judged=4,
        accepted_on_time=3,
    )
    assert (s.overdue, s.due_decided, s.on_time_rate, s.satisfaction_rate, s.avg_workdays, s.accept_rate) == (
        2,
        4,
        0.5,
        0.75,
        2.5,
        0.75,
    )
    total = UnitStats.total([s, s, empty])
    assert total.finished == 6 and total.on_time_rate == 0.5


def test_compare_counts() -> None:
    rows = compare_counts({"a": 3, "b": 5, "c": 0, "d": 3}, {"a": 1, "b": 5, "e": 4})
    assert [(r.key, r.count, r.previous, r.change, r.arrow) for r in rows] == [
        ("b", 5, 5, 0, "→"),
        ("a", 3, 1, 2, "↑"),
        ("d", 3, 0, 3, "↑"),
    ]
    assert rows[1].change_rate == 2.0 and rows[2].change_rate is None


# --- when the summary is posted: the N-th working day of the month --------------------------------------


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return package_calendar()


def test_nth_workday_of_month(cal: WorkCalendar) -> None:
    assert nth_workday_of_month(2026, 10, 1, cal) == date(2026, 10, 8)  # 1–7 October: National Day
    assert nth_workday_of_month(2026, 10, 3, cal) == date(2026, 10, 10)  # a make-up Saturday
    assert nth_workday_of_month(2026, 11, 1, cal) == date(2026, 11, 2)  # 1 November is a Sunday
    assert nth_workday_of_month(2026, 2, 30, cal) is None
    assert nth_workday_of_month(2026, 5, 0, cal) is None


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2026, 11, 2, 9, 0, tzinfo=SH), "2026-10"),
        (datetime(2026, 11, 2, 17, 59, tzinfo=SH), "2026-10"),
        (datetime(2026, 11, 2, 8, 59, tzinfo=SH), None),  # before summary_time
        (datetime(2026, 11, 1, 10, 0, tzinfo=SH), None),  # Sunday 1 November
        (datetime(2026, 11, 3, 9, 0, tzinfo=SH), None),  # the second working day
        (datetime(2026, 10, 1, 9, 0, tzinfo=SH), None),  # National Day
        (datetime(2026, 10, 8, 9, 30, tzinfo=SH), "2026-09"),  # the first working day of October
        (datetime(2026, 1, 4, 9, 0, tzinfo=SH), "2025-12"),  # 1–3 January 2026: New Year holiday
        (datetime(2026, 11, 2, 1, 0, tzinfo=ZoneInfo("UTC")), "2026-10"),  # 09:00 in Shanghai
    ],
)
def test_summary_period_due(cal: WorkCalendar, now: datetime, due: str | None) -> None:
    got = summary_period_due(now, cal, SH, workday=1, at=time(9, 0))
    assert (got.key if got is not None else None) == due


def test_summary_switched_off_and_uncovered_years(cal: WorkCalendar) -> None:
    assert summary_period_due(datetime(2026, 11, 2, 10, tzinfo=SH), cal, SH, workday=0, at=time(9)) is None
    # 2027 is not in the package: provisionally 元旦 is off, so Monday 4 January is the first working day …
    assert nth_workday_of_month(2027, 1, 1, cal) == date(2027, 1, 4)
    # … until the admins import the State Council notice (here a hypothetical one keeping 1 January open)
    spec = YearSpec(2027, frozenset(), frozenset(), CalendarSource.IMPORTED)
    assert nth_workday_of_month(2027, 1, 1, cal.with_years(spec)) == date(2027, 1, 1)
    with pytest.raises(ValueError):
        summary_period_due(datetime(2026, 11, 2, 9), cal, SH, workday=1, at=time(9))
