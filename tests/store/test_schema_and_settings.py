"""The migrations build exactly the models' schema; settings and one-time tokens hold across
concurrent callers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from bot.handlers.deps import Deps
from store import settings
from store.models import Base, include_name

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_name": include_name})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(deps: Deps) -> None:
    async with deps.sessions() as session:
        conn = await session.connection()
        assert await conn.run_sync(_diff) == []


async def test_generated_once_whoever_asks_first(deps: Deps) -> None:
    async def ask(value: str) -> str:
        async with deps.sessions() as session, session.begin():
            return await settings.get_or_create(session, "link_secret", lambda: value, NOW)

    got = await asyncio.gather(*(ask(f"v{i}") for i in range(5)))
    assert len(set(got)) == 1
    assert await ask("later") == got[0]


async def test_a_token_is_accepted_once_until_pruned(deps: Deps) -> None:
    async def use(token: str) -> bool:
        async with deps.sessions() as session, session.begin():
            return await settings.first_use(session, "dingtalk", token, NOW + timedelta(hours=1))

    assert await use("1700000000000:abc") is True
    assert await use("1700000000000:abc") is False
    assert await use("1700000000001:abc") is True
    async with deps.sessions() as session, session.begin():
        assert await settings.prune_seen(session, NOW + timedelta(hours=2)) == 2
    assert await use("1700000000000:abc") is True


async def test_a_bound_token_repeats_only_with_its_first_binding(deps: Deps) -> None:
    async def use(token: str, binding: str) -> bool:
        async with deps.sessions() as session, session.begin():
            return await settings.first_use_bound(session, "dingtalk", token, binding, NOW + timedelta(hours=1))

    assert await use("1700000000000:abc", "body-1") is True
    assert await use("1700000000000:abc", "body-1") is True  # the same request again
    assert await use("1700000000000:abc", "body-2") is False  # the token with something else
    assert await use("1700000000000:abc", "body-2") is False  # … stays refused
    assert await use("1700000000000:abc", "body-1") is True
