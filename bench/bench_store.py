"""Benchmark: the due-case query (``store.repo.due_cases``) on a large ``cases`` table.

    /work/venv/bin/python bench/bench_store.py --backend sqlite|postgres|both \
        [--cases 1000000] [--matches 1000] [--sizes 100000,1000000] [--match-counts 0,1000,10000]

For each backend and table size it builds a fresh database (SQLite: a file under bench/out/,
deleted afterwards unless --keep; PostgreSQL: database ``liuyan_bench``, created on the
``postgres`` database if missing, schema ``public`` dropped and recreated), runs
``store.db.upgrade`` (the real Alembic migrations) and bulk-loads the cases: raw executemany
in 10k batches on SQLite, ``COPY`` (asyncpg ``copy_records_to_table``) on PostgreSQL.

The mix: ~80 % closed/archived (deadline in the past), ~4 % in the reply pipeline
(submitted/reviewed/approved/replied, deadline in [now-10 d, now+30 d], i.e. *not* open but
often inside the query's range), ~1 % registered/returned (no deadline), ~15 % open
(assigned/accepted/extension_requested) due in [now+2 h, now+30 d]. In addition 10,000 (or
max --match-counts) "window" rows spread at random ids have a deadline in [now-10 d, now+1 h)
and are loaded open; match counts run largest first, and for each count M the window rows
beyond the first M are closed by UPDATE (then ANALYZE; VACUUM ANALYZE on PostgreSQL), so the
table size stays fixed while exactly M rows match.

Measured: ``await repo.due_cases(session, now + 1 h)`` in a fresh session per call (includes
BEGIN and ORM hydration), --runs calls after --warmup calls; the "driver" column runs the very
SQL text and parameters that call sent (captured from the engine) with ``exec_driver_sql`` and
fetches all rows, i.e. database + driver without the ORM. Every result is checked: exactly M
rows, all open, all due by ``until``, ordered by due_at. The plan of the captured statement is
printed (SQLite ``EXPLAIN QUERY PLAN``; PostgreSQL ``EXPLAIN (ANALYZE, BUFFERS)``, plus the
generic plan a cached prepared statement may switch to); "plan ok" means the plan EXPLAIN
shows for the real parameters uses ix_cases_state_due_at and scans no table. With
--candidate-index the bench database also gets the partial index ix_cases_open_due_at (the
change this benchmark suggests; the models are not touched) and the check accepts it too.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import sqlalchemy
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from store import repo
from store.db import create_engine, sessionmaker, upgrade
from store.models import Case

OUT = Path(__file__).resolve().parent / "out"
INDEX = "ix_cases_state_due_at"
# --candidate-index: a partial index created in the throwaway bench database only (not in the
# models), to measure the change this benchmark suggests for PostgreSQL.
CANDIDATE = "ix_cases_open_due_at"
CANDIDATE_SQL = (
    f"CREATE INDEX {CANDIDATE} ON cases (due_at) WHERE state IN ('assigned', 'accepted', 'extension_requested')"
)
INDEXES: tuple[str, ...] = (
    INDEX,
    "ix_cases_open_due_at",
)  # indexes the plan check accepts (the partial one is in the schema now)
OPEN = list(repo.OPEN_VALUES)  # assigned, accepted, extension_requested
PIPELINE = ["submitted", "reviewed", "approved", "replied"]
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/liuyan_bench"
BATCH = 10_000
N_UNITS = 50

COLUMNS = [
    "id", "number", "version", "state", "level", "source", "source_ref", "petitioner",
    "contact_key", "title", "title_key", "content", "received_at", "category", "unit_id",
    "co_unit_ids", "due_at", "complex", "urgent", "needs_leader", "calendar_source",
    "assigned_at", "accepted_at", "closed_at", "archived_at", "extension_count",
    "interim_count", "created_at", "updated_at",
]  # fmt: skip
DT_COLS = {i for i, c in enumerate(COLUMNS) if c.endswith("_at")}
BOOL_COLS = {i for i, c in enumerate(COLUMNS) if c in ("complex", "urgent", "needs_leader")}
STATE_COL = COLUMNS.index("state")

LEVELS = ["市级", "区级", "街道"]
SOURCES = ["wecom", "dingtalk", "12345", "web"]
CATEGORIES = ["城市管理", "住房建设", "交通出行", "教育", "医疗卫生", "劳动保障", "环境保护", "市场监管"]
SUBJECTS = ["小区噪音扰民", "道路破损积水", "物业费争议", "学校招生咨询", "拖欠工资", "垃圾清运不及时",
            "公交线路调整", "违章建筑", "油烟污染", "医保报销"]  # fmt: skip
CONTENT = "反映人称近期该问题反复出现，已多次与相关方面沟通未果，影响日常生活，请求有关部门尽快核实处理并答复。"


# --- data ----------------------------------------------------------------------------------


def gen_rows(size: int, now: datetime, window: dict[int, int], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Rows of naive-UTC values in COLUMNS order (ids 1..size); ``window`` maps id -> rank."""
    naive = now.replace(tzinfo=None)
    day, hour = timedelta(days=1), timedelta(hours=1)
    for i in range(1, size + 1):
        r = rng.random()
        assigned = accepted = closed = archived = None
        rank = window.get(i)
        if rank is not None:  # due in [now-10 d, now+1 h), loaded open; set_matches closes some
            state = OPEN[rank % 3]
            due = naive - 10 * day + rng.random() * (10 * day + hour - timedelta(minutes=1))
            received = due - 21 * day
            assigned = received + hour
            accepted = None if state == OPEN[0] else assigned + hour
        elif r < 0.15:  # open, due later than now+1 h
            state = OPEN[0] if r < 0.075 else OPEN[1] if r < 0.135 else OPEN[2]
            due = naive + 2 * hour + rng.random() * (30 * day - 2 * hour)
            received = naive - rng.random() * 20 * day
            assigned = received + hour
            accepted = None if state == OPEN[0] else assigned + hour
        elif r < 0.19:  # reply pipeline: not open, deadline may fall inside the query's range
            state = PIPELINE[min(3, int((r - 0.15) / 0.01))]
            due = naive + rng.uniform(-10, 30) * day
            received = naive - rng.random() * 30 * day
            assigned = accepted = received + hour
        elif r < 0.20:
            state = "registered" if r < 0.195 else "returned"
            due = None
            received = naive - rng.random() * 3 * day
        else:  # history, spread over ~8 years
            state = "closed" if r < 0.60 else "archived"
            received = naive - (30 + rng.random() * 2900) * day
            due = received + rng.uniform(15, 30) * day
            assigned = accepted = received + hour
            closed = received + rng.uniform(5, 30) * day
            archived = closed + 7 * day if state == "archived" else None
        subject = SUBJECTS[i % len(SUBJECTS)]
        title = f"关于{subject}的问题（{i}）"
        yield (
            i, f"B{received.year}-{i:07d}", 1, state, LEVELS[i % 3], SOURCES[i % 4], f"ref-{i}",
            f"市民{i % 99991}", f"{13800000000 + i * 7919 % 100000000}"[-11:], title, title,
            f"{subject}。{CONTENT}", received, CATEGORIES[i % len(CATEGORIES)], 1 + i % N_UNITS,
            "[]", due, i % 10 == 0, i % 25 == 0, i % 50 == 0, "hours" if due else None,
            assigned, accepted, closed, archived, 0, 0, received, closed or received,
        )  # fmt: skip


def sqlite_value(dt: datetime | None) -> str | None:
    # the exact text SQLAlchemy's SQLite DateTime stores (checked against it in check_format())
    return None if dt is None else dt.isoformat(" ", "microseconds")


def check_format(engine: AsyncEngine, now: datetime) -> None:
    proc = Case.__table__.c.due_at.type._cached_bind_processor(engine.dialect)
    assert proc is not None
    for probe in (now, now.replace(microsecond=0), now - timedelta(days=3000)):
        assert proc(probe) == sqlite_value(probe.replace(tzinfo=None)), (proc(probe), probe)


# --- databases -----------------------------------------------------------------------------


async def fresh_database(backend: str, pg_url: str, size: int) -> tuple[AsyncEngine, Path | None]:
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"bench_store_{size}.db"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        return create_engine(f"sqlite+aiosqlite:///{path}"), path
    url = make_url(pg_url)
    if url.database in (None, "test", "postgres"):
        raise SystemExit(f"refusing to reset database {url.database!r}: use a dedicated one (liuyan_bench)")
    admin = create_engine(url.set(database="postgres").render_as_string(hide_password=False))
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database})
        if not exists:
            await conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    await admin.dispose()
    engine = create_engine(pg_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    return engine, None


async def load(engine: AsyncEngine, backend: str, size: int, now: datetime, order: list[int], seed: int) -> None:
    rng = random.Random(seed)
    rows = gen_rows(size, now, {case_id: rank for rank, case_id in enumerate(order)}, rng)
    naive = now.replace(tzinfo=None)
    units = [(u, f"单位{u:02d}", f"U{u:02d}", True, naive) for u in range(1, N_UNITS + 1)]
    if backend == "sqlite":
        cols = ", ".join(COLUMNS)
        sql = f"INSERT INTO cases ({cols}) VALUES ({', '.join('?' * len(COLUMNS))})"

        def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
            out = list(row)
            for j in DT_COLS:
                out[j] = sqlite_value(out[j])
            for j in BOOL_COLS:
                out[j] = int(out[j])
            return tuple(out)

        async with engine.begin() as conn:
            await conn.exec_driver_sql("PRAGMA cache_size = -1048576")  # 1 GiB page cache for the load
            await conn.exec_driver_sql(
                "INSERT INTO units (id, name, code, active, created_at) VALUES (?, ?, ?, ?, ?)",
                [(u, n, c, int(a), sqlite_value(t)) for u, n, c, a, t in units],
            )
        done = 0
        while done < size:
            async with engine.begin() as conn:  # commit every 100k rows (bounded WAL)
                for _ in range(10):
                    batch = [convert(r) for _, r in zip(range(BATCH), rows, strict=False)]
                    if not batch:
                        break
                    await conn.exec_driver_sql(sql, batch)
                    done += len(batch)
        async with engine.connect() as conn:  # outside a transaction: the driver connection itself
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        return
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        apg: asyncpg.Connection = raw.driver_connection
        async with apg.transaction():
            await apg.copy_records_to_table(
                "units", records=units, columns=["id", "name", "code", "active", "created_at"]
            )
            await apg.copy_records_to_table("cases", records=rows, columns=COLUMNS)
            for table in ("units", "cases"):
                await apg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")


async def set_matches(engine: AsyncEngine, backend: str, order: list[int], current: int, matches: int) -> None:
    """Make the first `matches` window rows open, the rest closed, updating only the rows that change.

    Match counts are run largest first, so on PostgreSQL the matching rows are the tuples as
    loaded (spread over the heap), not fresh UPDATE versions packed into a few new pages."""
    if matches == current:
        return
    lo, hi = sorted((current, matches))
    params = [(OPEN[k % 3] if k < matches else "closed", order[k]) for k in range(lo, hi)]
    sql = (
        "UPDATE cases SET state = ? WHERE id = ?"
        if backend == "sqlite"
        else "UPDATE cases SET state = $1 WHERE id = $2"
    )
    async with engine.begin() as conn:
        await conn.exec_driver_sql(sql, params)
    await analyze(engine, backend)


async def analyze(engine: AsyncEngine, backend: str) -> None:
    async with engine.connect() as conn:
        if backend == "sqlite":
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
        else:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM (ANALYZE) cases")


# --- measurement ---------------------------------------------------------------------------


@dataclass
class Captured:
    sql: str = ""
    params: Any = None


def capture_due_sql(engine: AsyncEngine) -> Captured:
    """Record the SQL text and DBAPI parameters of the last due-case query the engine sent."""
    cap = Captured()

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("SELECT") and "FROM cases" in statement and "ORDER BY cases.due_at" in statement:
            cap.sql, cap.params = statement, parameters

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return cap


@dataclass
class Plan:
    lines: list[str]
    ok: bool
    notes: str
    generic: list[str]


PG_INDEX_RE = re.compile(r"(?:Index Scan using|Bitmap Index Scan on|Index Only Scan using) (\S+)")


def _pg_uses_index(lines: list[str]) -> bool:
    used = {m.group(1) for line in lines for m in PG_INDEX_RE.finditer(line)}
    return bool(used & set(INDEXES)) and not any("Seq Scan on cases" in line for line in lines)


def _pg_notes(plan: list[str], generic: list[str]) -> str:
    notes = [f"index {m.group(1)}" for m in PG_INDEX_RE.finditer("\n".join(plan))][:1]
    child = next((line for line in plan if "->" in line), "")  # the Limit's input: every row the planner expects
    est = re.search(r"rows=(\d+)", child)
    if est:
        notes.append(f"est {int(est.group(1)):,} rows")
    if any("Gather" in line for line in plan):
        notes.append("parallel")
    if any("Seq Scan on cases" in line for line in plan):
        notes.append("SEQ SCAN")
    if any(line.startswith("JIT:") for line in plan):
        notes.append("JIT")
    if any("external merge" in line for line in plan):
        notes.append("sort spills to disk")
    generic_index = [m.group(1) for m in PG_INDEX_RE.finditer("\n".join(generic))][:1]
    seq = any("Seq Scan on cases" in line for line in generic)
    notes.append("generic plan: " + ("SEQ SCAN" if seq else " ".join(generic_index) or "?"))
    return ", ".join(notes)


async def explain(engine: AsyncEngine, backend: str, cap: Captured) -> Plan:
    async with engine.connect() as conn:
        if backend == "sqlite":
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + cap.sql, cap.params)).all()
            await conn.rollback()
            plan = [str(r[-1]) for r in rows]
            used = {m.group(1) for line in plan for m in re.finditer(r"USING (?:COVERING )?INDEX (\S+)", line)}
            ok = bool(used & set(INDEXES)) and not any(line.startswith("SCAN cases") for line in plan)
            notes = ", ".join(f"index {name}" for name in sorted(used))
            if any("TEMP B-TREE" in line for line in plan):
                notes += ", sorts the matches (temp b-tree)"
            return Plan(plan, ok, notes, [])
        rows = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + cap.sql, cap.params)).all()
        plan = [r[0] for r in rows]
        # the generic plan a cached prepared statement may switch to after 5 executions
        await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        await conn.exec_driver_sql("PREPARE bench_due AS " + cap.sql)
        args = ", ".join(
            f"'{p:%Y-%m-%d %H:%M:%S.%f}'" if isinstance(p, datetime) else repr(p) if isinstance(p, str) else str(p)
            for p in cap.params
        )
        rows = (await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_due({args})")).all()
        generic = [r[0] for r in rows]
        await conn.exec_driver_sql("DEALLOCATE bench_due")
        await conn.exec_driver_sql("RESET plan_cache_mode")
        await conn.rollback()
        return Plan(plan, _pg_uses_index(plan), _pg_notes(plan, generic), generic)


def compact(lines: list[str]) -> list[str]:
    """Plan nodes only (plus execution time), for the non-headline match counts."""
    keep = ("->", "Execution Time", "Timing:")
    return [line for k, line in enumerate(lines) if k == 0 or any(t in line for t in keep)]


def stats(samples: list[float]) -> tuple[float, float]:
    ms = [s * 1000 for s in samples]
    return statistics.median(ms), statistics.quantiles(ms, n=20, method="inclusive")[-1]


async def candidate_due_cases(session: AsyncSession, until: datetime, limit: int = 10_000) -> list[Case]:
    """repo.due_cases with the open states rendered as SQL literals (only with --candidate-index):
    a prepared statement's generic plan can then prove the partial index's WHERE clause too."""
    states: Any = bindparam("open_states", list(OPEN), expanding=True, literal_execute=True)
    stmt = select(Case).where(Case.state.in_(states), Case.due_at <= until).order_by(Case.due_at).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def measure(
    engine: AsyncEngine, cap: Captured, query: Any, until: datetime, matches: int, runs: int, warmup: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    sessions = sessionmaker(engine)
    orm: list[float] = []
    for k in range(warmup + runs):
        async with sessions() as session:
            t0 = time.perf_counter()
            cases = await query(session, until)
            elapsed = time.perf_counter() - t0
        if k >= warmup:
            orm.append(elapsed)
        if k == 0:
            assert len(cases) == matches, f"due_cases returned {len(cases)} rows, expected {matches}"
            assert all(c.state in OPEN and c.due_at is not None and c.due_at <= until for c in cases)
            assert all(a.due_at <= b.due_at for a, b in zip(cases, cases[1:], strict=False))
    driver: list[float] = []
    async with engine.connect() as conn:
        for k in range(warmup + runs):
            t0 = time.perf_counter()
            rows = (await conn.exec_driver_sql(cap.sql, cap.params)).all()
            elapsed = time.perf_counter() - t0
            await conn.rollback()
            if k >= warmup:
                driver.append(elapsed)
            assert len(rows) == matches
    return stats(orm), stats(driver)


# --- main ----------------------------------------------------------------------------------


async def run_backend(backend: str, args: argparse.Namespace, results: list[tuple[Any, ...]]) -> None:
    window = max(args.match_counts)
    for size in args.sizes:
        if window > size // 2:
            raise SystemExit(f"--match-counts up to {window} needs a table of at least {2 * window} cases")
        now = datetime.now(UTC).replace(microsecond=0)
        until = now + timedelta(hours=1)
        rng = random.Random(args.seed + size)
        order = rng.sample(range(1, size + 1), window)  # window rows at random ids
        engine, path = await fresh_database(backend, args.pg_url, size)
        try:
            if backend == "sqlite":
                check_format(engine, now)
            t0 = time.perf_counter()
            await upgrade(engine)
            t1 = time.perf_counter()
            await load(engine, backend, size, now, order, args.seed)
            t2 = time.perf_counter()
            if args.candidate_index:
                async with engine.begin() as conn:
                    await conn.exec_driver_sql(CANDIDATE_SQL)
            await analyze(engine, backend)
            t3 = time.perf_counter()
            print(
                f"\n[{backend} {size:,} cases] migrate {t1 - t0:.1f} s, load {t2 - t1:.1f} s "
                f"({size / (t2 - t1):,.0f} rows/s), analyze {t3 - t2:.1f} s",
                flush=True,
            )
            cap = capture_due_sql(engine)
            current = window
            for matches in sorted(args.match_counts, reverse=True):
                await set_matches(engine, backend, order, current, matches)
                current = matches
                queries = [(backend, repo.due_cases)]
                if args.candidate_index:
                    queries.append((backend + "*", candidate_due_cases))
                for label, query in queries:
                    async with sessionmaker(engine)() as session:  # one call to capture the SQL sent
                        await query(session, until)
                    plan = await explain(engine, backend, cap)
                    full = matches == args.matches or args.verbose
                    what = "candidate query, " if query is candidate_due_cases else ""
                    print(f"  plan ({what}matches={matches:,}){'' if full else ', nodes only'}:")
                    print("\n".join(f"    {line}" for line in (plan.lines if full else compact(plan.lines))))
                    if plan.generic:
                        print("  generic plan (prepared statement, plan_cache_mode=force_generic_plan):")
                        print("\n".join(f"    {line}" for line in (plan.generic if full else compact(plan.generic))))
                    (med, p95), (dmed, dp95) = await measure(engine, cap, query, until, matches, args.runs, args.warmup)
                    results.append((label, size, matches, med, p95, dmed, dp95, plan.ok, plan.notes))
                    print(
                        f"  {what}matches={matches:>6,}: median {med:8.2f} ms p95 {p95:8.2f} ms | "
                        f"driver median {dmed:7.2f} ms p95 {dp95:7.2f} ms | plan ok: {plan.ok} | {plan.notes}",
                        flush=True,
                    )
            if args.verbose or size == max(args.sizes):
                print("  SQL: " + " ".join(cap.sql.split()))
        finally:
            await engine.dispose()
            if path is not None and not args.keep:
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    p.unlink(missing_ok=True)


async def amain(args: argparse.Namespace) -> int:
    import sqlite3

    print(
        f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"SQLite {sqlite3.sqlite_version}, asyncpg {asyncpg.__version__}; "
        f"{args.runs} timed runs after {args.warmup} warm-up"
    )
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results: list[tuple[Any, ...]] = []
    if "postgres" in backends:
        engine = create_engine(args.pg_url.rsplit("/", 1)[0] + "/postgres")
        async with engine.connect() as conn:
            print((await conn.scalar(text("SELECT version()"))).split(" on ")[0])
        await engine.dispose()
    for backend in backends:
        await run_backend(backend, args, results)
    print(
        "\n| backend   | table size | matches | median ms |  p95 ms | driver median ms | driver p95 ms | plan ok | notes"
    )
    print(
        "|-----------|-----------:|--------:|----------:|--------:|-----------------:|--------------:|:-------:|------"
    )
    for backend, size, matches, med, p95, dmed, dp95, ok, notes in sorted(
        results, key=lambda r: (backends.index(r[0].rstrip("*")), r[1], r[0], r[2])
    ):
        print(
            f"| {backend:<9} | {size:>10,} | {matches:>7,} | {med:>9.2f} | {p95:>7.2f} | "
            f"{dmed:>16.2f} | {dp95:>13.2f} | {'yes' if ok else 'NO':^7} | {notes}"
        )
    if args.candidate_index:
        print("(* = candidate_due_cases: the same query with the open states rendered as literals)")
    bad = [r for r in results if not r[-2]]
    if bad:
        print(f"\nPLAN CHECK FAILED: {' / '.join(INDEXES)} not used for {[(b, s, m) for b, s, m, *_ in bad]}")
        return 1
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--cases", type=int, default=1_000_000, help="largest table size (default 1,000,000)")
    ap.add_argument("--matches", type=int, default=1000, help="headline match count (plan printed for it)")
    ap.add_argument("--sizes", help="comma-separated table sizes (default: 100000,<--cases>)")
    ap.add_argument("--match-counts", help="comma-separated match counts (default: 0,<--matches>,10000)")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    ap.add_argument("--keep", action="store_true", help="keep the SQLite files in bench/out/")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every plan")
    ap.add_argument(
        "--candidate-index",
        action="store_true",
        help=f"also create the partial index {CANDIDATE} (bench database only) and accept it in the plan check",
    )
    args = ap.parse_args()
    if args.candidate_index:
        global INDEXES
        INDEXES = (INDEX, CANDIDATE)
        print(f"candidate index (bench database only): {CANDIDATE_SQL}")
    args.sizes = (
        sorted({int(s) for s in args.sizes.split(",")})
        if args.sizes
        else sorted({min(100_000, args.cases), args.cases})
    )
    args.match_counts = (
        sorted({int(s) for s in args.match_counts.split(",")})
        if args.match_counts
        else sorted({0, args.matches, 10_000})
    )
    sys.exit(asyncio.run(amain(args)))


if __name__ == "__main__":
    main()
