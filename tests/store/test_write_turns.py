"""This process's writers to a SQLite file take turns in arrival order (store.db.WriteTurns): a
writer waits on a future until the previous one's connection is back in the pool, instead of
polling SQLite's lock with sleeps of up to 100 ms; a turn never waited for beyond the session's
lock timeout fails as "database is locked", and nothing is left held."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from store import db


async def _queued(turns: db.WriteTurns, n: int) -> None:
    async with asyncio.timeout(10):
        while len(turns._queue) < n:
            await asyncio.sleep(0)


async def test_writers_take_turns_in_arrival_order(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    sessions = db.sessionmaker(engine)
    turns = db.write_turns(sqlite_url.split("///", 1)[1])
    order: list[str] = []
    try:
        async with sessions() as first, first.begin():
            await first.execute(text("CREATE TABLE t (who TEXT)"))

            async def write(who: str) -> None:
                async with sessions() as session, session.begin():
                    await session.execute(text("INSERT INTO t VALUES (:w)"), {"w": who})
                    order.append(who)

            tasks = []
            for i, who in enumerate(("b", "c", "d")):
                tasks.append(asyncio.create_task(write(who)))
                await _queued(turns, i + 1)  # each waits for its turn, behind the one before
            order.append("a")
        await asyncio.gather(*tasks)
        assert order == ["a", "b", "c", "d"]
        assert not turns._held and not turns._queue
    finally:
        await engine.dispose()


async def test_a_turn_not_given_in_time_is_database_locked(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    impatient = db.sessionmaker(engine, lock_timeout=0.05)
    turns = db.write_turns(sqlite_url.split("///", 1)[1])
    try:
        async with db.sessionmaker(engine)() as holder, holder.begin():
            await holder.execute(text("SELECT 1"))
            with pytest.raises(Exception) as failed:
                async with impatient() as session, session.begin():
                    await session.execute(text("SELECT 1"))
            assert db.is_locked(failed.value)
            assert not turns._queue
        async with impatient() as session, session.begin():  # the turn came back to the pool
            await session.execute(text("SELECT 1"))
        assert not turns._held
    finally:
        await engine.dispose()


async def test_a_callback_being_stored_goes_ahead_of_the_writers_waiting(sqlite_url: str) -> None:
    """The callback's inline write, finding the lock busy, waits for its turn ahead of the
    worker's and the sender's transactions already waiting (its answer waits for it)."""
    from store import inbox

    engine = db.create_engine(sqlite_url)
    sessions = db.sessionmaker(engine)
    path = sqlite_url.split("///", 1)[1]
    turns = db.write_turns(path)
    writer = inbox.InlineSQLite.for_sessions(sessions)
    assert writer is not None
    order: list[str] = []
    row = inbox.event_row("wecom", "k1", "text", {"platform": "wecom"}, datetime(2026, 11, 2, tzinfo=UTC))
    try:
        async with sessions() as first, first.begin():
            await first.execute(text("SELECT 1"))  # holds the turn and SQLite's lock
            assert writer.write([row]) is None  # busy: the fast path gives up at once

            async def background() -> None:
                async with sessions() as session, session.begin():
                    await session.execute(text("SELECT 1"))
                    order.append("worker")

            async def callback() -> None:
                assert await writer.write_in_turn([row]) == [True]
                order.append("callback")

            worker = asyncio.create_task(background())
            await _queued(turns, 1)
            stored = asyncio.create_task(callback())
            await _queued(turns, 2)
        await asyncio.gather(worker, stored)
        assert order == ["callback", "worker"]
    finally:
        writer.close()
        await engine.dispose()


async def test_an_engine_on_the_loop_waits_for_another_process_without_blocking_it(sqlite_url: str) -> None:
    """``db.loop_twin`` (the outbox sender's engine in serve): statements run inline on the loop,
    but while another process holds the write lock the transaction waits with asyncio.sleep —
    the loop goes on — and takes the lock once it is free; past the lock timeout it fails as
    "database is locked", as any session does."""
    import sqlite3

    engine = db.create_engine(sqlite_url)
    twin = db.loop_twin(db.sessionmaker(engine))
    assert twin is not None
    path = sqlite_url.split("///", 1)[1]
    other = sqlite3.connect(path, isolation_level=None, timeout=0)  # another process's writer
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        async with db.sessionmaker(twin)() as session, session.begin():
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
        other.execute("BEGIN IMMEDIATE")
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, other.execute, "COMMIT")
        before = ticks
        async with db.sessionmaker(twin)() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES (1)"))
        assert ticks - before >= 10  # the loop ran while the write waited for the lock (~0.3 s)
        other.execute("BEGIN IMMEDIATE")
        impatient = db.sessionmaker(twin, lock_timeout=0.1)
        with pytest.raises(Exception) as failed:
            async with impatient() as session, session.begin():
                await session.execute(text("INSERT INTO t VALUES (2)"))
        assert db.is_locked(failed.value)
        other.execute("ROLLBACK")
        async with db.sessionmaker(twin)() as session:
            assert (await session.execute(text("SELECT x FROM t"))).scalars().all() == [1]
    finally:
        ticker.cancel()
        other.close()
        await twin.dispose()
        await engine.dispose()
