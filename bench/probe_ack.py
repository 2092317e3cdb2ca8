"""Diagnostics for ``bench_ingress.py``: ``liuyan serve`` with timing probes on the write path.

    BENCH_BOT_CMD="/work/venv/bin/python bench/probe_ack.py serve -c {cfg}" PROBE_OUT=/tmp/probe.json \
        /work/venv/bin/python bench/bench_ingress.py --events 10000 --concurrency 64 --targets bot --backlog 30000

Wraps, in the bot's process, ``store.db.WriteTurns`` (who waits for the write turn and how long,
who holds it and how long: the serving loop's tasks, the callbacks' group commit, the inbound
worker's thread, with the worker's CPU time while it holds it), ``InlineSQLite.write`` (the
callbacks' group commit on the loop: done at once, or the lock was busy) and ``EventStore.store``
(a callback's wait for its commit). Every 2 s and at exit, a summary per probe (n, sum, p50, p99,
max) goes to ``$PROBE_OUT`` as JSON, with the garbage collections by generation. Diagnostics only: the probes cost the loop a little CPU.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())  # the bot's tree (bench_ingress runs the bot from --bot-root)

import store.db as sdb
from bot.runtime import inbound, outbox
from store import inbox

STATS: dict[str, list[float]] = collections.defaultdict(list)
HOLDER: dict[int, tuple[str, float, float]] = {}


def who() -> str:
    name = threading.current_thread().name
    if name != "MainThread":
        return name
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return "loop"
    task_name = task.get_name() if task is not None else "?"
    return "loop:" + ("task" if task_name.startswith("Task-") else task_name)


_acquire = sdb.WriteTurns.acquire
_release = sdb.WriteTurns.release


async def acquire(self: sdb.WriteTurns, timeout: float, *, first: bool = False) -> None:
    t0 = time.perf_counter()
    await _acquire(self, timeout, first=first)
    t1 = time.perf_counter()
    holder = who()
    STATS[f"turn wait: {holder}{' (first)' if first else ''}"].append(t1 - t0)
    HOLDER[id(self)] = (holder, t1, time.thread_time())


def release(self: sdb.WriteTurns) -> None:
    held = HOLDER.pop(id(self), None)
    if held is not None:
        holder, since, cpu = held
        STATS[f"turn held: {holder}"].append(time.perf_counter() - since)
        if holder == threading.current_thread().name:  # a thread of its own: its CPU meanwhile
            STATS[f"turn held, CPU: {holder}"].append(time.thread_time() - cpu)
    _release(self)


_write = inbox.InlineSQLite.write


def write(self: inbox.InlineSQLite, rows: Any) -> list[bool] | None:
    t0 = time.perf_counter()
    fresh = _write(self, rows)
    STATS["group commit: " + ("done" if fresh is not None else "lock busy")].append(time.perf_counter() - t0)
    STATS["group commit: rows"].append(len(rows))
    return fresh


_store = inbound.EventStore.store


async def store(self: inbound.EventStore, event: Any, key: str) -> bool:
    t0 = time.perf_counter()
    try:
        return await _store(self, event, key)
    finally:
        STATS["callback: store → committed"].append(time.perf_counter() - t0)
        if not STORES:
            STORES.append(t0)
        STORES[1:] = [t0]


_deliver = outbox.OutboxSender._deliver
_claim = outbox.OutboxSender._claim
STORES: list[float] = []  # first and last callback stored
SENDS: list[float] = []
FULL_GC: list[tuple[float, float]] = []  # (start, seconds) of each full collection


async def deliver(self: outbox.OutboxSender, row_id: int) -> Any:
    SENDS.append(time.perf_counter())
    return await _deliver(self, row_id)


async def claim(self: outbox.OutboxSender, lanes: tuple[int, ...]) -> list[int]:
    t0 = time.perf_counter()
    ids = await _claim(self, lanes)
    STATS["sender: claim"].append(time.perf_counter() - t0)
    return ids


_GC_START: dict[int, float] = {}


def on_gc(phase: str, info: dict[str, int]) -> None:
    """Garbage collections by generation: how long each one stopped the process."""
    key = threading.get_ident()
    if phase == "start":
        _GC_START[key] = time.perf_counter()
    elif key in _GC_START:
        start = _GC_START.pop(key)
        STATS[f"gc: generation {info['generation']}"].append(time.perf_counter() - start)
        if info["generation"] == 2:
            FULL_GC.append((start, time.perf_counter() - start))


def dump() -> None:
    out: dict[str, Any] = {}
    if STORES:
        first, last = STORES[0], STORES[-1]
        during = sum(1 for t in SENDS if first <= t <= last)
        out["sender: sends while callbacks came"] = {"n": during, "per_s": round(during / max(last - first, 1e-9), 1)}
        out["gc: full collections while callbacks came, ms"] = [
            round(seconds * 1000, 1) for start, seconds in FULL_GC if first <= start <= last
        ]
    for key, values in sorted(STATS.items()):
        v = sorted(values)
        n = len(v)
        if key.endswith("rows"):
            out[key] = {"n": n, "mean": round(sum(v) / n, 1)}
        else:
            out[key] = {
                "n": n,
                "sum_s": round(sum(v), 3),
                "p50_ms": round(v[n // 2] * 1000, 2),
                "p99_ms": round(v[int(n * 0.99)] * 1000, 2),
                "max_ms": round(v[-1] * 1000, 2),
            }
    Path(os.environ.get("PROBE_OUT", "probe.json")).write_text(json.dumps(out, indent=1))


def every_two_seconds() -> None:
    while True:
        time.sleep(2)
        dump()


sdb.WriteTurns.acquire = acquire  # type: ignore[method-assign]
sdb.WriteTurns.release = release  # type: ignore[method-assign]
inbox.InlineSQLite.write = write  # type: ignore[method-assign]
inbound.EventStore.store = store  # type: ignore[method-assign]
outbox.OutboxSender._deliver = deliver  # type: ignore[method-assign]
outbox.OutboxSender._claim = claim  # type: ignore[method-assign]
gc.callbacks.append(on_gc)
atexit.register(dump)
threading.Thread(target=every_two_seconds, daemon=True).start()

if __name__ == "__main__":
    from bot.cli import main

    main()
