"""Shared fixtures: databases (SQLite always, PostgreSQL when LIUYAN_TEST_PG_URL is set), a frozen
clock and ready-made dependencies for the use cases."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.calendar.service import CalendarHolder, load_calendar
from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.handlers.deps import Deps, Notifier, NullNotifier
from bot.handlers.directory import bootstrap_from_config
from store import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get("LIUYAN_TEST_PG_URL", "")
#: CI sets this: a PostgreSQL test that would be skipped fails instead.
REQUIRE_PG = os.environ.get("LIUYAN_REQUIRE_PG", "") == "1"
PG_REASON = "PostgreSQL tests need LIUYAN_TEST_PG_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"

BASE_CONFIG = """
[api]
token = "test-token"

[office]
case_number_prefix = "LY"

[cases]
leader_levels = ["省级"]
default_unit = { "欠薪欠资" = "区人社局" }

[[units]]
name = "区人社局"
[[units]]
name = "区住建局"
[[units]]
name = "区信访局"

[[people]]
name = "张三"
roles = ["handler"]
units = ["区人社局"]
wecom_userid = "zhangsan"
dingtalk_userid = "ding-zhangsan"

[[people]]
name = "李梅"
roles = ["handler"]
units = ["区人社局"]
wecom_userid = "limei"

[[people]]
name = "王科长"
roles = ["unit_leader"]
units = ["区人社局"]
wecom_userid = "wangkz"

[[people]]
name = "赵住建"
roles = ["handler"]
units = ["区住建局"]
wecom_userid = "zhaozj"

[[people]]
name = "钱登记"
roles = ["dispatcher"]
wecom_userid = "qiandj"

[[people]]
name = "孙督查"
roles = ["supervisor"]
wecom_userid = "sundc"

[[people]]
name = "周书记"
roles = ["leader"]
wecom_userid = "zhousj"

[[people]]
name = "吴管理"
roles = ["admin"]
wecom_userid = "wugl"
"""


def make_config(db_url: str, extra: str = "") -> Config:
    cfg = parse_config(BASE_CONFIG + "\n" + extra)
    cfg.database.url = db_url
    return cfg


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config file for the command line, its SQLite database relative to it (``db/liuyan.db``)."""
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace("[api]", '[database]\nurl = "sqlite+aiosqlite:///db/liuyan.db"\n\n[api]', 1),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied per test (migrating once keeps the suite fast)."""
    import asyncio

    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
        await db.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """Reset the PostgreSQL test database once per session and migrate it."""
    import asyncio

    skip_or_fail_without_pg()

    async def build() -> None:
        engine = db.create_engine(PG_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await db.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return PG_URL


def skip_or_fail_without_pg() -> None:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("LIUYAN_REQUIRE_PG=1 but LIUYAN_TEST_PG_URL is not set")
        pytest.skip(PG_REASON)


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every table and restart every sequence, in one round trip. DELETE rather than TRUNCATE:
    on these small tables TRUNCATE costs a new file and an fsync per table (seconds per test on a
    busy disk); the lock timeout turns a connection some earlier test leaked into a clear failure."""
    from store.models import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        sequences = await driver.fetch(
            "SELECT relname FROM pg_class WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
        )
        await driver.execute(
            "; ".join(
                ["BEGIN", "SET LOCAL lock_timeout = '30s'"]
                + [f'DELETE FROM "{name}"' for name in tables]
                + [f'ALTER SEQUENCE "{row[0]}" RESTART' for row in sequences]
                + ["COMMIT"]
            )
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store/use-case test runs on SQLite and on PostgreSQL (skipped with a reason without it)."""
    if request.param == "sqlite":
        target = tmp_path / "liuyan.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
    else:
        skip_or_fail_without_pg()
        yield request.getfixturevalue("pg_migrated")


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    target = tmp_path / "liuyan.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def clock() -> ManualClock:
    # Monday 2026-11-02 09:00 Asia/Shanghai: an ordinary working morning.
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI))


async def make_deps(
    db_url: str, clock: ManualClock, extra_config: str = "", notifier: Notifier | None = None
) -> tuple[Deps, AsyncEngine]:
    config = make_config(db_url, extra_config)
    engine = db.create_engine(db_url)
    if engine.dialect.name == "postgresql":
        await truncate_all(engine)
    sessions = db.sessionmaker(engine)
    async with sessions() as session:
        calendar = await load_calendar(session, config.calendar.overrides())
    deps = Deps(
        config=config,
        sessions=sessions,
        clock=clock,
        calendar=CalendarHolder(calendar, config.calendar.overrides()),
        notifier=notifier or NullNotifier(),
    )
    await bootstrap_from_config(deps)
    return deps, engine


@pytest.fixture
async def deps(db_url: str, clock: ManualClock) -> AsyncIterator[Deps]:
    d, engine = await make_deps(db_url, clock)
    yield d
    await engine.dispose()
