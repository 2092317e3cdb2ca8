"""A transition applied from a stale copy of a case is refused, on SQLite and PostgreSQL (issue 10).

SQLite serialises "concurrent" clicks, so a test that only races two clicks passes even without
the compare-and-set's conditions. Here the stale copy is built explicitly: read the case, let
another session move it, then apply a transition with the copy — the guards see the old facts
and allow it; only ``repo.compare_and_set`` (WHERE state AND version) can refuse it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.domain.lifecycle import ActionInput, Actor, InterimInput, NoInput, ReasonInput, WorkflowError
from bot.domain.states import Action
from bot.handlers.deps import Deps
from bot.handlers.intake import assign_case, register_case
from bot.handlers.workflow import apply_in_session, perform
from store import repo
from store.models import Case, CaseEvent
from tests.fakes.cases import actor, new_case


async def _copy(deps: Deps, number: str) -> Case:
    """The case as a reader saw it (detached: nothing refreshes it later)."""
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None
        return case


async def _apply_stale(deps: Deps, stale: Case, action: Action, who: Actor, data: ActionInput) -> WorkflowError:
    with pytest.raises(WorkflowError) as err:
        async with deps.sessions() as session, session.begin():
            # attach the copy as it is, without reloading it: the use case sees the old facts
            case = await session.merge(stale, load=False)
            await apply_in_session(deps, session, case, action, who, data)
    return err.value


async def _events(deps: Deps, number: str, action: str) -> int:
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None
        stmt = (
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == action)
        )
        return int((await session.execute(stmt)).scalar_one())


async def test_stale_copy_after_another_step_is_refused(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    stale = await _copy(deps, n)
    assert stale.state == "assigned"
    await perform(deps, n, Action.ACCEPT, await actor(deps, "zhangsan"), NoInput())  # another session moves it
    err = await _apply_stale(deps, stale, Action.ACCEPT, await actor(deps, "limei"), NoInput())
    assert err.code == "conflict" and "张三" in err.message
    assert await _events(deps, n, "accept") == 1
    now = await _copy(deps, n)
    assert now.state == "accepted" and now.version == stale.version + 1


async def test_stale_copy_in_the_same_state_again_is_refused(deps: Deps) -> None:
    """ABA: the case left "assigned" and came back to it (退回 → 改派 to another unit); a handler of
    the first unit accepting from the old copy would take a case that is no longer theirs."""
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    stale = await _copy(deps, n)
    zhang = await actor(deps, "zhangsan")
    await perform(deps, n, Action.RETURN, zhang, ReasonInput("此事属于住建部门职责"))
    await assign_case(deps, n, "区住建局", await actor(deps, "qiandj"))
    now = await _copy(deps, n)
    assert now.state == stale.state == "assigned" and now.unit_id != stale.unit_id
    err = await _apply_stale(deps, stale, Action.ACCEPT, zhang, NoInput())
    assert err.code == "conflict"
    assert await _events(deps, n, "accept") == 0
    after = await _copy(deps, n)
    assert (after.state, after.version, after.unit_id) == (now.state, now.version, now.unit_id)


async def test_stale_copy_after_a_step_that_keeps_the_state_is_refused(deps: Deps) -> None:
    """阶段性报告 keeps "accepted" but makes a new version: a second report written on the copy read
    before the first must not slip in on the old version (only the version tells them apart)."""
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    zhang = await actor(deps, "zhangsan")
    await perform(deps, n, Action.ACCEPT, zhang, NoInput())
    stale = await _copy(deps, n)
    await perform(
        deps,
        n,
        Action.INTERIM_REPORT,
        zhang,
        InterimInput("已约谈公司负责人，正在核查工资台账。", "拟答复网友核查后督促支付"),
    )
    err = await _apply_stale(
        deps,
        stale,
        Action.INTERIM_REPORT,
        zhang,
        InterimInput("另一份报告：已责令公司限期支付欠薪。", "拟答复网友限期内支付"),
    )
    assert err.code == "conflict"
    assert await _events(deps, n, "interim_report") == 1
