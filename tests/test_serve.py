"""`liuyan serve` as a real process: creates and migrates the database, answers, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import BASE_CONFIG


def test_serve_starts_answers_and_stops(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        BASE_CONFIG.replace("[api]", '[server]\nport = 0\n\n[database]\nurl = "sqlite+aiosqlite:///data/x.db"\n\n[api]', 1),
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "-c", str(config)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = None
        deadline = time.monotonic() + 60
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "server did not start"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
            assert b'"database": "ok"' in resp.read()
        assert (tmp_path / "data" / "x.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
