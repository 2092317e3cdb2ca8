"""What waits for a person (待办): the states and units each role acts on next. One rule for the
chat's 待办 and the desk's 我的待办."""

from __future__ import annotations

from bot.domain.lifecycle import Actor
from bot.domain.states import OPEN_STATES, Role, Route, State

#: (state, unit id or None for every unit, route or None for every route)
Wanted = tuple[str, int | None, str | None]


def waiting_for(actor: Actor) -> list[Wanted]:
    """What waits for ``actor``: their units' open and tracked cases; replies to review,
    extensions to decide and 礼节性回复 to write (督查员, 第九条); replies to approve (领导); cases
    to assign (办理件 only), reassign, publish and follow up (登记员)."""
    wanted: list[Wanted] = []
    for own_unit in sorted(actor.unit_ids):
        wanted += [(s.value, own_unit, None) for s in State if s in OPEN_STATES or s is State.TRACKING]
    if Role.SUPERVISOR in actor.roles:
        wanted += [(State.SUBMITTED.value, None, None), (State.EXTENSION_REQUESTED.value, None, None)]
        wanted += [(State.REGISTERED.value, None, Route.COURTESY.value)]
    if Role.LEADER in actor.roles:
        wanted += [(State.REVIEWED.value, None, None)]
    if Role.DISPATCHER in actor.roles:
        wanted += [(State.REGISTERED.value, None, Route.HANDLE.value)]
        wanted += [(s.value, None, None) for s in (State.RETURNED, State.APPROVED, State.REPLIED)]
    return wanted
