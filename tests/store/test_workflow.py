"""The whole lifecycle through the use-case layer, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.domain.lifecycle import (
    Actor,
    CommentInput,
    ExtensionDecision,
    ExtensionRequest,
    FollowUpInput,
    InterimInput,
    NoInput,
    PublishInput,
    ReasonInput,
    RejectInput,
    ReplyInput,
    WorkflowError,
)
from bot.domain.states import Action, NonPublicGround, ReplyMode, Satisfaction, State, Truthfulness
from bot.handlers.deps import Deps
from bot.handlers.intake import assign_case, register_case
from bot.handlers.read_models import case_json
from bot.handlers.workflow import CaseNotFound, add_note, perform
from store import repo
from store.models import Case, CaseEvent
from tests.conftest import SHANGHAI
from tests.fakes.cases import actor, new_case

REPLY = ReplyInput(
    Truthfulness.TRUE,
    attitude="反映问题属实，我局高度重视。",
    process="已责令该公司于11月10日前结清全部欠薪，并对负责人进行约谈，公司已书面承诺。",
    verification="11月3日派员到公司实地核查工资台账。",
    feedback="已电话联系网友，网友表示认可。",
)


async def test_register_assigns_with_deadline_and_timeline(deps: Deps) -> None:
    result = await register_case(deps, new_case(), Actor.system())
    case = result.case
    assert result.created and case.state == State.ASSIGNED.value
    assert case.number == "LY2026-000001"
    # Monday 2 Nov 2026 09:00 + 5 working days → Monday 9 Nov 17:30
    assert case.due_at == datetime(2026, 11, 9, 17, 30, tzinfo=SHANGHAI)
    assert case.return_deadline == datetime(2026, 11, 4, 17, 30, tzinfo=SHANGHAI)
    assert case.calendar_source == "chinese-calendar"
    async with deps.sessions() as session:
        events = await repo.timeline(session, case.id)
        data = await case_json(session, case, tz=deps.config.office.tz)
    assert [e.action for e in events] == ["register", "assign"]
    assert data["state"] == "assigned" and data["unit"] == "区人社局"
    assert [e["label"] for e in data["timeline"]] == ["登记", "交办"]


async def test_numbers_are_sequential(deps: Deps) -> None:
    numbers = [
        (
            await register_case(
                deps, new_case(title=f"不同的问题第{i}件", petitioner=f"人{i}", contact=None), Actor.system()
            )
        ).case.number
        for i in range(3)
    ]
    assert numbers == ["LY2026-000001", "LY2026-000002", "LY2026-000003"]


async def test_full_lifecycle_with_leader(deps: Deps, clock: ManualClock) -> None:
    case = (await register_case(deps, new_case(level="省级"), Actor.system())).case
    assert case.needs_leader
    n = case.number
    zhang = await actor(deps, "zhangsan")
    await perform(deps, n, Action.ACCEPT, zhang, NoInput())
    clock.advance(days=1)
    await perform(deps, n, Action.SUBMIT, zhang, REPLY)
    sun = await actor(deps, "sundc")
    await perform(deps, n, Action.REVIEW_PASS, sun, CommentInput("事实清楚"))
    zhou = await actor(deps, "zhousj")
    await perform(deps, n, Action.LEADER_REJECT, zhou, RejectInput("请补充后续跟踪措施"))
    await perform(deps, n, Action.SUBMIT, zhang, REPLY)
    await perform(deps, n, Action.REVIEW_PASS, sun, CommentInput())
    await perform(deps, n, Action.APPROVE, zhou, CommentInput("同意"))
    qian = await actor(deps, "qiandj")
    await perform(deps, n, Action.PUBLISH, qian, PublishInput(ReplyMode.PUBLIC, report_number="区信字〔2026〕12号"))
    await perform(deps, n, Action.FOLLOW_UP, qian, FollowUpInput(True, Satisfaction.SATISFIED, "工资已全部到账"))
    final = await perform(deps, n, Action.ARCHIVE, qian, NoInput())
    assert final.state == State.ARCHIVED.value
    assert final.resolved is True and final.satisfaction == "满意" and final.truthfulness == "属实"
    assert "【工作过程】" in (final.handling or "")
    async with deps.sessions() as session:
        events = await repo.timeline(session, final.id)
    assert [e.action for e in events] == [
        "register",
        "assign",
        "accept",
        "submit",
        "review_pass",
        "leader_reject",
        "submit",
        "review_pass",
        "approve",
        "publish",
        "follow_up",
        "archive",
    ]
    reject = events[5]
    assert reject.actor_name == "周书记" and reject.comment == "请补充后续跟踪措施"


async def test_lifecycle_without_leader_and_individual_reply(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    zhang, sun, qian = await actor(deps, "zhangsan"), await actor(deps, "sundc"), await actor(deps, "qiandj")
    await perform(deps, n, Action.ACCEPT, zhang, NoInput())
    await perform(deps, n, Action.SUBMIT, zhang, REPLY)
    with pytest.raises(WorkflowError):
        await perform(deps, n, Action.REVIEW_PASS, sun, CommentInput())
    await perform(deps, n, Action.REVIEW_PASS_FINAL, sun, CommentInput())
    case = await perform(
        deps, n, Action.PUBLISH, qian, PublishInput(ReplyMode.INDIVIDUAL, NonPublicGround.UNREASONABLE)
    )
    assert case.reply_mode == "individual" and case.reply_ground == NonPublicGround.UNREASONABLE.value


async def test_archive_refused_while_elements_missing(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    zhang, sun, qian = await actor(deps, "zhangsan"), await actor(deps, "sundc"), await actor(deps, "qiandj")
    for action, who, data in [
        (Action.ACCEPT, zhang, NoInput()),
        (Action.SUBMIT, zhang, REPLY),
        (Action.REVIEW_PASS_FINAL, sun, CommentInput()),
        (Action.PUBLISH, qian, PublishInput(ReplyMode.PUBLIC)),
        (Action.FOLLOW_UP, qian, FollowUpInput(True, Satisfaction.BASICALLY, "部分解决")),
    ]:
        await perform(deps, n, action, who, data)
    with pytest.raises(WorkflowError) as err:
        await perform(deps, n, Action.ARCHIVE, qian, NoInput())
    assert err.value.code == "archive_incomplete" and "呈报文号" in err.value.message


async def test_return_and_reassign(deps: Deps, clock: ManualClock) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    zhang = await actor(deps, "zhangsan")
    returned = await perform(deps, n, Action.RETURN, zhang, ReasonInput("此事属于住建部门职责"))
    assert returned.state == "returned" and returned.due_at is None
    qian = await actor(deps, "qiandj")
    clock.advance(hours=2)
    again = await assign_case(deps, n, "区住建局", qian)
    assert again.state == "assigned"
    # the clock restarts at reassignment: Mon 11:00 + 5 working days
    assert again.due_at == datetime(2026, 11, 9, 17, 30, tzinfo=SHANGHAI)
    with pytest.raises(WorkflowError) as err:
        await perform(deps, n, Action.ACCEPT, zhang, NoInput())
    assert err.value.code == "not_member"
    zhao = await actor(deps, "zhaozj")
    assert (await perform(deps, n, Action.ACCEPT, zhao, NoInput())).state == "accepted"


async def test_return_window_closes_after_two_working_days(deps: Deps, clock: ManualClock) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    clock.set(datetime(2026, 11, 4, 17, 31, tzinfo=SHANGHAI))
    with pytest.raises(WorkflowError) as err:
        await perform(deps, n, Action.RETURN, await actor(deps, "zhangsan"), ReasonInput("不属于我单位职责"))
    assert err.value.code == "window_closed"
    # the deadline is printed in office time (17:30), not UTC (09:30)
    assert "截止2026-11-04 17:30" in err.value.message
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, n)
    assert case is not None and case.state == "assigned" and case.version == 2


async def test_wrong_role_changes_nothing(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    for who in ("zhaozj", "sundc", "zhousj", "qiandj"):
        with pytest.raises(WorkflowError):
            await perform(deps, n, Action.ACCEPT, await actor(deps, who), NoInput())
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, n)
        assert case is not None and case.state == "assigned" and case.version == 2
        assert len(await repo.timeline(session, case.id)) == 2


async def test_double_click_says_who_did_it(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    await perform(deps, n, Action.ACCEPT, await actor(deps, "zhangsan"), NoInput())
    with pytest.raises(WorkflowError) as err:
        await perform(deps, n, Action.ACCEPT, await actor(deps, "limei"), NoInput())
    assert err.value.code == "conflict"
    assert "张三" in err.value.message and "签收" in err.value.message


async def test_concurrent_clicks_one_wins(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    zhang, li = await actor(deps, "zhangsan"), await actor(deps, "limei")
    results = await asyncio.gather(
        *(perform(deps, n, Action.ACCEPT, who, NoInput()) for who in [zhang, li] * 4), return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, WorkflowError)]
    assert len(wins) == 1 and len(losses) == 7, results
    async with deps.sessions() as session:
        count = (
            await session.execute(select(func.count()).select_from(CaseEvent).where(CaseEvent.action == "accept"))
        ).scalar_one()
    assert count == 1


async def test_unknown_case_number(deps: Deps) -> None:
    with pytest.raises(CaseNotFound) as err:
        await perform(deps, "LY2026-999999", Action.ACCEPT, await actor(deps, "zhangsan"), NoInput())
    assert "LY2026-999999" in err.value.message


async def test_extension_moves_the_deadline(deps: Deps) -> None:
    n = (await register_case(deps, new_case(complex=True), Actor.system())).case.number
    zhang, sun = await actor(deps, "zhangsan"), await actor(deps, "sundc")
    await perform(deps, n, Action.ACCEPT, zhang, NoInput())
    async with deps.sessions() as session:
        before = await repo.case_by_number(session, n)
    assert before is not None
    # 15 working days from Mon 2 Nov 2026 → Mon 23 Nov
    assert before.due_at == datetime(2026, 11, 23, 17, 30, tzinfo=SHANGHAI)
    await perform(
        deps,
        n,
        Action.INTERIM_REPORT,
        zhang,
        InterimInput("已完成初步调查，正在协调各方。", "拟答复网友协调完成后再行告知"),
    )
    await perform(deps, n, Action.REQUEST_EXTENSION, zhang, ExtensionRequest("涉及多部门，需要协调", 5))
    with pytest.raises(WorkflowError):
        await perform(deps, n, Action.SUBMIT, zhang, REPLY)
    after = await perform(deps, n, Action.APPROVE_EXTENSION, sun, ExtensionDecision(5, "同意延期"))
    assert after.state == "accepted" and after.extension_count == 1 and after.interim_count == 1
    assert after.due_at == datetime(2026, 11, 30, 17, 30, tzinfo=SHANGHAI)
    await perform(deps, n, Action.REQUEST_EXTENSION, zhang, ExtensionRequest("仍需协调资金", 3))
    refused = await perform(deps, n, Action.REFUSE_EXTENSION, sun, RejectInput("请按期办结"))
    assert refused.due_at == after.due_at


async def test_deadline_into_uncovered_year(deps: Deps, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 11, 10, 0, tzinfo=SHANGHAI))
    case = (await register_case(deps, new_case(complex=True, received_at=clock.now()), Actor.system())).case
    assert case.due_at is not None and case.due_at.astimezone(SHANGHAI).year == 2027
    assert "provisional 2027" in (case.calendar_source or "")


async def test_intake_is_idempotent(deps: Deps) -> None:
    first = await register_case(deps, new_case(source_ref="RMW-1001"), Actor.system())
    second = await register_case(deps, new_case(source_ref="RMW-1001", title="另一标题"), Actor.system())
    assert first.created and not second.created and second.case.id == first.case.id
    async with deps.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 1


async def test_concurrent_intake_of_the_same_message(deps: Deps) -> None:
    results = await asyncio.gather(
        *(register_case(deps, new_case(source_ref="RMW-2002"), Actor.system()) for _ in range(5))
    )
    assert len({r.case.id for r in results}) == 1
    assert sum(r.created for r in results) == 1


async def test_repeated_message_is_linked(deps: Deps) -> None:
    first = (await register_case(deps, new_case(), Actor.system())).case
    # same petitioner (same phone written differently), different wording
    second = (
        await register_case(deps, new_case(title="还是没有发工资", contact="+86 138-0013-8000"), Actor.system())
    ).case
    # another person, near-identical title
    third = (
        await register_case(
            deps, new_case(title="某公司拖欠工资三个月！", petitioner="王五", contact="13900000000"), Actor.system()
        )
    ).case
    unrelated = (
        await register_case(
            deps,
            new_case(title="小区路灯不亮", petitioner="赵六", contact="13700000000", category="城市管理"),
            Actor.system(),
        )
    ).case
    assert second.duplicate_of_id == first.id
    assert third.duplicate_of_id == first.id
    assert unrelated.duplicate_of_id is None
    async with deps.sessions() as session:
        data = await case_json(session, second, tz=deps.config.office.tz)
    assert data["repeated"] and data["duplicate_of"] == first.number


async def test_unknown_unit_writes_nothing(deps: Deps) -> None:
    from bot.handlers.intake import InputError

    with pytest.raises(InputError) as err:
        await register_case(deps, new_case(unit="不存在的局"), Actor.system())
    assert err.value.field == "unit"
    async with deps.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 0


async def test_default_routing_by_category(deps: Deps) -> None:
    case = (await register_case(deps, new_case(unit=None), Actor.system())).case
    assert case.state == "assigned"
    plain = (
        await register_case(
            deps,
            new_case(unit=None, category="建议", title="建议增设公交线路", petitioner="钱七", contact=None),
            Actor.system(),
        )
    ).case
    assert plain.state == "registered" and plain.due_at is None


async def test_notes_do_not_change_state(deps: Deps) -> None:
    n = (await register_case(deps, new_case(), Actor.system())).case.number
    case = await add_note(deps, n, await actor(deps, "zhousj"), "instruction", "请人社局限期解决")
    assert case.state == "assigned"
    async with deps.sessions() as session:
        events = await repo.timeline(session, case.id)
    assert events[-1].action == "instruction" and events[-1].comment == "请人社局限期解决"


async def test_due_query(deps: Deps, clock: ManualClock) -> None:
    for i in range(3):
        await register_case(
            deps, new_case(title=f"问题{i}号很不一样", petitioner=f"P{i}", contact=None), Actor.system()
        )
    async with deps.sessions() as session:
        assert await repo.due_cases(session, clock.now()) == []
        due = await repo.due_cases(session, clock.now() + timedelta(days=8))
    assert len(due) == 3
