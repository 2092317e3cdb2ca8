"""`liuyan serve` as a real process: creates and migrates the database, answers, stops on SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.conftest import BASE_CONFIG


def test_serve_starts_answers_and_stops(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        BASE_CONFIG.replace(
            "[api]", '[server]\nport = 0\n\n[database]\nurl = "sqlite+aiosqlite:///data/x.db"\n\n[api]', 1
        ).replace('token = "test-token"', 'token = "test-token-long-enough-for-serve"'),  # serve refuses weak ones
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "-c", str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:  # keep reading: a full pipe would block the server's logging
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
            assert b'"database": "ok"' in resp.read()
        assert (tmp_path / "data" / "x.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()


def test_serve_freezes_what_start_up_built(tmp_path: Path) -> None:
    """What start-up built is out of the garbage collector's sight before the first request: a
    full collection then scans only what requests create (before, each took 100–140 ms under
    load: a stall of every connection, the acks' p99). Run in a process of its own."""
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace(
            "[api]", '[server]\nport = 0\n\n[database]\nurl = "sqlite+aiosqlite:///data/x.db"\n\n[api]', 1
        ).replace('token = "test-token"', 'token = "test-token-long-enough-for-serve"'),
        encoding="utf-8",
    )
    script = f"""
import asyncio, gc, os, signal
from bot.app import serve
from bot.config import load_config

def ready(port):
    print("frozen", gc.get_freeze_count(), flush=True)
    asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)  # a clean stop

asyncio.run(serve(load_config({str(path)!r}), ready=ready))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    frozen = int(re.search(r"frozen (\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    assert frozen > 10_000
