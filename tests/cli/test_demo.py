"""`liuyan demo` (issue 15): a demo office through the real use cases — units, people of every role,
cases in every state — and loading it again changes nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.domain.states import State
from bot.handlers.demo import CASES
from store import db, repo
from store.models import Case, OutboxMessage

CONFIG = """
[database]
url = "sqlite+aiosqlite:///data/liuyan.db"
[api]
token = "test-token-long-enough-for-serve-0001"
[cases]
leader_levels = ["县（区）级"]
[sandbox]
enabled = true
"""


def _states(path: Path) -> tuple[Counter[str], int, set[str]]:
    async def read() -> tuple[Counter[str], int, set[str]]:
        from sqlalchemy import select

        engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.sessionmaker(engine)() as session:
                cases = list((await session.execute(select(Case))).scalars())
                platforms = set((await session.execute(select(OutboxMessage.platform))).scalars())
                assert await repo.case_by_number(session, cases[0].number) is not None
                return Counter(c.state for c in cases), len(cases), platforms
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_demo_loads_an_office_with_cases_in_every_state(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert f"留言 {len(CASES)} 件" in result.output and "未载入" not in result.output
    states, count, platforms = _states(tmp_path / "data" / "liuyan.db")
    assert count == len(CASES)
    wanted = {s.value for s in State}
    assert wanted - set(states) == set(), f"missing states: {wanted - set(states)}"
    assert platforms == {"sandbox"}  # the cards and notices wait in the outbox for the sandbox
    again = CliRunner().invoke(main, ["demo", "-c", str(config)])
    assert again.exit_code == 0 and "新增单位 0 个、人员 0 位、留言 0 件" in again.output
    assert _states(tmp_path / "data" / "liuyan.db")[1] == len(CASES)
