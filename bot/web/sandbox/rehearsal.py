"""The sandbox's clock control (拨快时钟): move the office clock forward by hours or working days
and run, at every hour in between, the scheduled tick the server would have run (bot/jobs.py) —
reminders, the morning overdue list, 督办 notices, the monthly summary — each exactly once, as
the tick's ``nudges`` keys guarantee. Only an :class:`~bot.clock.OffsetClock` can be moved (the
sandbox without a real platform); the offset is kept in the database across restarts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import OffsetClock
from bot.handlers.deps import Deps
from store import sandbox as rows

MAX_HOURS = 240
MAX_WORKDAYS = 10
STEP = timedelta(hours=1)


class ClockRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def target_time(deps: Deps, now: datetime, *, hours: int = 0, workdays: int = 0) -> datetime:
    """``hours`` calendar hours later, or the same office time ``workdays`` working days later."""
    if workdays:
        if not 1 <= workdays <= MAX_WORKDAYS:
            raise ClockRefused(f"工作日数应为 1 到 {MAX_WORKDAYS}。")
        tz = deps.config.office.hours().tz
        local = now.astimezone(tz)
        day = deps.calendar.current.add_workdays(local.date(), workdays)
        return datetime.combine(day, local.timetz()).astimezone(now.tzinfo)
    if not 1 <= hours <= MAX_HOURS:
        raise ClockRefused(f"小时数应为 1 到 {MAX_HOURS}。")
    return now + timedelta(hours=hours)


async def advance(
    deps: Deps, tick: Callable[[], Awaitable[int]], *, hours: int = 0, workdays: int = 0
) -> tuple[datetime, int]:
    """Move the clock; returns the new office time and how many messages the ticks queued."""
    clock = deps.clock
    if not isinstance(clock, OffsetClock):
        raise ClockRefused("已接入企业微信或钉钉，不能拨动办公时钟。", 409)
    start = clock.now()
    target = target_time(deps, start, hours=hours, workdays=workdays)
    queued = 0
    # every whole hour in between (the server ticks every minute; hourly is enough for rules
    # counted in hours and working days), then the target itself
    at = start.replace(minute=0, second=0, microsecond=0) + STEP
    moments = []
    while at < target:
        moments.append(at)
        at += STEP
    moments.append(target)
    for moment in moments:
        clock.offset = (moment - clock.base.now()).total_seconds()
        queued += await tick()
    async with deps.sessions() as session, session.begin():
        await rows.set_clock_offset(session, clock.offset, clock.now())
    return clock.now(), queued
