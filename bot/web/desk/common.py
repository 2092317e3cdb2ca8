"""What every desk page shares: the signed-in visitor, rendering with the common context, the
deadline label in working days, the refusal page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.domain.deadlines import working_days_left
from bot.domain.states import OPEN_STATES, Role, State
from bot.handlers.deps import Deps
from bot.handlers.read_models import local_time_text
from bot.web.api import DEPS
from bot.web.desk.auth import Visitor
from store.desk import CaseLine
from store.models import Case

#: a case as a list shows it: the whole row, or the columns of its line (the board)
Line = Case | CaseLine

VISITOR: web.RequestKey[Visitor] = web.RequestKey("desk_visitor", Visitor)
NEXT: web.RequestKey[str] = web.RequestKey("desk_next", str)
PREFIX = "/desk"

#: the navigation, with the roles that see each entry (None: everyone signed in)
NAV: tuple[tuple[str, str, frozenset[Role] | None], ...] = (
    ("/desk/", "我的待办", None),
    ("/desk/cases", "留言台账", None),
    ("/desk/register", "登记", frozenset({Role.DISPATCHER, Role.ADMIN})),
    ("/desk/board", "督办", frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN})),
    ("/desk/stats", "统计", frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN, Role.DISPATCHER})),
    ("/desk/admin", "管理", frozenset({Role.ADMIN})),
)


def deps_of(request: web.Request) -> Deps:
    return request.app[DEPS]


def visitor_of(request: web.Request) -> Visitor:
    found = request.get(VISITOR)
    assert isinstance(found, Visitor), "desk route without the guard"
    return found


def has_role(visitor: Visitor, roles: frozenset[Role]) -> bool:
    return bool(visitor.actor.roles & roles)


def nav_for(visitor: Visitor) -> list[tuple[str, str]]:
    return [(href, label) for href, label, roles in NAV if roles is None or has_role(visitor, roles)]


def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    visitor = request.get(VISITOR)
    base: dict[str, Any] = {"visitor": visitor, "path": request.path}
    if isinstance(visitor, Visitor):
        base["csrf"] = visitor.csrf
        base["nav"] = nav_for(visitor)
        base["roles"] = "、".join(r.label for r in sorted(visitor.actor.roles, key=str) if r is not Role.SYSTEM)
    base.update(context)
    response = aiohttp_jinja2.render_template(template, request, base, status=status)
    return response


def refuse(request: web.Request, status: int, title: str, text: str) -> web.Response:
    """A refusal that says what happened and nothing about the case."""
    return render(request, "refusal.html", {"title": title, "text": text}, status=status)


class Labels:
    """Times and deadlines as the office reads them (its time zone, working days)."""

    def __init__(self, deps: Deps, now: datetime) -> None:
        self.deps = deps
        self.now = now
        self.tz = deps.config.office.hours().tz

    def time(self, value: datetime | None) -> str:
        return local_time_text(value, self.tz) if value else ""

    def day(self, value: datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%Y-%m-%d") if value else ""

    def days_left(self, case: Line) -> int | None:
        if case.due_at is None or State(case.state) not in OPEN_STATES:
            return None
        return working_days_left(self.now, case.due_at, self.deps.calendar.current, self.deps.config.office.hours())

    def due(self, case: Line) -> str:
        """到期 11-05 17:30（剩 2 个工作日 / 今日到期 / 已超期 3 个工作日）."""
        if case.due_at is None:
            return "—"
        text = case.due_at.astimezone(self.tz).strftime("%m-%d %H:%M")
        left = self.days_left(case)
        if left is None:
            return text
        if left < 0:
            return f"{text}（已超期{-left}个工作日）"
        if left == 0:
            return f"{text}（今日到期）"
        return f"{text}（剩{left}个工作日）"

    def overdue(self, case: Line) -> bool:
        return case.due_at is not None and State(case.state) in OPEN_STATES and case.due_at < self.now

    def state(self, case: Line) -> str:
        return State(case.state).label
