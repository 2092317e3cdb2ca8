"""The admin import file for one year's State Council holiday arrangement (TOML).

Format (documented for admins in docs/calendar.md; example: bot/data/calendar-2026.toml)::

    year = 2026
    notice = "国办发明电〔2025〕7号"

    [[holiday]]            # one per festival: days off, weekends inside the range included
    name = "春节"
    from = 2026-02-15
    to = 2026-02-23
    days = 9               # optional: the notice's "共9天", checked against from/to

    [[workday]]            # one per make-up working day (调休上班), always a Saturday or Sunday
    name = "春节"
    date = 2026-02-14

Dates may be TOML dates (``2026-02-14``) or strings (``"2026-02-14"``). Every problem found is
reported at once in a :class:`CalendarFileError`, one line per problem, each naming the entry
(``holiday[2].to`` = the ``to`` of the second ``[[holiday]]`` block, counting from 1).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.domain.errors import UserError
from bot.domain.workcalendar import CalendarSource, YearSpec

__all__ = ["CalendarFileError", "dump_year", "load_year", "parse_year"]

MIN_YEAR = 1900
MAX_YEAR = 2200
MAX_HOLIDAY_DAYS = 31
"""A longer range is almost surely a typo in a month (02-23 written as 12-23)."""

_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TOP_KEYS = ("year", "notice", "holiday", "workday")
_HOLIDAY_KEYS = ("name", "from", "to", "days")
_WORKDAY_KEYS = ("name", "date")


class CalendarFileError(UserError, ValueError):
    """An import file that cannot be used. ``str(err)`` is for the admin: one line per problem.

    ``errors`` holds the individual lines.
    """

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__("calendar_file", message, field="file")
        self.errors: list[str] = errors if errors is not None else [message]


# -- reading ------------------------------------------------------------------------------


def load_year(path: str | os.PathLike[str]) -> YearSpec:
    """Read and validate an import file (UTF-8 with or without BOM, UTF-16 with BOM, GB18030)."""
    from bot.textfile import TextFileError, read_text

    try:
        text = read_text(path)
    except TextFileError as exc:
        raise CalendarFileError(str(exc)) from exc
    return parse_year(text)


def parse_year(text: str) -> YearSpec:
    """Parse and validate the text of an import file → an IMPORTED :class:`YearSpec`."""
    try:
        doc = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        detail = _AT_LINE.sub(r"（第 \1 行第 \2 列）", str(exc))
        hint = ""
        if "date" in detail.lower():
            hint = "；日期请写成 2026-01-04 这样的格式，且须是实际存在的日期"
        raise CalendarFileError(f"文件不是有效的 TOML：{detail}{hint}") from exc
    except RecursionError as exc:  # tomllib recurses per nesting level: a hostile file ends here
        raise CalendarFileError("文件不是有效的 TOML：嵌套层数过深（nesting too deep）") from exc
    return _Validator(doc).run()


class _Validator:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.errors: list[str] = []

    def error(self, where: str, problem: str) -> None:
        self.errors.append(f"{where}: {problem}")

    def run(self) -> YearSpec:
        doc = self.doc
        self._unknown_keys("", doc, _TOP_KEYS)
        year = self._year(doc.get("year"))
        notice = doc.get("notice")
        if not isinstance(notice, str) or not notice.strip():
            self.error("notice", '缺少通知文号（如 "国办发明电〔2025〕7号"），须是非空文字')
            notice = ""

        holidays: list[tuple[int, str, date, date]] = []  # (index, name, from, to)
        for i, entry in self._entries("holiday", required=True):
            parsed = self._holiday(i, entry, year)
            if parsed is not None:
                holidays.append((i, *parsed))
        workdays: list[tuple[int, str, date]] = []
        for i, entry in self._entries("workday", required=False):
            parsed_w = self._workday(i, entry, year)
            if parsed_w is not None:
                workdays.append((i, *parsed_w))

        names: dict[date, str] = {}
        owner: dict[date, int] = {}
        for i, name, start, end in holidays:
            clashes = sorted(d for d in _span(start, end) if d in owner)
            if clashes:
                j = owner[clashes[0]]
                self.error(f"holiday[{i}]", f"与 holiday[{j}] 重叠（{_fmt_dates(clashes)}），同一天只能属于一个放假段")
            for d in _span(start, end):
                owner.setdefault(d, i)
                names.setdefault(d, name)
        seen: dict[date, int] = {}
        for i, name, d in workdays:
            if d in seen:
                self.error(f"workday[{i}].date", f"{d} 与 workday[{seen[d]}] 重复")
                continue
            seen[d] = i
            if d in owner:
                j = owner[d]
                self.error(
                    f"workday[{i}].date", f"{d} 在 holiday[{j}]（{names[d]}）的放假范围内，同一天不能既放假又上班"
                )
                continue
            names[d] = name

        if self.errors or year is None:
            raise CalendarFileError("\n".join(self.errors), list(self.errors))
        return YearSpec(
            year=year,
            holidays=frozenset(owner),
            workdays=frozenset(seen),
            source=CalendarSource.IMPORTED,
            note=notice.strip(),
            names=names,
        )

    # -- pieces ---------------------------------------------------------------------------

    def _unknown_keys(self, where: str, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                path = f"{where}.{key}" if where else key
                self.error(path, f"未知字段（可用字段：{', '.join(allowed)}）")

    def _year(self, value: object) -> int | None:
        if value is None:
            self.error("year", "缺少年份，如 year = 2027")
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not (MIN_YEAR <= value <= MAX_YEAR):
            self.error("year", f"{value!r} 不是 {MIN_YEAR}–{MAX_YEAR} 之间的年份，如 year = 2027")
            return None
        return value

    def _entries(self, key: str, *, required: bool) -> list[tuple[int, Mapping[str, Any]]]:
        value = self.doc.get(key)
        if value is None:
            if required:
                self.error(key, f"缺少放假安排：至少需要一个 [[{key}]] 段")
            return []
        if not isinstance(value, list):
            self.error(key, f"应写成 [[{key}]] 段（表数组），而不是单个值")
            return []
        out: list[tuple[int, Mapping[str, Any]]] = []
        for i, entry in enumerate(value, start=1):
            if not isinstance(entry, dict):
                self.error(f"{key}[{i}]", f"应写成 [[{key}]] 段")
                continue
            out.append((i, entry))
        if required and not out and not any(e.startswith(key) for e in self.errors):
            self.error(key, f"缺少放假安排：至少需要一个 [[{key}]] 段")
        return out

    def _name(self, where: str, entry: Mapping[str, Any]) -> str | None:
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error(f"{where}.name", '缺少节日名称（如 "春节"），须是非空文字')
            return None
        return name.strip()

    def _date(self, where: str, value: object, year: int | None) -> date | None:
        if value is None:
            self.error(where, "缺少日期，如 2026-01-04")
            return None
        if isinstance(value, datetime):
            self.error(where, f"{value} 带有时间，只写日期，如 {value.date()}")
            return None
        if isinstance(value, str):
            text = value.strip()
            if not _ISO_DATE.fullmatch(text):
                self.error(where, f'"{value}" 不是有效日期，应写成 2026-01-04 这样的格式')
                return None
            try:
                value = date.fromisoformat(text)
            except ValueError:
                self.error(where, f"{text} 不是有效日期")
                return None
        if not isinstance(value, date):
            self.error(where, f"{value!r} 不是日期，应写成 2026-01-04 这样的格式")
            return None
        if year is not None and value.year != year:
            self.error(where, f"{value} 不在 {year} 年内（跨年的日期请作为管理员覆盖日期配置）")
            return None
        return value

    def _holiday(self, i: int, entry: Mapping[str, Any], year: int | None) -> tuple[str, date, date] | None:
        where = f"holiday[{i}]"
        self._unknown_keys(where, entry, _HOLIDAY_KEYS)
        name = self._name(where, entry)
        start = self._date(f"{where}.from", entry.get("from"), year)
        end = self._date(f"{where}.to", entry.get("to"), year)
        if start is None or end is None:
            return None
        if end < start:
            self.error(where, f"from {start} 晚于 to {end}，请检查起止日期")
            return None
        length = (end - start).days + 1
        if length > MAX_HOLIDAY_DAYS:
            self.error(where, f"{start} 至 {end} 共 {length} 天，超过 {MAX_HOLIDAY_DAYS} 天，请检查月份是否写错")
            return None
        days = entry.get("days")
        if days is not None:
            if not isinstance(days, int) or isinstance(days, bool):
                self.error(f"{where}.days", f"{days!r} 不是整数天数")
            elif days != length:
                self.error(f"{where}.days", f"写的是共 {days} 天，但 {start} 至 {end} 共 {length} 天")
        if name is None:
            return None
        return name, start, end

    def _workday(self, i: int, entry: Mapping[str, Any], year: int | None) -> tuple[str, date] | None:
        where = f"workday[{i}]"
        self._unknown_keys(where, entry, _WORKDAY_KEYS)
        name = self._name(where, entry)
        d = self._date(f"{where}.date", entry.get("date"), year)
        if d is None:
            return None
        if d.weekday() < 5:
            self.error(f"{where}.date", f"{d} 是{_WEEKDAYS[d.weekday()]}，本来就上班；调休上班日应是星期六或星期日")
            return None
        if name is None:
            return None
        return name, d


def _span(start: date, end: date) -> list[date]:
    return [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]


def _fmt_dates(days: list[date]) -> str:
    shown = "、".join(str(d) for d in days[:3])
    return shown + ("…" if len(days) > 3 else "")


# -- writing ------------------------------------------------------------------------------


def _toml_str(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _runs(days: frozenset[date]) -> list[tuple[date, date]]:
    """Consecutive dates grouped into inclusive (first, last) ranges, ascending."""
    runs: list[tuple[date, date]] = []
    for d in sorted(days):
        if runs and d.toordinal() == runs[-1][1].toordinal() + 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def dump_year(spec: YearSpec) -> str:
    """Write ``spec`` in the import format (the inverse of :func:`parse_year`).

    Consecutive holidays become one ``[[holiday]]`` range named after the festivals in it
    (``"国庆节、中秋节"``); ``spec.note`` is written as ``notice``.
    """
    lines = [
        f"# {spec.year}年工作日历 / work calendar {spec.year} — format: docs/calendar.md",
        f"# 来源 source: {spec.source}",
        f"# 导入 import: liuyan calendar import calendar-{spec.year}.toml",
        "",
        f"year = {spec.year}",
        f"notice = {_toml_str(spec.note)}",
    ]
    for first, last in _runs(spec.holidays):
        festivals: list[str] = []
        for d in _span(first, last):
            name = spec.names.get(d, "节假日")
            if name not in festivals:
                festivals.append(name)
        lines += [
            "",
            "[[holiday]]",
            f"name = {_toml_str('、'.join(festivals))}",
            f"from = {first.isoformat()}",
            f"to = {last.isoformat()}",
            f"days = {(last - first).days + 1}",
        ]
    for d in sorted(spec.workdays):
        lines += [
            "",
            "[[workday]]",
            f"name = {_toml_str(spec.names.get(d, '调休上班'))}",
            f"date = {d.isoformat()}  # {_WEEKDAYS[d.weekday()]}",
        ]
    return "\n".join(lines) + "\n"
