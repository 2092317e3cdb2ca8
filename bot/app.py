"""Wiring: database, dependencies, chat channels, HTTP routes and background workers of one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from datetime import datetime

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.calendar_service import CalendarHolder, load_calendar
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.domain.workcalendar import coverage_warnings
from bot.handlers.chat import ChatHandler
from bot.handlers.deps import Deps
from bot.handlers.directory import bootstrap_from_config
from bot.handlers.notify import ChatNotifier
from bot.inbound import InboundWorker
from bot.jobs import Jobs
from bot.metrics import Metrics
from bot.outbox import OutboxSender, Transport
from bot.web import api, detail, ops
from store import db

log = logging.getLogger(__name__)


@dataclass
class Channels:
    """The chat side: who sends (outbox), who processes callbacks (worker), the platform edges."""

    chat: ChatHandler
    sender: OutboxSender
    worker: InboundWorker
    jobs: Jobs
    http: aiohttp.ClientSession | None = None
    routes: list[Callable[[web.Application], None]] = field(default_factory=list)


@dataclass
class Runtime:
    config: Config
    engine: AsyncEngine
    deps: Deps
    channels: Channels
    metrics: Metrics
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _scheduler: AsyncIOScheduler | None = None

    @classmethod
    async def start(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        migrate: bool = True,
        announce: bool = False,
        http: aiohttp.ClientSession | None = None,
    ) -> Runtime:
        """Open (and migrate) the database, load the calendar, build the channels. Background
        workers are not started here: ``start_workers`` does that (tests step them by hand)."""
        url = db.resolve_url(config.database.url, config.base_dir)
        engine = db.create_engine(url, echo=config.database.echo, pool_size=config.database.pool_size)
        if migrate:
            await db.upgrade(engine)
        sessions = db.sessionmaker(engine)
        async with sessions() as session:
            calendar = await load_calendar(session, config.calendar.overrides())
        clock = clock or SystemClock()
        holder = CalendarHolder(calendar, config.calendar.overrides())
        notifier = ChatNotifier(config, holder, clock)
        deps = Deps(config=config, sessions=sessions, clock=clock, calendar=holder, notifier=notifier)
        await bootstrap_from_config(deps)
        metrics = Metrics()
        channels = build_channels(deps, notifier, metrics, http)
        if announce:
            today = clock.now().astimezone(config.office.hours().tz).date()
            for warning in coverage_warnings(calendar, today):
                log.warning("calendar: %s", warning)
        return cls(config=config, engine=engine, deps=deps, channels=channels, metrics=metrics)

    def start_workers(self) -> None:
        """The outbox sender, the inbound worker and the scheduler's periodic tick. Every process
        runs them; the database (leases, unique nudge keys) keeps the work exactly-once."""
        self._tasks.append(asyncio.create_task(self.channels.sender.run(), name="outbox-sender"))
        self._tasks.append(asyncio.create_task(self.channels.worker.run(), name="inbound-worker"))
        scheduler = AsyncIOScheduler(timezone=self.config.office.timezone)
        scheduler.add_job(self._tick, "interval", seconds=self.config.nudges.tick_seconds, id="tick",
                          max_instances=1, coalesce=True, jitter=5,
                          next_run_time=datetime.now(self.config.office.hours().tz))
        scheduler.start()
        self._scheduler = scheduler

    async def _tick(self) -> None:
        try:
            await self.channels.jobs.tick()
        except Exception:  # the next tick tries again; never kill the scheduler
            log.exception("scheduled tick failed")

    async def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.channels.http is not None:
            await self.channels.http.close()
        await self.engine.dispose()


def build_channels(deps: Deps, notifier: ChatNotifier, metrics: Metrics,
                   http: aiohttp.ClientSession | None = None) -> Channels:
    cfg = deps.config
    chat = ChatHandler(deps, notifier)
    transports: dict[str, Transport] = {}
    routes: list[Callable[[web.Application], None]] = []
    own_http = None
    if cfg.wecom.enabled:
        from bot.platforms.wecom.callback import WeComCallback
        from bot.platforms.wecom.client import WeComClient
        from bot.platforms.wecom.crypto import WeComCrypto
        from bot.platforms.wecom.transport import WeComTransport

        if http is None:
            http = own_http = aiohttp.ClientSession()
        client = WeComClient(http, api_base=cfg.wecom.api_base, corp_id=cfg.wecom.corp_id,
                             secret=cfg.wecom.secret, agent_id=cfg.wecom.agent_id)
        transports["wecom"] = WeComTransport(client, cfg.wecom)
        crypto = WeComCrypto(cfg.wecom.token, cfg.wecom.encoding_aes_key, cfg.wecom.corp_id,
                             max_body_bytes=cfg.server.max_body_kb * 1024)
        routes.append(lambda app: callback.add_routes(app))
    sender = OutboxSender(deps, transports)
    worker = InboundWorker(deps, chat.handle, after=sender.wake.set)
    jobs = Jobs(deps, notifier.outbox, after=sender.wake.set)
    if cfg.wecom.enabled:
        callback = WeComCallback(deps, crypto, metrics, agent_id=cfg.wecom.agent_id, wake=worker.wake.set)
    return Channels(chat=chat, sender=sender, worker=worker, jobs=jobs, http=own_http, routes=routes)


def build_app(runtime: Runtime) -> web.Application:
    app = web.Application(
        client_max_size=runtime.config.server.max_body_kb * 1024,
        middlewares=[ops.measure, api.api_guard],
    )
    app[api.DEPS] = runtime.deps
    app[ops.METRICS] = runtime.metrics
    ops.add_routes(app)
    api.add_routes(app)
    detail.add_routes(app)
    for add in runtime.channels.routes:
        add(app)
    return app


async def serve(config: Config, *, ready: Callable[[int], None] | None = None) -> None:
    """Run the server until SIGTERM/SIGINT; then stop accepting, finish background work, close."""
    runtime = await Runtime.start(config, announce=True)
    app = build_app(runtime)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.server.host, config.server.port)
    await site.start()
    runtime.start_workers()
    port = runner.addresses[0][1] if runner.addresses else config.server.port
    log.info("liuyan listening on http://%s:%s", config.server.host, port)
    if ready is not None:
        ready(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        await runtime.close()
