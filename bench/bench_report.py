"""Benchmark: the monthly (and yearly) report over 1,000,000 cases and 200 units.

    /work/venv/bin/python bench/bench_report.py --backend sqlite|postgres|both \
        [--cases 1000000] [--units 200] [--rebuild] [--periods 2026-10,2026]

Data: ``--cases`` cases received uniformly from 1 November 2025 to 31 October 2026 (local time),
spread over ``--units`` units with a mild skew (the busiest unit gets ~2.5× the average), with
realistic outcomes — ~6 % signed late, ~15 % submitted after the deadline, open cases near the
report date, 85 % resolved, 10 % 不满意, 30 % 个别回复, 4 % repeated messages, 3 % archive
records without 呈报文号, 2 % returned (half of them reassigned back to the same unit), 3 %
replies sent back in review, 1 % by the leader, 督办 notices for late cases, commendations —
and the timeline of each (register, assign, accept, submit, review, publish, follow-up,
archive, …: ~7.6 events per case). SQLite: ``bench/out/bench_report_<cases>.db`` (kept and
reused; ``--rebuild`` makes it anew); PostgreSQL: database ``liuyan_bench_report`` (created on
the ``postgres`` database if missing, schema dropped and recreated on rebuild; never ``test``).
Both are migrated with the real Alembic migrations and bulk-loaded (raw executemany / COPY),
then ANALYZEd.

Measured, each report in a fresh child process (so that its peak RSS is the report's own):
``bot.reports.compute.compute_report`` (all statistics, breakdowns, trend, hot topics and scores),
``bot.reports.xlsx.write_report_xlsx`` (the workbook with charts and the full 扣分明细) and
``bot.reports.chart.render_png``; wall time of each step, RSS after imports and connecting
(baseline) and the process's peak RSS, and the number of ORM ``Case`` objects loaded (a
listener on the mapper's ``load`` event: it must be 0 — the report reads aggregates and narrow
streamed tuples only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/liuyan_bench_report"
SH = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 11, 1, tzinfo=SH).astimezone(UTC).replace(tzinfo=None)
END = datetime(2026, 11, 1, tzinfo=SH).astimezone(UTC).replace(tzinfo=None)
AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=SH)  # the first working day after October 2026
NOW = AS_OF.astimezone(UTC).replace(tzinfo=None)
CATEGORIES = ["投诉举报", "求助", "征地拆迁", "欠薪欠资", "问题房开", "政策咨询", "建议", "涉法涉诉", "党风廉政",
              "城市管理", "教育", "医疗卫生", "交通出行", "环境保护", "其他"]  # fmt: skip
LEVELS = ["省级", "市级", "县（区）级"]
SOURCES = ["人民网·地方领导留言板", "12345", "市长信箱", "政府门户网站", "微信公众号"]
SUBJECTS = ["小区噪音扰民", "道路破损积水", "物业费争议", "学校招生咨询", "拖欠工资", "垃圾清运不及时",
            "公交线路调整", "违章建筑", "油烟污染", "医保报销"]  # fmt: skip
REPLY = {"truthfulness": "属实", "attitude": "反映问题属实。", "process": "已现场核实并督促整改，已完成。",
         "verification": "电话回访核实。", "feedback": "网友表示认可。"}  # fmt: skip
HANDLING = "【表明态度】属实。【工作过程】已现场核实并督促整改。【核查情况】电话核实。【网友反馈】认可。"
CASE_COLUMNS = [
    "id", "number", "version", "state", "level", "source", "source_ref", "petitioner", "contact", "contact_key",
    "title", "title_key", "content", "received_at", "category", "unit_id", "co_unit_ids", "due_at", "handling",
    "resolved", "evaluation", "followed_up_at", "report_number", "complex", "urgent", "needs_leader",
    "calendar_source", "assigned_at", "return_deadline", "accepted_at", "submitted_at", "approved_at", "replied_at",
    "closed_at", "archived_at", "truthfulness", "reply", "reply_mode", "reply_ground", "satisfaction",
    "duplicate_of_id", "extension_count", "interim_count", "created_at", "updated_at",
]  # fmt: skip
EVENT_COLUMNS = ["id", "case_id", "at", "action", "from_state", "to_state", "actor_id", "actor_name", "comment", "data"]
CASE_DT = {i for i, c in enumerate(CASE_COLUMNS) if c.endswith("_at") or c in ("due_at", "return_deadline")}
CASE_BOOL = {i for i, c in enumerate(CASE_COLUMNS) if c in ("resolved", "complex", "urgent", "needs_leader")}
CASE_JSON = {i for i, c in enumerate(CASE_COLUMNS) if c in ("co_unit_ids", "reply")}
BATCH = 20_000


# --- data ----------------------------------------------------------------------------------------------


def gen(n_cases: int, n_units: int, seed: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(case row, its event rows) in CASE_COLUMNS / EVENT_COLUMNS order; naive UTC datetimes, JSON as
    Python objects (encoded per backend). Event ids are assigned by the loader."""
    rng = random.Random(seed)
    span = (END - START).total_seconds()
    h, d = timedelta(hours=1), timedelta(days=1)
    for i in range(1, n_cases + 1):
        received = START + timedelta(seconds=rng.random() * span)
        unit = 1 + int(n_units * rng.random() ** 1.6)
        events: list[tuple[Any, ...]] = []

        def ev(
            at: datetime,
            action: str,
            frm: str | None,
            to: str | None,
            data: Any = None,
            comment: str | None = None,
            events: list[tuple[Any, ...]] = events,
            i: int = i,
        ) -> None:
            events.append((i, at, action, frm, to, None, "bench", comment, data))

        v: dict[str, Any] = {c: None for c in CASE_COLUMNS}
        subject = SUBJECTS[i % len(SUBJECTS)]
        v.update(
            id=i,
            number=f"B{2025 + (received >= datetime(2025, 12, 31, 16)):d}-{i:07d}",
            version=1,
            level=LEVELS[rng.randrange(3)],
            source=SOURCES[rng.randrange(5)],
            source_ref=f"ref-{i}",
            petitioner=f"市民{i % 99991}",
            contact=f"138{i % 100000000:08d}",
            contact_key=f"{i % 100000000:08d}",
            title=f"关于{subject}的问题（{i}）",
            title_key=f"{subject}{i}",
            content=f"{subject}，请尽快处理。",
            received_at=received,
            category=CATEGORIES[rng.randrange(len(CATEGORIES))],
            co_unit_ids=[],
            complex=rng.random() < 0.1,
            urgent=False,
            needs_leader=False,
            extension_count=0,
            interim_count=0,
            created_at=received,
            updated_at=received,
        )
        ev(received, "register", None, "registered", {"source": v["source"]})
        if i > 1000 and rng.random() < 0.04:
            v["duplicate_of_id"] = rng.randrange(max(1, i - 50_000), i)
        state = "registered"
        assigned = received + rng.uniform(0.1, 20) * h
        if rng.random() < 0.01 or assigned >= NOW:
            v["state"] = state
            yield _row(v), events
            continue
        if rng.random() < 0.02:  # returned first; half the time back to the same unit
            first = unit if rng.random() < 0.5 else 1 + rng.randrange(n_units)
            ev(assigned, "assign", "registered", "assigned", {"unit_id": first})
            ret = assigned + rng.uniform(1, 20) * h
            ev(ret, "return", "assigned", "returned", None, "不属于本单位职责")
            assigned = ret + rng.uniform(1, 20) * h
            if assigned >= NOW:
                v.update(state="returned", unit_id=first)
                yield _row(v), events
                continue
            ev(assigned, "reassign", "returned", "assigned", {"unit_id": unit})
        else:
            ev(assigned, "assign", "registered", "assigned", {"unit_id": unit})
        due = assigned + (21 if v["complex"] else 7) * d
        v.update(
            unit_id=unit,
            assigned_at=assigned,
            due_at=due,
            return_deadline=assigned + 3 * d,
            state="assigned",
            calendar_source="chinese-calendar",
        )
        accepted = assigned + (rng.uniform(26, 72) if rng.random() < 0.06 else rng.uniform(0.2, 20)) * h
        if accepted >= NOW:
            yield _row(v), events
            continue
        v.update(accepted_at=accepted, state="accepted")
        ev(accepted, "accept", "assigned", "accepted")
        if v["complex"] and rng.random() < 0.3:
            v["extension_count"] = 1
            v["interim_count"] = 1 + (rng.random() < 0.3)
            due = v["due_at"] = due + 10 * d
        late = rng.random() < 0.15
        submitted = due + rng.uniform(0.1, 6) * d if late else accepted + rng.uniform(0.05, 0.95) * (due - accepted)
        if submitted >= NOW:
            if late and due < NOW and rng.random() < 0.5:
                ev(due + 3 * d, "supervise", None, None, None, "超期督办")
            yield _row(v), events
            continue
        ev(submitted, "submit", "accepted", "submitted", REPLY)
        if late and rng.random() < 0.5:
            ev(due + min(3 * d, (submitted - due) / 2), "supervise", None, None, None, "超期督办")
        if rng.random() < 0.04:  # sent back once, resubmitted
            back = submitted + rng.uniform(2, 20) * h
            leader = rng.random() < 0.25
            ev(
                back,
                "leader_reject" if leader else "review_reject",
                "reviewed" if leader else "submitted",
                "accepted",
                None,
                "请补充",
            )
            first, submitted = submitted, back + rng.uniform(2, 30) * h
            if submitted >= NOW:  # back with the unit: open, with the first submission on record
                v.update(submitted_at=first, handling=HANDLING, truthfulness="属实", reply=REPLY)
                yield _row(v), events
                continue
            ev(submitted, "submit", "accepted", "submitted", REPLY)
        v.update(submitted_at=submitted, handling=HANDLING, truthfulness="属实", reply=REPLY, state="submitted")
        approved = submitted + rng.uniform(0.1, 2) * d
        if approved >= NOW:
            yield _row(v), events
            continue
        v.update(approved_at=approved, state="approved")
        ev(approved, "review_pass_final", "submitted", "approved")
        replied = approved + rng.uniform(0.1, 1) * d
        if replied >= NOW:
            yield _row(v), events
            continue
        public = rng.random() < 0.7
        v.update(
            replied_at=replied,
            state="replied",
            reply_mode="public" if public else "individual",
            reply_ground=None if public else "仅涉及个人诉求，不宜公开",
            report_number=f"呈〔2026〕{i}号" if rng.random() < 0.97 else None,
        )
        ev(replied, "publish", "approved", "replied", {"mode": v["reply_mode"]})
        followed = replied + rng.uniform(1, 5) * d
        if followed >= NOW:
            yield _row(v), events
            continue
        resolved = rng.random() < 0.85
        r = rng.random()
        satisfaction = "满意" if r < 0.6 else "基本满意" if r < 0.9 else "不满意"
        v.update(
            followed_up_at=followed,
            closed_at=followed,
            resolved=resolved,
            satisfaction=satisfaction,
            evaluation="网友表示认可" if resolved else "问题尚未解决",
            state="closed",
        )
        ev(followed, "follow_up", "replied", "closed", {"resolved": resolved, "satisfaction": satisfaction})
        if rng.random() < 0.005:
            ev(followed + d, "commendation", None, None, {"unit_id": unit}, "办理认真细致")
        archived = followed + 10 * d
        if archived < NOW and v["report_number"] is not None and rng.random() < 0.7:
            v.update(archived_at=archived, state="archived")
            ev(archived, "archive", "closed", "archived")
        yield _row(v), events


def _row(v: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(v[c] for c in CASE_COLUMNS)


def sqlite_dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


# --- databases ------------------------------------------------------------------------------------------


def sqlite_path(cases: int) -> Path:
    return OUT / f"bench_report_{cases}.db"


async def migrate(url: str) -> None:
    from store.db import create_engine, upgrade

    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


def build_sqlite(cases: int, units: int, seed: int) -> None:
    path = sqlite_path(cases)
    OUT.mkdir(parents=True, exist_ok=True)
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1048576")
    naive_now = sqlite_dt(NOW)
    con.executemany(
        "INSERT INTO units (id, name, code, active, created_at) VALUES (?, ?, ?, 1, ?)",
        [(u, f"单位{u:03d}", f"U{u:03d}", naive_now) for u in range(1, units + 1)],
    )
    case_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
    event_sql = f"INSERT INTO case_events ({', '.join(EVENT_COLUMNS[1:])}) VALUES ({', '.join('?' * 9)})"
    case_batch: list[tuple[Any, ...]] = []
    event_batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        con.executemany(case_sql, case_batch)
        con.executemany(event_sql, event_batch)
        con.commit()
        case_batch.clear()
        event_batch.clear()

    for row, events in gen(cases, units, seed):
        out = list(row)
        for j in CASE_DT:
            out[j] = sqlite_dt(out[j])
        for j in CASE_BOOL:
            out[j] = None if out[j] is None else int(out[j])
        for j in CASE_JSON:
            out[j] = None if out[j] is None else json.dumps(out[j], ensure_ascii=False)
        case_batch.append(tuple(out))
        for e in events:
            event_batch.append((e[0], sqlite_dt(e[1]), *e[2:8], None if e[8] is None else json.dumps(e[8])))
        if len(case_batch) >= BATCH:
            flush()
    flush()
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


async def pg_reset(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from store.db import create_engine

    parsed = make_url(url)
    if parsed.database in (None, "test", "postgres", "liuyan_bench"):
        raise SystemExit(f"refusing to reset database {parsed.database!r}: use liuyan_bench_report")
    admin = create_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    async with admin.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": parsed.database})
        if not exists:
            await conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    await admin.dispose()
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await engine.dispose()


async def build_pg(url: str, cases: int, units: int, seed: int) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    await pg_reset(url)
    await migrate(url)
    parsed = make_url(url)
    con = await asyncpg.connect(
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.host,
        port=parsed.port or 5432,
        database=parsed.database,
    )
    try:
        await con.copy_records_to_table(
            "units",
            columns=["id", "name", "code", "active", "created_at"],
            records=[(u, f"单位{u:03d}", f"U{u:03d}", True, NOW) for u in range(1, units + 1)],
        )
        event_id = 0
        case_batch: list[tuple[Any, ...]] = []
        event_batch: list[tuple[Any, ...]] = []

        async def flush() -> None:
            await con.copy_records_to_table("cases", columns=CASE_COLUMNS, records=case_batch)
            await con.copy_records_to_table("case_events", columns=EVENT_COLUMNS, records=event_batch)
            case_batch.clear()
            event_batch.clear()

        for row, events in gen(cases, units, seed):
            out = list(row)
            for j in CASE_JSON:
                out[j] = None if out[j] is None else json.dumps(out[j], ensure_ascii=False)
            case_batch.append(tuple(out))
            for e in events:
                event_id += 1
                event_batch.append((event_id, *e[:8], None if e[8] is None else json.dumps(e[8])))
            if len(case_batch) >= BATCH:
                await flush()
        await flush()
        for table in ("units", "cases", "case_events"):
            await con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
        await con.execute("VACUUM ANALYZE")
    finally:
        await con.close()


async def count_cases(url: str) -> int:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from store.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM cases")) or 0)
    except (OSError, DBAPIError):  # no database or no table yet: build it
        return -1
    finally:
        await engine.dispose()


# --- the measured child ----------------------------------------------------------------------------------


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (``VmHWM``: its peak). Not ``getrusage().ru_maxrss``: Linux
    carries that over from the forking parent across exec."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(url: str, period_text: str, out_dir: Path) -> None:
    import matplotlib  # noqa: F401  (imported before the baseline: it is part of every report run)
    import openpyxl  # noqa: F401
    from sqlalchemy import event, text

    from bot.calendar.package_data import package_calendar
    from bot.config import parse_config
    from bot.domain.statistics import parse_period
    from bot.reports.chart import render_png
    from bot.reports.compute import compute_report
    from bot.reports.xlsx import write_report_xlsx
    from store.db import create_engine, sessionmaker
    from store.models import Case

    loaded = 0

    def on_load(target: Any, context: Any) -> None:
        nonlocal loaded
        loaded += 1

    event.listen(Case, "load", on_load)
    config = parse_config(f'[database]\nurl = "{url}"\n')
    cal = package_calendar()
    period = parse_period(period_text)
    engine = create_engine(url)
    sessions = sessionmaker(engine)

    async def run() -> dict[str, Any]:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
        base = rss_mb()
        t0 = time.perf_counter()
        async with sessions() as session:
            report = await compute_report(session, config, cal, period, AS_OF)
        t1 = time.perf_counter()
        xlsx = out_dir / f"report_{engine.dialect.name}_{period.key}.xlsx"
        details = write_report_xlsx(report, xlsx)
        t2 = time.perf_counter()
        png = render_png(report)
        t3 = time.perf_counter()
        await engine.dispose()
        return {
            "period": period.key,
            "received": report.office.received,
            "units": len(report.units),
            "details": details,
            "report_s": t1 - t0,
            "xlsx_s": t2 - t1,
            "png_s": t3 - t2,
            "xlsx_mb": xlsx.stat().st_size / 2**20,
            "png_kb": len(png) / 1024,
            "base_mb": base,
            "peak_mb": rss_mb("VmHWM"),
            "orm_cases": loaded,
            "on_time": report.office.on_time_rate,
            "mean_score": sum(u.score.score for u in report.units) / len(report.units),
        }

    print(json.dumps(asyncio.run(run())))


# --- driver --------------------------------------------------------------------------------------------------


def measure(url: str, period: str, runs: int) -> list[dict[str, Any]]:
    results = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", url, "--periods", period], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"child failed:\n{proc.stderr}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--units", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261102)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--periods", default="2026-10,2026")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--pg-url", default=os.environ.get("LIUYAN_BENCH_REPORT_PG", DEFAULT_PG))
    ap.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.periods, OUT)
        return

    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.cases:,} cases, {args.units} units, "
        f"report as of {AS_OF:%Y-%m-%d %H:%M} Asia/Shanghai"
    )
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        url = f"sqlite+aiosqlite:///{sqlite_path(args.cases)}" if backend == "sqlite" else args.pg_url
        if args.rebuild or asyncio.run(count_cases(url)) != args.cases:
            t = time.perf_counter()
            if backend == "sqlite":
                build_sqlite(args.cases, args.units, args.seed)
            else:
                asyncio.run(build_pg(url, args.cases, args.units, args.seed))
            print(f"{backend}: built {args.cases:,} cases in {time.perf_counter() - t:.0f} s")
        for period in args.periods.split(","):
            results = measure(url, period, args.runs)
            best = min(results, key=lambda r: r["report_s"])
            best["backend"] = backend
            best["peak_all"] = max(r["peak_mb"] for r in results)
            rows.append(best)
            print(json.dumps(best, ensure_ascii=False), file=sys.stderr)
    print()
    print(
        "| backend | period | cases in period | 扣分明细 rows | report (queries + scoring) | workbook | PNG "
        "| RSS before | peak RSS | ORM Case objects |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['period']} | {r['received']:,} | {r['details']:,} | {r['report_s']:.1f} s "
            f"| {r['xlsx_s']:.1f} s ({r['xlsx_mb']:.1f} MB) | {r['png_s']:.1f} s | {r['base_mb']:.0f} MB "
            f"| {r['peak_all']:.0f} MB | {r['orm_cases']} |"
        )


if __name__ == "__main__":
    main()
