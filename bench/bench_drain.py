"""Benchmark: how fast the inbound worker drains stored events on SQLite, one process, no load.

    /work/venv/bin/python bench/bench_drain.py [--events 3000] [--rounds 3]

A fresh SQLite file with the bench_ingress directory (100 handlers in 10 units), ``--events``
pending events stored straight into ``inbound_events`` (half texts "待办", half 签收 clicks on
unknown cases, as in bench_ingress), then ``InboundWorker.run_once`` until nothing is left, with
the real chat handler (replies are queued in the outbox, nothing is sent). Prints events/s (wall),
the process CPU per event, and the load average at the start of each round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_ingress as B


async def one_round(events: int, workdir: Path) -> tuple[float, float]:
    from bot.app import Runtime
    from bot.cards.payload import CardAction, Verb
    from bot.config import parse_config
    from bot.ports import Inbound
    from store import inbox

    db = workdir / "drain.db"
    for p in workdir.glob("drain.db*"):
        p.unlink()
    runtime = await Runtime.start(parse_config(B.bot_config(db, 0, "http://127.0.0.1:9")))
    try:
        now = datetime.now(UTC)
        rows = []
        for i in range(events):
            user = B.USERS[i % len(B.USERS)]
            if i % 2 == 0:
                event = Inbound("wecom", user, "text", 1_780_000_000 + i, text="待办")
            else:
                key = CardAction(Verb.ACCEPT, f"LY2026-{900000 + i % 1000:06d}", 1).pack()
                event = Inbound("wecom", user, "click", 1_780_000_000 + i, key=key, task_id=f"b-{i}", reply_ref=f"R{i}")
            rows.append(inbox.event_row("wecom", f"k{i}", event.kind, event.to_payload(), now))
        writer = inbox.InlineSQLite.for_sessions(runtime.deps.sessions)
        assert writer is not None
        for start in range(0, events, 500):
            writer.write(rows[start : start + 500])
        writer.close()
        worker = runtime.channels.worker
        t0, c0 = time.perf_counter(), time.process_time()
        done = 0
        while n := await worker.run_once():
            done += n
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert done == events
        return events / wall, cpu / events * 1000
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="inbound worker drain rate")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            load = os.getloadavg()[0]
            rate, cpu_ms = asyncio.run(one_round(args.events, Path(tmp)))
            print(f"round {r}: {args.events} events, {rate:.0f} events/s, {cpu_ms:.1f} ms CPU/event, load {load:.2f}")


if __name__ == "__main__":
    main()
