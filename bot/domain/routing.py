"""Routing by type (seed 001 第九条 登记交办): which categories are handled by a unit, answered by
the 督查室 with a 礼节性回复, or transferred (转办) elsewhere. Pure.

第九条: "信访类留言…当日交办到有关承办乡镇（街道）、部门（单位）；咨询类留言，由区委督查室、政府督查室
视情转有关单位回复；建议类留言，由区委督查室、政府督查室礼节性回复的同时，视情转有关部门（单位）和有关
领导同志；涉法涉诉类留言，由区委督查室、政府督查室转政法部门办理；反映党风廉政方面的留言，由区委督查室、
政府督查室转区纪检委阅处，不再专门办理。"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.lifecycle import MAX_REASON, WorkflowError
from bot.domain.states import Role, Route, State

#: category → route by default (categories not named are handled: 信访类)
DEFAULT_ROUTES: dict[str, Route] = {
    "政策咨询": Route.COURTESY,
    "建议": Route.COURTESY,
    "涉法涉诉": Route.TRANSFER,
    "党风廉政": Route.TRANSFER,
}
#: category → (去向, 转办说明) of a transfer, in the clause's words
DEFAULT_TRANSFERS: dict[str, tuple[str, str]] = {
    "涉法涉诉": ("政法部门", "涉法涉诉类留言，按第九条转政法部门办理。"),
    "党风廉政": ("区纪检委", "反映党风廉政方面的留言，按第九条转区纪检委阅处，不再专门办理。"),
}
#: a transfer whose category names no destination
FALLBACK_DESTINATION = "有关部门"


@dataclass(frozen=True)
class RouteChoice:
    """The route of a new case; for a transfer, where it goes and what is said."""

    route: Route
    destination: str = ""
    note: str = ""


def route_for(
    category: str | None,
    routes: Mapping[str, Route],
    transfers: Mapping[str, tuple[str, str]],
    *,
    unit_named: bool = False,
) -> RouteChoice:
    """The route of a new case of ``category``. A case registered with a unit named by the
    registrar (or the intake) is handled by that unit: the registrar decided (第九条 "视情")."""
    route = routes.get(category or "", Route.HANDLE)
    if unit_named or route is Route.HANDLE:
        return RouteChoice(Route.HANDLE)
    if route is Route.COURTESY:
        return RouteChoice(Route.COURTESY)
    destination, note = transfers.get(category or "", ("", ""))
    destination = destination or FALLBACK_DESTINATION
    return RouteChoice(Route.TRANSFER, destination, note or f"{category}类留言，按第九条转{destination}。")


#: chat words that change a route (with the route they set)
ROUTE_WORDS: dict[str, Route] = {
    "改为办理": Route.HANDLE,
    "改为礼节性回复": Route.COURTESY,
    "改为转办": Route.TRANSFER,
}


def parse_route(text: str) -> Route:
    """``handle`` / ``办理`` … → Route; ValueError (中文) when unknown."""
    key = text.strip().lower()
    for route in Route:
        if key in (route.value, route.label, route.label.removeprefix("交办")):
            return route
    raise ValueError(f"未知办理方式：{text}（可选：handle 办理、courtesy 礼节性回复、transfer 转办）")


# --- 转阅 (第九条 "视情转有关部门（单位）和有关领导同志") ----------------------------------------------

FORWARD_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
#: a 礼节性回复 case may be forwarded for reference while it is registered, written or closed
FORWARD_STATES = frozenset({State.REGISTERED, State.APPROVED, State.CLOSED})


def check_forward(route: Route, state: State, roles: frozenset[Role], note: str) -> str:
    """The 转阅说明, cleaned; WorkflowError when a 转阅 is refused. A 转阅 is for reference only
    (阅知): no task, no deadline, no reply owed."""
    if not roles & FORWARD_ROLES:
        raise WorkflowError("forbidden", "您没有“转阅”的权限（仅限督查员、管理员）。")
    if route is not Route.COURTESY:
        raise WorkflowError(
            "wrong_route", f"此件按“{route.label}”处理。转阅仅用于礼节性回复件（第九条：视情转有关单位和领导同志）。"
        )
    if state not in FORWARD_STATES:
        raise WorkflowError("wrong_state", f"此件当前状态为“{state.label}”，不能转阅。")
    note = note.strip()
    if len(note) > MAX_REASON:
        raise WorkflowError("too_long", f"转阅说明过长（最多{MAX_REASON}字）。", field="note")
    return note


def title_hidden(category: str | None, route: str | None, hidden_categories: frozenset[str] | set[str]) -> bool:
    """A title kept out of group posts: a category configured so, or any transferred case (转办:
    涉法涉诉, 党风廉政 … are dealt with elsewhere, 第十九条 confidentiality)."""
    return (category or "") in hidden_categories or route == Route.TRANSFER.value
