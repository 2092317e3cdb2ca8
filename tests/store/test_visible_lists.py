"""store.visible (the SQL list filter) agrees with bot.domain.visibility.in_scope, and through it
with sight(), on SQLite and PostgreSQL: every kind of case, every kind of viewer."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from bot.domain.nudges import Audience
from bot.domain.states import Role
from bot.domain.visibility import Sight, Viewer, in_scope, list_scope, sight
from bot.handlers.access import scope_of
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.jobs import Jobs
from store import directory, visible
from store.models import Case, Unit
from store.repo import CaseFilter

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SENSITIVE = ("党风廉政", "涉法涉诉")


async def test_sql_filter_agrees_with_the_rule(deps: Deps) -> None:
    async with deps.sessions() as session, session.begin():
        units = [Unit(name=f"可见性测试{i}", created_at=NOW) for i in range(3)]
        session.add_all(units)
        await session.flush()
        a, b, c = (u.id for u in units)
        leads = [None, a, b, c]
        co_sets: list[list[int]] = [[], [a], [b], [a, c], [b, c], [c, a, b]]
        categories = [None, "欠薪欠资", "党风廉政", "涉法涉诉", "其他"]
        for i, (lead, co, category) in enumerate(itertools.product(leads, co_sets, categories)):
            session.add(
                Case(
                    number=f"VIS-{i:04d}",
                    state="assigned",
                    level="市级",
                    source="测试",
                    title="标题",
                    title_key="标题",
                    content="内容",
                    received_at=NOW,
                    unit_id=lead,
                    co_unit_ids=co,
                    category=category,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    viewers = [Viewer(frozenset({role}), frozenset(us)) for role in Role for us in ([], [a], [b, c])]
    viewers += [
        Viewer(frozenset({Role.DISPATCHER, Role.HANDLER}), frozenset({a})),
        Viewer(frozenset({Role.SUPERVISOR, Role.HANDLER}), frozenset({b})),
        Viewer(frozenset(), frozenset({a, b, c})),
    ]
    async with deps.sessions() as session:
        cases = await visible.visible_cases(
            session, list_scope(Viewer.of([Role.SYSTEM]), SENSITIVE), CaseFilter(limit=10_000)
        )
        assert len(cases) == len(leads) * len(co_sets) * len(categories)
        for viewer in viewers:
            scope = list_scope(viewer, SENSITIVE)
            listed = {x.number for x in await visible.visible_cases(session, scope, CaseFilter(limit=10_000))}
            expected = {x.number for x in cases if in_scope(scope, scope_of(x))}
            seen = {x.number for x in cases if sight(viewer, scope_of(x), SENSITIVE) > Sight.NONE}
            assert listed == expected == seen, viewer
        # the other filters still apply on top of the scope
        scope = list_scope(Viewer.of([Role.HANDLER], [a]), SENSITIVE)
        some = await visible.visible_cases(session, scope, CaseFilter(unit_id=b, limit=10_000))
        assert some and all(x.unit_id == b and a in x.co_unit_ids for x in some)
        # several lists in one statement (待办) give what one call per list gives, limits and
        # overlaps included
        filters = [
            CaseFilter(unit_id=b, limit=3),
            CaseFilter(state="accepted", limit=5),
            CaseFilter(unit_id=c, limit=1000),
            CaseFilter(unit_id=b, limit=2, offset=1),
            CaseFilter(limit=7),
        ]
        for viewer in viewers:
            scope = list_scope(viewer, SENSITIVE)
            each = [[x.number for x in await visible.visible_cases(session, scope, f)] for f in filters]
            together = [
                [x.number for x in found] for found in await visible.visible_cases_each(session, scope, filters)
            ]
            assert together == each, viewer
            assert any(each) or scope.empty or not any(in_scope(scope, scope_of(x)) for x in cases), viewer


async def test_reminders_to_dispatchers_skip_sensitive_cases(deps: Deps) -> None:
    """A nudge addressed to the dispatchers (e.g. 回访 overdue) names the case and its title: not
    for a category the dispatchers may not see."""
    jobs = Jobs(deps, Outbox(deps.config))
    async with deps.sessions() as session:
        found = await directory.unit_by_name(session, "区人社局")
        assert found is not None
        unit = found.id
        plain = Case(number="N-1", state="replied", unit_id=unit, category="欠薪欠资")
        hidden = Case(number="N-2", state="replied", unit_id=unit, category="党风廉政")
        told_plain = await jobs._people(session, plain, Audience.DISPATCHERS)
        told_hidden = await jobs._people(session, hidden, Audience.DISPATCHERS, {})
        supervisors = await jobs._people(session, hidden, Audience.SUPERVISORS)
    assert [p.name for p in told_plain] == ["钱登记"]
    assert told_hidden == []
    assert [p.name for p in supervisors] == ["孙督查"]
