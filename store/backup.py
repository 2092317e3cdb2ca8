"""Backups of the SQLite database: a consistent copy taken while the bot serves (SQLite's online
backup API: one step, inside a read transaction, so writers in WAL mode go on meanwhile), and
putting one back — only while no `liuyan serve` has the database open.

`liuyan serve` holds a shared ``flock`` on ``<database>.serve.lock`` for as long as it runs; a
restore takes the exclusive lock without waiting, so it is refused while any server runs, and a
server cannot start during a restore. The lock dies with its process: no stale pid files.
PostgreSQL is backed up with its own tools (pg_dump / pg_restore, README "备份与恢复").
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

try:  # POSIX; on Windows the restore cannot see a running server and says so
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

#: tables whose row counts are reported (and compared by the tests)
REPORTED = (("cases", "件留言"), ("case_events", "条办理记录"), ("people", "名人员"), ("units", "个单位"))


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why (Chinese)."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    counts: dict[str, int]
    revision: str | None

    def summary(self) -> str:
        parts = [f"{self.counts.get(t, 0)} {word}" for t, word in REPORTED]
        return "，".join(parts) + f"，结构版本 {self.revision or '-'}，{self.size / 1024:.0f} KB"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (already resolved), or None for another backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("内存数据库无法备份")
    return Path(parsed.database)


def postgres_command(url: str, verb: str) -> str:
    """The pg_dump (``verb`` "backup") or pg_restore command line for the database at ``url``."""
    u = make_url(url)
    target = f"-h {u.host or 'localhost'} -p {u.port or 5432} -U {u.username or 'postgres'} -d {u.database}"
    if verb == "backup":
        return f"pg_dump -Fc {target} -f FILE.dump"
    return f"pg_restore --clean --if-exists {target} FILE.dump"


def lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".serve.lock")


@contextlib.contextmanager
def server_lock(database: Path, *, exclusive: bool) -> Iterator[None]:
    """Shared: held by every `liuyan serve`; exclusive: held by a restore. Never waits: BackupError
    when the other kind is held."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file(database), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            if exclusive:
                raise BackupError(
                    f"liuyan serve 正在使用数据库 {database}：请先停止服务再恢复（a server is running）"
                ) from exc
            raise BackupError(f"数据库 {database} 正在恢复中，请稍后再启动（a restore is running）") from exc
        yield
    finally:
        os.close(fd)  # releases the lock


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def describe(path: Path) -> BackupInfo:
    """Row counts and schema revision of a liuyan SQLite file; BackupError when it is not one or is
    damaged."""
    if not path.is_file():
        raise BackupError(f"文件不存在：{path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} 无法打开（{exc}）") from exc
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "cases" not in tables or "alembic_version" not in tables:
            raise BackupError(f"{path} 不是 liuyan 的数据库备份（缺少 cases 表）")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path} 已损坏（{check}）")
        counts = {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in sorted(tables)}
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} 不是有效的 SQLite 数据库（{exc}）") from exc
    finally:
        conn.close()
    return BackupInfo(path=path, size=path.stat().st_size, counts=counts, revision=row[0] if row else None)


def _copy(source: Path, dest: Path) -> None:
    """SQLite's online backup of ``source`` into ``dest`` in one step (a consistent snapshot)."""
    src = _connect(source)
    try:
        dst = _connect(dest)
        try:
            src.backup(dst)  # pages=-1: all pages in one step, within one read transaction
        finally:
            dst.close()
    finally:
        src.close()


def backup_sqlite(database: Path, dest: Path) -> BackupInfo:
    """A consistent copy of ``database`` at ``dest`` (written aside, then renamed), as one
    self-contained file (rollback journal, no -wal beside it). Safe while the bot serves."""
    if not database.is_file():
        raise BackupError(f"数据库文件不存在：{database}")
    if dest.resolve() == database.resolve():
        raise BackupError("备份文件不能是数据库本身")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        _copy(database, tmp)
        conn = _connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        raise BackupError(f"无法写入 {dest}：{exc.strerror or exc}") from exc
    except sqlite3.Error as exc:
        raise BackupError(f"备份失败：{exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return describe(dest)


def restore_sqlite(backup: Path, database: Path, *, now: datetime) -> tuple[BackupInfo, Path | None]:
    """Put ``backup`` in place of ``database``, refusing while a server runs. The database as it
    was is first saved beside it (``<name>.before-restore-<time>``). Returns the restored
    database's description and that saved copy."""
    info = describe(backup)
    with server_lock(database, exclusive=True):
        saved = None
        if database.exists():
            saved = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
            backup_sqlite(database, saved)
        try:
            _copy(backup, database)
        except sqlite3.Error as exc:
            raise BackupError(f"恢复失败：{exc}（原数据库已另存为 {saved}）") from exc
    restored = describe(database)
    if restored.counts != info.counts:  # pragma: no cover - the backup API copies every page
        raise BackupError(f"恢复后的数据与备份不一致（原数据库已另存为 {saved}）")
    return restored, saved
