"""Engine, sessions and migrations. The database URL decides SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import collections
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, TypeAlias

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util.concurrency import await_, in_greenlet

from store import dialect, inline_sqlite

#: What the use cases pass around: they hold a session, they never build a query with it.
Session: TypeAlias = AsyncSession
Sessions: TypeAlias = async_sessionmaker[AsyncSession]
Engine: TypeAlias = AsyncEngine
#: A unique or foreign key refused a write (e.g. two requests registering the same message).
ConstraintError = IntegrityError

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant: serialises concurrent `liuyan serve` starts migrating one PostgreSQL database.
_PG_MIGRATION_LOCK = 7_412_555_001


class DatabaseUnreachable(Exception):
    """The database cannot be opened; ``target`` names it (PostgreSQL host:port/name or the
    SQLite file) so that a start-up failure blames the database, not the listening port."""

    def __init__(self, target: str, detail: str) -> None:
        super().__init__(f"{target}: {detail}")
        self.target = target
        self.detail = detail


def describe_target(url: str) -> str:
    """``PostgreSQL 127.0.0.1:5432/liuyan`` or ``SQLite /path/liuyan.db`` (never the password)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database or ':memory:'}"
    return f"PostgreSQL {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


async def check_reachable(engine: AsyncEngine) -> None:
    """Open one connection; DatabaseUnreachable naming the database when that fails (refused,
    unknown host, wrong password, missing database, unwritable SQLite folder …)."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
        raise DatabaseUnreachable(describe_target(engine.url.render_as_string()), detail) from exc


def existing_url(url: str, base_dir: Path) -> str | None:
    """``url`` with a relative SQLite path made absolute, or None for a SQLite file that does not
    exist yet (``config check`` never creates or migrates a database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None
        path = Path(parsed.database)
        path = path if path.is_absolute() else (base_dir / path).resolve()
        if not path.exists():
            return None
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=False)


def resolve_url(url: str, base_dir: Path | None = None) -> str:
    """Make a relative SQLite path absolute (against the config file's folder) and create its folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute() and base_dir is not None:
            path = (base_dir / path).resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnreachable(f"SQLite {path}", f"cannot create {path.parent}: {exc.strerror}") from exc
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=False)


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 5, inline: bool = False, on_loop: bool = False
) -> AsyncEngine:
    """The engine of ``url``. ``inline`` (a SQLite file only): statements run on the calling
    thread instead of aiosqlite's driver thread (see :mod:`store.inline_sqlite`) — for an engine
    used by a thread of its own, never by the loop that serves requests. ``on_loop`` (with
    ``inline``): the write lock is waited for with ``asyncio.sleep``, never inside SQLite — for
    short transactions of the serving loop itself."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}  # parameters may hold personal data
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
        if inline:
            if not is_sqlite_file(url):
                raise ValueError("inline statements need a SQLite file")
            kwargs["async_creator"] = inline_sqlite.connector(str(parsed.database), on_loop=on_loop)
    else:
        kwargs["pool_size"] = pool_size
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if on_loop:
            event.listen(engine.sync_engine, "connect", _no_checkpoint_on_loop)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        for name in ("checkin", "invalidate", "close"):  # the transaction is over: next writer
            event.listen(engine.sync_engine.pool, name, _give_turn)
    return engine


def is_sqlite_file(url: str) -> bool:
    """True for a SQLite database in a file (not ``:memory:``)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and bool(parsed.database) and parsed.database != ":memory:"


#: execution option: pure reads (SQLite: deferred BEGIN on a query-only connection)
READ_ONLY = "liuyan_read_only"
#: execution option: how long a write may wait for SQLite's write lock, in milliseconds
LOCK_TIMEOUT_MS = "liuyan_lock_timeout_ms"
DEFAULT_LOCK_TIMEOUT_MS = 30_000
_STATE = "liuyan_sqlite_state"  # (query_only, busy_timeout) of a pooled connection


class WriteTurns:
    """First come, first served turns for this process's writers to one SQLite file, across
    threads and event loops (the serving loop, the inbound worker's thread).

    SQLite has one writer; a second one waits in SQLite's busy handler, which sleeps 1, 2, 5, 10,
    … up to 100 ms between looks. With the outbox sender committing every few milliseconds, a
    waiter kept looking at the wrong moment and an answer's event waited half a second for the
    lock behind bulk sends. Here a writer waits for its turn on a future resolved the moment the
    previous writer's connection goes back to the pool, then takes SQLite's lock at once (other
    processes still meet it in the busy handler)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._queue: collections.deque[_Turn] = collections.deque()

    async def acquire(self, timeout: float, *, first: bool = False) -> None:
        """Wait for the turn (at most ``timeout`` seconds: TimeoutError); ``first``: ahead of the
        writers already waiting (a callback being stored, whose answer waits for it)."""
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = _Turn(asyncio.get_running_loop())
            if first:
                self._queue.appendleft(turn)
            else:
                self._queue.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn.future), timeout)
        except BaseException:  # timed out or cancelled: give up the place, or the turn if it came
            with self._mutex:
                granted = turn.granted
                if not granted:
                    self._queue.remove(turn)
            if granted:
                self.release()
            raise

    def release(self) -> None:
        with self._mutex:
            if not self._queue:
                self._held = False
                return
            turn = self._queue.popleft()  # handed over: _held stays True
            turn.granted = True
        try:
            turn.loop.call_soon_threadsafe(_grant, turn.future)
        except RuntimeError:  # that loop is closed: nobody will take the turn
            self.release()


class _Turn:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted = False


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_TURNS: dict[str, WriteTurns] = {}
_TURNS_LOCK = threading.Lock()
_TURNS_BY_PATH: dict[str, WriteTurns] = {}  # the path as given → the turns of its real path
_TURN = "liuyan_write_turn"  # the WriteTurns a pooled connection holds, in its info


def write_turns(path: str) -> WriteTurns:
    """The turns of this process for the SQLite file ``path``."""
    turns = _TURNS_BY_PATH.get(path)  # every write transaction asks: no realpath (system calls) each time
    if turns is not None:
        return turns
    key = os.path.realpath(path)
    with _TURNS_LOCK:
        turns = _TURNS.get(key)
        if turns is None:
            turns = _TURNS[key] = WriteTurns()
        _TURNS_BY_PATH[path] = turns
        return turns


def _take_turn(conn: Connection, timeout_ms: int) -> None:
    path = conn.engine.url.database
    if not path or path == ":memory:" or not in_greenlet():
        return
    turns = write_turns(path)
    try:
        await_(turns.acquire(timeout_ms / 1000))
    except TimeoutError:
        raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")) from None
    conn.connection.info[_TURN] = turns


def _give_turn(dbapi_conn: Any, record: Any, *args: Any) -> None:
    turns = record.info.pop(_TURN, None) if record is not None else None
    if turns is not None:
        turns.release()


def _sqlite_begin(conn: Connection) -> None:
    # Writes: BEGIN IMMEDIATE takes the write lock up front so two processes never both read a
    # case and then fail to upgrade to a writer (SQLITE_BUSY_SNAPSHOT); busy_timeout makes them
    # queue. Reads: a deferred BEGIN never takes it (WAL readers see the last commit and do not
    # wait for a writer), and query_only makes a write slipped into a read session fail loudly.
    options = conn.get_execution_options()
    read = bool(options.get(READ_ONLY, False))
    timeout = int(options.get(LOCK_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT_MS))
    info = conn.connection.info  # kept with the pooled DBAPI connection
    if info.get(_STATE) != (read, timeout):  # pragmas only when this connection's role changes
        conn.exec_driver_sql(f"PRAGMA query_only={'ON' if read else 'OFF'}")
        conn.exec_driver_sql(f"PRAGMA busy_timeout={timeout}")
        info[_STATE] = (read, timeout)
    if read:
        conn.exec_driver_sql("BEGIN")
        return
    _take_turn(conn, timeout)  # this process's writers one after the other, in arrival order
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _give_turn(None, conn.connection._connection_record)
        raise


def _no_checkpoint_on_loop(dbapi_conn: Any, record: Any) -> None:
    """A commit that finds the WAL past 1,000 pages checkpoints it then and there: it copies the
    pages into the database file and fsyncs, milliseconds to far more on a busy disk. A connection
    of the serving loop leaves that to the others (the inbound worker's thread, aiosqlite's
    threads), which commit all the time and whose checkpoints block no callback."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite/aiosqlite would defer it).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; NORMAL sync is durable across process crashes in WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={DEFAULT_LOCK_TIMEOUT_MS}")
    cur.close()
    record.info[_STATE] = (False, DEFAULT_LOCK_TIMEOUT_MS)


def inline_twin(sessions: Sessions) -> AsyncEngine | None:
    """A new engine on the SQLite file ``sessions`` work on, its statements run inline on the
    calling thread (:func:`create_engine` ``inline``); None for PostgreSQL and in-memory SQLite."""
    url = dialect.sqlite_url(sessions.kw.get("bind"))
    return None if url is None else create_engine(url.render_as_string(hide_password=False), inline=True)


def loop_twin(sessions: Sessions) -> AsyncEngine | None:
    """Like :func:`inline_twin`, for the serving loop's own use: statements run inline, and the
    write lock is waited for with ``asyncio.sleep`` (``inline_sqlite``'s ``on_loop``). A
    transaction then holds the lock for its CPU time only, however busy the loop is."""
    url = dialect.sqlite_url(sessions.kw.get("bind"))
    return None if url is None else create_engine(url.render_as_string(hide_password=False), inline=True, on_loop=True)


def sessionmaker(engine: AsyncEngine, *, lock_timeout: float | None = None) -> Sessions:
    """Sessions for work that writes. ``lock_timeout`` (seconds): how long a transaction may wait
    for SQLite's write lock before failing with a "database is locked" error (see
    :func:`is_locked`); default 30 s. PostgreSQL ignores it."""
    if lock_timeout is not None:
        engine = engine.execution_options(**{LOCK_TIMEOUT_MS: int(lock_timeout * 1000)})
    return async_sessionmaker(engine, expire_on_commit=False)


def read_sessionmaker(engine: AsyncEngine) -> Sessions:
    """Sessions for pure reads (listings, pages, health): on SQLite they never wait for the write
    lock another process holds, and refuse to write."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def is_locked(exc: BaseException) -> bool:
    """True for SQLite's "database is locked/busy": the write lock was not free in time."""
    if not isinstance(exc, OperationalError):
        return False
    message = str(exc.orig if exc.orig is not None else exc).lower()
    return "database is locked" in message or "database is busy" in message


def _alembic_config(connection: Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` (idempotent; safe with several processes)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


def _current(connection: Connection) -> tuple[str | None, str | None]:
    ctx = MigrationContext.configure(connection)
    script = ScriptDirectory.from_config(_alembic_config(connection))
    return ctx.get_current_revision(), script.get_current_head()


async def revision_status(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(current revision of the database, newest revision shipped)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)
