"""SIGTERM stops `liuyan serve` within 5 s with tens of thousands of stored events pending: the
event in hand is finished, the rest stays stored (no lease left behind) for the next start."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.ports import Inbound
from store import inbox
from tests.conftest import BASE_CONFIG
from tests.fakes.wecom_callbacks import WeComCallbacks

TOKEN, AES_KEY, CORP_ID, AGENT_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwshutdown0001", 1000002
BACKLOG = 20_000
CALLBACKS = 300
USERS = ["zhangsan", "limei", "wangkz", "zhaozj"]


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        BASE_CONFIG.replace('token = "test-token"', 'token = "test-token-long-enough-for-serve"').replace(
            "[api]", '[server]\nport = 0\n\n[database]\nurl = "sqlite+aiosqlite:///data/x.db"\n\n[api]', 1
        )
        + f"""
[wecom]
enabled = true
corp_id = "{CORP_ID}"
agent_id = {AGENT_ID}
secret = "s"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
api_base = "http://127.0.0.1:9"
""",
        encoding="utf-8",
    )
    return config


def _backlog(db: Path) -> None:
    """Pending events written straight into the table (as a crash after a burst leaves them)."""
    now = datetime.now(UTC)
    rows = [
        inbox.event_row(
            "wecom",
            f"backlog-{i}",
            "text",
            Inbound("wecom", USERS[i % len(USERS)], "text", 1_780_000_000 + i, text="待办").to_payload(),
            now,
        )
        for i in range(BACKLOG)
    ]
    writer = inbox.InlineSQLite(str(db), sqlite_dialect.dialect())
    try:
        for start in range(0, len(rows), 500):
            assert writer.write(rows[start : start + 500]) is not None
    finally:
        writer.close()


async def _callbacks(port: int) -> list[int]:
    cb = WeComCallbacks(TOKEN, AES_KEY, CORP_ID, agent_id=AGENT_ID, clock=lambda: int(time.time()))
    reqs = [cb.text(USERS[i % len(USERS)], "待办") for i in range(CALLBACKS)]
    sem = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as http:

        async def one(req: object) -> int:
            async with sem, http.post(f"http://127.0.0.1:{port}" + req.path_qs("/wecom/callback"), data=req.body) as r:  # type: ignore[attr-defined]
                await r.read()
                return r.status

        return await asyncio.gather(*(one(r) for r in reqs))


def test_sigterm_with_a_large_backlog_stops_within_5_s(tmp_path: Path) -> None:
    config = _config(tmp_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "bot"]
    subprocess.run([*cmd, "db", "upgrade", "-c", str(config)], check=True, env=env, capture_output=True)
    db = tmp_path / "data" / "x.db"
    _backlog(db)
    proc = subprocess.Popen(
        [*cmd, "serve", "-c", str(config)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def drain() -> None:  # keep reading: a full pipe would block the server's logging
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
            log.append(line)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
        assert port, "server did not start"
        assert asyncio.run(_callbacks(port)) == [200] * CALLBACKS
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        elapsed = time.monotonic() - started
        assert code == 0, "".join(log[-20:])
        assert elapsed < 5.0, f"SIGTERM took {elapsed:.1f} s"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()

    conn = sqlite3.connect(db)
    try:
        counts = dict(conn.execute("SELECT status, count(*) FROM inbound_events GROUP BY status").fetchall())
        leased = conn.execute(
            "SELECT count(*) FROM inbound_events WHERE status = 'pending' AND locked_until IS NOT NULL"
        ).fetchone()[0]
        counted = conn.execute(
            "SELECT count(*) FROM inbound_events WHERE status = 'pending' AND attempts > 0"
        ).fetchone()[0]
    finally:
        conn.close()
    assert sum(counts.values()) == BACKLOG + CALLBACKS  # every stored event is still there
    assert counts.get("pending", 0) > BACKLOG // 2  # left stored for the next start
    assert set(counts) <= {"pending", "done"}
    assert leased == 0  # claimed but not started: given back, the next start takes them at once
    assert counted == 0  # and their claim is not counted as an attempt
