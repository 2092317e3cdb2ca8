"""Benchmark: WeCom callback ingress of ``liuyan serve`` (SQLite) against two references.

    /work/venv/bin/python bench/bench_ingress.py [--events 20000] [--concurrency 16,64] \
        [--targets bot,floor,flask] [--rounds 1] [--flask-workers 2,4] [--crash-check]

What runs, each in its own process (nothing shares an event loop with the load generator):

* ``fake``  — the FakeWeCom API server (tests/fakes/fake_wecom.py) on a free port, knowing every
  sender, so the bot's inbound worker and outbox sender really reply somewhere harmless.
* ``bot``   — the real ``liuyan serve -c <generated config>``: WeCom enabled, ``api_base`` = the
  fake, a fresh SQLite file per cell, 100 senders who are all in the directory (handlers of 10
  units), logging at INFO. The inbound worker, the outbox sender and the scheduler run as in
  production, so the worker's writes compete with ingress for the SQLite write lock.
* ``floor`` — bench/floor_server.py: bare aiohttp + WeComCrypto + parse + one sqlite3 INSERT.
* ``flask`` — bench/flask_handler.py under gunicorn, sync workers: one cell per count in
  ``--flask-workers`` (named flask-2w, flask-4w).
* ``loadgen`` — this file again: an aiohttp client with ``concurrency`` keep-alive connections
  and as many coroutines, each sending the next pre-generated request and timing it
  (perf_counter around post + read). Client-side latency; rps = requests / wall time.

The requests: ``--events`` distinct events (even = text "待办" from one of 100 members, odd = a
card click on a task id of its own with a packed 签收 key), encrypted and signed with the real
scheme (tests/fakes/wecom_callbacks.py). Each is sent twice: the retry is re-encrypted (new
nonce, timestamp, random prefix: only the plaintext is the same, as with a real WeCom retry)
and scheduled 1–400 requests after the original, so at 64 connections many retries race their
original. Every cell gets a fresh database and the very same request file.

Exactly-once proof, per cell: every response is an empty 200; afterwards the database holds
exactly ``events`` rows, ``events`` distinct (platform, dedupe_key) pairs and precisely the
expected key set. Durability: every 50th acknowledged first delivery is looked up by the load
generator, right after its 200, through a read-only sqlite3 connection of its own (a row that
is not committed yet is invisible to it). ``--crash-check`` adds, for the bot and the floor, a
run that SIGKILLs the server mid-load: every event that had been answered 200 must be in the
database when it is reopened.

Also printed per cell: server CPU (the process and its children, from /proc) per request, for
the bot and the floor the CPU of their main thread alone (the serving event loop; the bot's
inbound worker and driver threads are others), the client's CPU, the load average when the cell
started, and for the bot how many events its inbound worker processed during the load and per
second in the 5 s after it.

Other options: ``--bot-root DIR`` runs the bot from another source tree (e.g. ``git archive`` of
an older revision, for before/after), ``--profile cpu|gil|native`` records py-spy collapsed
stacks of the bot and the floor into bench/out/profile-*.txt (``pip install py-spy``), ``--keep`` keeps the work folder (databases,
server logs). ``BENCH_BOT_CMD="... {cfg}"`` replaces the bot's command (diagnostics only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
OUT = ROOT / "bench" / "out"

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wwfakecorp0000001"
AGENT_ID = 1000002
SECRET = "fake-secret-1000002"
USERS = [f"bench{i:03d}" for i in range(100)]
UNITS = [f"测试单位{i:02d}" for i in range(10)]
HEADERS = {"Content-Type": "text/xml"}
CHECK_EVERY = 50
WORKER_WATCH = 5.0
BOT_CMD = os.environ.get("BENCH_BOT_CMD", "")


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready ({url})")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout}s: {url}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children (gunicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = {pid}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid:
                pids.add(int(entry.name))
    for p in pids:
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def thread_cpu(pid: int) -> float:
    """User + system CPU seconds of the main thread of ``pid`` alone (the serving event loop;
    the bot's inbound worker and the driver threads are other threads)."""
    try:
        stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the requests -------------------------------------------------------------------------------


@dataclass
class Req:
    path_qs: str
    body: bytes
    key: str
    first: bool


def build_requests(events: int, seed: int) -> list[Req]:
    from bot.cards.payload import CardAction, Verb
    from tests.fakes.wecom_callbacks import WeComCallbacks

    rng = random.Random(seed)
    base_time = int(time.time())  # the bot refuses callbacks 15 minutes away from its clock
    cb = WeComCallbacks(TOKEN, AES_KEY, CORP_ID, agent_id=AGENT_ID, clock=lambda: base_time)
    slots: list[tuple[float, Req]] = []
    for i in range(events):
        user = USERS[i % len(USERS)]
        ct = base_time + i // 50
        if i % 2 == 0:
            msg_id = 7_000_000_000_000_000_000 + i
            fields = {
                "ToUserName": CORP_ID,
                "FromUserName": user,
                "CreateTime": ct,
                "MsgType": "text",
                "Content": "待办",
                "MsgId": msg_id,
                "AgentID": AGENT_ID,
            }
            key = str(msg_id)
        else:
            task_id = f"bench-{i}"
            event_key = CardAction(Verb.ACCEPT, f"LY2026-{900000 + i % 1000:06d}", 1).pack()
            fields = {
                "ToUserName": CORP_ID,
                "FromUserName": user,
                "CreateTime": ct,
                "MsgType": "event",
                "Event": "template_card_event",
                "EventKey": event_key,
                "TaskId": task_id,
                "CardType": "button_interaction",
                "ResponseCode": f"RC{i:08d}",
                "AgentID": AGENT_ID,
            }
            key = f"{user}|{ct}|template_card_event|{task_id}|{event_key}"
        first = cb.from_fields(fields, timestamp=str(ct), nonce=str(rng.randrange(10**9)))
        retry = cb.from_fields(fields, timestamp=str(ct + 5), nonce=str(rng.randrange(10**9)))
        slots.append((i, Req(first.path_qs(), first.body, key, True)))
        slots.append((i + rng.randint(1, 400) / 2 + 0.25, Req(retry.path_qs(), retry.body, key, False)))
    slots.sort(key=lambda s: s[0])
    return [r for _, r in slots]


# --- the load generator (its own process) ------------------------------------------------------------


async def loadgen(
    url: str, requests_file: Path, concurrency: int, check_db: str | None, out: Path, acked_file: Path | None
) -> None:
    import aiohttp
    from yarl import URL

    reqs: list[Req] = pickle.loads(requests_file.read_bytes())
    n = len(reqs)
    urls = [URL(url + r.path_qs, encoded=True) for r in reqs]
    lat = [0.0] * n
    status = [0] * n
    nonempty = 0
    errors: dict[str, int] = {}
    missing: list[str] = []
    checked = 0
    check = None
    if check_db:
        check = sqlite3.connect(f"file:{check_db}?mode=ro", uri=True, isolation_level=None)
    acked: list[str] = []
    nxt = 0

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal nxt, nonempty, checked
            while nxt < n:
                i = nxt
                nxt += 1
                r = reqs[i]
                t0 = time.perf_counter()
                try:
                    async with session.post(urls[i], data=r.body, headers=HEADERS) as resp:
                        body = await resp.read()
                        st = resp.status
                except Exception as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    st, body = -1, b""
                lat[i] = time.perf_counter() - t0
                status[i] = st
                if st == 200:
                    if body:
                        nonempty += 1
                    if acked_file is not None:
                        acked.append(r.key)
                    if check is not None and r.first and i % CHECK_EVERY == 0:
                        checked += 1
                        row = check.execute(
                            "SELECT 1 FROM inbound_events WHERE platform = 'wecom' AND dedupe_key = ?", (r.key,)
                        ).fetchone()
                        if row is None:
                            missing.append(r.key)

        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)

    ok = sorted(lat[i] for i in range(n) if status[i] == 200)
    codes: dict[str, int] = {}
    for st in status:
        codes[str(st)] = codes.get(str(st), 0) + 1

    def pct(p: float) -> float:
        return ok[min(len(ok) - 1, int(p * len(ok)))] * 1000 if ok else float("nan")

    result = {
        "requests": n,
        "elapsed": elapsed,
        "rps": n / elapsed,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "p999_ms": pct(0.999),
        "max_ms": (ok[-1] * 1000 if ok else float("nan")),
        "mean_ms": (statistics.fmean(ok) * 1000 if ok else float("nan")),
        "status": codes,
        "errors": errors,
        "nonempty_bodies": nonempty,
        "durability_checked": checked,
        "durability_missing": len(missing),
        "client_cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
    }
    out.write_text(json.dumps(result))
    if acked_file is not None:
        acked_file.write_text("\n".join(acked))


# --- the servers ------------------------------------------------------------------------------------


def bot_config(db: Path, port: int, fake_url: str) -> str:
    units = "\n".join(f'[[units]]\nname = "{u}"\n' for u in UNITS)
    people = "\n".join(
        f'[[people]]\nname = "测试{i:03d}"\nroles = ["handler"]\nunits = ["{UNITS[i % len(UNITS)]}"]\n'
        f'wecom_userid = "{u}"\n'
        for i, u in enumerate(USERS)
    )
    return f"""
[server]
host = "127.0.0.1"
port = {port}
public_url = "https://liuyan.example.gov.cn"

[database]
url = "sqlite+aiosqlite:///{db}"

[api]
token = "bench-token-0123456789abcdef"  # serve refuses an API token under 24 characters

[office]
case_number_prefix = "LY"

{units}
{people}
[[people]]
name = "管理员"
roles = ["admin"]
wecom_userid = "benchadmin"

[wecom]
enabled = true
corp_id = "{CORP_ID}"
agent_id = {AGENT_ID}
secret = "{SECRET}"
token = "{TOKEN}"
encoding_aes_key = "{AES_KEY}"
api_base = "{fake_url}"

[logging]
level = "INFO"
"""


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    db: Path
    log: Any


def fill_backlog(db: Path, count: int) -> None:
    """``count`` pending events (texts "待办" from the 100 members) written straight into the bot's
    (migrated) database: the inbound worker starts draining them as soon as the bot is up."""
    from datetime import UTC, datetime

    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from bot.ports import Inbound
    from store import inbox

    now = datetime.now(UTC)
    writer = inbox.InlineSQLite(str(db), sqlite_dialect.dialect())
    try:
        for start in range(0, count, 500):
            rows = [
                inbox.event_row(
                    "wecom",
                    f"backlog-{i}",
                    "text",
                    Inbound("wecom", USERS[i % len(USERS)], "text", 1_770_000_000 + i, text="待办").to_payload(),
                    now,
                )
                for i in range(start, min(count, start + 500))
            ]
            assert writer.write(rows) is not None
    finally:
        writer.close()


def start_server(
    target: str, workdir: Path, fake_url: str, flask_workers: int, bot_root: Path = ROOT, backlog: int = 0
) -> Server:
    port = free_port()
    db = workdir / f"{target}.db"
    log = open(workdir / f"{target}.log", "wb")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if target == "bot":
        cfg = workdir / "liuyan.toml"
        cfg.write_text(bot_config(db, port, fake_url), encoding="utf-8")
        cmd = [PY, "-m", "bot", "serve", "-c", str(cfg)]  # = `liuyan serve`, from bot_root's sources
        if backlog:  # migrate first, then store the backlog the worker drains during the load
            subprocess.run(
                [PY, "-m", "bot", "db", "upgrade", "-c", str(cfg)],
                cwd=bot_root,
                env=dict(env, PYTHONPATH=str(bot_root)),
                check=True,
                capture_output=True,
            )
            fill_backlog(db, backlog)
        if BOT_CMD:  # diagnostics only: another entry point with the same config
            cmd = [part.replace("{cfg}", str(cfg)) for part in BOT_CMD.split()]
        env["PYTHONPATH"] = str(bot_root)
    elif target == "floor":
        cmd = [
            PY,
            str(ROOT / "bench" / "floor_server.py"),
            "--port",
            str(port),
            "--db",
            str(db),
            "--token",
            TOKEN,
            "--aes-key",
            AES_KEY,
            "--corp-id",
            CORP_ID,
        ]
    elif target.startswith("flask"):
        flask_workers = int(target.split("-")[1].rstrip("w")) if "-" in target else flask_workers
        env.update(BENCH_DB=str(db), BENCH_TOKEN=TOKEN, BENCH_AES_KEY=AES_KEY, BENCH_CORP_ID=CORP_ID)
        cmd = [
            GUNICORN,
            "-w",
            str(flask_workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "bench.flask_handler:app",
        ]
    else:
        raise ValueError(target)
    proc = subprocess.Popen(
        cmd, cwd=bot_root if target == "bot" else ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/healthz", proc)
    return Server(target, proc, url, db, log)


def worker_done(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM inbound_events WHERE status = 'done'").fetchone()[0])
    finally:
        conn.close()


def verify(db: Path, expected: set[str], backlog: int = 0) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT count(*) FROM inbound_events").fetchone()[0] - backlog
    distinct = (
        conn.execute("SELECT count(DISTINCT platform || char(0) || dedupe_key) FROM inbound_events").fetchone()[0]
        - backlog
    )
    keys = {k for (k,) in conn.execute("SELECT dedupe_key FROM inbound_events WHERE platform = 'wecom'")}
    keys = {k for k in keys if not k.startswith("backlog-")}
    done = None
    if conn.execute("SELECT count(*) FROM pragma_table_info('inbound_events') WHERE name = 'processed_at'").fetchone()[
        0
    ]:
        done = conn.execute("SELECT count(*) FROM inbound_events WHERE status = 'done'").fetchone()[0]
    conn.close()
    return {
        "rows": rows,
        "distinct": distinct,
        "missing": len(expected - keys),
        "unexpected": len(keys - expected),
        "exactly_once": rows == distinct == len(expected) and keys == expected,
        "worker_done": done,
    }


# --- orchestration -----------------------------------------------------------------------------------


@dataclass
class Cell:
    target: str
    concurrency: int
    round: int
    load: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)
    server_cpu_s: float = 0.0
    loop_cpu_s: float = 0.0  # the server's main thread only (bot, floor: the event loop)
    worker: list[int] = field(default_factory=list)  # events done: before the load, at its end, WORKER_WATCH s later
    loadavg: tuple[float, float, float] = (0.0, 0.0, 0.0)


def run_cell(
    target: str,
    conc: int,
    rnd: int,
    req_file: Path,
    expected: set[str],
    tmp: Path,
    fake_url: str,
    flask_workers: int,
    bot_root: Path,
    profile: str = "",
    backlog: int = 0,
) -> Cell:
    workdir = tmp / f"{target}-{conc}-{rnd}"
    workdir.mkdir()
    cell = Cell(target, conc, rnd, loadavg=os.getloadavg())
    server = start_server(target, workdir, fake_url, flask_workers, bot_root, backlog if target == "bot" else 0)
    try:
        time.sleep(1.0)  # let the bot's first tick and token fetch pass
        spy = None
        if profile and target in ("bot", "floor"):  # py-spy (collapsed stacks) during the load
            spy = subprocess.Popen(
                [
                    str(Path(PY).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(server.proc.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--threads",
                    *(["--gil"] if profile == "gil" else ["--native"] if profile == "native" else []),
                    "-o",
                    str(OUT / f"profile-{target}-{conc}-{rnd}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        cpu0 = tree_cpu(server.proc.pid)
        loop0 = thread_cpu(server.proc.pid)
        if target == "bot":
            cell.worker = [worker_done(server.db)]
        out = workdir / "load.json"
        subprocess.run(
            [
                PY,
                __file__,
                "loadgen",
                "--url",
                server.url,
                "--requests",
                str(req_file),
                "--concurrency",
                str(conc),
                "--check-db",
                str(server.db),
                "--out",
                str(out),
            ],
            check=True,
            cwd=ROOT,
        )
        cell.server_cpu_s = tree_cpu(server.proc.pid) - cpu0
        cell.loop_cpu_s = thread_cpu(server.proc.pid) - loop0
        cell.load = json.loads(out.read_text())
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        if target == "bot":  # how the inbound worker catches up once the burst is over
            cell.worker.append(worker_done(server.db))
            time.sleep(WORKER_WATCH)
            cell.worker.append(worker_done(server.db))
    finally:
        stop(server.proc)
        server.log.close()
    cell.check = verify(server.db, expected, backlog if target == "bot" else 0)
    return cell


def crash_check(
    target: str, conc: int, req_file: Path, expected: set[str], tmp: Path, fake_url: str, bot_root: Path, after: float
) -> dict[str, Any]:
    workdir = tmp / f"crash-{target}-{conc}"
    workdir.mkdir()
    server = start_server(target, workdir, fake_url, 4, bot_root)
    out, acked_file = workdir / "load.json", workdir / "acked.txt"
    gen = subprocess.Popen(
        [
            PY,
            __file__,
            "loadgen",
            "--url",
            server.url,
            "--requests",
            str(req_file),
            "--concurrency",
            str(conc),
            "--out",
            str(out),
            "--acked",
            str(acked_file),
        ],
        cwd=ROOT,
    )
    time.sleep(after)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    server.log.close()
    gen.wait()
    acked = set(acked_file.read_text().split("\n")) - {""} if acked_file.exists() else set()
    conn = sqlite3.connect(server.db)
    keys = {k for (k,) in conn.execute("SELECT dedupe_key FROM inbound_events")}
    rows = conn.execute("SELECT count(*) FROM inbound_events").fetchone()[0]
    conn.close()
    return {
        "target": target,
        "acked_events": len(acked),
        "rows_after_restart": rows,
        "acked_but_lost": len(acked - keys),
        "duplicates": rows - len(keys),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="WeCom callback ingress benchmark")
    sub = parser.add_subparsers(dest="role")
    lg = sub.add_parser("loadgen")
    lg.add_argument("--url", required=True)
    lg.add_argument("--requests", type=Path, required=True)
    lg.add_argument("--concurrency", type=int, required=True)
    lg.add_argument("--check-db")
    lg.add_argument("--out", type=Path, required=True)
    lg.add_argument("--acked", type=Path)
    fk = sub.add_parser("fake")
    fk.add_argument("--port", type=int, required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--targets", default="bot,floor,flask")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--flask-workers", default="2,4", help="gunicorn sync worker counts, one cell each")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--crash-check", action="store_true")
    parser.add_argument(
        "--backlog",
        type=int,
        default=0,
        help="store this many pending events in the bot's database before it starts: its inbound "
        "worker drains them during the load (ack latency while the worker is busy)",
    )
    parser.add_argument(
        "--bot-root",
        type=Path,
        default=ROOT,
        help="run the bot from this source tree (e.g. an exported older revision, for before/after)",
    )
    parser.add_argument(
        "--profile",
        choices=["", "cpu", "gil", "native"],
        default="",
        help="py-spy the bot during each cell; collapsed stacks in bench/out/profile-*.txt",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (databases, logs)")
    args = parser.parse_args()

    if args.role == "loadgen":
        asyncio.run(loadgen(args.url, args.requests, args.concurrency, args.check_db, args.out, args.acked))
        return
    if args.role == "fake":
        run_fake(args.port)
        return

    OUT.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ingress-", dir=OUT))
    t0 = time.perf_counter()
    reqs = build_requests(args.events, args.seed)
    req_file = tmp / "requests.pickle"
    req_file.write_bytes(pickle.dumps(reqs))
    expected = {r.key for r in reqs}
    assert len(expected) == args.events
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cores; "
        f"{args.events:,} distinct events ({args.events // 2:,} text, {args.events - args.events // 2:,} clicks), "
        f"each sent twice = {len(reqs):,} requests; generated in {time.perf_counter() - t0:.1f} s"
    )
    print(
        f"flask: gunicorn sync workers {args.flask_workers}; load before start: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )

    fake_port = free_port()
    fake = subprocess.Popen(
        [PY, __file__, "fake", "--port", str(fake_port)],
        cwd=ROOT,
        stdout=open(tmp / "fake.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    fake_url = f"http://127.0.0.1:{fake_port}"
    cells: list[Cell] = []
    try:
        wait_ready(fake_url + "/healthz", fake)
        concs = [int(c) for c in args.concurrency.split(",")]
        targets = []
        for t in args.targets.split(","):
            targets += [f"flask-{w}w" for w in args.flask_workers.split(",")] if t == "flask" else [t]
        for rnd in range(args.rounds):
            for conc in concs:
                for target in targets:
                    cell = run_cell(
                        target,
                        conc,
                        rnd,
                        req_file,
                        expected,
                        tmp,
                        fake_url,
                        4,
                        args.bot_root,
                        args.profile,
                        args.backlog,
                    )
                    cells.append(cell)
                    print_cell(cell)
        crashes = []
        if args.crash_check:
            for target in ("bot", "floor"):
                if target in targets:
                    crashes.append(
                        crash_check(target, max(concs), req_file, expected, tmp, fake_url, args.bot_root, 3.0)
                    )
                    print("crash check:", json.dumps(crashes[-1]))
    finally:
        stop(fake)
    print()
    summary(cells, args.rounds)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


def print_cell(c: Cell) -> None:
    L, K = c.load, c.check
    print(
        f"  {c.target:5} c={c.concurrency:<3} r{c.round}: {L['rps']:7.0f} req/s  p50 {L['p50_ms']:6.1f} ms  "
        f"p99 {L['p99_ms']:6.1f} ms  max {L['max_ms']:6.0f} ms  status {L['status']}  errors {L['errors']}  "
        f"rows {K['rows']} distinct {K['distinct']} missing {K['missing']} exactly_once {K['exactly_once']}  "
        f"durable {L['durability_checked'] - L['durability_missing']}/{L['durability_checked']}  "
        f"server cpu {c.server_cpu_s:.1f} s"
        + (f" (main thread {c.loop_cpu_s / L['requests'] * 1e6:.0f} µs/req)" if c.target in ("bot", "floor") else "")
        + f"  client cpu {L['client_cpu_s']:.1f} s  "
        f"load {c.loadavg[0]:.2f}"
        + (
            f"  worker: {c.worker[1] - c.worker[0]} done during the load "
            f"({(c.worker[1] - c.worker[0]) / L['elapsed']:.0f}/s), "
            f"{(c.worker[2] - c.worker[1]) / WORKER_WATCH:.0f}/s after"
            if len(c.worker) == 3
            else ""
        ),
        flush=True,
    )


def summary(cells: list[Cell], rounds: int) -> None:
    by: dict[tuple[str, int], list[Cell]] = {}
    for c in cells:
        by.setdefault((c.target, c.concurrency), []).append(c)

    def med(key: tuple[str, int], field_: str) -> float:
        return statistics.median(c.load[field_] for c in by[key])

    concs = sorted({c.concurrency for c in cells})
    targets = list(dict.fromkeys(c.target for c in cells))
    note = f" (median of {rounds} rounds)" if rounds > 1 else ""
    print(f"| server | conns | req/s | p50 ms | p99 ms | server CPU µs/req | exactly once | durable (sampled) |{note}")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for conc in concs:
        for t in targets:
            cs = by[(t, conc)]
            once = all(
                c.check["exactly_once"]
                and c.load["status"] == {"200": c.load["requests"]}
                and c.load["nonempty_bodies"] == 0
                for c in cs
            )
            dur = sum(c.load["durability_checked"] - c.load["durability_missing"] for c in cs)
            chk = sum(c.load["durability_checked"] for c in cs)
            cpu = statistics.median(c.server_cpu_s / c.load["requests"] * 1e6 for c in cs)
            print(
                f"| {t} | {conc} | {med((t, conc), 'rps'):,.0f} | {med((t, conc), 'p50_ms'):.1f} | "
                f"{med((t, conc), 'p99_ms'):.1f} | {cpu:.0f} | {'yes' if once else 'NO'} | {dur}/{chk} |"
            )
    print()
    for conc in concs:
        if ("bot", conc) not in by:
            continue
        bot = med(("bot", conc), "rps")
        parts = [
            f"bot/{t} = {bot / med((t, conc), 'rps'):.1f}×"
            for t in targets
            if t.startswith("flask") and (t, conc) in by
        ]
        if ("floor", conc) in by:
            parts.append(f"bot/floor = {bot / med(('floor', conc), 'rps') * 100:.0f} %")
        p99 = med(("bot", conc), "p99_ms")
        parts += [f"p99 bot/{t} = {p99 / med((t, conc), 'p99_ms'):.2f}×" for t in targets if t != "bot"]
        drains = [(c.worker[1] - c.worker[0]) / c.load["elapsed"] for c in by[("bot", conc)] if len(c.worker) == 3]
        afters = [(c.worker[2] - c.worker[1]) / WORKER_WATCH for c in by[("bot", conc)] if len(c.worker) == 3]
        if drains:
            parts.append(
                f"worker drain {statistics.median(drains):.0f}/s during the load, "
                f"{statistics.median(afters):.0f}/s after"
            )
        print(f"conns {conc}: " + "; ".join(parts))


# --- the fake WeCom (its own process) ----------------------------------------------------------------------


def run_fake(port: int) -> None:
    from aiohttp import web

    from tests.fakes.fake_wecom import FakeWeCom

    fake = FakeWeCom(corp_id=CORP_ID, agents={AGENT_ID: SECRET}, users=[*USERS, "benchadmin"])
    fake.requests = _Discard()  # do not keep 40k logged requests
    app = fake.app()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


class _Discard(list):  # type: ignore[type-arg]
    def append(self, _item: Any) -> None:
        pass


if __name__ == "__main__":
    main()
