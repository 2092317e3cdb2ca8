"""The serving loop never checkpoints the WAL (a checkpoint copies pages and fsyncs: a callback
committing then would wait for the disk); the other connections still do, so the WAL stays short."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from store import db
from store.inbox import InlineSQLite


def _wal_pages(path: str) -> int:
    wal = Path(path + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


async def test_only_connections_off_the_loop_checkpoint(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    sessions = db.sessionmaker(engine)
    loop_engine = db.loop_twin(sessions)
    assert loop_engine is not None
    inline = InlineSQLite.for_sessions(sessions)
    assert inline is not None
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 1000
        async with loop_engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
        conn = inline._connect()
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        conn.close()
        # the loop's writes let the WAL grow past the autocheckpoint size …
        path = inline.path
        now = datetime.now(UTC)

        def event(i: int) -> dict[str, object]:
            return {
                "platform": "wecom",
                "dedupe_key": f"k{i}",
                "kind": "text",
                "payload": {"text": "x" * 3000},
                "status": "pending",
                "attempts": 0,
                "received_at": now,
            }

        for i in range(1500):
            assert inline.write([event(i)]) == [True]
        assert _wal_pages(path) > 1000
        # … and the next commit of an ordinary connection checkpoints it all, so the loop's next
        # write starts the WAL over from its first frame
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE inbound_events SET attempts = 1 WHERE id = 1"))
        assert inline.write([event(1500)]) == [True]
        probe = sqlite3.connect(path)  # a checkpoint outside any transaction
        busy, log, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        probe.close()
        assert busy == 0 and log < 20, (busy, log, done)
    finally:
        if inline._conn is not None:
            inline._conn.close()
        await loop_engine.dispose()
        await engine.dispose()
    assert os.path.exists(path)
