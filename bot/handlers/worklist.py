"""What waits for a person (待办): the states and units each role acts on next. One rule for the
chat's 待办 and the desk's 我的待办."""

from __future__ import annotations

from bot.domain.lifecycle import Actor
from bot.domain.states import OPEN_STATES, Role, State


def waiting_for(actor: Actor) -> list[tuple[str, int | None]]:
    """(state, unit id or None for every unit) pairs of the cases waiting for ``actor``: their
    units' open and tracked cases; replies to review and extensions to decide (督查员); replies to
    approve (领导); cases to assign, reassign, publish and follow up (登记员)."""
    wanted: list[tuple[str, int | None]] = []
    for own_unit in sorted(actor.unit_ids):
        wanted += [(s.value, own_unit) for s in State if s in OPEN_STATES or s is State.TRACKING]
    if Role.SUPERVISOR in actor.roles:
        wanted += [(State.SUBMITTED.value, None), (State.EXTENSION_REQUESTED.value, None)]
    if Role.LEADER in actor.roles:
        wanted += [(State.REVIEWED.value, None)]
    if Role.DISPATCHER in actor.roles:
        wanted += [(s.value, None) for s in (State.REGISTERED, State.RETURNED, State.APPROVED, State.REPLIED)]
    return wanted
