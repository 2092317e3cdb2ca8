"""The visibility rule against the table in docs/visibility.md, cell by cell, and the list form
against the per-case form."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.domain.states import Role
from bot.domain.visibility import CaseScope, Sight, Viewer, in_scope, list_scope, sight

DOC = Path(__file__).resolve().parents[2] / "docs" / "visibility.md"
CELLS = {"全部": Sight.FULL, "不含反映人": Sight.CASE, "无权查看": Sight.NONE}
ROLE_OF = {
    "handler": Role.HANDLER,
    "unit_leader": Role.UNIT_LEADER,
    "dispatcher": Role.DISPATCHER,
    "supervisor": Role.SUPERVISOR,
    "leader": Role.LEADER,
    "admin": Role.ADMIN,
}
MINE, OTHER, THIRD = 1, 2, 3
ORDINARY, SENSITIVE = "欠薪欠资", "党风廉政"
COLUMNS = [  # the table's columns, left to right, as cases seen by a member of unit MINE
    CaseScope(MINE, frozenset({THIRD}), ORDINARY),
    CaseScope(OTHER, frozenset({MINE}), ORDINARY),
    CaseScope(OTHER, frozenset({THIRD}), ORDINARY),
    CaseScope(MINE, frozenset({THIRD}), SENSITIVE),
    CaseScope(OTHER, frozenset({MINE}), SENSITIVE),
    CaseScope(OTHER, frozenset({THIRD}), SENSITIVE),
]


def table() -> list[tuple[frozenset[Role], list[Sight]]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or cells[1] not in CELLS:
            continue
        key = cells[0].split()[-1]
        roles = frozenset({ROLE_OF[key]}) if key in ROLE_OF else frozenset()
        rows.append((roles, [CELLS[c] for c in cells[1:]]))
    return rows


def test_the_table_has_every_role() -> None:
    rows = table()
    assert len(rows) == 7
    assert {r for roles, _ in rows for r in roles} == set(ROLE_OF.values())


@pytest.mark.parametrize(("roles", "expected"), table())
def test_code_follows_the_table(roles: frozenset[Role], expected: list[Sight]) -> None:
    units = frozenset({MINE}) if roles & {Role.HANDLER, Role.UNIT_LEADER} else frozenset()
    viewer = Viewer(roles, units)
    assert [sight(viewer, case) for case in COLUMNS] == expected


def test_the_system_sees_everything() -> None:
    assert all(sight(Viewer.of([Role.SYSTEM]), case) is Sight.FULL for case in COLUMNS)


def test_unit_roles_count_only_in_their_units() -> None:
    # a handler of no unit, or a unit leader asking about another unit's case, sees nothing
    assert sight(Viewer.of([Role.HANDLER]), COLUMNS[0]) is Sight.NONE
    assert sight(Viewer.of([Role.UNIT_LEADER], [THIRD + 1]), COLUMNS[0]) is Sight.NONE
    assert sight(Viewer.of([Role.HANDLER], [MINE]), CaseScope(None)) is Sight.NONE


def test_sensitive_categories_come_from_config() -> None:
    dispatcher = Viewer.of([Role.DISPATCHER])
    custom = CaseScope(OTHER, category="信访积案")
    assert sight(dispatcher, custom) is Sight.FULL
    assert sight(dispatcher, custom, sensitive={"信访积案"}) is Sight.NONE


ALL_ROLES = [*ROLE_OF.values(), Role.SYSTEM]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_list_scope_agrees_with_sight(n: int) -> None:
    cases = [
        CaseScope(u, frozenset(co), cat)
        for u, co, cat in itertools.product(
            [None, MINE, OTHER], [(), (MINE,), (THIRD,), (MINE, THIRD)], [ORDINARY, SENSITIVE, None]
        )
    ]
    for roles in itertools.combinations(ALL_ROLES, n):
        for units in (frozenset(), frozenset({MINE}), frozenset({MINE, OTHER})):
            viewer = Viewer(frozenset(roles), units)
            scope = list_scope(viewer)
            for case in cases:
                assert in_scope(scope, case) == (sight(viewer, case) > Sight.NONE), (roles, units, case)
