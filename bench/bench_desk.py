"""Benchmark: the desk's pages (办理台) with 100,000 cases in SQLite.

    /work/venv/bin/python bench/bench_desk.py [--cases 100000] [--runs 200] [--warmup 20] [--keep]

(--keep leaves bench/out/bench_desk_<cases>.db behind, and a later --keep run reuses it.)

Builds a fresh SQLite file under bench/out/ (the real Alembic migrations), a directory of 50
units (a handler each) and the office roles, then bulk-loads the cases and two timeline entries
each through the store's own functions (``store.cases.add_cases_bulk`` / ``add_events_bulk``,
10,000 rows a transaction; the bulk insert also fills the keyword index, store/search.py). The mix: ~70 % archived/closed, ~8 % in the reply pipeline, ~15 %
open (assigned/accepted/extension requested; about one in eight of those overdue), ~3 %
registered/returned, ~2 % tracking, ~1 % voided; received over the last two years, newest with
the highest ids; 5 % with a co-unit; categories, petitioners, phone numbers and source refs spread.

The app is served on a real port (``bot.app.build_app``, the same process) and requested over
HTTP by signed-in browsers (aiohttp sessions with their cookies): a dispatcher (sees every
non-sensitive case), a supervisor and a unit handler (sees one unit's cases). Each page is
requested ``--runs`` times in a row after ``--warmup`` requests; the figures are the wall time of
the whole request (cookie check, session, queries, template, transfer). Pages of one case pick a
different random case each time. Printed: p50/p95/p99/max per page, whether p99 ≤ 200 ms, and
the SQLite query plans of the ledger's queries (each must use an index).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from bot.config import parse_config
from bot.handlers.accounts import add_account
from store import desk as desk_store
from store.cases import add_cases_bulk, add_events_bulk

OUT = Path(__file__).resolve().parent / "out"
BATCH = 10_000
N_UNITS = 50
PASSWORD = "bench password 123"
CATEGORIES = [
    "投诉举报",
    "求助",
    "征地拆迁",
    "欠薪欠资",
    "问题房开",
    "政策咨询",
    "建议",
    "城市管理",
    "教育",
    "医疗卫生",
]
SUBJECTS = ["小区噪音扰民", "道路破损积水", "物业费争议", "学校招生咨询", "拖欠工资", "垃圾清运不及时",
            "公交线路调整", "违章建筑", "油烟污染", "医保报销"]  # fmt: skip
CONTENT = "反映人称近期该问题反复出现，已多次与相关方面沟通未果，影响日常生活，请求有关部门尽快核实处理并答复。"
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"


def config_text(db: Path) -> str:
    units = "\n".join(f'[[units]]\nname = "单位{u:02d}"\n' for u in range(1, N_UNITS + 1))
    people = "\n".join(
        f'[[people]]\nname = "承办{u:02d}"\nroles = ["handler"]\nunits = ["单位{u:02d}"]\nwecom_userid = "h{u:02d}"\n'
        for u in range(1, N_UNITS + 1)
    )
    return f"""
[database]
url = "sqlite+aiosqlite:///{db}"
[api]
token = "bench-token-0123456789abcdef0123"
[office]
case_number_prefix = "LY"
{units}
{people}
[[people]]
name = "钱登记"
roles = ["dispatcher"]
wecom_userid = "qiandj"
[[people]]
name = "孙督查"
roles = ["supervisor"]
wecom_userid = "sundc"
[[people]]
name = "吴管理"
roles = ["admin"]
wecom_userid = "wugl"
"""


def case_rows(n: int, now: datetime, unit_ids: list[int], rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    day = timedelta(days=1)
    start = now - 730 * day
    for i in range(1, n + 1):
        received = start + (730 * day) * (i / n) - timedelta(minutes=rng.randint(0, 600))
        r = rng.random()
        unit = rng.choice(unit_ids)
        due = received + 15 * day
        closed = archived = None
        if r < 0.01:
            state, unit_or_none, due_or_none = "voided", None, None
        elif r < 0.04:
            state, unit_or_none, due_or_none = rng.choice(["registered", "returned"]), None, None
        elif r < 0.19:  # open: most due later, about one in eight overdue
            state = rng.choice(["assigned", "accepted", "accepted", "extension_requested"])
            unit_or_none = unit
            due_or_none = now + rng.random() * 14 * day if rng.random() > 0.125 else now - rng.random() * 20 * day
            received = min(received, now - day)
        elif r < 0.27:
            state, unit_or_none, due_or_none = rng.choice(["submitted", "reviewed", "approved", "replied"]), unit, due
        elif r < 0.29:
            state, unit_or_none, due_or_none = "tracking", unit, due
        else:
            state, unit_or_none, due_or_none = rng.choice(["closed", "archived", "archived"]), unit, due
            closed = received + 10 * day
            archived = closed + day if state == "archived" else None
        subject = SUBJECTS[i % len(SUBJECTS)]
        phone = f"13{rng.randint(100000000, 999999999)}"
        rows.append(
            {
                "id": i,
                "number": f"LY{received.year}-{i:06d}",
                "version": 1,
                "state": state,
                "level": "县（区）级",
                "source": "人民网留言板",
                "source_ref": f"RMW-{i:07d}",
                "petitioner": SURNAMES[i % len(SURNAMES)] + "先生",
                "contact": phone,
                "contact_key": phone,
                "title": f"{subject}（{i}）",
                "title_key": f"{subject}{i}",
                "content": CONTENT,
                "received_at": received,
                "category": CATEGORIES[i % len(CATEGORIES)],
                "unit_id": unit_or_none,
                "co_unit_ids": [rng.choice(unit_ids)] if unit_or_none and rng.random() < 0.05 else [],
                "due_at": due_or_none,
                "complex": False,
                "urgent": rng.random() < 0.02,
                "needs_leader": False,
                "assigned_at": received + timedelta(hours=1) if unit_or_none else None,
                "closed_at": closed,
                "archived_at": archived,
                "step_due_at": due if state in ("submitted", "reviewed", "approved") else None,
                "extension_count": 0,
                "interim_count": 0,
                "created_at": received,
                "updated_at": received,
            }
        )
    return rows


def event_rows(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for c in cases:
        rows.append(
            {
                "case_id": c["id"],
                "at": c["received_at"],
                "action": "register",
                "actor_name": "接口登记",
                "to_state": "registered",
            }
        )
        if c["unit_id"]:
            rows.append(
                {
                    "case_id": c["id"],
                    "at": c["assigned_at"],
                    "action": "assign",
                    "actor_name": "钱登记",
                    "from_state": "registered",
                    "to_state": "assigned",
                }
            )
    return rows


async def load(runtime: Runtime, n: int, now: datetime) -> float:
    from store import directory

    deps = runtime.deps
    async with deps.sessions() as session:
        unit_ids = [u.id for u in await directory.list_units(session)]
    rng = random.Random(15)
    started = time.perf_counter()
    cases = case_rows(n, now, unit_ids, rng)
    for i in range(0, n, BATCH):
        batch = cases[i : i + BATCH]
        async with deps.sessions() as session, session.begin():
            await add_cases_bulk(session, batch)
            await add_events_bulk(session, event_rows(batch))
    async with deps.sessions() as session, session.begin():
        from sqlalchemy import text  # the bench's own ANALYZE, as a DBA would run after a bulk load

        await session.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def sign_in(base: str, username: str) -> aiohttp.ClientSession:
    import re

    s = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with s.get("/desk/login") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    assert token
    data = {"csrf": token.group(1), "username": username, "password": PASSWORD}
    async with s.post("/desk/login", data=data, allow_redirects=False) as r:
        assert r.status == 303, r.status
    return s


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(s: aiohttp.ClientSession, paths: Any, runs: int, warmup: int) -> list[float]:
    times = []
    for i in range(warmup + runs):
        path = paths() if callable(paths) else paths
        t = time.perf_counter()
        async with s.get(path, allow_redirects=False) as r:
            await r.read()
            assert r.status == 200, (path, r.status)
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1000)
    return times


async def plans(runtime: Runtime) -> list[tuple[str, str]]:
    """The SQLite plans of the ledger's page and count queries, as the dispatcher sends them."""
    from sqlalchemy.dialects import sqlite

    from bot.domain.visibility import ListScope
    from store.models import Case

    scope = ListScope(True, frozenset(), frozenset({"党风廉政", "涉法涉诉"}))
    handler_scope = ListScope(False, frozenset({7}), frozenset())
    found = []
    async with runtime.deps.read_sessions() as session:
        for label, sc, f in [
            ("dispatcher, no filter", scope, desk_store.Ledger()),
            ("dispatcher, state", scope, desk_store.Ledger(state="accepted")),
            ("dispatcher, unit", scope, desk_store.Ledger(unit_id=7)),
            ("dispatcher, phone", scope, desk_store.Ledger(contact_key="13812345678")),
            ("dispatcher, overdue", scope, desk_store.Ledger(overdue_at=datetime(2026, 11, 2, 1, 0, tzinfo=UTC))),
            ("handler, no filter", handler_scope, desk_store.Ledger()),
            ("dispatcher, keyword found nowhere", scope, desk_store.Ledger(keyword="不存在的词")),
            ("handler, keyword", handler_scope, desk_store.Ledger(keyword="油烟")),
        ]:
            from sqlalchemy import func, select

            conds = desk_store._ledger_conditions(session, sc, f)
            stmt = select(Case.id).where(*conds).order_by(Case.id.desc()).limit(51)
            count = select(func.count()).select_from(select(Case.id).where(*conds).limit(1001).subquery())
            for kind, st in (("page", stmt), ("count", count)):
                sql = str(st.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
                from sqlalchemy import text

                rows = (await session.execute(text("EXPLAIN QUERY PLAN " + sql))).all()
                found.append((f"{label} ({kind})", " | ".join(str(r[-1]) for r in rows)))
    return found


async def main(n: int, runs: int, warmup: int, keep: bool) -> None:
    OUT.mkdir(exist_ok=True)
    db = OUT / f"bench_desk_{n}.db"
    reuse = keep and db.exists()
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    config = parse_config(config_text(db))
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    clock = ManualClock(now)
    runtime = await Runtime.start(config, clock=clock)
    if reuse:
        print(f"sqlite: {n:,} cases, reusing {db.name} (--keep)")
    else:
        loaded = await load(runtime, n, now)
        print(f"sqlite: {n:,} cases (+ timeline) loaded in {loaded:.1f} s through store.cases.add_cases_bulk")
        for username, person in (("qian", "钱登记"), ("sun", "孙督查"), ("h07", "承办07")):
            await add_account(runtime.deps, username, person, PASSWORD)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rng = random.Random(7)
    dispatcher = await sign_in(base, "qian")
    supervisor = await sign_in(base, "sun")
    handler = await sign_in(base, "h07")

    async with runtime.deps.read_sessions() as session:
        sample = [c.number for c in await desk_store.cases_by_ids(session, rng.sample(range(1, n + 1), 1000))]

    def any_case() -> str:
        return f"/desk/cases/{rng.choice(sample)}"

    pages: list[tuple[str, aiohttp.ClientSession, Any]] = [
        ("我的待办 (dispatcher)", dispatcher, "/desk/"),
        ("台账 p1 (dispatcher)", dispatcher, "/desk/cases"),
        ("台账 p200 (dispatcher)", dispatcher, "/desk/cases?page=200"),
        ("台账 state=accepted", dispatcher, "/desk/cases?state=accepted"),
        ("台账 unit", dispatcher, "/desk/cases?unit=7"),
        ("台账 category+dates", dispatcher, "/desk/cases?category=教育&from=2026-01-01&to=2026-03-31"),
        ("台账 keyword", dispatcher, "/desk/cases?q=油烟"),
        ("台账 keyword, rare", dispatcher, "/desk/cases?q=不存在的词"),
        ("台账 phone", dispatcher, "/desk/cases?phone=13812345678"),
        ("台账 petitioner", dispatcher, "/desk/cases?petitioner=王先生&state=accepted"),
        ("台账 source ref", dispatcher, "/desk/cases?ref=RMW-0050000"),
        ("台账 overdue", dispatcher, "/desk/cases?overdue=1"),
        ("case page (random)", dispatcher, any_case),
        ("登记 form", dispatcher, "/desk/register"),
        ("督办 board (supervisor)", supervisor, "/desk/board"),
        ("我的待办 (unit handler)", handler, "/desk/"),
        ("台账 p1 (unit handler)", handler, "/desk/cases"),
        ("台账 keyword (unit handler)", handler, "/desk/cases?q=油烟"),
        ("统计 this month (supervisor)", supervisor, "/desk/stats"),
    ]
    print(f"\n{'page':34} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  ≤200 ms at p99   (ms, {runs} runs)")
    worst = 0.0
    for label, s, path in pages:
        times = await measure(s, path, runs if "统计" not in label else max(20, runs // 10), warmup)
        p99 = pct(times, 99)
        worst = max(worst, p99)
        ok = "yes" if p99 <= 200 else "NO"
        print(
            f"{label:34} {statistics.median(times):7.1f} {pct(times, 95):7.1f} {p99:7.1f} {max(times):7.1f}  {ok}",
            flush=True,
        )
    print(f"\nworst p99: {worst:.1f} ms")
    print("\nquery plans (SQLite EXPLAIN QUERY PLAN):")
    for label, plan in await plans(runtime):
        print(f"  {label}: {plan}")
    for s in (dispatcher, supervisor, handler):
        await s.close()
    await runner.cleanup()
    await runtime.close()
    if not keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.runs, args.warmup, args.keep))
