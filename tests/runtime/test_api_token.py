"""Start-up refusals for the API token: the example value or a short token stops `serve` with one
line saying how to make one; `token = "generate"` makes one at first start, keeps it in the
database and shows it once on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.api_token import GENERATE, MIN_LENGTH, refusal
from bot.app import Runtime, build_app
from bot.cli import main
from bot.clock import ManualClock
from tests.conftest import BASE_CONFIG, make_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("token", ["change-me", "short-token-23-chars-xx", "x" * 23])
def test_weak_tokens_are_refused(token: str) -> None:
    reason = refusal(token)
    assert reason is not None and "\n" not in reason and "liuyan token generate" in reason


@pytest.mark.parametrize("token", ["", GENERATE, "x" * MIN_LENGTH])
def test_other_tokens_pass(token: str) -> None:
    assert refusal(token) is None


@pytest.mark.parametrize("token", ["change-me", "test-token"])
def test_serve_stops_on_a_weak_token_with_one_line(tmp_path: Path, token: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(BASE_CONFIG.replace('token = "test-token"', f'token = "{token}"'), encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "-c", str(config)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "liuyan token generate" in lines[0], result.output
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_token_generate_prints_a_fresh_strong_token() -> None:
    first = CliRunner().invoke(main, ["token", "generate"])
    second = CliRunner().invoke(main, ["token", "generate"])
    assert first.exit_code == 0 and second.exit_code == 0
    a, b = first.output.strip(), second.output.strip()
    assert a != b and len(a) >= MIN_LENGTH and refusal(a) is None and a.isascii() and " " not in a


async def test_generated_at_first_start_stored_and_shown_once(
    db_url: str, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    config = make_config(db_url)
    config.api.token = GENERATE
    runtime = await Runtime.start(config, clock=clock)
    if runtime.engine.dialect.name == "postgresql":  # a shared test database: start afresh
        from store.models import Setting

        async with runtime.deps.sessions() as session, session.begin():
            await session.execute(Setting.__table__.delete())
        await runtime.close()
        config.api.token = GENERATE
        runtime = await Runtime.start(config, clock=clock)
    try:
        token = runtime.config.api.token
        assert token != GENERATE and refusal(token) is None
        err = capsys.readouterr().err
        assert err.count(token) == 1
        async with TestClient(TestServer(build_app(runtime))) as client:
            resp = await client.get("/api/cases/LY2026-000001", headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 404
            resp = await client.get("/api/cases/LY2026-000001", headers={"Authorization": f"Bearer {GENERATE}"})
            assert resp.status == 401
    finally:
        await runtime.close()
    again = make_config(db_url)
    again.api.token = GENERATE
    second = await Runtime.start(again, clock=clock, migrate=False)
    try:
        assert second.config.api.token == token
        assert token not in capsys.readouterr().err
    finally:
        await second.close()


def test_the_readme_first_command_works_on_a_fresh_machine(tmp_path: Path) -> None:
    """`liuyan serve -c config.example.toml` starts (the example asks for a generated token)."""
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert 'token = "generate"' in example
    config = tmp_path / "config.example.toml"
    config.write_text(example.replace("port = 8080", "port = 0", 1), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "-c", str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "listening on" in line:
                break
        assert any("listening on" in line for line in seen), "".join(seen)
        assert any("API" in line and "token" in line.lower() for line in seen), "".join(seen)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()
