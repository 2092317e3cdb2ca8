"""The report queries (docs/reports.md; bot/reports/compute.py assembles their rows into a Report).

Tuned on a million cases (bench/bench_report.py, bench/README.md): counts are aggregated in the
database (``GROUP BY``); the cases that need the work calendar or a rule's verdict come back as
narrow Core tuples, streamed in batches, with their times as naive UTC. Change the SQL here only
with the benchmark at hand.

Time frames are given as instants: a cohort is 留言时间 in [start, end); faults are counted in
[start, limit), where limit = min(end, as-of time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    event,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy import case as when
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import aliased
from sqlalchemy.pool import NullPool

from bot.domain.archive import ARCHIVE_ELEMENTS, BLANKS, COURTESY_NOT_APPLICABLE
from bot.domain.states import PUBLIC_MODES, Route, Satisfaction, State
from store.db import Session, Sessions
from store.dialect import dialect_name, sqlite_url
from store.models import OPEN_VALUES, Case, CaseEvent, Unit

#: a reply has been submitted and not (yet) sent back: the unit's part is done
FINISHED_VALUES = (
    State.SUBMITTED.value,
    State.REVIEWED.value,
    State.APPROVED.value,
    State.REPLIED.value,
    State.CLOSED.value,
    State.ARCHIVED.value,
)
STREAM_BATCH = 5000
ID_CHUNK = 500  # ids per IN (…) list

Rows = AsyncIterator[Sequence[Any]]


# --- sessions ---------------------------------------------------------------------------------------


@asynccontextmanager
async def snapshot_session(sessions: Sessions) -> AsyncIterator[Session]:
    """A session for reading a report.

    On SQLite every session of the bot begins with BEGIN IMMEDIATE (store/db.py: the writer lock
    up front). A report that reads for seconds must not hold that lock — chat callbacks would
    queue behind it — so on SQLite it reads through its own connection with a plain, deferred
    BEGIN and ``PRAGMA query_only``: in WAL mode a reader sees one consistent snapshot and never
    blocks a writer. PostgreSQL (MVCC) uses the ordinary sessions.
    """
    url = sqlite_url(sessions.kw.get("bind"))
    if url is None:
        async with sessions() as session:
            yield session
        return
    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _reader_pragmas)
    event.listen(engine.sync_engine, "begin", _deferred_begin)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
    finally:
        await engine.dispose()


def _reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _deferred_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


# --- building blocks ---------------------------------------------------------------------------------


VOIDED = State.VOIDED.value  # 作废: kept, but counted in no statistic and no score


def _cohort(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Case.received_at >= start, Case.received_at < end, Case.state != VOIDED)


def _counts(column: Any, start: datetime, limit: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < limit)


def _n(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows meeting ``condition`` (0, not NULL, for no rows)."""
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _finished() -> ColumnElement[bool]:
    return and_(Case.state.in_(FINISHED_VALUES), Case.submitted_at.is_not(None))


def _raw(column: Any) -> Any:
    """The time column without the UTC-aware conversion of ``UTCDateTime``: naive UTC straight
    from the driver. For the streamed passes, where a Python call per value would dominate."""
    return type_coerce(column, DateTime()).label(column.key)


def _plain(column: Any, dialect: str) -> Any:
    """The column, but on SQLite as ``+column``: the same value, which the planner may not look
    up in an index. For queries that read most of the table, where SQLite would otherwise walk
    an index range (or an index in GROUP BY order) and fetch every row at random — 5–8× slower
    than a plain scan on a million cases (bench/bench_report.py)."""
    if dialect != "sqlite":
        return column
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)


async def _stream(session: Session, stmt: Any) -> Rows:
    """Rows of ``stmt`` in batches of STREAM_BATCH (a server-side cursor where the driver has one)."""
    connection = await session.connection()  # Core rows: no ORM loading machinery per row
    result = await connection.stream(stmt.execution_options(yield_per=STREAM_BATCH))
    async for batch in result.partitions(STREAM_BATCH):
        yield batch


# --- the missing archive elements ----------------------------------------------------------------------


def _blank(column: Any, dialect: str) -> ColumnElement[bool]:
    trimmed = func.btrim(column, BLANKS) if dialect == "postgresql" else func.trim(column, BLANKS)
    return or_(column.is_(None), trimmed == "")


#: archive element key → the column that holds it (``unit`` is the unit id)
ELEMENT_COLUMNS: dict[str, Any] = {
    "number": Case.number, "level": Case.level, "source": Case.source, "petitioner": Case.petitioner,
    "contact": Case.contact, "title": Case.title, "content": Case.content, "received_at": Case.received_at,
    "unit": Case.unit_id, "due_at": Case.due_at, "category": Case.category, "handling": Case.handling,
    "resolved": Case.resolved, "evaluation": Case.evaluation, "followed_up_at": Case.followed_up_at,
    "report_number": Case.report_number,
}  # fmt: skip
_TEXT_KEYS = frozenset(e.key for e in ARCHIVE_ELEMENTS if e.is_text)


def missing_mask(dialect: str) -> ColumnElement[int]:
    """An integer whose bit i is set when ``ARCHIVE_ELEMENTS[i]`` is empty (same rule as
    ``bot.domain.archive.missing_elements``: NULL, or only blanks)."""
    terms = []
    for i, element in enumerate(ARCHIVE_ELEMENTS):
        column = ELEMENT_COLUMNS[element.key]
        empty = _blank(column, dialect) if element.key in _TEXT_KEYS else column.is_(None)
        if element.key in COURTESY_NOT_APPLICABLE:  # recorded as not applicable (礼节性回复)
            empty = and_(empty, Case.route != Route.COURTESY.value)
        terms.append(when((empty, 1 << i), else_=0))
    total: Any = terms[0]
    for term in terms[1:]:
        total = total + term
    return total  # type: ignore[no-any-return]


# --- the cohort ------------------------------------------------------------------------------------------

#: the figures of ``cohort_groups`` rows, in UnitStats' names
STAT_NAMES = (
    "received",
    "assigned",
    "accepted",
    "finished",
    "finished_on_time",
    "finished_late",
    "open",
    "open_overdue",
    "replied",
    "public",
    "followed",
    "resolved",
    "satisfied",
    "basic",
    "dissatisfied",
    "extensions",
    "extended_cases",
    "interims",
    "interim_cases",
    "repeated",
    "stalled_review",
    "stalled_approval",
    "stalled_publish",
    "not_same_day",
    "courtesy",
    "transferred",
)


def _stats_columns(as_of: datetime) -> list[Any]:
    finished = _finished()
    open_ = Case.state.in_(OPEN_VALUES)
    return [
        func.count().label("received"),
        _n(Case.assigned_at.is_not(None)).label("assigned"),
        _n(Case.accepted_at.is_not(None)).label("accepted"),
        _n(finished).label("finished"),
        _n(and_(finished, Case.submitted_at <= Case.due_at)).label("finished_on_time"),
        _n(and_(finished, Case.submitted_at > Case.due_at)).label("finished_late"),
        _n(open_).label("open"),
        _n(and_(open_, Case.due_at < as_of)).label("open_overdue"),
        _n(Case.replied_at.is_not(None)).label("replied"),
        _n(and_(Case.replied_at.is_not(None), Case.reply_mode.in_(sorted(PUBLIC_MODES)))).label("public"),
        _n(and_(Case.followed_up_at.is_not(None), Case.resolved.is_not(None))).label("followed"),
        _n(and_(Case.followed_up_at.is_not(None), Case.resolved.is_(True))).label("resolved"),
        _n(Case.satisfaction == Satisfaction.SATISFIED.value).label("satisfied"),
        _n(Case.satisfaction == Satisfaction.BASICALLY.value).label("basic"),
        _n(Case.satisfaction == Satisfaction.DISSATISFIED.value).label("dissatisfied"),
        func.coalesce(func.sum(Case.extension_count), 0).label("extensions"),
        _n(Case.extension_count > 0).label("extended_cases"),
        func.coalesce(func.sum(Case.interim_count), 0).label("interims"),
        _n(Case.interim_count > 0).label("interim_cases"),
        _n(Case.duplicate_of_id.is_not(None)).label("repeated"),
        _n(_stalled(State.SUBMITTED, as_of)).label("stalled_review"),
        _n(_stalled(State.REVIEWED, as_of)).label("stalled_approval"),
        _n(_stalled(State.APPROVED, as_of)).label("stalled_publish"),
        _n(_not_same_day(as_of)).label("not_same_day"),
        _n(Case.route == Route.COURTESY.value).label("courtesy"),
        _n(Case.route == Route.TRANSFER.value).label("transferred"),
    ]


def _not_same_day(as_of: datetime) -> Any:
    """当日交办 missed (第九条): a case to be handled whose first assignment came after the close of
    office of its registration day (``assign_due_at``), or has not come and that moment has passed."""
    late = or_(
        Case.first_assigned_at > Case.assign_due_at,
        and_(Case.first_assigned_at.is_(None), Case.assign_due_at < as_of),
    )
    return and_(Case.route == Route.HANDLE.value, Case.assign_due_at.is_not(None), late)


def _stalled(state: State, as_of: datetime) -> Any:
    """A reply waiting in ``state`` for the office past its step's limit (bot/domain/steps.py)."""
    return and_(Case.state == state.value, Case.step_due_at < as_of)


async def cohort_groups(session: Session, start: datetime, end: datetime, as_of: datetime) -> list[Any]:
    """The cohort grouped by unit, category, level and source: one row per group with the
    columns ``unit_id``, ``category``, ``level``, ``source`` and ``STAT_NAMES`` (as of ``as_of``)."""
    keys = [Case.category, Case.level, Case.source]
    rows = await session.execute(
        select(Case.unit_id, *keys, *_stats_columns(as_of)).where(_cohort(start, end)).group_by(Case.unit_id, *keys)
    )
    return list(rows)


def cohort_assignments(session: Session, start: datetime, end: datetime) -> Rows:
    """Batches of (unit_id, assigned_at, accepted_at, submitted_at, state) — naive UTC — of the
    assigned cases of the cohort."""
    stmt = select(
        Case.unit_id, _raw(Case.assigned_at), _raw(Case.accepted_at), _raw(Case.submitted_at), Case.state
    ).where(_cohort(start, end), Case.assigned_at.is_not(None), Case.unit_id.is_not(None))
    return _stream(session, stmt)


async def open_overdue_by_unit(session: Session, as_of: datetime, limit: datetime) -> list[Any]:
    """Per unit id: open cases past due at ``as_of`` (``now``), and of those, past due before
    ``limit`` (``during``). Every case of the unit, whenever received; few rows, found through
    ix_cases_state_due_at."""
    rows = await session.execute(
        select(Case.unit_id, func.count().label("now"), _n(Case.due_at < limit).label("during"))
        .where(Case.state.in_(OPEN_VALUES), Case.due_at < as_of)
        .group_by(Case.unit_id)
    )
    return list(rows)


async def finished_late_by_unit(session: Session, start: datetime, limit: datetime) -> list[Any]:
    """Per unit id (``n``): finished, late, and still overdue after ``start`` (due before ``limit``)."""
    # a scan of the table (no index on submitted_at), which SQLite must not walk through an
    # index in unit order
    dialect = dialect_name(session)
    unit = _plain(Case.unit_id, dialect)
    rows = await session.execute(
        select(unit.label("unit_id"), func.count().label("n"))
        .where(
            _plain(Case.state, dialect).in_(FINISHED_VALUES),
            Case.submitted_at > start,
            Case.submitted_at > Case.due_at,
            _plain(Case.due_at, dialect) < limit,
        )
        .group_by(unit)
    )
    return list(rows)


# --- cases and their timelines ----------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRef:
    number: str
    unit_id: int | None
    received_at: datetime


async def case_refs(session: Session, ids: Iterable[int]) -> dict[int, CaseRef]:
    """文号, unit and 留言时间 of the cases ``ids`` (primary-key lookups, in chunks)."""
    refs: dict[int, CaseRef] = {}
    ordered = sorted(ids)
    for i in range(0, len(ordered), ID_CHUNK):
        rows = await session.execute(
            select(Case.id, Case.number, Case.unit_id, Case.received_at).where(Case.id.in_(ordered[i : i + ID_CHUNK]))
        )
        refs.update({r.id: CaseRef(r.number, r.unit_id, r.received_at) for r in rows})
    return refs


@dataclass(frozen=True)
class EventRow:
    id: int
    case_id: int
    action: str
    at: datetime
    data: dict[str, Any] | None


async def events_between(session: Session, actions: Sequence[str], start: datetime, limit: datetime) -> list[EventRow]:
    """The timeline entries of ``actions`` recorded in [start, limit): one scan of case_events
    (there is no index on action or time), no join — the planner would otherwise look up every
    case's events one by one."""
    stmt = select(CaseEvent.id, CaseEvent.case_id, CaseEvent.action, CaseEvent.at, CaseEvent.data).where(
        CaseEvent.action.in_(actions), _counts(CaseEvent.at, start, limit)
    )
    return [EventRow(*row) async for batch in _stream(session, stmt) for row in batch]


async def voided(session: Session, ids: Iterable[int]) -> set[int]:
    """Which of these cases are voided (作废): their timeline entries count in no score."""
    ordered = sorted(set(ids))
    found: set[int] = set()
    for i in range(0, len(ordered), ID_CHUNK):
        rows = await session.execute(
            select(Case.id).where(Case.id.in_(ordered[i : i + ID_CHUNK]), Case.state == VOIDED)
        )
        found.update(rows.scalars())
    return found


async def returned_in_cohort(session: Session, start: datetime, end: datetime) -> set[int]:
    """Ids of the cases of the cohort that were ever returned (退回)."""
    cohort = select(Case.id).where(_cohort(start, end)).scalar_subquery()
    returned = select(CaseEvent.case_id).where(CaseEvent.action == "return", CaseEvent.case_id.in_(cohort))
    return {int(r) for r in (await session.execute(returned)).scalars()}


async def assignment_history(session: Session, case_ids: Iterable[int], as_of: datetime) -> Rows:
    """Batches of (case_id, event id, action, at, data): the assignments, reassignments and
    returns of ``case_ids`` up to ``as_of``, ordered by case, then event (one batch per chunk of
    ids; a case never spans two batches)."""
    ordered = sorted(case_ids)
    for i in range(0, len(ordered), ID_CHUNK):
        stmt = (
            select(CaseEvent.case_id, CaseEvent.id, CaseEvent.action, CaseEvent.at, CaseEvent.data)
            .where(
                CaseEvent.case_id.in_(ordered[i : i + ID_CHUNK]),
                CaseEvent.action.in_(("assign", "reassign", "return")),
                CaseEvent.at <= as_of,
            )
            .order_by(CaseEvent.case_id, CaseEvent.id)
        )
        yield list(await session.execute(stmt))


# --- the score's cases ---------------------------------------------------------------------------------


def scored_cases(session: Session, earliest_assignment: datetime, start: datetime, limit: datetime) -> Rows:
    """Batches of (number, unit_id, state, assigned_at, accepted_at, due_at, submitted_at,
    followed_up_at, closed_at, resolved, satisfaction, missing) — times naive UTC, ``missing``
    the ``missing_mask`` — of the cases with an assignment since ``earliest_assignment``, or a
    deadline, a follow-up or a closing in [start, limit): one pass."""
    stmt = select(
        Case.number,
        Case.unit_id,
        Case.state,
        _raw(Case.assigned_at),
        _raw(Case.accepted_at),
        _raw(Case.due_at),
        _raw(Case.submitted_at),
        _raw(Case.followed_up_at),
        _raw(Case.closed_at),
        Case.resolved,
        Case.satisfaction,
        missing_mask(dialect_name(session)).label("missing"),
    ).where(
        or_(
            and_(Case.assigned_at >= earliest_assignment, Case.assigned_at < limit),
            _counts(Case.due_at, start, limit),
            _counts(Case.followed_up_at, start, limit),
            _counts(Case.closed_at, start, limit),
        ),
        Case.state != VOIDED,
    )
    return _stream(session, stmt)


def repeated_messages(session: Session, start: datetime, limit: datetime) -> Rows:
    """Batches of (number, received_at, 文号 of the first case, its unit id) of the repeated
    messages (重复反映) received in [start, limit) whose first case has a unit."""
    original = aliased(Case)
    stmt = (
        select(Case.number, Case.received_at, original.number, original.unit_id)
        .join(original, original.id == Case.duplicate_of_id)
        .where(_counts(Case.received_at, start, limit), original.unit_id.is_not(None), Case.state != VOIDED)
    )
    return _stream(session, stmt)


async def units(session: Session) -> list[Any]:
    """(id, name, active) of every unit."""
    return list((await session.execute(select(Unit.id, Unit.name, Unit.active))).all())


# --- breakdowns, hot subjects, trend ----------------------------------------------------------------


async def received_by_key(session: Session, start: datetime, end: datetime) -> list[Any]:
    """(category, level, source, n): the cases received in [start, end), one GROUP BY."""
    keys = [Case.category, Case.level, Case.source]
    return list(
        await session.execute(select(*keys, func.count().label("n")).where(_cohort(start, end)).group_by(*keys))
    )


async def chain_counts(session: Session, start: datetime, end: datetime, limit: int) -> list[Any]:
    """(root, n): the chains of repeated messages (the first case's id) with the most messages
    received in [start, end), at most ``limit``, most first."""
    root = func.coalesce(Case.duplicate_of_id, Case.id)
    count = func.count()
    return list(
        (
            await session.execute(
                select(root.label("root"), count.label("n"))
                .where(_cohort(start, end))
                .group_by(root)
                .having(_n(Case.duplicate_of_id.is_not(None)) >= 1)
                .order_by(count.desc(), root)
                .limit(limit)
            )
        ).all()
    )


async def chain_heads(session: Session, roots: Sequence[int]) -> dict[int, Any]:
    """Root id → (id, number, title, category, reply_mode, route) of the first case of each chain."""
    columns = (Case.id, Case.number, Case.title, Case.category, Case.reply_mode, Case.route)
    return {r.id: r for r in await session.execute(select(*columns).where(Case.id.in_(roots)))}


async def chain_sizes(session: Session, start: datetime, end: datetime, roots: Sequence[int]) -> dict[int, int]:
    """Root id → messages of that chain received in [start, end)."""
    root = func.coalesce(Case.duplicate_of_id, Case.id)
    return {
        int(k): int(n)
        for k, n in await session.execute(
            select(root, func.count()).where(_cohort(start, end), root.in_(roots)).group_by(root)
        )
    }


async def monthly_figures(session: Session, bounds: Sequence[tuple[datetime, datetime]], as_of: datetime) -> list[Any]:
    """(bucket, received, finished, on_time, late, open_overdue) per month: ``bucket`` is the
    index in ``bounds`` of the month the cases were received in; months without cases are absent."""
    finished = _finished()
    received = _plain(Case.received_at, dialect_name(session))  # a year of cases: scan, not index
    flags = (
        select(
            when(*[(received < end, i) for i, (_, end) in enumerate(bounds[:-1])], else_=len(bounds) - 1).label(
                "bucket"
            ),
            when((finished, 1), else_=0).label("finished"),
            when((and_(finished, Case.submitted_at <= Case.due_at), 1), else_=0).label("on_time"),
            when((and_(finished, Case.submitted_at > Case.due_at), 1), else_=0).label("late"),
            when((and_(Case.state.in_(OPEN_VALUES), Case.due_at < as_of), 1), else_=0).label("open_overdue"),
        )
        .where(received >= bounds[0][0], received < bounds[-1][1], Case.state != VOIDED)
        .subquery()
    )
    # grouped outside the subquery: PostgreSQL would not see two bound CASE expressions as one
    rows = await session.execute(
        select(
            flags.c.bucket,
            func.count().label("received"),
            func.sum(flags.c.finished).label("finished"),
            func.sum(flags.c.on_time).label("on_time"),
            func.sum(flags.c.late).label("late"),
            func.sum(flags.c.open_overdue).label("open_overdue"),
        ).group_by(flags.c.bucket)
    )
    return list(rows)


# --- the archive check ----------------------------------------------------------------------------------


def incomplete_records(session: Session, lo: datetime, hi: datetime, *, closed_only: bool = False) -> Rows:
    """Batches of (number, state, missing mask) of the cases received in [lo, hi) with any
    archive element missing (only closed or archived ones with ``closed_only``), in 文号 order."""
    mask = missing_mask(dialect_name(session)).label("missing")
    stmt = select(Case.number, Case.state, mask).where(Case.received_at >= lo, Case.received_at < hi, mask != 0)
    if closed_only:
        stmt = stmt.where(Case.state.in_((State.CLOSED.value, State.ARCHIVED.value)))
    return _stream(session, stmt.order_by(Case.number))
