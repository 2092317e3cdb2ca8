"""The admin import file: the shipped 2026 example, round trips, and every validation rule."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from bot.calendar.package_data import package_years
from bot.calendar.toml_file import CalendarFileError, dump_year, load_year, parse_year
from bot.domain.workcalendar import CalendarSource, WorkCalendar

EXAMPLE = Path(__file__).resolve().parents[2] / "bot" / "data" / "calendar-2026.toml"

# A hypothetical 2027 arrangement, valid, used as the base of the invalid variants below.
# 2027-01-01 is a Friday; 01-31 is a Sunday, 02-06 and 02-20 are Saturdays, 02-08 a Monday.
BASE = """\
year = 2027
notice = "测试用（假设的安排）"

[[holiday]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03
days = 3

[[holiday]]
name = "春节"
from = 2027-02-05
to = 2027-02-13

[[workday]]
name = "春节"
date = 2027-01-31

[[workday]]
name = "春节"
date = 2027-02-20
"""


def test_base_is_valid() -> None:
    spec = parse_year(BASE)
    assert spec.year == 2027 and spec.source is CalendarSource.IMPORTED
    assert spec.note == "测试用（假设的安排）"
    assert len(spec.holidays) == 12 and spec.workdays == {date(2027, 1, 31), date(2027, 2, 20)}
    assert spec.names[date(2027, 2, 8)] == "春节"


# -- the shipped 2026 example -------------------------------------------------------------


def test_example_2026_agrees_with_the_package() -> None:
    spec = load_year(EXAMPLE)
    pkg = {s.year: s for s in package_years()}[2026]
    assert spec.year == 2026 and spec.source is CalendarSource.IMPORTED
    assert spec.note == "国办发明电〔2025〕7号"
    assert spec.holidays == pkg.holidays
    assert spec.workdays == pkg.workdays
    imported_only = WorkCalendar([spec])
    d = date(2026, 1, 1)
    while d.year == 2026:
        assert imported_only.is_workday(d) is chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


def test_example_round_trips_through_dump() -> None:
    spec = load_year(EXAMPLE)
    again = parse_year(dump_year(spec))
    assert again == spec
    assert dict(again.names) == dict(spec.names)


def test_every_package_year_exports_and_reimports() -> None:
    for pkg in package_years():
        text = dump_year(pkg)
        again = parse_year(text)
        assert (again.year, again.holidays, again.workdays) == (pkg.year, pkg.holidays, pkg.workdays), pkg.year
        assert again.note == pkg.note
    # consecutive festivals are written as one range, named like the notice
    pkg_2025 = {s.year: s for s in package_years()}[2025]
    assert 'name = "国庆节、中秋"\nfrom = 2025-10-01\nto = 2025-10-08\ndays = 8' in dump_year(pkg_2025)


def test_dump_escapes_strings_and_names_missing_labels() -> None:
    spec = parse_year(BASE.replace("测试用（假设的安排）", 'a \\"quoted\\" \\\\ note'))
    assert spec.note == 'a "quoted" \\ note'
    bare = type(spec)(spec.year, spec.holidays, spec.workdays, spec.source, spec.note)
    again = parse_year(dump_year(bare))
    assert again == spec
    assert again.names[date(2027, 1, 31)] == "调休上班"


# -- accepted spellings -------------------------------------------------------------------


def test_string_dates_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    text = BASE.replace("from = 2027-01-01", 'from = "2027-01-01"').replace("\n", "\r\n")
    path = tmp_path / "calendar-2027.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_year(path) == parse_year(BASE)


def test_workdays_may_be_absent() -> None:
    text = BASE.split("[[workday]]", maxsplit=1)[0]
    assert parse_year(text).workdays == frozenset()


# -- every validation rule gives a clear, located message ---------------------------------

INVALID = [
    # (what, replace this, with this, expected message line)
    ("not TOML", "year = 2027", "year = = 2027", "文件不是有效的 TOML"),
    ("impossible TOML date", "to = 2027-02-13", "to = 2027-02-30", "且须是实际存在的日期"),
    ("impossible date string", "to = 2027-02-13", 'to = "2027-02-30"', "holiday[2].to: 2027-02-30 不是有效日期"),
    (
        "badly written date",
        "from = 2027-01-01",
        'from = "2027/1/1"',
        'holiday[1].from: "2027/1/1" 不是有效日期，应写成 2026-01-04 这样的格式',
    ),
    (
        "date with a time",
        "date = 2027-01-31",
        "date = 2027-01-31T09:00:00",
        "workday[1].date: 2027-01-31 09:00:00 带有时间",
    ),
    ("missing date", "date = 2027-01-31", "", "workday[1].date: 缺少日期"),
    ("missing year", "year = 2027", "", "year: 缺少年份"),
    ("year as text", "year = 2027", 'year = "2027"', "year: '2027' 不是 1900–2200 之间的年份"),
    ("year out of range", "year = 2027", "year = 3027", "year: 3027 不是 1900–2200 之间的年份"),
    ("missing notice", 'notice = "测试用（假设的安排）"', "", "notice: 缺少通知文号"),
    ("empty notice", 'notice = "测试用（假设的安排）"', 'notice = "  "', "notice: 缺少通知文号"),
    ("no holidays", BASE.split("[[workday]]", maxsplit=1)[0], 'year = 2027\nnotice = "x"\n', "holiday: 缺少放假安排"),
    (
        "holiday not a table array",
        BASE.split("[[workday]]", maxsplit=1)[0],
        'year = 2027\nnotice = "x"\nholiday = "春节"\n',
        "holiday: 应写成 [[holiday]] 段",
    ),
    ("date outside the year", "from = 2027-01-01", "from = 2026-12-31", "holiday[1].from: 2026-12-31 不在 2027 年内"),
    (
        "make-up day outside the year",
        "date = 2027-02-20",
        "date = 2028-01-08",
        "workday[2].date: 2028-01-08 不在 2027 年内",
    ),
    ("range reversed", "from = 2027-02-05", "from = 2027-02-15", "holiday[2]: from 2027-02-15 晚于 to 2027-02-13"),
    ("range far too long", "to = 2027-02-13", "to = 2027-12-13", "超过 31 天，请检查月份"),
    ("days disagree", "days = 3", "days = 4", "holiday[1].days: 写的是共 4 天，但 2027-01-01 至 2027-01-03 共 3 天"),
    ("days not a number", "days = 3", 'days = "3"', "holiday[1].days: '3' 不是整数天数"),
    (
        "make-up day on a weekday",
        "date = 2027-01-31",
        "date = 2027-02-01",
        "workday[1].date: 2027-02-01 是星期一，本来就上班；调休上班日应是星期六或星期日",
    ),
    (
        "holiday is also a workday",
        "date = 2027-02-20",
        "date = 2027-02-06",
        "workday[2].date: 2027-02-06 在 holiday[2]（春节）的放假范围内，同一天不能既放假又上班",
    ),
    ("make-up day twice", "date = 2027-02-20", "date = 2027-01-31", "workday[2].date: 2027-01-31 与 workday[1] 重复"),
    (
        "overlapping holidays",
        "from = 2027-01-01\nto = 2027-01-03\ndays = 3",
        "from = 2027-02-01\nto = 2027-02-06",
        "holiday[2]: 与 holiday[1] 重叠（2027-02-05、2027-02-06）",
    ),
    (
        "typo in a key",
        "to = 2027-01-03",
        "too = 2027-01-03",
        "holiday[1].too: 未知字段（可用字段：name, from, to, days）",
    ),
    ("unknown top-level key", "year = 2027", "year = 2027\nyaer = 2027", "yaer: 未知字段"),
    ("missing name", 'name = "元旦"', "", "holiday[1].name: 缺少节日名称"),
    ("name not text", 'name = "元旦"', "name = 1", "holiday[1].name: 缺少节日名称"),
]


@pytest.mark.parametrize(("what", "old", "new", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_files_name_the_problem(what: str, old: str, new: str, message: str) -> None:
    assert old in BASE, what
    with pytest.raises(CalendarFileError) as info:
        parse_year(BASE.replace(old, new, 1))
    assert message in str(info.value), str(info.value)


def test_all_problems_are_reported_at_once() -> None:
    text = BASE.replace("days = 3", "days = 4").replace("date = 2027-02-20", "date = 2027-02-22")
    with pytest.raises(CalendarFileError) as info:
        parse_year(text)
    assert info.value.errors == [
        "holiday[1].days: 写的是共 4 天，但 2027-01-01 至 2027-01-03 共 3 天",
        "workday[2].date: 2027-02-22 是星期一，本来就上班；调休上班日应是星期六或星期日",
    ]
    assert str(info.value) == "\n".join(info.value.errors)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match="无法读取文件"):
        load_year(tmp_path / "missing.toml")
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(BASE.encode("gbk"))
    with pytest.raises(CalendarFileError, match="不是 UTF-8 编码"):
        load_year(gbk)


def test_a_hostile_deeply_nested_file_is_one_error() -> None:
    # 100k levels of arrays: tomllib would recurse past Python's limit (issue 10)
    with pytest.raises(CalendarFileError, match="嵌套层数过深"):
        parse_year("a = " + "[" * 100_000 + "]" * 100_000)
