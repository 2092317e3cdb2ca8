"""The desk's lists (store/desk.py) on SQLite and PostgreSQL: filters, newest first, pages,
counts that stop early, the visibility rule, the board's ranked query."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.domain.states import Role
from bot.domain.visibility import Viewer, list_scope
from bot.handlers.deps import Deps
from bot.handlers.intake import register_case, validate_new_case
from bot.web.api import API_ACTOR
from store import desk as desk_store
from store import directory

OFFICE = list_scope(Viewer.of([Role.SUPERVISOR]))


async def _add(deps: Deps, title: str, unit: str, **extra: str) -> str:
    new = validate_new_case(
        {"title": title, "content": f"{title}的诉求", "unit": unit, **extra},
        now=deps.clock.now(),
        tz=deps.config.office.hours().tz,
        categories=[],
    )
    return (await register_case(deps, new, API_ACTOR)).case.number


async def _unit(deps: Deps, name: str) -> int:
    async with deps.sessions() as session:
        unit = await directory.unit_by_name(session, name)
        assert unit is not None
        return unit.id


async def test_ledger_filters_pages_and_counts(deps: Deps) -> None:
    numbers = [await _add(deps, f"物业问题{i}", "区人社局", contact=f"1380013800{i}") for i in range(5)]
    other = await _add(deps, "噪声扰民", "区住建局", petitioner="王五", source_ref="RMW-1")
    rsj = await _unit(deps, "区人社局")
    async with deps.read_sessions() as session:
        page, more = await desk_store.ledger_page(session, OFFICE, desk_store.Ledger(limit=4))
        assert [c.number for c in page] == [other, *reversed(numbers[2:])] and more
        page, more = await desk_store.ledger_page(session, OFFICE, desk_store.Ledger(limit=4, offset=4))
        assert [c.number for c in page] == [numbers[1], numbers[0]] and not more
        assert await desk_store.ledger_count(session, OFFICE, desk_store.Ledger()) == 6
        assert await desk_store.ledger_count(session, OFFICE, desk_store.Ledger(), cap=3) == 4  # "3 以上"
        for f, expected in [
            (desk_store.Ledger(unit_id=rsj), numbers[::-1]),
            (desk_store.Ledger(keyword="噪声"), [other]),
            (desk_store.Ledger(keyword="100%_"), []),  # LIKE wildcards are taken literally
            (desk_store.Ledger(petitioner="王五"), [other]),
            (desk_store.Ledger(contact_key="13800138003"), [numbers[3]]),
            (desk_store.Ledger(source_ref="RMW-1"), [other]),
            (desk_store.Ledger(state="registered"), []),
        ]:
            page, _ = await desk_store.ledger_page(session, OFFICE, f)
            assert [c.number for c in page] == expected, f


async def test_lists_follow_the_visibility_rule(deps: Deps) -> None:
    mine = await _add(deps, "欠薪", "区人社局")
    theirs = await _add(deps, "违建", "区住建局")
    rsj = await _unit(deps, "区人社局")
    handler = list_scope(Viewer.of([Role.HANDLER], [rsj]))
    async with deps.read_sessions() as session:
        page, _ = await desk_store.ledger_page(session, handler, desk_store.Ledger())
        assert [c.number for c in page] == [mine]
        assert await desk_store.ledger_count(session, handler, desk_store.Ledger()) == 1
        assert await desk_store.ledger_ids(session, handler, desk_store.Ledger(), 100) != []
        waiting = await desk_store.waiting(session, handler, [("assigned", rsj, None), ("assigned", None, None)])
        assert [c.number for c in waiting] == [mine]
    assert theirs


async def test_board_counts_and_the_longest_overdue_per_unit(deps: Deps, clock: ManualClock) -> None:
    rsj = [await _add(deps, f"欠薪{i}", "区人社局") for i in range(3)]
    await _add(deps, "违建", "区住建局")
    clock.advance(timedelta(days=40).total_seconds())
    async with deps.read_sessions() as session:
        rows = await desk_store.overdue_first_per_unit(session, OFFICE, clock.now(), per_unit=2)
    by_unit: dict[str, list[tuple[str, int]]] = {}
    async with deps.read_sessions() as session:
        names = await directory.unit_names(session, [c.unit_id for c, _ in rows if c.unit_id])
    for case, total in rows:
        assert case.unit_id is not None
        by_unit.setdefault(names[case.unit_id], []).append((case.number, total))
    assert by_unit["区人社局"] == [(rsj[0], 3), (rsj[1], 3)]
    assert [t for _, t in by_unit["区住建局"]] == [1]
