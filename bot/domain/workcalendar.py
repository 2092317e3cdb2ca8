"""The work calendar: which dates are working days (工作日) in mainland China.

Pure domain code — standard library only, no I/O. All dates are *local civil dates* in
Asia/Shanghai; this module never sees a time or a time zone (see ``bot.domain.deadlines``
for that).

A working day is, in order of precedence:

1. an admin override (``True`` = working day, ``False`` = day off) — always wins;
2. a make-up working day (调休上班) of the year's :class:`YearSpec`;
3. a statutory holiday of the year's :class:`YearSpec` (a day off);
4. otherwise Monday–Friday.

A year without a spec of its own (neither the package's nor an imported one) takes the spec the
injected ``fallback`` gives — in production the statutory holidays of 《全国年节及纪念日放假办法》,
computed for that year and reported as :attr:`CalendarSource.STATUTORY` ("provisional"); without
a fallback (or beyond its range) it counts weekends only (:attr:`CalendarSource.WEEKENDS`). Either
way callers warn the admins (design.md, "Deadlines").

Counting is done on a per-year, lazily built, cached, sorted tuple of the ordinals of that
year's working days, so :meth:`WorkCalendar.add_workdays` and
:meth:`WorkCalendar.workdays_between` cost a bisect per year touched, never a day-by-day loop.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "SOURCE_LABELS",
    "CalendarSource",
    "Fallback",
    "WorkCalendar",
    "YearSpec",
    "coverage_warnings",
]


class CalendarSource(StrEnum):
    """Where a year's holidays and make-up working days come from."""

    PACKAGE = "chinese-calendar"
    IMPORTED = "imported"
    STATUTORY = "provisional"  # the statutory holidays, computed: no State Council notice yet
    WEEKENDS = "weekends-only"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]

    @property
    def provisional(self) -> bool:
        """True when the year has no published arrangement (its dates may still change)."""
        return self in (CalendarSource.STATUTORY, CalendarSource.WEEKENDS)


SOURCE_LABELS: dict[CalendarSource, str] = {
    CalendarSource.PACKAGE: "国务院安排（chinese-calendar）",
    CalendarSource.IMPORTED: "国务院安排（已导入）",
    CalendarSource.STATUTORY: "暂定：按《全国年节及纪念日放假办法》推算，未含调休",
    CalendarSource.WEEKENDS: "暂定：仅按周末计算",
}

#: A year's spec computed when neither the package nor an import has one (None: not computable).
Fallback = Callable[[int], "YearSpec | None"]


def _empty_names() -> Mapping[date, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class YearSpec:
    """One calendar year's statutory arrangement (the State Council notice).

    ``holidays`` are days off that would otherwise be working days (Mon–Fri); weekend days in
    the set are harmless. ``workdays`` are weekend days that are make-up working days (调休上班).
    Every date must fall in ``year``; a date may not be in both sets.

    ``names`` optionally maps a date of either set to the festival it belongs to (春节, 国庆节…);
    it is informational only (exports, messages) and takes no part in equality or hashing.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: CalendarSource
    note: str = ""
    names: Mapping[date, str] = field(default_factory=_empty_names, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not MINYEAR <= self.year <= MAXYEAR:
            raise ValueError(f"year {self.year} out of range")
        stray = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if stray:
            raise ValueError(f"YearSpec {self.year}: dates outside the year: {stray[:3]}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"YearSpec {self.year}: both holiday and workday: {both[:3]}")
        # Freeze whatever mapping was given so the frozen dataclass stays immutable.
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    @property
    def days_off(self) -> list[date]:
        """The holidays that take a working day (Mon–Fri), in order: what ``calendar import``
        counts and ``calendar show`` lists (a weekend day inside a holiday range changes nothing)."""
        return sorted(d for d in self.holidays if d.weekday() < 5)


class WorkCalendar:
    """Working days (工作日) by local date, Asia/Shanghai.

    ``years``: year specs; a later spec for the same year replaces an earlier one, so pass
    package specs first and imported specs after them (IMPORTED after PACKAGE wins).
    ``overrides``: admin overrides, ``True`` = working day, ``False`` = day off; they win over
    everything.

    Instances are immutable; per-year working-day tables are built lazily on first use and
    cached. Any year from 1 to 9999 works; years without a spec count weekends only.
    """

    __slots__ = ("_computed", "_fallback", "_override_years", "_overrides", "_specs", "_tables")

    def __init__(
        self,
        years: Iterable[YearSpec] = (),
        overrides: Mapping[date, bool] | None = None,
        fallback: Fallback | None = None,
    ) -> None:
        specs: dict[int, YearSpec] = {}
        for spec in years:
            specs[spec.year] = spec
        self._specs: Mapping[int, YearSpec] = MappingProxyType(specs)
        ov = dict(overrides or {})
        self._overrides: Mapping[date, bool] = MappingProxyType(ov)
        by_year: dict[int, dict[int, bool]] = {}
        for d, working in ov.items():
            by_year.setdefault(d.year, {})[d.toordinal()] = bool(working)
        self._override_years = by_year
        self._tables: dict[int, tuple[int, ...]] = {}
        self._fallback = fallback
        self._computed: dict[int, YearSpec | None] = {}

    # -- introspection -------------------------------------------------------------------

    @property
    def specs(self) -> Mapping[int, YearSpec]:
        """The effective spec per year (read-only)."""
        return self._specs

    @property
    def overrides(self) -> Mapping[date, bool]:
        """The admin overrides (read-only)."""
        return self._overrides

    def with_years(self, *specs: YearSpec) -> WorkCalendar:
        """A new calendar with ``specs`` replacing this one's specs for their years."""
        return WorkCalendar([*self._specs.values(), *specs], self._overrides, self._fallback)

    def with_overrides(self, overrides: Mapping[date, bool]) -> WorkCalendar:
        """A new calendar with the same specs and ``overrides`` instead of the current ones."""
        return WorkCalendar(self._specs.values(), overrides, self._fallback)

    def spec(self, year: int) -> YearSpec | None:
        """The spec in force for ``year``: its own, else the fallback's (None: weekends only)."""
        spec = self._specs.get(year)
        if spec is not None or self._fallback is None:
            return spec
        if year not in self._computed:
            self._computed[year] = self._fallback(year)
        return self._computed[year]

    def source(self, year: int) -> CalendarSource:
        """Where ``year``'s holidays come from; WEEKENDS when there is no spec for it."""
        spec = self.spec(year)
        return spec.source if spec is not None else CalendarSource.WEEKENDS

    def is_covered(self, year: int) -> bool:
        """True if ``year`` has a published arrangement (PACKAGE or IMPORTED), not a provisional one."""
        return not self.source(year).provisional

    def uncovered_years(self, years: Iterable[int]) -> list[int]:
        """The distinct years of ``years`` without a published arrangement, ascending."""
        return sorted({y for y in years if not self.is_covered(y)})

    def sources_between(self, start: date, end: date) -> tuple[tuple[int, CalendarSource], ...]:
        """``(year, source)`` for every calendar year from ``start`` to ``end`` inclusive
        (order of the arguments does not matter)."""
        lo, hi = sorted((start.year, end.year))
        return tuple((y, self.source(y)) for y in range(lo, hi + 1))

    # -- single days ---------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """True if local date ``d`` is a working day."""
        ov = self._override_years.get(d.year)
        if ov is not None:
            hit = ov.get(d.toordinal())
            if hit is not None:
                return hit
        spec = self.spec(d.year)
        if spec is not None:
            if d in spec.workdays:
                return True
            if d in spec.holidays:
                return False
        return d.weekday() < 5

    def next_workday(self, d: date, *, inclusive: bool = True) -> date:
        """The first working day on or after ``d`` (strictly after when ``inclusive=False``)."""
        if inclusive and self.is_workday(d):
            return d
        return self.add_workdays(d, 1)

    # -- counting ------------------------------------------------------------------------

    def add_workdays(self, start: date, n: int) -> date:
        """The ``n``-th working day strictly after ``start`` (``start`` is never counted).

        ``n`` is in working days and must be >= 1 (ValueError otherwise). O(log n) per year
        touched.
        """
        if n < 1:
            raise ValueError(f"n must be >= 1 working day, got {n}")
        year = start.year
        table = self._table(year)
        idx = bisect_right(table, start.toordinal()) + n - 1
        while idx >= len(table):
            idx -= len(table)
            year += 1
            if year > MAXYEAR:
                raise ValueError(f"{n} working days after {start} is beyond year {MAXYEAR}")
            table = self._table(year)
        return date.fromordinal(table[idx])

    def workdays_between(self, start: date, end: date) -> int:
        """Working days ``d`` with ``start < d <= end``; the negated mirror when ``end < start``.

        E.g. Friday → next Monday is 1 in an ordinary week; Monday → the previous Friday is -1.
        """
        if end < start:
            return -self.workdays_between(end, start)
        s, e = start.toordinal(), end.toordinal()
        if start.year == end.year:
            table = self._table(start.year)
            return bisect_right(table, e) - bisect_right(table, s)
        first = self._table(start.year)
        count = len(first) - bisect_right(first, s)
        for y in range(start.year + 1, end.year):
            count += len(self._table(y))
        return count + bisect_right(self._table(end.year), e)

    # -- tables --------------------------------------------------------------------------

    def _table(self, year: int) -> tuple[int, ...]:
        """Sorted ordinals of ``year``'s working days (built once, cached)."""
        table = self._tables.get(year)
        if table is None:
            table = self._build(year)
            self._tables[year] = table
        return table

    def _build(self, year: int) -> tuple[int, ...]:
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        spec = self.spec(year)
        off = {d.toordinal() for d in spec.holidays} if spec else set()
        on = {d.toordinal() for d in spec.workdays} if spec else set()
        ov = self._override_years.get(year, {})
        days: list[int] = []
        for o in range(first, last + 1):
            hit = ov.get(o)
            if hit is None:
                # date.fromordinal(1) is a Monday, so (o - 1) % 7 is date.weekday().
                hit = o in on or ((o - 1) % 7 < 5 and o not in off)
            if hit:
                days.append(o)
        return tuple(days)


def coverage_warnings(cal: WorkCalendar, today: date) -> list[str]:
    """Chinese warnings for the admins about years that count weekends only.

    The current year (``today``'s year) is checked always; from 1 November also the next
    year, whose notice the State Council usually publishes in late October or November.
    """
    warnings: list[str] = []
    year = today.year
    if not cal.is_covered(year):
        if cal.source(year) is CalendarSource.STATUTORY:
            counted = "按《全国年节及纪念日放假办法》暂定计算（未计调休）"
        else:
            counted = "按仅周末计算（未计法定节假日和调休）"
        warnings.append(
            f"{year}年工作日历尚未导入，当前期限{counted}："
            f"请尽快用 `liuyan calendar import` 导入国务院{year}年节假日安排。"
        )
    if (today.month, today.day) >= (11, 1) and year < MAXYEAR and not cal.is_covered(year + 1):
        counted = (
            "按《全国年节及纪念日放假办法》暂定计算"
            if cal.source(year + 1) is CalendarSource.STATUTORY
            else "按仅周末计算"
        )
        warnings.append(
            f"{year + 1}年工作日历尚未导入：国务院节假日安排发布后请用 "
            f"`liuyan calendar import` 导入；在此之前{counted}。"
        )
    return warnings
