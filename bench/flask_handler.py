"""The hand-written reference for ``bench_ingress.py``: Flask + wechatpy + sqlite3 under gunicorn.

What people usually write: wechatpy's ``WeChatCrypto.decrypt_message`` (signature check and
AES), ``wechatpy.enterprise.parse_message`` (xmltodict), and the Flask tutorial's database
pattern (a ``sqlite3`` connection per request in ``flask.g``, closed on teardown) with one
``INSERT OR IGNORE`` and ``commit()`` before the empty 200. The schema and the dedupe key are
the same as the bot's so the exactly-once check reads every server's database the same way.

    BENCH_DB=/tmp/flask.db BENCH_TOKEN=... BENCH_AES_KEY=... BENCH_CORP_ID=... \
        /work/venv/bin/gunicorn -w 4 -k sync -b 127.0.0.1:8092 bench.flask_handler:app
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

from flask import Flask, abort, g, request
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

DB = os.environ["BENCH_DB"]
crypto = WeChatCrypto(os.environ["BENCH_TOKEN"], os.environ["BENCH_AES_KEY"], os.environ["BENCH_CORP_ID"])
app = Flask(__name__)

_schema = sqlite3.connect(DB, timeout=30)
_schema.execute("PRAGMA journal_mode=WAL")  # persistent: every later connection is in WAL
_schema.execute(
    "CREATE TABLE IF NOT EXISTS inbound_events (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, "
    "dedupe_key TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', "
    "received_at TEXT NOT NULL, UNIQUE (platform, dedupe_key))"
)
_schema.commit()
_schema.close()


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(DB, timeout=30)
        g.db.execute("PRAGMA synchronous=NORMAL")
    return g.db


@app.teardown_appcontext
def close_db(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.post("/wecom/callback")
def callback() -> tuple[str, int]:
    args = request.args
    try:
        xml = crypto.decrypt_message(
            request.get_data(), args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
        )
    except (InvalidSignatureException, InvalidAppIdException):
        abort(400)
    msg = parse_message(xml)
    data = msg._data  # template_card_event is not one of wechatpy's event classes
    if msg.type == "text":
        key = str(data["MsgId"])
    else:
        key = "|".join(str(data.get(k, "")) for k in ("FromUserName", "CreateTime", "Event", "TaskId", "EventKey"))
    db = get_db()
    db.execute(
        "INSERT OR IGNORE INTO inbound_events (platform, dedupe_key, kind, payload, received_at) "
        "VALUES ('wecom', ?, ?, ?, ?)",
        (key, msg.type, json.dumps(data, ensure_ascii=False), time.strftime("%Y-%m-%d %H:%M:%S")),
    )
    db.commit()
    return "", 200


@app.get("/healthz")
def healthz() -> str:
    return "ok"
