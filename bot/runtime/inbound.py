"""Inbound platform events: stored under their dedupe key before the callback is answered, then
processed by a worker. A retried callback hits the unique key and changes nothing; an event stored
but not processed when the process died is processed after the restart."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.handlers.deps import Deps
from bot.ports import CardRecipient, Inbound, StoreEvent
from bot.runtime.loop import Wake, work_forever
from store import db, inbox
from store import outbox as outbox_store
from store.db import Engine, Session

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
SWITCH_INTERVAL = 0.001  # seconds: see InboundWorker.run


def _row(dedupe_key: str, event: Inbound, now: datetime) -> dict[str, Any]:
    return inbox.event_row(event.platform, dedupe_key, event.kind, event.to_payload(), now)


async def store_event(session: Session, platform: str, dedupe_key: str, event: Inbound, now: datetime) -> bool:
    """Insert the event; False when it was seen before (a platform retry)."""
    row = inbox.event_row(platform, dedupe_key, event.kind, event.to_payload(), now)
    return (await inbox.store_events(session, [row]))[0]


def store_one(deps: Deps) -> StoreEvent:
    """Storing an event in a transaction of its own (no group commit; the edges use EventStore)."""

    async def store(event: Inbound, dedupe_key: str) -> bool:
        async with deps.sessions() as session, session.begin():
            return await store_event(session, event.platform, dedupe_key, event, deps.clock.now())

    return store


def card_recipient(deps: Deps) -> CardRecipient:
    """Who a card we sent went to: the look-up behind DingTalk's card-click authorisation."""

    async def lookup(platform: str, task_id: str) -> str | None:
        async with deps.sessions() as session:
            return await outbox_store.card_recipient(session, platform, task_id)

    return lookup


class WriteGate:
    """Callbacks being stored go first: the inbound worker's transactions wait until callbacks
    have stopped arriving for ``quiet_for`` seconds — or, under a flood that never pauses, at most
    ``max_wait`` seconds, so the worker keeps draining in short slices (it bounds each transaction
    to a few milliseconds) between which the callbacks' group commits go through. The write lock
    itself is arbitrated by ``store.db.WriteTurns``, where a callback's commit goes ahead of the
    writers waiting (``InlineSQLite.write_in_turn``).

    ``max_wait`` is 0.1 s: under a flood, a slice (usually one event, several milliseconds of
    CPU under the GIL the serving loop needs, and the write lock meanwhile) every 100 ms rather
    than every 50 ms took about 10 ms off the callbacks' p99 (bench/README.md, issue 11). The
    outbox sender waits longer still (``OutboxSender.flood_pause``).

    The two sides run on different threads (the worker has a thread and loop of its own on a
    SQLite file): the state is guarded by a ``threading.Lock`` never held across an await, and the
    worker waiting for a lull is woken on its own loop when the last callback in hand is answered."""

    def __init__(self, *, quiet_for: float = 0.02, max_wait: float = 0.1) -> None:
        self.quiet_for = quiet_for
        self.max_wait = max_wait
        self._mutex = threading.Lock()
        self._pending = 0  # callbacks handed to the store and not yet answered
        self._last = 0.0  # monotonic time of the last arrival or answer
        self._quiet_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []  # for a lull

    def arrive(self) -> None:
        with self._mutex:
            self._pending += 1
            self._last = time.monotonic()

    def depart(self) -> None:
        with self._mutex:
            self._pending -= 1
            self._last = time.monotonic()
            waiters = self._quiet_waiters if self._pending == 0 else []
            if waiters:
                self._quiet_waiters = []
        for loop, future in waiters:  # the worker waits for a lull: tell it (its own loop)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake_up, future)

    def busy_within(self, seconds: float) -> bool:
        """Whether a callback is being stored or one was within the last ``seconds``."""
        with self._mutex:
            return self._pending > 0 or time.monotonic() - self._last < seconds

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        await self.lull()
        yield

    async def lull(self, max_wait: float | None = None) -> None:
        """Wait until no callback came for ``quiet_for`` seconds, at most ``max_wait`` seconds
        (the gate's own when not given)."""
        deadline = time.monotonic() + (self.max_wait if max_wait is None else max_wait)
        loop = asyncio.get_running_loop()
        while (now := time.monotonic()) < deadline:
            with self._mutex:
                pending, last = self._pending, self._last
                if pending:  # callbacks are being stored: woken when the last one is answered
                    lull = loop.create_future()
                    self._quiet_waiters.append((loop, lull))
            if pending:
                try:
                    await asyncio.wait_for(lull, deadline - now)
                except TimeoutError:  # no lull in time: take a slice anyway
                    with self._mutex:
                        if (loop, lull) in self._quiet_waiters:
                            self._quiet_waiters.remove((loop, lull))
                continue
            idle = now - last
            if idle >= self.quiet_for:
                break
            await asyncio.sleep(min(self.quiet_for - idle, deadline - now))


def _wake_up(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_GATES: weakref.WeakKeyDictionary[object, WriteGate] = weakref.WeakKeyDictionary()


def write_gate(deps: Deps) -> WriteGate:
    """The gate of this process and database (one per session factory)."""
    gate = _GATES.get(deps.sessions)
    if gate is None:
        gate = _GATES[deps.sessions] = WriteGate()
    return gate


class EventStore:
    """Stores callbacks with group commit: every caller's row is committed before its ``store``
    returns (so the callback answers 200 only for a durable event), but callbacks that arrive while
    a commit is under way share the next transaction — one BEGIN IMMEDIATE / INSERT / COMMIT for
    the lot instead of one each (SQLite has a single writer: queueing on an asyncio future is
    cheaper and fairer than every request polling the write lock). A lone callback is written at
    once; a batch that fails is retried row by row, so one bad row fails only its own request.
    """

    def __init__(self, deps: Deps, *, max_batch: int = 200) -> None:
        self.deps = deps
        self.max_batch = max_batch
        self._queue: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.gate = write_gate(deps)
        self._inline = inbox.InlineSQLite.for_sessions(deps.sessions)
        self.commits = 0  # transactions that stored events (fewer than the events under load)

    def close(self) -> None:
        """Release the inline SQLite connection (the async path needs no closing)."""
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    async def _write(self, rows: Sequence[dict[str, Any]]) -> list[bool]:
        if self._inline is not None:
            fresh = self._inline.write(rows)
            if fresh is None:  # another writer of this process: right after it, still inline
                fresh = await self._inline.write_in_turn(rows)
            if fresh is not None:
                self.commits += 1
                return fresh
        async with self.deps.sessions() as session, session.begin():
            fresh = await inbox.store_events(session, rows)
        self.commits += 1
        return fresh

    async def store(self, event: Inbound, dedupe_key: str) -> bool:
        """True when the event is new (and now committed), False for a retry of a stored one
        (a :data:`bot.ports.StoreEvent`)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((_row(dedupe_key, event, self.deps.clock.now()), future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="inbound-event-store")
        self.gate.arrive()
        try:
            return await future
        finally:
            self.gate.depart()

    async def _drain(self) -> None:
        batch: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                try:
                    fresh = await self._write([row for row, _ in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        _settle(batch[0][1], exc=exc)
                        continue
                    log.warning(
                        "storing %s inbound events together failed; storing them one by one", len(batch), exc_info=True
                    )
                    for row, future in batch:
                        try:
                            (one,) = await self._write([row])
                        except Exception as exc:
                            _settle(future, exc=exc)
                        else:
                            _settle(future, one)
                    continue
                for (_, future), one in zip(batch, fresh, strict=True):
                    _settle(future, one)
        finally:
            self._writer = None
            for _, future in batch + self._queue:  # only left over when cancelled (shutdown)
                _settle(future, exc=RuntimeError("inbound event store stopped"))
            self._queue.clear()


def _settle(future: asyncio.Future[bool], value: bool = False, *, exc: BaseException | None = None) -> None:
    if future.done():  # the request went away (cancelled); its row may still have been stored
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)


Handler = Callable[[Session, Inbound], Awaitable[None]]


class InboundWorker:
    """Processes stored events in arrival order. Events are processed in slices: one transaction
    holds as many events as fit in ``slice_seconds`` (``quiet_slice_seconds`` when no callback
    came for a second) (their rows read with one statement, their
    "done" marks written with one), and its effects and "done" marks commit together, so a crash
    never processes an event twice; if one event fails, the slice is rolled back and that event
    alone gets its retry mark. Between slices the worker yields to callbacks being stored
    (:class:`WriteGate`): the answer to a callback never waits for more than one slice. While
    callbacks arrive a slice is 3 ms (in practice one event: its commit is what they may wait
    for), otherwise 50 ms.

    With ``handler_for`` (how to build the handler on other sessions) and a SQLite file, :meth:`run`
    works in a thread of its own, with its own event loop and its own engine whose statements run
    inline on that thread (``store.inline_sqlite``): the serving loop never runs the worker's
    Python, and the worker's ~40 statements per event cost no hop to a driver thread. Otherwise
    (PostgreSQL, in-memory SQLite, tests stepping :meth:`run_once`) it works on the caller's loop.
    """

    def __init__(
        self,
        deps: Deps,
        handle: Handler,
        *,
        poll: float = 1.0,
        after: Callable[[], None] | None = None,
        batch: int = 100,
        slice_seconds: float = 0.003,
        quiet_slice_seconds: float = 0.05,
        handler_for: Callable[[Deps], Handler] | None = None,
    ) -> None:
        self.deps = deps
        self.handle = handle
        self.poll = poll
        self.after = after
        self.batch = batch
        self.slice_seconds = slice_seconds
        self.quiet_slice_seconds = quiet_slice_seconds
        self.handler_for = handler_for
        self.wake = Wake()
        self.gate = write_gate(deps)  # callbacks being stored go first (shared with the EventStore)
        self._stop = threading.Event()

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> None:
        engine = db.inline_twin(self.deps.sessions) if self.handler_for is not None else None
        if engine is None:
            await work_forever(self.run_once, self.wake, self.poll, "inbound worker", self._stop.is_set)
            return
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def settle(exc: BaseException | None) -> None:
            if not finished.done():
                if exc is None:
                    finished.set_result(None)
                else:
                    finished.set_exception(exc)

        def main() -> None:
            error: BaseException | None = None
            try:
                asyncio.run(self._run_on(engine))
            except BaseException as exc:  # reported to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # the serving loop is gone: nobody waits
                loop.call_soon_threadsafe(settle, error)

        # the worker's thread runs Python for as long as events wait; a thread that wants the GIL
        # gets it after the switch interval: 1 ms instead of 5 keeps the serving loop's answers
        # from waiting behind the worker's Python
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        threading.Thread(target=main, name="inbound-worker", daemon=True).start()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            self.stop()  # the thread finishes the event in hand and gives the rest back
            raise

    async def _run_on(self, engine: Engine) -> None:
        """The worker's own thread: the same loop as :meth:`run`, on sessions of ``engine``."""
        assert self.handler_for is not None
        deps = dataclasses.replace(self.deps, sessions=db.sessionmaker(engine), reads=db.read_sessionmaker(engine))
        twin = InboundWorker(
            deps,
            self.handler_for(deps),
            poll=self.poll,
            after=self.after,
            batch=self.batch,
            slice_seconds=self.slice_seconds,
            quiet_slice_seconds=self.quiet_slice_seconds,
        )
        twin.wake, twin.gate, twin._stop = self.wake, self.gate, self._stop
        try:
            await work_forever(twin.run_once, twin.wake, twin.poll, "inbound worker", twin._stop.is_set)
        finally:
            await engine.dispose()

    def stop(self) -> None:
        """Finish the event in hand, then return from :meth:`run`; events claimed but not started
        are given back (pending, no lease) for the next start."""
        self._stop.set()
        self.wake.set()

    async def run_once(self) -> int:
        gate = self.gate
        async with gate.background():
            ids = await self._claim()
        done = 0
        try:
            while done < len(ids) and not self._stopping:
                async with gate.background():
                    done += await self._process_slice(ids[done:])
        finally:
            if done < len(ids) and self._stopping:
                await self._release(ids[done:])
        if ids and self.after is not None:
            self.after()
        return len(ids)

    async def _release(self, ids: list[int]) -> None:
        try:
            async with self.deps.sessions() as session, session.begin():
                await inbox.release(session, ids)
        except Exception:  # their lease runs out on its own (LEASE) and the next start takes them
            log.warning("could not give back %s claimed inbound events", len(ids), exc_info=True)

    async def _claim(self) -> list[int]:
        now = self.deps.clock.now()
        async with self.deps.sessions() as session, session.begin():
            return await inbox.claim(session, now=now, lease_until=now + LEASE, limit=self.batch)

    async def _process_slice(self, ids: list[int]) -> int:
        """Process events of ``ids`` in one transaction until the slice's time is up (at least one,
        and never past a stop request); returns how many were taken. If one of them fails, the
        slice is rolled back and only its first event is processed, alone (a failing event then
        gets its retry mark; the rest go in the next slices)."""
        started = time.monotonic()
        # callbacks lately: short slices, so that none waits long for the write lock; none for a
        # while: longer ones (fewer transactions), and the first callback waits at most that long
        budget = self.slice_seconds if self.gate.busy_within(1.0) else max(self.slice_seconds, self.quiet_slice_seconds)
        taken = 0
        try:
            async with self.deps.sessions() as session, session.begin():
                await self.deps.calendar.ensure_fresh(session)  # a calendar change elsewhere counts at once
                done: list[int] = []
                rows: dict[int, dict[str, Any]] = {}
                for event_id in ids:
                    if taken % _READ_AHEAD == 0:
                        rows = await inbox.pending_payloads(session, ids[taken : taken + _READ_AHEAD])
                    taken += 1
                    payload = rows.get(event_id)
                    if payload is not None:
                        await self._process_one(session, Inbound.from_payload(payload))
                        done.append(event_id)
                    if self._stopping or time.monotonic() - started >= budget:
                        break
                await inbox.mark_done(session, done, self.deps.clock.now())
        except Exception:
            if taken > 1:
                log.warning("a slice of %s inbound events failed; the first one alone", taken, exc_info=True)
            await self._process(ids[0])  # records the failure if it is this one
            return 1
        return taken

    async def _process_one(self, session: Session, event: Inbound) -> None:
        if event.kind == "click" and event.task_id and event.reply_ref:
            # the click's reference is fresher than the send's (WeCom spec §3.6)
            await outbox_store.refresh_card_ref(session, event.task_id, event.reply_ref)
        await self.handle(session, event)

    async def _process(self, event_id: int) -> None:
        """One event in a transaction of its own; a failure is recorded for a later retry."""
        try:
            async with self.deps.sessions() as session, session.begin():
                await self.deps.calendar.ensure_fresh(session)
                payload = (await inbox.pending_payloads(session, [event_id])).get(event_id)
                if payload is not None:
                    await self._process_one(session, Inbound.from_payload(payload))
                    await inbox.mark_done(session, [event_id], self.deps.clock.now())
        except Exception as exc:
            log.exception("inbound event %s failed", event_id)
            async with self.deps.sessions() as session, session.begin():
                now = self.deps.clock.now()
                await inbox.mark_failed(
                    session,
                    event_id,
                    f"{type(exc).__name__}: {exc}",
                    retry_after=lambda attempts: now + timedelta(seconds=30 * attempts),
                    max_attempts=MAX_ATTEMPTS,
                )


#: events whose rows a slice reads with one statement (a slice usually takes a few)
_READ_AHEAD = 8
