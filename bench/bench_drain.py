"""Benchmark: how fast the inbound worker drains stored events on SQLite, one process, no load.

    /work/venv/bin/python bench/bench_drain.py [--events 3000] [--rounds 3] [--mode thread|loop]

A fresh SQLite file with the bench_ingress directory (100 handlers in 10 units), ``--events``
pending events stored straight into ``inbound_events`` (half texts "待办", half 签收 clicks on
unknown cases, as in bench_ingress), then ``InboundWorker.run_once`` until nothing is left, with
the real chat handler (replies are queued in the outbox, nothing is sent). Prints events/s (wall),
the process CPU per event (all threads), and the load average at the start of each round.
``--mode thread`` (default) runs ``InboundWorker.run()`` as ``liuyan serve`` does (on a SQLite file:
its own thread, loop and engine) and polls the table every 10 ms until nothing is pending;
``--mode loop`` steps ``run_once`` on the bench's loop (the only mode before issue 11's thread).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_ingress as B


async def one_round(events: int, workdir: Path, mode: str) -> tuple[float, float]:
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
        if mode == "loop":
            done = 0
            while n := await worker.run_once():
                done += n
            assert done == events
        else:  # as `liuyan serve` runs it: its own thread, loop and engine on a SQLite file
            task = asyncio.create_task(worker.run())
            check = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                while check.execute("SELECT count(*) FROM inbound_events WHERE status != 'done'").fetchone()[0]:
                    await asyncio.sleep(0.01)
            finally:
                check.close()
                worker.stop()
                await task
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return events / wall, cpu / events * 1000
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="inbound worker drain rate")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--mode",
        choices=("thread", "loop"),
        default="thread",
        help="thread: InboundWorker.run() as `liuyan serve` runs it; loop: run_once() on this loop",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            load = os.getloadavg()[0]
            rate, cpu_ms = asyncio.run(one_round(args.events, Path(tmp), args.mode))
            print(
                f"round {r} ({args.mode}): {args.events} events, {rate:.0f} events/s, {cpu_ms:.1f} ms CPU/event, load {load:.2f}"
            )


if __name__ == "__main__":
    main()
