"""Benchmark: "add N working days" with WorkCalendar vs a naive day-by-day loop.

    /work/venv/bin/python bench/bench_calendar.py [--samples 1000000] [--naive-samples 20000]

Start dates are uniform random (seeded) in 2004-01-01 .. 2026-11-30, so that N <= 15 working
days never leaves the years chinese_calendar covers (the naive loop would raise
NotImplementedError in 2027). The naive loops run on the first --naive-samples starts and
their answers are checked against WorkCalendar's. The last column walks day by day over
WorkCalendar.is_workday, separating the bisect's gain from chinese_calendar's per-call cost
(its is_workday recomputes min/max of its holiday table on every call).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import chinese_calendar

from bot.calendar.package_data import package_calendar, package_version
from bot.domain.workcalendar import WorkCalendar

FIRST = date(2004, 1, 1)
LAST = date(2026, 11, 30)


def naive_add(start: date, n: int) -> date:
    d = start
    while n:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


def loop_add(cal: WorkCalendar, start: date, n: int) -> date:
    """Day by day, but over the same precomputed calendar: isolates the algorithm's gain."""
    d = start
    while n:
        d += timedelta(days=1)
        if cal.is_workday(d):
            n -= 1
    return d


def timed(fn: Callable[[date, int], date], starts: list[date], n: int) -> tuple[float, list[date]]:
    t0 = time.perf_counter()
    out = [fn(d, n) for d in starts]
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--naive-samples", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    lo, hi = FIRST.toordinal(), LAST.toordinal()
    starts = [date.fromordinal(rng.randint(lo, hi)) for _ in range(args.samples)]
    naive_starts = starts[: args.naive_samples]

    t0 = time.perf_counter()
    cal = package_calendar()
    cal.workdays_between(FIRST, date(2026, 12, 31))  # builds all 23 year tables
    build = time.perf_counter() - t0

    print(f"python {sys.version.split()[0]}, chinesecalendar {package_version()}")
    print(f"calendar build (23 years, once): {build * 1e3:.1f} ms")
    print(f"WorkCalendar: {len(starts):,} calls per N; naive loop: {len(naive_starts):,} calls per N")
    print()
    print(
        "| N  | WorkCalendar.add_workdays | naive chinese_calendar loop | ratio | day-by-day WorkCalendar.is_workday |"
    )
    print(
        "|---:|--------------------------:|----------------------------:|------:|-----------------------------------:|"
    )
    for n in (5, 15):
        fast_s, fast = timed(cal.add_workdays, starts, n)
        slow_s, slow = timed(naive_add, naive_starts, n)
        loop_s, loop = timed(lambda d, k: loop_add(cal, d, k), naive_starts, n)
        if slow != fast[: len(slow)] or loop != slow:
            raise SystemExit(f"mismatch for N={n}")
        fast_us = fast_s / len(starts) * 1e6
        slow_us = slow_s / len(naive_starts) * 1e6
        loop_us = loop_s / len(naive_starts) * 1e6
        print(
            f"| {n:>2} | {fast_us:>17.2f} µs/call | {slow_us:>19.1f} µs/call "
            f"| {slow_us / fast_us:>4,.0f}× | {loop_us:>26.2f} µs/call |"
        )


if __name__ == "__main__":
    main()
