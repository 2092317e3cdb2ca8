"""Operations endpoints: /healthz and /metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.domain.workcalendar import coverage_warnings
from bot.metrics import Metrics
from bot.web.api import DEPS
from store import health
from store import outbox as outbox_store
from store.db import is_locked

log = logging.getLogger(__name__)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
#: more parts of the health report by name (e.g. the DingTalk stream): each gives a dict whose
#: ``ok`` false makes the status "degraded" (still 200: the process itself is fine)
HEALTH: web.AppKey[dict[str, Callable[[], dict[str, Any]]]] = web.AppKey("health", dict)


async def healthz(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    delivery: dict[str, Any] = {}
    try:
        async with deps.read_sessions() as session:
            await health.ping(session)
            # a platform the sender cannot reach: the messages wait for it (not a 503: restarting
            # the bot would not bring the platform back)
            for outage in await outbox_store.outages(session):
                delivery[outage.platform] = {
                    "status": "unreachable",
                    "since": outage.since.isoformat(),
                    "queued": outage.waiting,
                }
        # a writer must get in too: another process holding SQLite's write lock makes us "busy"
        async with deps.sessions() as session, session.begin():
            await health.take_write_lock(session)
        db = "ok"
    except Exception as exc:  # the health check reports every database failure
        if is_locked(exc):
            log.warning("health check: database busy (another process holds the write lock)")
            db = "busy"
        else:
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            db = "unreachable"
    today = deps.clock.now().astimezone(deps.config.office.hours().tz).date()
    body: dict[str, Any] = {
        "status": "ok" if db == "ok" and not delivery else "degraded",
        "database": db,
        "calendar_warnings": coverage_warnings(deps.calendar.current, today),
    }
    if delivery:
        body["delivery"] = delivery
    for name, probe in request.app.get(HEALTH, {}).items():
        body[name] = part = probe()
        if not part.get("ok", True):
            body["status"] = "degraded"
    return web.json_response(
        body, status=200 if db == "ok" else 503, dumps=lambda o: __import__("json").dumps(o, ensure_ascii=False)
    )


async def metrics(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    m = request.app[METRICS]
    now = deps.clock.now()
    async with deps.read_sessions() as session:
        gauges = await health.gauges(session, now)
    m.open_cases.set(gauges.open_cases)
    m.overdue_cases.set(gauges.overdue_cases)
    m.outbox_pending.set(gauges.outbox_pending)
    today = now.astimezone(deps.config.office.hours().tz).date()
    m.calendar_uncovered.set(len(coverage_warnings(deps.calendar.current, today)))
    resp = web.Response(body=generate_latest(m.registry))
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp


@web.middleware
async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    m = request.app[METRICS]
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        m.http_requests.labels(route, str(status)).inc()
        m.http_latency.labels(route).observe(time.perf_counter() - start)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
