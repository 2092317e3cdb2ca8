"""The sandbox's chat history and clock offset, on SQLite and PostgreSQL (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock, OffsetClock
from bot.handlers.deps import Deps
from store import sandbox as rows
from store.models import Person
from tests.fakes.sandbox import start_sandbox


async def test_history_keeps_each_chat_in_order_and_cards_change_in_place(deps: Deps) -> None:
    now = deps.clock.now()
    async with deps.sessions() as session, session.begin():
        for i in range(3):
            await rows.add(
                session, channel="user", recipient="7", direction="out", kind="text", text=f"第{i}条", at=now
            )
        await rows.add(session, channel="user", recipient="8", direction="out", kind="text", text="别人的", at=now)
        await rows.add(session, channel="user", recipient="7", direction="in", kind="text", text="待办", at=now)
        card = {"title": "【交办】x", "buttons": [{"text": "签收", "key": "k"}]}
        await rows.add(
            session,
            channel="user",
            recipient="7",
            direction="out",
            kind="card",
            text="",
            data=card,
            task_id="t1",
            at=now,
        )
        await rows.add(
            session, channel="group", recipient="supervision", direction="out", kind="markdown", text="**x**", at=now
        )
    async with deps.sessions() as session, session.begin():
        changed = await rows.replace_card(session, "t1", {"title": "【交办】x", "closed": "已签收"}, now)
        assert changed is not None and changed.recipient == "7"
        assert await rows.replace_card(session, "never-sent", {}, now) is None
    async with deps.sessions() as session:
        chat = await rows.history(session, "user", "7")
        assert [m.text for m in chat[:4]] == ["第0条", "第1条", "第2条", "待办"]
        assert chat[-1].data == {"title": "【交办】x", "closed": "已签收"} and chat[-1].updated_at is not None
        assert await rows.card_of(session, "t1") == {"title": "【交办】x", "closed": "已签收"}
        assert [m.text for m in await rows.history(session, "user", "7", limit=2)] == ["待办", ""]
        assert await rows.counts(session, "user") == {"7": 4, "8": 1}  # typed lines are not counted
        assert [m.text for m in await rows.history(session, "group", "supervision")] == ["**x**"]
        assert [m.text for m in await rows.history_of(session, ["8", "9"])] == ["别人的"]
        people = await rows.people_and_roles(session)
        assert {p.name for p, _ in people} >= {"张三", "钱登记"}
        zhang_roles = next(rs for p, rs in people if p.name == "张三")
        assert [r for r, _ in zhang_roles] == ["handler"] and zhang_roles[0][1] is not None
        zhang = next(p for p, _ in people if p.name == "张三")
        assert await rows.roles_of(session, zhang.id) == zhang_roles


async def test_the_clock_offset_survives_a_restart(db_url: str, clock: ManualClock) -> None:
    runtime = await start_sandbox(db_url, clock)
    try:
        assert isinstance(runtime.deps.clock, OffsetClock) and runtime.deps.clock.offset == 0
        async with runtime.deps.sessions() as session, session.begin():
            await rows.set_clock_offset(session, 3 * 86400, clock.now())
    finally:
        await runtime.close()
    from bot.app import Runtime
    from tests.conftest import make_config
    from tests.fakes.sandbox import SANDBOX

    again = await Runtime.start(make_config(db_url, SANDBOX), clock=clock)  # no truncation: a restart
    try:
        assert again.deps.clock.now() == clock.now() + timedelta(days=3)
    finally:
        await again.close()
    plain = await Runtime.start(make_config(db_url), clock=clock)  # the sandbox off: the real time
    try:
        assert plain.deps.clock is clock
    finally:
        await plain.close()


async def test_a_person_is_found_by_their_sandbox_id(deps: Deps) -> None:
    from store import directory

    async with deps.sessions() as session:
        zhang = (await directory.person_by_name(session, "张三"))[0]
        found = await directory.person_by_platform(session, "sandbox", str(zhang.id))
        assert isinstance(found, Person) and found.id == zhang.id
        for wrong in ("", "x1", "-1", "1" * 30, "９"):
            assert await directory.person_by_platform(session, "sandbox", wrong) is None
