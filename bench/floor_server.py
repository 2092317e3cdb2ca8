"""The floor for ``bench_ingress.py``: the least a careful person could write for a WeCom callback.

A bare aiohttp app: verify + decrypt with the bot's own ``WeComCrypto``, parse with the bot's
``parse_event`` / ``dedupe_key`` (so both pay the same crypto and XML cost), then one
``INSERT OR IGNORE`` per request into SQLite (WAL, synchronous=NORMAL) through the stdlib
``sqlite3`` module in autocommit mode, called directly on the event loop (a single-row insert in
WAL without fsync is tens of microseconds: cheaper than a thread hop), then an empty 200. The
insert is its own transaction and is committed when ``execute`` returns, i.e. before the answer.

    /work/venv/bin/python bench/floor_server.py --port 8091 --db /tmp/floor.db
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bot.platforms.wecom.crypto import WeComCrypto, WeComCryptoError
from bot.platforms.wecom.events import dedupe_key, parse_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound_events (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    received_at TEXT NOT NULL,
    UNIQUE (platform, dedupe_key)
)
"""
INSERT = (
    "INSERT OR IGNORE INTO inbound_events (platform, dedupe_key, kind, payload, received_at) "
    "VALUES ('wecom', ?, ?, ?, ?)"
)


def open_db(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # autocommit
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute(SCHEMA)
    return conn


def make_app(db: sqlite3.Connection, crypto: WeComCrypto) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        q = request.query
        body = await request.read()
        try:
            plain = crypto.decrypt(body, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
            event = parse_event(plain)
        except WeComCryptoError:
            return web.Response(status=400, text="bad request")
        payload = json.dumps(dataclasses.asdict(event), ensure_ascii=False)
        db.execute(INSERT, (dedupe_key(event), type(event).__name__, payload, time.strftime("%Y-%m-%d %H:%M:%S")))
        return web.Response(text="")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/wecom/callback", receive)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--aes-key", required=True)
    parser.add_argument("--corp-id", required=True)
    args = parser.parse_args()
    db = open_db(args.db)
    crypto = WeComCrypto(args.token, args.aes_key, args.corp_id)
    web.run_app(make_app(db, crypto), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
