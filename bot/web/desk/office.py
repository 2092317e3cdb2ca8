"""The office's desk pages: the supervision board (超期 and 滞留 by unit, 催办/督办), the month's
statistics with the monthly report's chart (bot/reports). The admin's pages are in admin.py."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from bot.domain.states import Note, Role, State
from bot.domain.statistics import Period
from bot.handlers.access import lists_for
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.handlers.pressure import press_unit
from bot.reports.model import Report
from bot.web.desk.common import Labels, deps_of, has_role, refuse, render, visitor_of
from store import desk as desk_store
from store import directory
from store.cases import STEP_VALUES
from store.desk import CaseLine

log = logging.getLogger(__name__)
BOARD_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN})
STATS_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN, Role.DISPATCHER})
PRESS = {"urge": Note.URGE, "supervise": Note.SUPERVISE}
PER_UNIT = 5  # overdue cases shown per unit on the board (the ledger lists them all)
STALLED_SHOWN = 50  # replies held in the office listed on the board (the longest held first)


async def board(request: web.Request) -> web.Response:
    """督办: open cases past their deadline, by unit (most first), and replies held in the office
    past their step's limit (审核, 审定, 统一回复); 催办/督办 buttons for supervisors."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    if not has_role(visitor, BOARD_ROLES):
        return refuse(request, 403, "无权访问", "督办看板仅限督查员、领导和管理员。")
    now = deps.clock.now()
    scope = lists_for(deps.config, visitor.actor)
    async with deps.read_sessions() as session:
        overdue = await desk_store.overdue_first_per_unit(session, scope, now, PER_UNIT)
        stalled = await desk_store.stalled_steps(session, scope, now, STEP_VALUES, STALLED_SHOWN)
        ids = {c.unit_id for c, _ in overdue} | {c.unit_id for c in stalled}
        names = await directory.unit_names(session, [i for i in ids if i is not None])
    by_unit: dict[int, list[CaseLine]] = defaultdict(list)
    counts: dict[int, int] = {}
    for case, total in overdue:  # the longest overdue first; a few per unit, the rest in the ledger
        if case.unit_id is not None:
            by_unit[case.unit_id].append(case)
            counts[case.unit_id] = total
    groups = sorted(counts.items(), key=lambda item: (-item[1], names.get(item[0], "")))
    by_step: dict[str, list[CaseLine]] = defaultdict(list)
    for case in stalled:
        by_step[State(case.state).label].append(case)
    return render(
        request,
        "board.html",
        {
            "title": "督办看板",
            "groups": [(uid, names.get(uid, "?"), n, by_unit.get(uid, [])) for uid, n in groups],
            "stalled": sorted(by_step.items()),
            "names": names,
            "labels": Labels(deps, now),
            "can_press": Role.SUPERVISOR in visitor.actor.roles,
            "stalled_capped": len(stalled) >= STALLED_SHOWN,
            "stalled_shown": STALLED_SHOWN,
            "message": request.query.get("message", "")[:200],
        },
    )


async def press(request: web.Request) -> web.Response:
    """催办 or 督办 every overdue case of one unit (the chat's use case: bot.handlers.pressure)."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    form = await request.post()
    kind = PRESS.get(str(form.get("kind", "")))
    unit = str(form.get("unit", ""))
    if kind is None or not unit.isdigit():
        return refuse(request, 400, "请求有误", "请从督办看板上点击催办或督办。")
    now = deps.clock.now()
    async with deps.sessions() as session, session.begin():
        pressed = await press_unit(session, Outbox(deps.config), visitor.actor, int(unit), kind, now)
    if pressed.refused:
        return refuse(request, 403 if "只有" in pressed.refused else 409, "未能执行", pressed.refused)
    log.info("desk: %s unit %s (%d cases) by person %s", kind.value, unit, len(pressed.cases), visitor.person.id)
    from urllib.parse import quote

    raise web.HTTPSeeOther(f"/desk/board?message={quote(f'已{kind.label}（{len(pressed.cases)}件）。')}")


def _month(request: web.Request, now: datetime, tz: object) -> Period:
    text = request.query.get("month", "")
    try:
        year, month = (int(p) for p in text.split("-", 1))
        return Period.month(year, month)
    except ValueError:
        local = now.astimezone(tz)  # type: ignore[arg-type]
        return Period.month(local.year, local.month)


@dataclass
class _Cached:
    at: datetime
    report: Report
    png: bytes | None = None


class ReportCache:
    """The month's report is computed once and served for ``ttl`` seconds of the office clock:
    reading a month of 100,000 cases takes about half a second, and its figures do not change by
    the minute (the page says "截至 HH:MM")."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._found: dict[Period, _Cached] = {}
        self._lock = asyncio.Lock()

    async def get(self, deps: Deps, period: Period) -> _Cached:
        from bot.reports.compute import build_report

        now = deps.clock.now()
        async with self._lock:  # one computation at a time; the others wait for it
            found = self._found.get(period)
            if found is None or (now - found.at).total_seconds() >= self.ttl or now < found.at:
                found = self._found[period] = _Cached(now, await build_report(deps, period, now=now))
            return found


REPORTS: web.AppKey[ReportCache] = web.AppKey("desk_reports", ReportCache)


async def stats(request: web.Request) -> web.Response:
    """统计: this month's figures for the office and each unit, as the monthly report counts them
    (bot/reports, docs/reports.md), with the report's chart."""
    deps = deps_of(request)
    visitor = visitor_of(request)
    if not has_role(visitor, STATS_ROLES):
        return refuse(request, 403, "无权访问", "统计仅限办公室人员。")
    now = deps.clock.now()
    period = _month(request, now, deps.config.office.hours().tz)
    report = (await request.app[REPORTS].get(deps, period)).report
    return render(
        request,
        "stats.html",
        {
            "title": "统计",
            "report": report,
            "month": f"{period.year}-{period.index:02d}",
            "by_state": await _by_state(request),
        },
    )


async def _by_state(request: web.Request) -> list[tuple[str, int]]:
    deps = deps_of(request)
    scope = lists_for(deps.config, visitor_of(request).actor)
    async with deps.read_sessions() as session:
        counts = await desk_store.count_by_state(session, scope)
    return [(s.label, counts.get(s.value, 0)) for s in State if counts.get(s.value)]


async def chart(request: web.Request) -> web.Response:
    """The monthly report's chart (PNG), as the supervision group receives it."""
    from bot.reports.chart import render_png

    deps = deps_of(request)
    if not has_role(visitor_of(request), STATS_ROLES):
        return refuse(request, 403, "无权访问", "统计仅限办公室人员。")
    now = deps.clock.now()
    cached = await request.app[REPORTS].get(deps, _month(request, now, deps.config.office.hours().tz))
    if cached.png is None:
        cached.png = await asyncio.to_thread(render_png, cached.report)  # matplotlib: off the event loop
    return web.Response(body=cached.png, content_type="image/png")
