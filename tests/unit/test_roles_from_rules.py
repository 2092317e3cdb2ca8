"""Role checks against docs/roles.md, a table written from the 制度 — not against the transition
table under test (issue 10): each step, each role, the domain's answer must match the cell."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.lifecycle import TRANSITIONS, Actor, CaseFacts, precheck
from bot.domain.states import Action, Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
UNIT = 7
ROLES = [Role.HANDLER, Role.UNIT_LEADER, Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN]
CELLS = {"是": True, "代": True, "否": False}


def table() -> dict[Action, dict[Role, bool]]:
    rows: dict[Action, dict[Role, bool]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(ROLES) or cells[2] not in CELLS:
            continue
        action = Action(cells[0].split()[-1])
        assert action not in rows, f"{action} twice in docs/roles.md"
        rows[action] = {role: CELLS[cell] for role, cell in zip(ROLES, cells[2:], strict=True)}
    return rows


def test_every_step_has_a_row() -> None:
    assert set(table()) == {t.action for t in TRANSITIONS}


def _facts(action: Action) -> CaseFacts:
    t = next(t for t in TRANSITIONS if t.action is action)
    return CaseFacts(t.source, unit_id=UNIT, needs_leader=action is Action.REVIEW_PASS)


@pytest.mark.parametrize(("action", "row"), sorted(table().items()))
def test_the_domain_follows_the_rules(action: Action, row: dict[Role, bool]) -> None:
    for role, allowed in row.items():
        actor = Actor(f"某{role.value}", frozenset({role}), frozenset({UNIT}), person_id=1)
        refusal = precheck(_facts(action), action, actor, NOW)
        refused_for_role = refusal is not None and refusal.code in ("forbidden", "not_member")
        assert refused_for_role is not allowed, (action, role, refusal)
        if not allowed:
            assert refusal is not None and "权限" in refusal.message


def test_nobody_without_a_role_may_do_anything() -> None:
    nobody = Actor("无角色", frozenset(), frozenset({UNIT}), person_id=1)
    for action in table():
        refusal = precheck(_facts(action), action, nobody, NOW)
        assert refusal is not None and refusal.code == "forbidden", action
