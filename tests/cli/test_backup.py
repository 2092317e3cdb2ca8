"""`liuyan db backup` takes a consistent copy of the SQLite database while it is being written,
`liuyan db restore` puts it back with identical counts — and is refused while `liuyan serve` runs
(issue 14)."""

from __future__ import annotations

import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from store.backup import describe, server_lock
from tests.conftest import BASE_CONFIG


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace('token = "test-token"', 'token = "test-token-long-enough-for-serve"').replace(
            "[api]", '[server]\nport = 0\n\n[database]\nurl = "sqlite+aiosqlite:///data/liuyan.db"\n\n[api]', 1
        ),
        encoding="utf-8",
    )
    return str(path)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_backup_under_write_load_restores_identical_counts(cfg: str, tmp_path: Path) -> None:
    assert cli("case", "add", "--title", "路灯不亮", "--content", "小区路灯坏了", "-c", cfg)[0] == 0
    database = tmp_path / "data" / "liuyan.db"
    conn = sqlite3.connect(database, isolation_level=None)  # two tables written together: a torn copy differs
    conn.execute("CREATE TABLE load_a (id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("CREATE TABLE load_b (id INTEGER PRIMARY KEY, v TEXT)")
    conn.close()
    stop = threading.Event()
    written = [0]
    goal = [200]
    reached = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(database, timeout=30, isolation_level=None)
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO load_a (v) VALUES (?)", ("x" * 200,))
            conn.execute("INSERT INTO load_b (v) VALUES (?)", ("y" * 200,))
            conn.execute("COMMIT")
            written[0] += 1
            if written[0] >= goal[0]:
                reached.set()
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert reached.wait(60)
        code, out = cli("db", "backup", str(tmp_path / "copy.db"), "-c", cfg)
        reached.clear()
        goal[0] = written[0] + 200  # still writing after the backup
        assert reached.wait(60)
    finally:
        stop.set()
        thread.join()
    assert code == 0 and "已备份到" in out and "1 件留言" in out, out
    copy = _counts(tmp_path / "copy.db")
    assert copy["load_a"] == copy["load_b"] >= 200  # a consistent snapshot
    assert _counts(database)["load_a"] > copy["load_a"]  # taken while the writer went on
    assert not (tmp_path / "copy.db-wal").exists()  # one self-contained file

    code, out = cli("db", "restore", str(tmp_path / "copy.db"), "--yes", "-c", cfg)
    assert code == 0 and "已恢复" in out and "恢复前的数据库已另存为" in out, out
    assert _counts(database) == copy
    code, out = cli("case", "list", "-c", cfg)
    assert code == 0 and "路灯不亮" in out


def test_restore_checks_the_file_and_asks(cfg: str, tmp_path: Path) -> None:
    assert cli("db", "upgrade", "-c", cfg)[0] == 0
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    code, out = cli("db", "restore", str(junk), "--yes", "-c", cfg)
    assert code == 1 and "junk.db" in out and len(out.strip().splitlines()) == 1
    assert cli("db", "backup", str(tmp_path / "b.db"), "-c", cfg)[0] == 0
    result = CliRunner().invoke(main, ["db", "restore", str(tmp_path / "b.db"), "-c", cfg], input="n\n")
    assert result.exit_code == 1 and "已取消" in result.output


def test_postgresql_names_its_tools(tmp_path: Path) -> None:
    path = tmp_path / "pg.toml"
    path.write_text('[database]\nurl = "postgresql+asyncpg://postgres@db.example:5432/liuyan"\n', encoding="utf-8")
    code, out = cli("db", "backup", "x.dump", "-c", str(path))
    assert code == 1 and "pg_dump" in out and "db.example" in out
    code, out = cli("db", "restore", "x.dump", "-c", str(path))
    assert code == 1 and "pg_restore" in out


def test_serve_does_not_start_during_a_restore(cfg: str, tmp_path: Path) -> None:
    with server_lock(tmp_path / "data" / "liuyan.db", exclusive=True):
        code, out = cli("serve", "-c", cfg)
    assert code == 1 and "正在恢复" in out


def test_restore_is_refused_while_serving(cfg: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "-c", cfg],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        started = False
        while not started and time.monotonic() < deadline:
            try:
                started = bool(re.search(r"listening on", lines.get(timeout=max(0.1, deadline - time.monotonic()))))
            except queue.Empty:
                break
        assert started, "server did not start"
        code, out = cli("db", "backup", str(tmp_path / "live.db"), "-c", cfg)
        assert code == 0, out
        code, out = cli("db", "restore", str(tmp_path / "live.db"), "--yes", "-c", cfg)
        assert code == 1 and "liuyan serve" in out and "停止" in out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()
    code, out = cli("db", "restore", str(tmp_path / "live.db"), "--yes", "-c", cfg)
    assert code == 0, out
    assert describe(tmp_path / "data" / "liuyan.db").counts["cases"] == 0
