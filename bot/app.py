"""Wiring: database, dependencies, HTTP routes and background services of one bot process."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.calendar_service import CalendarHolder, load_calendar
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.domain.workcalendar import coverage_warnings
from bot.handlers.deps import Deps, Notifier, NullNotifier
from bot.handlers.directory import bootstrap_from_config
from bot.metrics import Metrics
from bot.web import api, ops
from store import db

log = logging.getLogger(__name__)

#: A background service: started after the database is ready, stopped before it closes.
Service = Callable[["Runtime"], Awaitable[Callable[[], Awaitable[None]]]]


@dataclass
class Runtime:
    config: Config
    engine: AsyncEngine
    deps: Deps
    metrics: Metrics = field(default_factory=Metrics)
    _stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        migrate: bool = True,
        notifier: Notifier | None = None,
        announce: bool = False,
    ) -> Runtime:
        url = db.resolve_url(config.database.url, config.base_dir)
        engine = db.create_engine(url, echo=config.database.echo, pool_size=config.database.pool_size)
        if migrate:
            await db.upgrade(engine)
        sessions = db.sessionmaker(engine)
        async with sessions() as session:
            calendar = await load_calendar(session, config.calendar.overrides())
        deps = Deps(
            config=config,
            sessions=sessions,
            clock=clock or SystemClock(),
            calendar=CalendarHolder(calendar, config.calendar.overrides()),
            notifier=notifier or NullNotifier(),
        )
        await bootstrap_from_config(deps)
        runtime = cls(config=config, engine=engine, deps=deps)
        if announce:
            today = deps.clock.now().astimezone(config.office.hours().tz).date()
            for warning in coverage_warnings(calendar, today):
                log.warning("calendar: %s", warning)
        return runtime

    async def add_service(self, service: Service) -> None:
        self._stops.append(await service(self))

    async def close(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                await stop()
            except Exception:  # keep stopping the others
                log.exception("error while stopping a service")
        await self.engine.dispose()


def build_app(runtime: Runtime) -> web.Application:
    app = web.Application(
        client_max_size=runtime.config.server.max_body_kb * 1024,
        middlewares=[ops.measure, api.api_guard],
    )
    app[api.DEPS] = runtime.deps
    app[ops.METRICS] = runtime.metrics
    ops.add_routes(app)
    api.add_routes(app)
    return app


async def serve(config: Config, *, ready: Callable[[int], None] | None = None) -> None:
    """Run the server until SIGTERM/SIGINT; then stop accepting, finish background work, close."""
    runtime = await Runtime.start(config, announce=True)
    app = build_app(runtime)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.server.host, config.server.port)
    await site.start()
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
