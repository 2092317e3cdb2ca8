"""The web tests' fixtures: the bot's HTTP app on a test server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from tests.conftest import make_config


@pytest.fixture
async def client(db_url: str, clock: ManualClock) -> AsyncIterator[TestClient]:
    config = make_config(db_url)
    runtime = await Runtime.start(config, clock=clock)
    if runtime.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config
        from tests.conftest import truncate_all

        await truncate_all(runtime.engine)
        await bootstrap_from_config(runtime.deps)
    async with TestClient(TestServer(build_app(runtime))) as c:
        yield c
    await runtime.close()
