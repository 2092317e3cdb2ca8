"""A SQLite connection for SQLAlchemy's aiosqlite dialect that runs every statement inline, on
the calling thread, instead of on a driver thread of its own.

aiosqlite hands each call (cursor, execute, fetch, close, commit …) to the connection's thread
and back: a queue put, a loop wake-up and a wait for the GIL, about 40 round trips per inbound
event. A thread that runs nothing but database work (the inbound worker's, ``bot/runtime``) gains
nothing from that hop; through this class every awaitable completes without suspending, so the
work costs what ``sqlite3`` costs. Never use it on a loop that must stay responsive: a statement
that waits for the write lock (busy timeout) blocks its thread for that long.

Unless ``on_loop``: then the connection's own busy timeout is 0, and a statement refused with
SQLITE_BUSY (another process holds the write lock) is tried again after an ``asyncio.sleep``, in
SQLite's own steps (1, 2, 5 … 100 ms), until the busy timeout asked for (``PRAGMA busy_timeout``)
is spent: the loop serves others meanwhile. Such an engine suits the serving loop's own short
transactions (the outbox sender's): each runs from BEGIN IMMEDIATE to COMMIT without suspending,
so it holds the write lock for its CPU time only, not for a loop iteration per statement.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: SQLite's busy handler's steps (sqliteDefaultBusyCallback), in seconds
_WAITS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.025, 0.025, 0.05, 0.05, 0.1)
_BUSY_TIMEOUT = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$", re.IGNORECASE)
_BUSY_SNAPSHOT = 517  # a stale read snapshot: trying the same statement again cannot help


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY and code != _BUSY_SNAPSHOT


class _Tx:
    """What SQLAlchemy's isolation-level setter puts work on (aiosqlite's queue): run it now."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        if self._owner.on_loop:
            await self._owner.retrying(self._cursor.execute, sql, parameters)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        if self._owner.on_loop:
            parameters = list(parameters)  # an iterator would be spent by a refused first try
            await self._owner.retrying(self._cursor.executemany, sql, parameters)
        else:
            self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class _CursorContext:
    """``connection.cursor()`` of aiosqlite: awaitable and an async context manager."""

    def __init__(self, owner: InlineConnection) -> None:
        self._owner = owner

    def __await__(self) -> Any:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._owner._conn.cursor(), self._owner)

    async def __aexit__(self, *exc: object) -> None:
        return None


class InlineConnection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, conn: sqlite3.Connection, *, on_loop: bool = False, busy_ms: int = 30_000) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # truthy while open (the dialect checks it)
        self._tx = _Tx()
        self.on_loop = on_loop  # SQLITE_BUSY waited out with asyncio.sleep (see the module)
        self.busy_ms = busy_ms  # on_loop: how long a refused statement is tried again

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        cursor = InlineCursor(self._conn.cursor(), self)
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        if self.on_loop:
            await self.retrying(self._conn.commit)
        else:
            self._conn.commit()

    async def retrying(self, function: Callable[..., Any], sql: str | None = None, *args: Any) -> None:
        """``function(sql, *args)`` (or ``function()``); on SQLITE_BUSY, again after a sleep
        that lets the loop go on, until ``busy_ms`` is spent. ``PRAGMA busy_timeout`` only sets
        ``busy_ms``: SQLite itself must never wait (it would block the loop)."""
        if sql is not None and (match := _BUSY_TIMEOUT.match(sql)):
            self.busy_ms = int(match.group(1))
            sql = "PRAGMA busy_timeout=0"
        waited, step = 0.0, 0
        while True:
            try:
                if sql is None:
                    function()
                else:
                    function(sql, *args)
                return
            except sqlite3.OperationalError as exc:
                left = self.busy_ms / 1000 - waited
                if not _busy(exc) or left <= 0:
                    raise
            delay = min(_WAITS[min(step, len(_WAITS) - 1)], left)
            await asyncio.sleep(delay)
            waited += delay
            step += 1

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def connector(path: str, *, timeout: float = 30.0, on_loop: bool = False) -> Callable[[], Any]:
    """The ``async_creator`` of an engine whose connections to the SQLite file ``path`` run inline
    (a plain ``sqlite3`` connection usable from the thread that runs the engine's loop).
    ``on_loop``: the lock is waited for with ``asyncio.sleep``, never inside SQLite (see the module)."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=0 if on_loop else timeout, isolation_level=None, check_same_thread=False)
        return InlineConnection(conn, on_loop=on_loop, busy_ms=int(timeout * 1000))

    return connect
