"""A SQLite connection for SQLAlchemy's aiosqlite dialect that runs every statement inline, on
the calling thread, instead of on a driver thread of its own.

aiosqlite hands each call (cursor, execute, fetch, close, commit …) to the connection's thread
and back: a queue put, a loop wake-up and a wait for the GIL, about 40 round trips per inbound
event. A thread that runs nothing but database work (the inbound worker's, ``bot/runtime``) gains
nothing from that hop; through this class every awaitable completes without suspending, so the
work costs what ``sqlite3`` costs. Never use it on a loop that must stay responsive: a statement
that waits for the write lock (busy timeout) blocks its thread for that long.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


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
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

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
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
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

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __await__(self) -> Any:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def __aexit__(self, *exc: object) -> None:
        return None


class InlineConnection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # truthy while open (the dialect checks it)
        self._tx = _Tx()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        return _CursorContext(self._conn)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return InlineCursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

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


def connector(path: str, *, timeout: float = 30.0) -> Callable[[], Any]:
    """The ``async_creator`` of an engine whose connections to the SQLite file ``path`` run inline
    (a plain ``sqlite3`` connection usable from the thread that runs the engine's loop)."""

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False))

    return connect
