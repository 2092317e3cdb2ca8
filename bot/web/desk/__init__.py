"""The desk (办理台) at /desk/: server-rendered pages (Jinja2 through aiohttp-jinja2, autoescaped)
with htmx (vendored in bot/web/static, served from /desk/static/: nothing is fetched from a CDN).

``guard`` runs before every /desk/ route: it signs the visitor in from the session cookie (else
sends them to the sign-in page), refuses an unsafe request without the session's CSRF token or
from another origin, and adds the security headers (a strict Content-Security-Policy: scripts
and styles only from this site). See bot/web/desk/auth.py for cookies, tokens and limits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.web.api import DEPS
from bot.web.desk import admin, auth, office, pages, signin
from bot.web.desk.common import VISITOR, refuse

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
PUBLIC = ("/desk/login", "/desk/static/")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


def _public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def _same_origin(request: web.Request) -> bool:
    """A browser's ``Origin`` (sent with every cross-site POST) must be this site."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    public = urlsplit(request.app[DEPS].config.server.public_url)
    seen = urlsplit(origin)
    return seen.netloc in (request.host, public.netloc)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not (request.path == "/desk" or request.path.startswith("/desk/")):
        return await handler(request)
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:
            exc.headers.update(HEADERS)
            raise
        response = refuse(request, exc.status, "出错了", exc.reason)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    deps = request.app[DEPS]
    if request.path == "/desk":
        raise web.HTTPFound("/desk/")
    if request.method in UNSAFE and not _same_origin(request):
        log.info("desk: %s %s refused (cross-site origin)", request.method, request.path)
        return refuse(request, 403, "请求被拒绝", "请求来自其他网站，已拒绝。")
    async with deps.read_sessions() as session:
        await deps.calendar.ensure_fresh(session)
        visitor = await auth.visitor(deps, session, request.cookies.get(auth.COOKIE))
    if visitor is not None:
        request[VISITOR] = visitor
    if _public(request.path):
        return await handler(request)
    if visitor is None:
        if request.method == "GET":
            target = request.path_qs
            raise web.HTTPSeeOther(f"/desk/login?next={quote(target, safe='/')}")
        return refuse(request, 401, "请先登录", "登录已失效，请重新登录后再提交。")
    if request.method in UNSAFE:
        # the form's field or htmx's header (a page kept from before a sign-in may send a stale
        # header along with a fresh field): either must be this session's token
        ok = auth.same_token(visitor.csrf, request.headers.get(auth.CSRF_HEADER))
        if not ok:
            form = await request.post()
            value = form.get(auth.CSRF_FIELD)
            ok = auth.same_token(visitor.csrf, value if isinstance(value, str) else None)
        if not ok:
            log.info("desk: %s %s refused (CSRF token) for person %s", request.method, request.path, visitor.person.id)
            return refuse(request, 403, "请求被拒绝", "页面已过期或请求不是从本页面提交的，请刷新后重试。")
    return await handler(request)


def setup(app: web.Application) -> None:
    """The desk's templates and routes on ``app`` (``guard`` must be among its middlewares)."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.web.desk", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        auto_reload=False,  # the templates are package data: never re-read (no stat per include)
    )
    app[office.REPORTS] = office.ReportCache()
    r = app.router
    r.add_get("/desk/", pages.todo)
    r.add_get("/desk/cases", pages.ledger)
    r.add_get("/desk/cases.xlsx", pages.export)
    r.add_get("/desk/cases/{number}", pages.show_case)
    r.add_post("/desk/cases/{number}/act", pages.act)
    r.add_post("/desk/cases/{number}/assign", pages.assign)
    r.add_post("/desk/cases/{number}/note", pages.note)
    r.add_get("/desk/register", pages.register_form)
    r.add_post("/desk/register", pages.register)
    r.add_get("/desk/board", office.board)
    r.add_post("/desk/board/press", office.press)
    r.add_get("/desk/stats", office.stats)
    r.add_get("/desk/stats/chart.png", office.chart)
    r.add_get("/desk/admin", admin.admin)
    r.add_post("/desk/admin/units", admin.save_unit)
    r.add_post("/desk/admin/people", admin.save_member)
    r.add_post("/desk/admin/people/{person_id}/revoke", admin.revoke)
    r.add_post("/desk/admin/people/{person_id}/active", admin.set_active)
    r.add_get("/desk/login", signin.login_form)
    r.add_post("/desk/login", signin.login)
    r.add_post("/desk/login/sandbox", signin.rehearsal_sign_in)
    r.add_post("/desk/logout", signin.logout)
    r.add_get("/desk/login/{platform}", signin.oauth_start)
    r.add_get("/desk/login/{platform}/callback", signin.oauth_callback)
    r.add_static("/desk/static/", STATIC)
