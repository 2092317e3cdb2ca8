"""`report monthly --post` and the monthly tick use up a period only when a message was queued;
`--post --force` posts again; `--dry-run` shows what would go out (issue 14)."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.clock import ManualClock
from bot.handlers.messaging import Outbox
from bot.jobs import Jobs
from bot.reports.summary import queue_monthly_summary
from store.models import Nudge, OutboxMessage
from tests.conftest import BASE_CONFIG, SHANGHAI, make_config, make_deps
from tests.fakes.october import CHAT, OCTOBER, SCORING, october


async def _counts(deps: object) -> tuple[int, int]:
    async with deps.sessions() as session:  # type: ignore[attr-defined]
        messages = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
        claims = (await session.execute(select(func.count()).select_from(Nudge))).scalar_one()
    return messages, claims


async def test_post_without_targets_keeps_the_period_open(db_url: str, clock: ManualClock) -> None:
    bare, engine = await make_deps(db_url, clock, SCORING)
    try:
        await october(bare)
        async with bare.sessions() as session, session.begin():
            assert await queue_monthly_summary(bare, session, OCTOBER, clock.now()) == 0
        assert await _counts(bare) == (0, 0)  # nothing queued, nothing recorded

        configured = dataclasses.replace(bare, config=make_config(db_url, CHAT))
        async with configured.sessions() as session, session.begin():
            first = await queue_monthly_summary(configured, session, OCTOBER, clock.now())
        assert first > 0
        async with configured.sessions() as session, session.begin():
            assert await queue_monthly_summary(configured, session, OCTOBER, clock.now()) == 0
        clock.advance(minutes=5)
        async with configured.sessions() as session, session.begin():
            again = await queue_monthly_summary(configured, session, OCTOBER, clock.now(), force=True)
        assert again == first
        assert (await _counts(configured))[0] == 2 * first
    finally:
        await engine.dispose()


async def test_monthly_tick_records_only_what_it_sent(db_url: str, clock: ManualClock) -> None:
    bare, engine = await make_deps(db_url, clock, SCORING)
    try:
        await october(bare)
        now = datetime(2026, 11, 2, 9, 5, tzinfo=SHANGHAI)  # first working day of November
        assert await Jobs(bare, Outbox(bare.config)).monthly_summary(now) == 0
        assert await _counts(bare) == (0, 0)
        configured = dataclasses.replace(bare, config=make_config(db_url, CHAT))
        jobs = Jobs(configured, Outbox(configured.config))
        assert await jobs.monthly_summary(now.replace(minute=30)) > 0  # configured later that day: posted
        assert await jobs.monthly_summary(now.replace(minute=31)) == 0
    finally:
        await engine.dispose()


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    text = BASE_CONFIG.replace("[api]", '[database]\nurl = "sqlite+aiosqlite:///liuyan.db"\n\n[api]', 1) + extra
    path.write_text(text, encoding="utf-8")
    return path


def _outbox_rows(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "liuyan.db") as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


WECOM = """
[wecom]
enabled = true
token = "token"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
supervision_chatid = "chat-supervision"
"""


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def test_cli_post_force_and_dry_run(tmp_path: Path) -> None:
    bare = str(_config(tmp_path))
    code, out = cli("report", "monthly", "--month", "2026-10", "--post", "-c", bare)
    assert code == 0 and "未排队任何消息" in out and "仍记为未发送" in out
    code, out = cli("report", "monthly", "--month", "2026-10", "--dry-run", "-c", bare)
    assert code == 0 and "不会发送任何消息" in out

    chat = str(_config(tmp_path, WECOM))
    code, out = cli("report", "monthly", "--month", "2026-10", "--dry-run", "-c", chat)
    assert code == 0 and "试运行" in out and "督查群" in out and "chat-supervision" in out and "王科长" in out
    assert "2026年10月网民留言办理情况通报" in out
    assert _outbox_rows(tmp_path) == 0
    code, out = cli("report", "monthly", "--month", "2026-10", "--post", "-c", chat)
    assert code == 0 and "已排队发送" in out
    posted = _outbox_rows(tmp_path)
    assert posted > 0
    code, out = cli("report", "monthly", "--month", "2026-10", "--post", "-c", chat)
    assert code == 0 and "已发送过" in out and _outbox_rows(tmp_path) == posted
    code, out = cli("report", "monthly", "--month", "2026-10", "--post", "--force", "-c", chat)
    assert code == 0 and "已排队发送" in out and _outbox_rows(tmp_path) == 2 * posted
    code, out = cli("report", "monthly", "--month", "2026-10", "--force", "-c", chat)
    assert code == 2 and "--post" in out
