"""Benchmark: one nudge sweep (``Jobs.sweep``) over 1,000,000 stored cases, and delivering what
it queued through the fake WeCom while respecting the per-member limits.

    /work/venv/bin/python bench/bench_sweep.py --backend sqlite|postgres|both \
        [--cases 1000000] [--due 1000] [--units 100] [--handlers 10] [--runs 3] [--keep]

The table (ids 1..cases, every deadline computed in the office time zone; ``now`` is Monday
2026-11-02 10:00 Asia/Shanghai, a working day after the morning stagger window):

* ``due``: exactly ``--due`` cases (default 1,000) at random ids, state accepted, due tomorrow
  (Tue 17:30): each owes one reminder now (the working day before, to the unit's handlers).
  Spread evenly over ``--units`` units with ``--handlers`` handlers and one unit leader each, so
  a sweep queues one merged message to each of units × handlers = 1,000 distinct people.
* ``assigned``: 1,000 assigned in the last 90 minutes: candidates of the sweep (their 退回
  deadline falls inside its horizon) that owe nothing yet.
* ``overdue``: 500 accepted cases 5–20 working days past their deadline whose ladder reminders
  (unit leader, 督办 notice) were claimed by earlier sweeps: candidates, nothing to send.
* 20,000 open (accepted / extension requested) due in 4–30 days; 5,000 in the reply pipeline;
  2,000 replied within the last two days; 2,000 registered/returned; the rest (~96.8 %) closed
  or archived with deadlines over the past eight years.

Loading: SQLite — stdlib sqlite3 ``executemany`` in one transaction (values in the exact text
format SQLAlchemy's DateTime writes, checked); PostgreSQL — ``COPY`` (asyncpg
``copy_records_to_table``) into the database ``liuyan_bench_sweep`` (created if missing, schema
``public`` dropped and recreated; never ``test``). Both after ``store.db.upgrade`` (the real
migrations), then ANALYZE.

Measured, each after a reset (claims of ``now``, outbox and case events of the run deleted):

* ``1,000 due``: ``await Jobs.sweep(now)`` with a ManualClock: wall time (median of --runs),
  then once more under tracemalloc for the peak of Python memory, and the process RSS before
  and after. Checks: returns --due×handlers… messages to distinct people, nothing twice.
* ``none due``: the same sweep again at the same ``now`` right after (everything claimed: what
  every later tick of the day costs), and a sweep on a table where the due cases have been
  moved out of the horizon (only the 1,500 candidates that owe nothing).
* The statements the sweep sent (captured from the engine), grouped, and the plan of every
  SELECT that touches ``cases`` (SQLite EXPLAIN QUERY PLAN / PostgreSQL EXPLAIN): none may scan
  the table; and the number of Case rows loaded (``candidates``).
* Delivery: the 1,000 queued messages through ``OutboxSender`` + ``WeComTransport`` against an
  in-process FakeWeCom (30/min and 1,000/h per member, silent drops recorded) — wall time,
  drops must be 0. Then 100 messages to one person with the frozen clock (and the fake's)
  advanced 61 s whenever the sender has nothing due: how many went out per minute, drops 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# BENCH_SRC=<exported older tree> measures that revision's bot/ and store/ (before/after)
SRC = Path(os.environ.get("BENCH_SRC", ROOT))
sys.path.insert(0, str(SRC))

import aiohttp
import sqlalchemy
from aiohttp.test_utils import TestServer
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.calendar.service import CalendarHolder, load_calendar
from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.deadlines import workday_deadline
from bot.domain.nudges import Kind, due_now
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.jobs import Jobs, candidates, clock_of
from bot.platforms.wecom.client import WeComClient
from bot.platforms.wecom.transport import WeComTransport
from bot.runtime.outbox import PER_MINUTE, OutboxSender
from store.db import create_engine, sessionmaker, upgrade
from store.models import Case, OutboxMessage, Person
from tests.fakes.fake_wecom import FakeWeCom

OUT = ROOT / "bench" / "out"
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=TZ)  # Monday, a working day
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/liuyan_bench_sweep"
BATCH = 20_000
N_ASSIGNED = 1_000
N_OVERDUE = 500
N_OPEN = 20_000
N_PIPELINE = 5_000
N_REPLIED = 2_000
N_REGISTERED = 2_000

COLUMNS = [
    "id", "number", "version", "state", "level", "source", "source_ref", "petitioner", "contact_key",
    "title", "title_key", "content", "received_at", "category", "unit_id", "co_unit_ids", "due_at",
    "complex", "urgent", "needs_leader", "calendar_source", "assigned_at", "return_deadline", "accepted_at",
    "submitted_at", "replied_at", "closed_at", "archived_at", "extension_count", "interim_count",
    "created_at", "updated_at",
]  # fmt: skip
DT_COLS = {i for i, c in enumerate(COLUMNS) if c.endswith("_at") or c == "return_deadline"}
BOOL_COLS = {i for i, c in enumerate(COLUMNS) if c in ("complex", "urgent", "needs_leader")}
SUBJECTS = ["小区噪音扰民", "道路破损积水", "物业费争议", "学校招生咨询", "拖欠工资", "垃圾清运不及时",
            "公交线路调整", "违章建筑", "油烟污染", "医保报销"]  # fmt: skip
CONTENT = "反映人称近期该问题反复出现，已多次与相关方面沟通未果，影响日常生活，请求有关部门尽快核实处理并答复。"

CONFIG = """
[api]
token = "bench"

[wecom]
enabled = true
corp_id = "wwfakecorp0000001"
agent_id = 1000002
secret = "fake-secret-1000002"
token = "QDG6eK"
encoding_aes_key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
api_base = "http://127.0.0.1:1"
"""


# --- data -----------------------------------------------------------------------------------------


def utc(dt: datetime) -> datetime:
    """Naive UTC, as the UTCDateTime columns store it."""
    return dt.astimezone(UTC).replace(tzinfo=None)


class Plan:
    """Which ids get which role; everything derived from one seed."""

    def __init__(self, cases: int, due: int, seed: int) -> None:
        rng = random.Random(seed)
        special = rng.sample(range(1, cases + 1), due + N_ASSIGNED + N_OVERDUE)
        self.due = special[:due]
        self.assigned = set(special[due : due + N_ASSIGNED])
        self.overdue = set(special[due + N_ASSIGNED :])
        self.due_rank = {cid: k for k, cid in enumerate(self.due)}


def gen_rows(cases: int, plan: Plan, units: int, cal: Any, seed: int) -> Any:
    """Rows (naive UTC datetimes) in COLUMNS order."""
    rng = random.Random(seed + 1)
    cfg = parse_config(CONFIG)
    hours = cfg.office.hours()
    day, hour = timedelta(days=1), timedelta(hours=1)
    tomorrow_close = datetime(2026, 11, 3, 17, 30, tzinfo=TZ)
    rest = cases - len(plan.due) - len(plan.assigned) - len(plan.overdue)
    # the unremarkable rows: a shuffled deck of states, so the special ones sit at random ids
    deck = ["open"] * N_OPEN + ["pipeline"] * N_PIPELINE + ["replied"] * N_REPLIED + ["registered"] * N_REGISTERED
    deck += ["history"] * (rest - len(deck))
    rng.shuffle(deck)
    it = iter(deck)
    for i in range(1, cases + 1):
        unit = 1 + rng.randrange(units)
        assigned = returned_by = accepted = submitted = replied = closed = archived = None
        due: datetime | None
        rank = plan.due_rank.get(i)
        if rank is not None:
            state, unit = "accepted", 1 + rank % units
            due = tomorrow_close
            assigned = NOW - 4 * day
            accepted = assigned + hour
        elif i in plan.assigned:
            state = "assigned"
            assigned = NOW - timedelta(minutes=rng.uniform(5, 90))
            due = workday_deadline(assigned, 5, cal, hours).due_at
            returned_by = workday_deadline(assigned, 2, cal, hours).due_at
        elif i in plan.overdue:
            state = "accepted"
            due = workday_deadline(NOW - timedelta(days=rng.uniform(9, 29)), 1, cal, hours).due_at
            assigned = due - 7 * day
            accepted = assigned + hour
        else:
            kind = next(it)
            if kind == "open":
                state = "accepted" if rng.random() < 0.9 else "extension_requested"
                due = NOW + timedelta(days=rng.uniform(4, 30))
                assigned = NOW - timedelta(days=rng.uniform(1, 10))
                accepted = assigned + hour
            elif kind == "pipeline":
                state = rng.choice(["submitted", "reviewed", "approved"])
                due = NOW + timedelta(days=rng.uniform(-3, 20))
                assigned = NOW - timedelta(days=rng.uniform(3, 15))
                accepted = assigned + hour
                submitted = NOW - timedelta(hours=rng.uniform(1, 48))
            elif kind == "replied":
                state = "replied"
                due = NOW - timedelta(days=rng.uniform(0, 5))
                assigned = due - 7 * day
                accepted = assigned + hour
                submitted = assigned + 2 * day
                replied = NOW - timedelta(hours=rng.uniform(1, 44))
            elif kind == "registered":
                state = "registered" if rng.random() < 0.8 else "returned"
                due = None
            else:
                state = "closed" if rng.random() < 0.4 else "archived"
                assigned = NOW - timedelta(days=30 + rng.random() * 2900)
                due = assigned + timedelta(days=rng.uniform(7, 21))
                accepted = assigned + hour
                replied = due - day
                closed = replied + timedelta(days=rng.uniform(1, 10))
                archived = closed + 7 * day if state == "archived" else None
        received = (assigned or NOW - timedelta(hours=rng.uniform(1, 60))) - 2 * hour
        subject = SUBJECTS[i % len(SUBJECTS)]
        title = f"关于{subject}的问题（{i}）"
        yield (
            i, f"LY{received.year}-{i:07d}", 1, state, ["市级", "区级", "街道"][i % 3], "人民网·地方领导留言板",
            f"ref-{i}", f"市民{i % 99991}", f"{13800000000 + i * 7919 % 100000000}"[-11:], title, title,
            f"{subject}。{CONTENT}", utc(received), "城市管理", unit if state != "registered" else None, "[]",
            utc(due) if due else None, False, False, False, "chinese_calendar" if due else None,
            utc(assigned) if assigned else None, utc(returned_by) if returned_by else None,
            utc(accepted) if accepted else None, utc(submitted) if submitted else None,
            utc(replied) if replied else None, utc(closed) if closed else None, utc(archived) if archived else None,
            0, 0, utc(received), utc(closed or received),
        )  # fmt: skip


def sqlite_text(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(" ", "microseconds")


def check_sqlite_format(engine: AsyncEngine) -> None:
    proc = Case.__table__.c.due_at.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert proc is not None
    for probe in (NOW, NOW.replace(minute=7, microsecond=123)):
        assert proc(probe) == sqlite_text(utc(probe)), (proc(probe), probe)


def directory(units: int, handlers: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(units, people, person_roles) rows: per unit ``handlers`` handlers and one leader; plus two
    supervisors, two dispatchers and an admin."""
    created = utc(NOW - timedelta(days=400))
    unit_rows = [(u, f"单位{u:03d}", f"U{u:03d}", True, created) for u in range(1, units + 1)]
    people, roles = [], []
    pid = 0

    def person(name: str, userid: str, role: str, unit: int | None) -> None:
        nonlocal pid
        pid += 1
        people.append((pid, name, userid, True, created))
        roles.append((pid, pid, role, unit))

    for u in range(1, units + 1):
        for h in range(handlers):
            person(f"承办{u:03d}-{h:02d}", f"h{u:03d}x{h:02d}", "handler", u)
        person(f"负责人{u:03d}", f"lead{u:03d}", "unit_leader", u)
    for k in range(2):
        person(f"督查{k}", f"sup{k}", "supervisor", None)
        person(f"登记{k}", f"disp{k}", "dispatcher", None)
    person("管理员", "admin0", "admin", None)
    return unit_rows, people, roles


async def fresh(backend: str, pg_url: str, cases: int) -> tuple[AsyncEngine, Path | None]:
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"sweep_{cases}.db"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        return engine, path
    url = make_url(pg_url)
    if url.database in (None, "test", "postgres"):
        raise SystemExit(f"refusing to reset database {url.database!r}: use a dedicated one")
    admin = create_engine(url.set(database="postgres").render_as_string(hide_password=False))
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        if not await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}):
            await conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    await admin.dispose()
    engine = create_engine(pg_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await upgrade(engine)
    return engine, None


async def load(
    engine: AsyncEngine, backend: str, path: Path | None, pg_url: str, args: argparse.Namespace, plan: Plan, cal: Any
) -> float:
    t0 = time.perf_counter()
    unit_rows, people, roles = directory(args.units, args.handlers)
    rows = gen_rows(args.cases, plan, args.units, cal, args.seed)
    if backend == "sqlite":
        import sqlite3

        assert path is not None
        await engine.dispose()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO units (id, name, code, active, created_at) VALUES (?, ?, ?, ?, ?)",
            [(*r[:4], sqlite_text(r[4])) for r in unit_rows],
        )
        conn.executemany(
            "INSERT INTO people (id, name, wecom_userid, active, created_at) VALUES (?, ?, ?, ?, ?)",
            [(*r[:4], sqlite_text(r[4])) for r in people],
        )
        conn.executemany("INSERT INTO person_roles (id, person_id, role, unit_id) VALUES (?, ?, ?, ?)", roles)
        sql = f"INSERT INTO cases ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            out = list(row)
            for j in DT_COLS:
                out[j] = sqlite_text(out[j])
            for j in BOOL_COLS:
                out[j] = int(out[j])
            batch.append(tuple(out))
            if len(batch) == BATCH:
                conn.executemany(sql, batch)
                batch.clear()
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    else:
        import asyncpg

        url = make_url(pg_url)
        pg = await asyncpg.connect(
            user=url.username, password=url.password, host=url.host, port=url.port, database=url.database
        )
        try:
            await pg.copy_records_to_table(
                "units", records=unit_rows, columns=["id", "name", "code", "active", "created_at"]
            )
            await pg.copy_records_to_table(
                "people", records=people, columns=["id", "name", "wecom_userid", "active", "created_at"]
            )
            await pg.copy_records_to_table(
                "person_roles", records=roles, columns=["id", "person_id", "role", "unit_id"]
            )
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == BATCH * 5:
                    await pg.copy_records_to_table("cases", records=batch, columns=COLUMNS)
                    batch.clear()
            await pg.copy_records_to_table("cases", records=batch, columns=COLUMNS)
            for table in ("units", "people", "person_roles", "cases"):
                await pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            await pg.execute("VACUUM ANALYZE")
        finally:
            await pg.close()
    return time.perf_counter() - t0


async def existing(backend: str, args: argparse.Namespace) -> bool:
    """--reuse: is there a loaded database of this size from an earlier run?"""
    if backend == "sqlite":
        path = OUT / f"sweep_{args.cases}.db"
        if not path.exists():
            return False
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = args.pg_url
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            n = await conn.scalar(text("SELECT count(*) FROM cases"))
            claims = await conn.scalar(text("SELECT count(*) FROM nudges"))
    except Exception:
        return False
    finally:
        await engine.dispose()
    return bool(n == args.cases and claims)


# --- measuring --------------------------------------------------------------------------------------


class Capture:
    """Statements the engine sends while ``on``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if self.on:
            self.statements.append((statement, parameters))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def reset(engine: AsyncEngine) -> None:
    """Forget what sweeps at NOW did (claims, messages, the 督办 events); earlier claims stay."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM nudges WHERE created_at >= :t"), {"t": utc(NOW)})
        await conn.execute(text("DELETE FROM outbox"))
        await conn.execute(text("DELETE FROM case_events WHERE at >= :t"), {"t": utc(NOW)})


async def preclaim_overdue(deps: Deps, jobs: Jobs, plan: Plan) -> int:
    """What earlier days' sweeps claimed for the overdue cases (their ladder), so they owe nothing."""
    cfg = deps.config
    earlier = NOW - timedelta(days=1)
    n = 0
    async with deps.sessions() as session, session.begin():
        rows = (await session.execute(sqlalchemy.select(Case).where(Case.id.in_(sorted(plan.overdue))))).scalars()
        for case in rows:
            send, superseded = due_now(
                clock_of(case, deps), NOW, cfg.nudges.rules(), deps.calendar.current, cfg.office.hours()
            )
            assert all(x.kind in (Kind.OVERDUE, Kind.NOTICE) for x in send), [x.kind for x in send]
            for nudge in [*send, *superseded]:
                n += await jobs._claim(session, nudge, earlier)
    return n


async def timed_sweep(deps: Deps, jobs: Jobs, *, trace: bool = False) -> dict[str, Any]:
    gc.collect()
    rss0 = rss_mb()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    queued = await jobs.sweep(NOW)
    elapsed = time.perf_counter() - t0
    peak = None
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "seconds": elapsed,
        "queued": queued,
        "peak_mb": peak / 2**20 if peak is not None else None,
        "rss_before_mb": rss0,
        "rss_after_mb": rss_mb(),
    }


async def explain(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> list[tuple[str, int, list[str]]]:
    """(statement, times sent, plan lines) for every distinct SELECT that reads ``cases``."""
    counts = Counter(s for s, _ in statements)
    seen: dict[str, Any] = {}
    for s, p in statements:
        if s.lstrip().upper().startswith("SELECT") and " cases" in s:
            seen.setdefault(s, p)
    out = []
    async with engine.connect() as conn:
        for s, p in seen.items():
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
            rows = (await conn.exec_driver_sql(prefix + s, p)).all()
            plan = [str(r[-1]) if engine.dialect.name == "sqlite" else str(r[0]) for r in rows]
            out.append((s, counts[s], plan))
    return out


def scans_table(plan: list[str]) -> bool:
    for line in plan:
        if "Seq Scan on cases" in line:
            return True
        if line.strip().startswith("SCAN cases") and "INDEX" not in line:
            return True
    return False


def shape(statement: str) -> str:
    s = " ".join(statement.split())
    for word in ("INSERT INTO", "UPDATE", "DELETE FROM"):
        if s.upper().startswith(word):
            return f"{word} {s.split()[len(word.split())]}"
    if s.upper().startswith("SELECT"):
        frm = s.upper().find(" FROM ")
        return "SELECT … FROM " + s[frm + 6 :].split()[0] if frm >= 0 else s[:40]
    return s[:40]


async def deliver(deps: Deps, engine: AsyncEngine, users: list[str], clock: ManualClock) -> dict[str, Any]:
    """Send everything pending through OutboxSender → WeComTransport → an in-process FakeWeCom."""
    fake = FakeWeCom(users=users, start_time=NOW.timestamp())
    server = TestServer(fake.app())
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            cfg = deps.config
            client = WeComClient(
                http,
                api_base=str(server.make_url("")),
                corp_id=fake.corp_id,
                secret=fake.secret,
                agent_id=fake.agent_id,
                monotonic=fake.clock,
            )
            sender = OutboxSender(deps, {"wecom": WeComTransport(client, cfg.wecom)})
            t0 = time.perf_counter()
            rounds = minutes = 0
            while True:
                done = await sender.run_once()
                rounds += 1
                if done:
                    continue
                async with deps.sessions() as session:
                    left = (
                        await session.execute(
                            sqlalchemy.select(sqlalchemy.func.count())
                            .select_from(OutboxMessage)
                            .where(OutboxMessage.status == "pending")
                        )
                    ).scalar_one()
                if not left:
                    break
                clock.advance(seconds=61)  # the paced rest waits for the next minute
                fake.advance(61)
                minutes += 1
            elapsed = time.perf_counter() - t0
            async with deps.sessions() as session:
                sent = (
                    await session.execute(
                        sqlalchemy.select(OutboxMessage.recipient, OutboxMessage.sent_at).where(
                            OutboxMessage.status == "sent"
                        )
                    )
                ).all()
                dead = (
                    await session.execute(
                        sqlalchemy.select(sqlalchemy.func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status != "sent")
                    )
                ).scalar_one()
    finally:
        await server.close()
    per_minute = Counter(r.sent_at.replace(second=0, microsecond=0) for r in sent)
    delivered = sum(len(m.delivered_to) for m in fake.messages)
    return {
        "seconds": elapsed,
        "sent": len(sent),
        "not_sent": dead,
        "recipients": len({r.recipient for r in sent}),
        "delivered": delivered,
        "drops": len(fake.drops),
        "fake_minutes": minutes,
        "max_per_minute": max(per_minute.values()) if per_minute else 0,
        "per_minute": [per_minute[k] for k in sorted(per_minute)],
        "rounds": rounds,
    }


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n## {backend}: {args.cases:,} cases", flush=True)
    plan = Plan(args.cases, args.due, args.seed)
    config = parse_config(CONFIG)
    reused = args.reuse and await existing(backend, args)
    if reused:
        engine = create_engine(
            f"sqlite+aiosqlite:///{OUT / f'sweep_{args.cases}.db'}" if backend == "sqlite" else args.pg_url
        )
        path = OUT / f"sweep_{args.cases}.db" if backend == "sqlite" else None
        async with sessionmaker(engine)() as session:
            cal = await load_calendar(session, config.calendar.overrides())
        load_s = float("nan")
        print("reusing the database of an earlier run (--reuse)", flush=True)
    else:
        engine, path = await fresh(backend, args.pg_url, args.cases)
        if backend == "sqlite":
            check_sqlite_format(engine)
        async with sessionmaker(engine)() as session:
            cal = await load_calendar(session, config.calendar.overrides())
        load_s = await load(engine, backend, path, args.pg_url, args, plan, cal)
        if backend == "sqlite":
            engine = create_engine(f"sqlite+aiosqlite:///{path}")
        size = f", file {path.stat().st_size / 2**20:,.0f} MiB" if path is not None else ""
        print(f"loaded in {load_s:.1f} s{size}", flush=True)

    clock = ManualClock(NOW)
    deps = Deps(
        config=config,
        sessions=sessionmaker(engine),
        clock=clock,
        calendar=CalendarHolder(cal, config.calendar.overrides()),
    )
    jobs = Jobs(deps, Outbox(config))
    if not reused:
        print(f"overdue ladder pre-claimed: {await preclaim_overdue(deps, jobs, plan)} nudges", flush=True)
    capture = Capture(engine)
    result: dict[str, Any] = {"backend": backend, "load_s": load_s}

    async with deps.sessions() as session:
        found = await candidates(session, deps, NOW)
    result["candidates"] = len(found)
    due_ids = set(plan.due)
    assert due_ids <= {c.id for c in found}

    # 1,000 due: time (median of runs), then memory (tracemalloc), then the statements
    times = []
    for _ in range(args.runs):
        await reset(engine)
        r = await timed_sweep(deps, jobs)
        times.append(r["seconds"])
        assert r["queued"] == args.units * args.handlers, r
    await reset(engine)
    mem = await timed_sweep(deps, jobs, trace=True)
    await reset(engine)
    capture.statements.clear()
    capture.on = True
    check = await timed_sweep(deps, jobs)
    capture.on = False
    due_statements = list(capture.statements)
    async with deps.sessions() as session:
        rows = (await session.execute(sqlalchemy.select(OutboxMessage.recipient))).scalars().all()
    assert len(rows) == len(set(rows)) == args.units * args.handlers, (len(rows), len(set(rows)))
    result["due"] = {
        "median_s": statistics.median(times),
        "runs_s": times,
        "queued": check["queued"],
        "peak_mb": mem["peak_mb"],
        "rss_before_mb": mem["rss_before_mb"],
        "rss_after_mb": mem["rss_after_mb"],
        "statements": len(due_statements),
    }

    # none due (a) right after: same candidates, all claimed
    times = []
    for _ in range(args.runs):
        r = await timed_sweep(deps, jobs)
        assert r["queued"] == 0
        times.append(r["seconds"])
    mem = await timed_sweep(deps, jobs, trace=True)
    capture.statements.clear()
    capture.on = True
    await timed_sweep(deps, jobs)
    capture.on = False
    result["none_repeat"] = {
        "median_s": statistics.median(times),
        "runs_s": times,
        "peak_mb": mem["peak_mb"],
        "statements": len(capture.statements),
    }

    # delivery of the 1,000 queued messages (one per person: no pacing)
    users = [p[2] for p in directory(args.units, args.handlers)[1]]
    result["deliver_1000"] = await deliver(deps, engine, users, clock)

    # 100 messages to one person: pacing 25/min, the fake's 30/min never hit
    clock.set(NOW)
    await reset(engine)
    async with deps.sessions() as session, session.begin():
        one = (await session.execute(sqlalchemy.select(Person).where(Person.wecom_userid == "h001x00"))).scalar_one()
        for k in range(100):
            await jobs.outbox.text(session, [one], f"【办理提醒】第{k + 1}条测试提醒", NOW)
    result["deliver_100_one"] = await deliver(deps, engine, users, clock)
    clock.set(NOW)

    # none due (b): the due cases moved past the horizon; only the candidates that owe nothing
    await reset(engine)
    async with engine.begin() as conn:
        await conn.execute(sqlalchemy.update(Case).where(Case.id.in_(plan.due)).values(due_at=NOW + timedelta(days=20)))
    async with deps.sessions() as session:
        quiet_candidates = len(await candidates(session, deps, NOW))
    times = []
    for _ in range(args.runs):
        r = await timed_sweep(deps, jobs)
        assert r["queued"] == 0
        times.append(r["seconds"])
    mem = await timed_sweep(deps, jobs, trace=True)
    result["none_quiet"] = {
        "median_s": statistics.median(times),
        "runs_s": times,
        "peak_mb": mem["peak_mb"],
        "candidates": quiet_candidates,
    }

    async with engine.begin() as conn:  # put the due cases back (for --reuse)
        await conn.execute(
            sqlalchemy.update(Case).where(Case.id.in_(plan.due)).values(due_at=datetime(2026, 11, 3, 17, 30, tzinfo=TZ))
        )
    await reset(engine)
    plans = await explain(engine, due_statements)
    result["plans"] = [
        {"statement": " ".join(s.split())[:400], "times": n, "plan": p, "scan": scans_table(p)} for s, n, p in plans
    ]
    result["statement_shapes"] = Counter(shape(s) for s, _ in due_statements).most_common()
    await engine.dispose()
    if path is not None and not (args.keep or args.reuse):
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    report(result, args)
    return result


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    d, a, q = r["due"], r["none_repeat"], r["none_quiet"]
    print(f"candidates loaded by the sweep at now: {r['candidates']:,} of {args.cases:,} cases")
    print("| sweep | wall (median) | runs | queued | tracemalloc peak | statements |")
    print("|---|---:|---|---:|---:|---:|")
    print(
        f"| {args.due:,} due | {d['median_s'] * 1000:,.0f} ms | {', '.join(f'{t * 1000:.0f}' for t in d['runs_s'])} "
        f"| {d['queued']:,} | {d['peak_mb']:.1f} MiB | {d['statements']:,} |"
    )
    print(
        f"| none due (tick right after: all claimed) | {a['median_s'] * 1000:,.0f} ms | "
        f"{', '.join(f'{t * 1000:.0f}' for t in a['runs_s'])} | 0 | {a['peak_mb']:.1f} MiB | {a['statements']:,} |"
    )
    print(
        f"| none due (due cases moved out: {q['candidates']:,} candidates) | {q['median_s'] * 1000:,.0f} ms | "
        f"{', '.join(f'{t * 1000:.0f}' for t in q['runs_s'])} | 0 | {q['peak_mb']:.1f} MiB | |"
    )
    print(f"RSS around the traced 1,000-due sweep: {d['rss_before_mb']:.0f} → {d['rss_after_mb']:.0f} MiB")
    print("statements of the 1,000-due sweep:", ", ".join(f"{k} ×{v}" for k, v in r["statement_shapes"]))
    for p in r["plans"]:
        print(f"plan ×{p['times']}: {p['statement'][:160]}…")
        for line in p["plan"]:
            print(f"    {line}")
    scans = [p for p in r["plans"] if p["scan"]]
    print("full scans of cases:", "NONE" if not scans else len(scans))
    for key, label in (
        ("deliver_1000", f"{args.units * args.handlers:,} messages to as many people"),
        ("deliver_100_one", "100 messages to one person"),
    ):
        x = r[key]
        print(
            f"deliver {label}: {x['sent']} sent to {x['recipients']} in {x['seconds']:.2f} s wall "
            f"({x['sent'] / x['seconds']:.0f}/s), fake minutes advanced {x['fake_minutes']}, "
            f"max {x['max_per_minute']}/min (sender limit {PER_MINUTE}), per minute {x['per_minute'][:8]}, "
            f"not sent {x['not_sent']}, fake drops {x['drops']}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--handlers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the database an earlier --keep/--reuse run left (same --cases and --seed)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    assert args.due % args.units == 0
    print(
        f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} cores, "
        f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}; now = {NOW.isoformat()}"
    )
    results = []
    for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
        results.append(await run_backend(backend, args))
    if args.json:
        args.json.write_text(json.dumps(results, default=str, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
