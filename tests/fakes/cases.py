"""A case as the intake takes it and the actor of a configured person, for the use-case tests."""

from __future__ import annotations

from datetime import datetime

from bot.domain.lifecycle import (
    Actor,
)
from bot.handlers.deps import Deps
from bot.handlers.intake import NewCase
from store import directory
from tests.conftest import SHANGHAI


async def actor(deps: Deps, wecom_userid: str) -> Actor:
    async with deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", wecom_userid)
        assert person is not None
        return await directory.actor_for(session, person)


def new_case(**kw: object) -> NewCase:
    base: dict[str, object] = dict(
        title="某公司拖欠工资三个月",
        content="我在某公司工作，公司已经三个月没有发工资。",
        received_at=datetime(2026, 11, 1, 20, 0, tzinfo=SHANGHAI),
        unit="区人社局",
        petitioner="李四",
        contact="13800138000",
        category="欠薪欠资",
        source="人民网·地方领导留言板",
    )
    base.update(kw)
    return NewCase(**base)  # type: ignore[arg-type]
