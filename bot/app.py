"""Wiring: database, dependencies, chat channels, HTTP routes and background workers of one process."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.api_token import GENERATE
from bot.calendar.service import CalendarHolder, load_calendar
from bot.clock import Clock, OffsetClock, SystemClock
from bot.config import Config
from bot.config_check import ConfigProblems, platform_problems, problems, reference_problems
from bot.domain.workcalendar import coverage_warnings
from bot.handlers.chat import ChatHandler
from bot.handlers.deps import Deps
from bot.handlers.directory import bootstrap_from_config
from bot.handlers.link_secret import load_link_secret
from bot.handlers.notify import ChatNotifier
from bot.jobs import Jobs
from bot.metrics import Metrics
from bot.ports import Transport
from bot.runtime import api_token, seen
from bot.runtime.inbound import EventStore, InboundWorker, card_recipient
from bot.runtime.outbox import OutboxSender
from bot.web import api, desk, detail, errors, ops
from bot.web.desk import signin as desk_signin
from store import db
from store import sandbox as sandbox_rows
from store.directory import unit_names_and_codes

if TYPE_CHECKING:
    from bot.platforms.dingtalk.stream import StreamStatus

log = logging.getLogger(__name__)
WEB_LOCK_TIMEOUT = 3.0  # seconds an HTTP request's write waits for SQLite's write lock


class ListenError(Exception):
    """The HTTP port cannot be opened (in use, no permission)."""

    def __init__(self, host: str, port: int, detail: str) -> None:
        super().__init__(f"{host}:{port}: {detail}")
        self.host = host
        self.port = port
        self.detail = detail


SHUTDOWN_SECONDS = 3.5  # SIGTERM → exit well within 5 s (bot/cli/serve.py adds at most a second)


@dataclass
class Channels:
    """The chat side: who sends (outbox), who processes callbacks (worker), the platform edges."""

    chat: ChatHandler
    sender: OutboxSender
    worker: InboundWorker
    jobs: Jobs
    events: EventStore
    http: aiohttp.ClientSession | None = None
    routes: list[Callable[[web.Application], None]] = field(default_factory=list)
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    stream: Any = None  # the DingTalk Stream client, in stream mode
    health: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)  # parts of /healthz
    pending_alerts: list[str] = field(default_factory=list)  # admin alerts raised outside a transaction
    sandbox: Any = None  # the sandbox's edge (bot.web.sandbox.edge.SandboxEdge) when [sandbox] enabled
    #: the desk's platform sign-in: platform → (OAuth code → that platform's user id)
    logins: dict[str, Callable[[str], Awaitable[str]]] = field(default_factory=dict)


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
        own_http = None
        try:
            await db.check_reachable(engine)
            if migrate:
                await db.upgrade(engine)
            sessions = db.sessionmaker(engine)
            clock = clock or SystemClock()
            if config.sandbox.enabled and not (config.wecom.enabled or config.dingtalk.enabled):
                # the rehearsal's office clock, moved forward from the sandbox page; never next to
                # a real platform (their signed timestamps are checked against our clock)
                async with sessions() as session:
                    clock = OffsetClock(clock, await sandbox_rows.clock_offset(session))
            if config.api.token == GENERATE:  # before anything derives from it
                config.api.token = await api_token.stored_or_new(sessions, clock.now())
            async with sessions() as session:
                calendar = await load_calendar(session, config.calendar.overrides())
            holder = CalendarHolder(calendar, config.calendar.overrides())
            secret = await load_link_secret(config, sessions, clock)  # once; shared through the database
            notifier = ChatNotifier(config, holder, clock, secret)
            deps = Deps(
                config=config,
                sessions=sessions,
                clock=clock,
                calendar=holder,
                notifier=notifier,
                reads=db.read_sessionmaker(engine),
                link_secret=secret,
            )
            await bootstrap_from_config(deps)
            metrics = Metrics()
            if (config.wecom.enabled or config.dingtalk.enabled) and http is None:
                http = own_http = aiohttp.ClientSession()
            channels = build_channels(deps, notifier, metrics, http)
            channels.http = own_http
        except BaseException:
            # a failed start leaves nothing open behind it (the caller prints one line)
            if own_http is not None:
                await own_http.close()
            await engine.dispose()
            raise
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
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.config.nudges.tick_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
            jitter=5,
            next_run_time=datetime.now(self.config.office.hours().tz),
        )
        scheduler.start()
        self._scheduler = scheduler
        for hook in self.channels.startup:
            self._tasks.append(asyncio.create_task(self._startup(hook)))
        if self.channels.stream is not None:
            self._tasks.append(self.channels.stream.start())

    async def _startup(self, hook: Callable[[], Awaitable[None]]) -> None:
        try:
            await hook()
        except Exception:  # e.g. DingTalk unreachable at start: the admin sees it in the log
            log.exception("start-up step failed")

    async def _tick(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.append(task)  # so that close() cancels a tick still running
        try:
            await self.channels.jobs.tick()
        except asyncio.CancelledError:
            raise
        except Exception:  # the next tick tries again; never kill the scheduler
            log.exception("scheduled tick failed")
        finally:
            if task is not None and task in self._tasks:
                self._tasks.remove(task)

    async def close(self, *, grace: float = 2.0) -> None:
        """Stop within a few seconds however much work is pending: the inbound worker finishes
        the event in hand (at most ``grace`` seconds) and gives back what it had claimed; the
        rest stays stored for the next start. Every other task is cancelled and waited for, but
        never for long: a task stuck on the database must not keep the process alive."""
        if self.channels.stream is not None:
            await self.channels.stream.stop(timeout=grace)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self.channels.worker.stop()
        worker = [t for t in self._tasks if t.get_name() == "inbound-worker"]
        if worker:
            await asyncio.wait(worker, timeout=grace)
        # cancel and wait for every worker (and a running tick) before the engine goes away: a
        # connection still checked out keeps its driver thread alive and the process with it
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            if not task.done():
                log.warning("shutdown: %s did not stop in time", task.get_name())
            elif not task.cancelled() and task.exception() is not None:
                log.warning("shutdown: %s ended with %r", task.get_name(), task.exception())
        self._tasks.clear()
        self.channels.events.close()
        if self.channels.http is not None:
            await self.channels.http.close()
        try:
            await asyncio.wait_for(self.engine.dispose(), grace)
        except TimeoutError:
            log.warning("shutdown: database connections not closed in time")


def build_channels(
    deps: Deps, notifier: ChatNotifier, metrics: Metrics, http: aiohttp.ClientSession | None = None
) -> Channels:
    """The chat side of the process: one transport and one inbound edge per enabled platform."""
    cfg = deps.config
    chat = ChatHandler(deps, notifier)
    transports: dict[str, Transport] = {}
    own_http = None
    if (cfg.wecom.enabled or cfg.dingtalk.enabled) and http is None:
        http = own_http = aiohttp.ClientSession()
    sender = OutboxSender(deps, transports)
    # on a SQLite file the worker runs in a thread of its own, with a handler on its own sessions
    worker = InboundWorker(
        deps, chat.handle, after=sender.answer_queued, handler_for=lambda own: ChatHandler(own, notifier).handle
    )
    jobs = Jobs(deps, notifier.outbox, after=sender.wake.set)
    # every platform's callbacks are stored with group commit (on a SQLite file, on this thread)
    events = EventStore(deps)
    channels = Channels(chat=chat, sender=sender, worker=worker, jobs=jobs, events=events, http=own_http)
    jobs.alerts = channels.pending_alerts
    if cfg.wecom.enabled:
        assert http is not None
        _wire_wecom(deps, metrics, http, channels, transports)
    if cfg.dingtalk.enabled:
        assert http is not None
        _wire_dingtalk(deps, metrics, http, channels, transports)
    if cfg.sandbox.enabled:
        _wire_sandbox(deps, channels, transports)
    return channels


def _wire_sandbox(deps: Deps, channels: Channels, transports: dict[str, Transport]) -> None:
    """The 模拟工作台: a transport that keeps messages for the chat pages, and the pages."""
    from bot.platforms.sandbox.transport import SandboxTransport
    from bot.web.sandbox import add_routes
    from bot.web.sandbox.edge import SandboxEdge
    from bot.web.sandbox.live import Hub

    edge = SandboxEdge(deps, Hub(), channels.worker.wake.set, channels.sender.wake.set, channels.jobs.tick)
    channels.sandbox = edge
    transports["sandbox"] = SandboxTransport(edge.keep)
    channels.routes.append(lambda app: add_routes(app, edge))


def _wire_wecom(
    deps: Deps, metrics: Metrics, http: aiohttp.ClientSession, channels: Channels, transports: dict[str, Transport]
) -> None:
    from bot.platforms.wecom.callback import WeComCallback
    from bot.platforms.wecom.client import WeComClient
    from bot.platforms.wecom.crypto import WeComCrypto
    from bot.platforms.wecom.transport import DUPLICATE_CHECK_SECONDS, WeComTransport

    cfg = deps.config
    client = WeComClient(
        http,
        api_base=cfg.wecom.api_base,
        corp_id=cfg.wecom.corp_id,
        secret=cfg.wecom.secret,
        agent_id=cfg.wecom.agent_id,
        duplicate_check=DUPLICATE_CHECK_SECONDS,
    )
    transports["wecom"] = WeComTransport(client, cfg.wecom)
    channels.logins["wecom"] = client.oauth_userid
    crypto = WeComCrypto(
        cfg.wecom.token, cfg.wecom.encoding_aes_key, cfg.wecom.corp_id, max_body_bytes=cfg.server.max_body_kb * 1024
    )
    events = channels.events
    callback = WeComCallback(
        crypto,
        metrics,
        agent_id=cfg.wecom.agent_id,
        store=events.store,
        wake=channels.worker.wake.set,
        now=lambda: deps.clock.now().timestamp(),
    )

    def routes(app: web.Application) -> None:
        callback.add_routes(app)

        async def close_store(_: web.Application) -> None:
            events.close()

        app.on_cleanup.append(close_store)

    channels.routes.append(routes)


def _wire_dingtalk(
    deps: Deps, metrics: Metrics, http: aiohttp.ClientSession, channels: Channels, transports: dict[str, Transport]
) -> None:
    from bot.platforms.dingtalk.callback import DingTalkInbound
    from bot.platforms.dingtalk.client import DingTalkClient, QuotaStatus
    from bot.platforms.dingtalk.stream import DingTalkStream
    from bot.platforms.dingtalk.transport import DingTalkTransport

    ding = deps.config.dingtalk

    def on_quota(status: QuotaStatus) -> None:
        channels.pending_alerts.append(
            f"钉钉接口调用本月已用 {status.calls}/{status.quota} 次"
            + ("，已达上限，消息可能无法发送" if status.exhausted else "，接近标准版月度上限")
            + "，请管理员关注。"
        )

    client = DingTalkClient(
        http,
        api_base=ding.api_base,
        oapi_base=ding.oapi_base,
        client_id=ding.client_id,
        client_secret=ding.client_secret,
        robot_code=ding.robot_code or ding.client_id,
        monthly_quota=ding.monthly_api_quota,
        on_quota=on_quota,
        wall_clock=lambda: deps.clock.now().timestamp(),
    )
    transports["dingtalk"] = DingTalkTransport(client, ding)
    channels.logins["dingtalk"] = client.oauth_userid

    edge = DingTalkInbound(
        metrics,
        secret=ding.client_secret,
        token=ding.callback_token,
        store=channels.events.store,  # Stream frames and HTTP callbacks: group commit too
        wake=channels.worker.wake.set,
        card_recipient=card_recipient(deps),
        first_use=seen.first_use(deps),
        now=lambda: deps.clock.now().timestamp(),
        alerts=channels.pending_alerts,
    )
    if ding.mode == "http":
        channels.routes.append(edge.add_routes)
        url = f"{deps.config.server.public_url.rstrip('/')}/dingtalk/callback?k={ding.callback_token}"

        async def register() -> None:
            await client.register_card_callback(ding.card_callback_route_key, url)

        channels.startup.append(register)
    else:
        stream = channels.stream = DingTalkStream(
            http,
            open_url=ding.stream_endpoint,
            client_id=ding.client_id,
            client_secret=ding.client_secret,
            on_event=edge.on_stream_event,
            on_status=stream_status_reporter(metrics, channels.pending_alerts),
        )
        channels.health["dingtalk_stream"] = lambda: {"ok": stream.status.up, **stream.status.as_dict()}


#: failed attempts in a row (network/server errors) before the admins hear of it
STREAM_ALERT_AFTER = 5


def stream_status_reporter(metrics: Metrics, alerts: list[str]) -> Callable[[StreamStatus], None]:
    """The DingTalk stream's state into /metrics, and the admins warned (through the outbox) when
    the credentials are refused, when it stays down, and when it is back."""
    warned = False

    def report(status: StreamStatus) -> None:
        nonlocal warned
        metrics.dingtalk_stream_up.set(1 if status.up else 0)
        for state in ("auth_failed", "disconnected"):
            metrics.dingtalk_stream_failures.labels(state).set(status.failures if status.state == state else 0)
        if status.state == "auth_failed" and not warned:
            warned = True
            alerts.append(
                f"钉钉 Stream 连接被拒绝（{status.error}）：请检查钉钉应用的 client_id / client_secret 与权限。"
                "修正前收不到钉钉消息，机器人会自动重试。"
            )
        elif status.state == "disconnected" and status.failures >= STREAM_ALERT_AFTER and not warned:
            warned = True
            alerts.append(
                f"钉钉 Stream 连接已连续失败 {status.failures} 次（{status.error}），正在重试，请管理员关注网络。"
            )
        elif status.up and warned:
            warned = False
            alerts.append("钉钉 Stream 连接已恢复。")

    return report


def build_app(runtime: Runtime) -> web.Application:
    app = web.Application(
        client_max_size=runtime.config.server.max_body_kb * 1024,
        middlewares=[ops.measure, errors.json_errors, api.api_guard, desk.guard],
    )
    # HTTP requests wait a few seconds for SQLite's write lock, then answer 503 (Retry-After)
    # instead of holding the client for the default 30 s
    app[api.DEPS] = dataclasses.replace(
        runtime.deps, sessions=db.sessionmaker(runtime.engine, lock_timeout=WEB_LOCK_TIMEOUT)
    )
    app[ops.METRICS] = runtime.metrics
    app[ops.HEALTH] = runtime.channels.health
    ops.add_routes(app)
    api.add_routes(app)
    detail.add_routes(app)
    if runtime.config.desk.enabled:
        app[desk_signin.LOGINS] = runtime.channels.logins
        desk.setup(app)
    for add in runtime.channels.routes:
        add(app)
    if runtime.config.desk.enabled and not runtime.config.sandbox.enabled:  # the sandbox owns / when on
        app.router.add_get("/", _to_desk)
    return app


async def _to_desk(request: web.Request) -> web.StreamResponse:
    """``/`` leads to the desk (办理台) in production (no sandbox)."""
    return web.Response(status=302, headers={"Location": "/desk/", "Cache-Control": "no-store"})


async def serve(config: Config, *, ready: Callable[[int], None] | None = None) -> None:
    """Run the server until SIGTERM/SIGINT; then stop accepting, finish background work, close.
    On SQLite the server holds the database's serve lock, so that `liuyan db restore` waits for
    it to stop (store/backup.py). Refuses to start (ConfigProblems, one line per problem) when
    ``config check`` would fail."""
    lines = reference_problems(config) + platform_problems(config)
    if lines:  # before touching the database (the default units are checked once it is open)
        raise ConfigProblems(lines)

    from store.backup import BackupError, server_lock, sqlite_file

    try:
        database = sqlite_file(db.resolve_url(config.database.url, config.base_dir))
    except BackupError:  # an in-memory database: nothing to restore into
        database = None
    lock = server_lock(database, exclusive=False) if database is not None else contextlib.nullcontext()
    with lock:
        await _serve(config, ready=ready)


async def _serve(config: Config, *, ready: Callable[[int], None] | None = None) -> None:
    runtime = await Runtime.start(config, announce=True)
    async with runtime.deps.sessions() as session:
        lines = problems(config, await unit_names_and_codes(session))
    if lines:
        await runtime.close()
        raise ConfigProblems(lines)
    app = build_app(runtime)
    # a callback still in flight at shutdown gets a second; unanswered, the platform retries it
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, config.server.host, config.server.port)
    # what start-up built (modules, mappers, the calendar …) lives as long as the process: out of
    # the garbage collector's sight, a full collection scans only what requests create — it took
    # 100–140 ms per pass, a stall every few seconds under load, each one the p99 of the acks
    gc.collect()
    gc.freeze()
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await runtime.close()
        raise ListenError(config.server.host, config.server.port, exc.strerror or str(exc)) from exc
    runtime.start_workers()
    port = runner.addresses[0][1] if runner.addresses else config.server.port
    log.info("liuyan listening on http://%s:%s", config.server.host, port)
    if config.sandbox.enabled:
        log.warning(
            "模拟工作台已启用：http://%s:%s/sandbox/ 无须登录即可以任何人的身份操作，正式使用请关闭 [sandbox] "
            "(the sandbox is on: no sign-in, for rehearsals only)",
            config.server.host,
            port,
        )
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
        started = loop.time()
        try:  # stop within SHUTDOWN_SECONDS whatever is pending: the rest stays stored
            await asyncio.wait_for(_shutdown(runner, runtime), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("shutdown: not finished after %s s, leaving anyway", SHUTDOWN_SECONDS)
        log.info("stopped in %.1f s", loop.time() - started)


async def _shutdown(runner: web.AppRunner, runtime: Runtime) -> None:
    await runner.cleanup()
    await runtime.close(grace=1.0)
