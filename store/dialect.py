"""The one place that tells SQLite from PostgreSQL, and the statements whose spelling differs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend ``session`` is bound to."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def is_postgres(session: AsyncSession) -> bool:
    return dialect_name(session) == "postgresql"


def insert_ignore(
    session: AsyncSession,
    target: Any,
    conflict: Sequence[str],
    values: dict[str, Any] | None = None,
    returning: Sequence[str] = (),
) -> Any:
    """INSERT … ON CONFLICT (``conflict``) DO NOTHING for SQLite and PostgreSQL.

    ``target`` is a mapped class or a Table; with ``returning`` the statement yields only the rows
    really inserted (with a list of parameter sets SQLAlchemy sends one multi-row INSERT)."""
    maker = pg_insert if is_postgres(session) else sqlite_insert
    stmt: Any = maker(target)
    if values is not None:
        stmt = stmt.values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    if returning:
        table: Table = target if isinstance(target, Table) else target.__table__
        stmt = stmt.returning(*(table.c[name] for name in returning))
    return stmt


def sqlite_url(bind: Any) -> URL | None:
    """The URL of the SQLite database file ``bind`` (an engine or connection) works on; None for
    PostgreSQL and for an in-memory SQLite database."""
    url: URL | None = getattr(bind, "url", None)
    if url is None or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url


def sqlite_insert_ignore_sql(
    table: str, columns: Sequence[str], conflict: Sequence[str], returning: Sequence[str], rows: int
) -> str:
    """The qmark SQL of a ``rows``-row INSERT … ON CONFLICT DO NOTHING RETURNING, for a raw
    ``sqlite3`` connection (the inbound store's fast path, ``store.inbox.InlineSQLite``)."""
    one = "(" + ", ".join("?" * len(columns)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join([one] * rows)
        + f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}"
    )
