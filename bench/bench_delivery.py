"""Delivery benchmarks (issue 11), against the strict fake WeCom.

``latency``: 5,000 bulk messages queued for one unit's people; the inbound worker and the outbox
sender run as in production (their own loops); people send commands, and each answer's latency
is timed from the callback POST to the answer's ``message/send`` arriving at the fake. The
bot's clock runs 20× faster than the wall clock so that pacing windows open during the run.

``crash``: a mixed load (texts and cards to 8 people) sent by a sender in a child process that is
killed with SIGKILL at a random moment, 20 times, then run to the end; the fake (another child
process, its state kept across the sender's deaths) counts what each person got. Lost = queued
but never delivered; duplicated = delivered more than once; false alerts = admin alerts queued.

    .venv/bin/python bench/bench_delivery.py latency [--bulk 5000] [--commands 40]
    .venv/bin/python bench/bench_delivery.py crash [--kills 20] [--messages 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from bot.app import Runtime
from bot.cards.models import Button, Card, card_payload
from bot.clock import ManualClock
from store import outbox
from store.models import OutboxMessage

USERS = ("zhangsan", "limei", "wangkz", "zhaozj", "qiandj", "sundc", "zhousj", "wugl")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


# --- latency ---------------------------------------------------------------------------------


async def latency(bulk: int, commands: int) -> None:
    from tests.fakes.office import Office

    tmp = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    clock = ManualClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    office = await Office.open(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", clock)
    fake = office.fake
    unit = ("zhangsan", "limei")
    async with office.runtime.deps.sessions() as session, session.begin():
        for i in range(bulk):
            await outbox.enqueue(
                session,
                platform="wecom",
                channel="user",
                recipient=unit[i % 2],
                payload={"type": "text", "text": f"【提醒】第{i}条：某件即将到期"},
                now=clock.now(),
            )
    ch = office.runtime.channels
    tasks = [asyncio.create_task(ch.sender.run()), asyncio.create_task(ch.worker.run())]

    async def run_clock() -> None:  # the bot's time at 20× the wall clock, the fake's in step
        while True:
            await asyncio.sleep(0.05)
            clock.advance(seconds=1)
            fake.advance(1)

    tasks.append(asyncio.create_task(run_clock()))
    await asyncio.sleep(2)  # the sender is busy with the bulk
    samples: list[float] = []
    for i in range(commands):
        before = len(fake.messages)
        t0 = time.perf_counter()
        status = await office.post(office.side().text_request("zhangsan", f"查询 LY2026-{900000 + i}"), settle=False)
        assert status == 200
        # the fake runs in this event loop: polled every 2 ms, the answer's arrival is seen at once
        while not [m for m in fake.messages[before:] if m.content and not m.content.startswith("【提醒】")]:
            if time.perf_counter() - t0 > 30:
                raise SystemExit(f"no answer within 30 s (after {len(samples)} answers)")
            await asyncio.sleep(0.002)
        samples.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(random.uniform(0.2, 0.5))
    sent_bulk = sum(1 for u in unit for m in fake.messages_to(u) if (m.content or "").startswith("【提醒】"))
    async with office.runtime.deps.sessions() as session:
        from sqlalchemy import func, select

        pending = (
            await session.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            )
        ).scalar_one()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await office.close()
    print(f"bulk queued: {bulk} for {len(unit)} people; commands: {commands} (查询 from zhangsan)")
    print(
        f"bulk delivered during the run: {sent_bulk}; still queued: {pending}; dropped by the fake: {len(fake.drops)}"
    )
    print(
        "answer latency, callback POST → message/send at the fake: "
        f"p50 {statistics.median(samples):.0f} ms, p90 {pct(samples, 90):.0f} ms, "
        f"p99 {pct(samples, 99):.0f} ms, max {max(samples):.0f} ms"
    )


# --- crash -------------------------------------------------------------------------------------


class ShiftedClock:
    """Real time plus an offset the orchestrator moves on (each restart: the leases ran out);
    with ``path``, the offset is read from that file (shared by the orchestrator)."""

    def __init__(self, offset: float = 0.0, path: Path | None = None) -> None:
        self.offset = offset
        self.path = path

    def now(self) -> datetime:
        if self.path is not None:
            self.offset = float(self.path.read_text() or 0)
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def __call__(self) -> float:
        return self.now().timestamp()

    def set(self, at: datetime) -> None:
        self.offset = (at - datetime.now(UTC)).total_seconds()

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        self.offset += seconds + timedelta(**delta).total_seconds()


async def fake_server(port: int) -> None:
    from tests.fakes.fake_wecom import FakeWeCom

    fake = FakeWeCom(users=USERS)
    fake.time = ShiftedClock()  # type: ignore[assignment]
    app = fake.app()

    async def stats(_: web.Request) -> web.Response:
        got: dict[str, list[str]] = {}
        for m in fake.messages:
            for user in m.delivered_to:
                label = (m.content or "") if m.card is None else f"card:{m.card['task_id']}"
                got.setdefault(user, []).append(label)
        updated = sum(1 for v in fake._cards.values() if v.updates)
        return web.json_response(
            {"got": got, "duplicates": fake.duplicates, "drops": len(fake.drops), "cards_updated": updated}
        )

    async def shift(request: web.Request) -> web.Response:
        fake.time.offset = float(request.query["offset"])  # type: ignore[attr-defined]
        return web.json_response({})

    app.router.add_get("/_stats", stats)
    app.router.add_post("/_shift", shift)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def config_for(db_path: Path, port: int) -> Any:
    from tests.conftest import make_config
    from tests.fakes.fake_wecom import FakeWeCom
    from tests.fakes.office import AES_KEY, TOKEN

    fake = FakeWeCom(users=USERS)
    config = make_config(f"sqlite+aiosqlite:///{db_path}")
    w = config.wecom
    w.enabled = True
    w.corp_id, w.agent_id, w.secret = fake.corp_id, fake.agent_id, fake.secret
    w.api_base = f"http://127.0.0.1:{port}"
    w.token, w.encoding_aes_key = TOKEN, AES_KEY
    return config


async def sender_process(db_path: Path, port: int, offset: float) -> None:
    async with aiohttp.ClientSession() as http:
        clock = ShiftedClock(path=db_path.with_suffix(".offset"))
        runtime = await Runtime.start(config_for(db_path, port), clock=clock, http=http, migrate=False)
        while True:
            if await runtime.channels.sender.run_once() == 0:
                await asyncio.sleep(0.05)


async def queue_load(db_path: Path, port: int, messages: int, seed: int) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    runtime = await Runtime.start(config_for(db_path, port), clock=ShiftedClock())
    expected: dict[str, list[str]] = {}
    now = datetime.now(UTC)
    people = USERS[:-1]  # wugl is the admin: alerts would go to wugl
    async with runtime.deps.sessions() as session, session.begin():
        for i in range(messages):
            user = rnd.choice(people)
            if rnd.random() < 0.3:
                task_id = f"BENCH-{i:05d}-{rnd.getrandbits(32):08x}"
                card = Card(f"第{i}件", buttons=[Button("签收", "k1"), Button("退回", "k2")])
                oid = await outbox.enqueue(
                    session,
                    platform="wecom",
                    channel="user",
                    recipient=user,
                    payload=card_payload(card, "assign") | {"task_id": task_id},
                    now=now,
                )
                await outbox.add_card_task(
                    session,
                    task_id=task_id,
                    platform="wecom",
                    case_id=None,
                    person_id=None,
                    recipient=user,
                    kind="assign",
                    stage=1,
                    card=card.to_dict(),
                    outbox_id=oid,
                    now=now,
                )
                expected.setdefault(user, []).append(f"card:{task_id}")
                if rnd.random() < 0.5:  # the case moves on: grey the card out
                    closed = Card(f"第{i}件", closed="已签收")
                    await outbox.enqueue(
                        session,
                        platform="wecom",
                        channel="card_update",
                        recipient=user,
                        payload={"type": "card_update", "task_id": task_id, "card": closed.to_dict()},
                        now=now,
                    )
            else:
                text = f"第{i}条消息"
                lane = outbox.INTERACTIVE if rnd.random() < 0.3 else outbox.BULK
                await outbox.enqueue(
                    session,
                    platform="wecom",
                    channel="user",
                    recipient=user,
                    payload={"type": "text", "text": text},
                    now=now,
                    lane=lane,
                )
                expected.setdefault(user, []).append(text)
    await runtime.close()
    return expected


async def counts(db_path: Path) -> tuple[int, int, int]:
    """(pending, dead, alerts to the admin) in the outbox."""
    from sqlalchemy import func, select

    from store import db

    engine = db.create_engine(f"sqlite+aiosqlite:///{db_path}")
    async with db.sessionmaker(engine)() as session:

        async def n(*where: Any) -> int:
            stmt = select(func.count()).select_from(OutboxMessage).where(*where)
            return int((await session.execute(stmt)).scalar_one())

        result = (
            await n(OutboxMessage.status == "pending"),
            await n(OutboxMessage.status == "dead"),
            await n(OutboxMessage.recipient == "wugl"),
        )
    await engine.dispose()
    return result


def crash(kills: int, messages: int, seed: int) -> None:
    rnd = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    db_path = tmp / "crash.db"
    port = 18000 + rnd.randrange(1000)
    me = [sys.executable, __file__]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    server = subprocess.Popen([*me, "_fake", "--port", str(port)], stdout=subprocess.PIPE, env=env)
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    try:
        expected = asyncio.run(queue_load(db_path, port, messages, seed))
        offset = 0.0
        offset_file = db_path.with_suffix(".offset")

        def shift(by: float) -> None:
            nonlocal offset
            offset += by
            tmp_file = offset_file.with_suffix(".tmp")
            tmp_file.write_text(str(offset))
            tmp_file.replace(offset_file)  # atomic: a reader never sees it half written
            aiohttp_post(port, f"/_shift?offset={offset}")

        shift(0)
        killed_at: list[float] = []
        sender = [*me, "_sender", "--db", str(db_path), "--port", str(port)]
        for _ in range(kills):
            child = subprocess.Popen(sender, env=env)
            wait = rnd.uniform(1.0, 4.0)  # start-up takes about a second: kills land mid-load
            time.sleep(wait)
            child.send_signal(signal.SIGKILL)
            child.wait()
            killed_at.append(wait)
            shift(121)  # the next process starts after the dead one's leases ran out
        child = subprocess.Popen(sender, env=env)
        deadline = time.time() + 300
        while time.time() < deadline:
            time.sleep(2)
            pending, _dead, _alerts = asyncio.run(counts(db_path))
            if pending == 0:
                break
            shift(61)  # let pacing windows pass (the fake's clock in step)
        child.send_signal(signal.SIGKILL)
        child.wait()
        pending, dead, alerts = asyncio.run(counts(db_path))
        stats = json.loads(aiohttp_get(port, "/_stats"))
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    got: dict[str, list[str]] = stats["got"]
    lost = sum(1 for u, items in expected.items() for x in items if x not in got.get(u, []))
    duplicated = sum(len(items) - len(set(items)) for items in got.values())
    print(f"messages queued: {sum(len(v) for v in expected.values())} (texts and cards) + card updates, to 7 people")
    print(f"SIGKILLs: {kills} (after {min(killed_at):.1f}–{max(killed_at):.1f} s each), then run to the end")
    print(
        f"lost: {lost}; duplicated deliveries at the fake: {duplicated}; false alerts: {alerts}; dead letters: {dead}"
    )
    print(
        f"still pending: {pending}; repeats suppressed by the duplicate check: {stats['duplicates']}; "
        f"dropped by the fake's limits: {stats['drops']}; cards greyed out: {stats['cards_updated']}"
    )


def aiohttp_post(port: int, path: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST"), timeout=10)


def aiohttp_get(port: int, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return str(resp.read().decode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["latency", "crash", "_fake", "_sender"])
    parser.add_argument("--bulk", type=int, default=5000)
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--offset", type=float, default=0.0)
    args = parser.parse_args()
    if args.what == "latency":
        asyncio.run(latency(args.bulk, args.commands))
    elif args.what == "crash":
        crash(args.kills, args.messages, args.seed)
    elif args.what == "_fake":
        asyncio.run(fake_server(args.port))
    else:
        asyncio.run(sender_process(args.db, args.port, args.offset))


if __name__ == "__main__":
    main()
