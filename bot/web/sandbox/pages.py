"""The sandbox's pages and its small JSON API (``/sandbox/api/…``, called by sandbox.js).

Every page is rendered on the server and escaped; the script only posts what a person types or
clicks and, when the event stream names the chat on screen, fetches its lines again. Writes need
the header ``X-Sandbox: 1`` and a JSON body: a form on another site cannot send either."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from html import escape
from importlib import resources
from typing import Any

from aiohttp import web

from bot.domain.errors import UserError
from bot.domain.states import Level, Role
from bot.handlers.intake import InputError, register_case, validate_new_case
from bot.handlers.messaging import SANDBOX_SUPERVISION, sandbox_user
from bot.web.api import DEPS
from bot.web.sandbox import rehearsal
from bot.web.sandbox.edge import Refused, SandboxEdge
from bot.web.sandbox.render import messages_html
from bot.web.sandbox.style import SANDBOX_CSS
from store import directory
from store import sandbox as rows
from store.db import is_locked
from store.models import Person

log = logging.getLogger(__name__)

EDGE: web.AppKey[SandboxEdge] = web.AppKey("sandbox_edge", SandboxEdge)

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}
FORM_LABELS = {
    "title": "标题",
    "content": "主要诉求",
    "unit": "承办单位",
    "category": "类型",
    "level": "级别",
    "petitioner": "留言人",
    "contact": "联系方式",
}
ROLE_ORDER = [Role.DISPATCHER, Role.HANDLER, Role.UNIT_LEADER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN]
QUICK = {  # the quick commands under a person's chat, by role
    Role.HANDLER: ["待办", "帮助"],
    Role.UNIT_LEADER: ["待办", "帮助"],
    Role.DISPATCHER: ["待办", "帮助"],
    Role.SUPERVISOR: ["待办", "帮助"],
    Role.LEADER: ["待办", "审定清单", "帮助"],
    Role.ADMIN: ["单位列表", "帮助"],
}


def add_routes(app: web.Application, edge: SandboxEdge) -> None:
    app[EDGE] = edge
    app.router.add_get("/", root)
    app.router.add_get("/sandbox", root)
    app.router.add_get("/sandbox/", index)
    app.router.add_get("/sandbox/p/{person}", person_page)
    app.router.add_get("/sandbox/p/{person}/messages", person_messages)
    app.router.add_get("/sandbox/g/supervision", group_page)
    app.router.add_get("/sandbox/g/supervision/messages", group_messages)
    app.router.add_get("/sandbox/u/{unit}", unit_page)
    app.router.add_get("/sandbox/u/{unit}/messages", unit_messages)
    app.router.add_get("/sandbox/live", live)
    app.router.add_get("/sandbox/static/sandbox.js", script)
    app.router.add_get("/sandbox/api/clock", clock_now)
    app.router.add_post("/sandbox/api/say", say)
    app.router.add_post("/sandbox/api/click", click)
    app.router.add_post("/sandbox/api/clock", clock_advance)
    app.router.add_post("/sandbox/api/register", register)
    app.router.add_post("/sandbox/api/demo", demo)

    async def close_sockets(_: web.Application) -> None:
        edge.hub.close()

    app.on_shutdown.append(close_sockets)


async def root(request: web.Request) -> web.StreamResponse:
    """A new user lands in the sandbox (the README's first command turns it on)."""
    return _redirect("/sandbox/")


def _redirect(to: str) -> web.Response:
    return web.Response(status=302, headers={"Location": to, "Cache-Control": "no-store"})


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


# --- page frame -------------------------------------------------------------------------------


def _page(request: web.Request, title: str, body: str, *, data: dict[str, str] | None = None) -> web.Response:
    attrs = "".join(f' data-{k}="{_e(v)}"' for k, v in (data or {}).items())
    now = request.app[DEPS].clock.now()
    tz = request.app[DEPS].config.office.hours().tz
    html = (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{_e(title)} · 模拟工作台</title><style>{SANDBOX_CSS}</style></head>"
        f"<body{attrs}><main>"
        '<div class="top"><h1><a href="/sandbox/">模拟工作台</a>'
        f"{' · ' + _e(title) if title != '模拟工作台' else ''}</h1>"
        f'<span class="clock">办公时间 <b id="clock">{_e(_clock_text(now, tz))}</b></span></div>'
        f'{body}</main><div id="toast" role="status" aria-live="polite"></div>'
        '<script src="/sandbox/static/sandbox.js"></script></body></html>'
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=HEADERS)


def _clock_text(now: Any, tz: Any) -> str:
    local = now.astimezone(tz)
    week = "一二三四五六日"[local.weekday()]
    return f"{local:%Y-%m-%d %H:%M} 周{week}"


def _roles_text(roles: list[tuple[str, int | None]], units: dict[int, str]) -> str:
    parts = []
    for role, unit_id in roles:
        label = Role(role).label
        parts.append(f"{units.get(unit_id, '')}{label}" if unit_id else label)
    return "、".join(parts) or "无角色"


# --- the index ----------------------------------------------------------------------------------


async def index(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    async with deps.read_sessions() as session:
        people = await rows.people_and_roles(session)
        units = {u.id: u.name for u in await directory.list_units(session)}
        counts = await rows.counts(session, "user")
        group_count = (await rows.counts(session, "group")).get(SANDBOX_SUPERVISION, 0)
    by_role: dict[Role, list[str]] = {r: [] for r in ROLE_ORDER}
    for person, roles in people:
        if not person.active:
            continue
        first = min((ROLE_ORDER.index(Role(r)) for r, _ in roles if Role(r) in ROLE_ORDER), default=None)
        if first is None:
            continue
        count = counts.get(sandbox_user(person.id), 0)
        badge = f'<span class="count" title="收到的消息">{count}</span>' if count else ""
        by_role[ROLE_ORDER[first]].append(
            f'<li><a href="/sandbox/p/{person.id}">{badge}<span class="name">{_e(person.name)}</span>'
            f'<span class="roles">{_e(_roles_text(roles, units))}</span></a></li>'
        )
    sections = []
    for role in ROLE_ORDER:
        if by_role[role]:
            sections.append(f'<h2>{_e(role.label)}</h2><ul class="people">{"".join(by_role[role])}</ul>')
    group_badge = f'<span class="count">{group_count}</span>' if group_count else ""
    groups = [
        f'<li><a href="/sandbox/g/supervision">{group_badge}'
        '<span class="name">督查群</span><span class="roles">逾期清单、月度通报</span></a></li>'
    ]
    groups += [
        f'<li><a href="/sandbox/u/{uid}"><span class="name">{_e(name)}</span>'
        '<span class="roles">单位成员收到的消息</span></a></li>'
        for uid, name in units.items()
    ]
    empty = not people
    guide = (
        '<section><h2>怎么演练</h2><ol class="steps">'
        "<li>点「载入示例办公室」，或在配置文件里登记自己的单位和人员。</li>"
        "<li>以<b>登记员</b>身份打开对话，在「登记留言」里登记一件留言并选择承办单位。</li>"
        "<li>以该单位<b>承办人</b>身份打开对话：卡片上点「签收」，再点「填报办理结果」按提示填写四段式答复。</li>"
        "<li>依次以<b>督查员</b>（审核通过）、<b>领导</b>（同意）、<b>登记员</b>（统一回复、回访，"
        "再发送“呈报文号 文号 内容”和“立卷 文号”）身份处理。</li>"
        "<li>用「拨快时钟」看临期提醒、逾期清单和督办通知。可以同时打开多个标签页扮演不同的人。</li>"
        "</ol></section>"
    )
    config = deps.config
    anyone = "可任选人员身份进入" if not (config.wecom.enabled or config.dingtalk.enabled) else "用本地账号登录"
    desk = (
        f'另有<a href="/desk/">办理台</a>：登记、台账、督办、统计和管理的网页，{anyone}。'
        if config.desk.enabled
        else ""
    )
    body = (
        '<div class="notice">这里是模拟工作台：不连接企业微信或钉钉，消息显示在本页面。'
        f"{desk}正式使用时请在配置中关闭 [sandbox]。</div>"
        '<div class="layout"><div><section><h2>选择人员</h2>'
        + ("<p>通讯录是空的。请先载入示例办公室。</p>" if empty else "".join(sections))
        + f'</section><section><h2>群</h2><ul class="people">{"".join(groups)}</ul></section>{guide}</div>'
        f"<div>{_clock_panel()}{_demo_panel()}</div></div>"
    )
    return _page(request, "模拟工作台", body, data={"topics": "clock"})


def _clock_panel() -> str:
    return (
        '<section class="panel"><h2>拨快时钟</h2>'
        '<p class="muted">把办公时钟向后拨，期间定时任务应发的提醒、逾期清单、督办通知都会发出。</p>'
        '<div class="row"><button type="button" class="btn" data-clock="hours" data-n="1">+1 小时</button>'
        '<button type="button" class="btn" data-clock="hours" data-n="4">+4 小时</button>'
        '<button type="button" class="btn" data-clock="workdays" data-n="1">+1 个工作日</button>'
        '<button type="button" class="btn" data-clock="workdays" data-n="3">+3 个工作日</button></div>'
        "</section>"
    )


def _demo_panel() -> str:
    return (
        '<section class="panel"><h2>示例办公室</h2>'
        '<p class="muted">载入 4 个单位、各种角色的人员和十几件处于各个环节的留言（已载入过则不重复）。</p>'
        '<div class="row"><button type="button" class="btn primary" id="demo">载入示例办公室</button></div>'
        "</section>"
    )


# --- a person's chat ------------------------------------------------------------------------------


async def _person(request: web.Request) -> tuple[Person, list[tuple[str, int | None]], dict[int, str]]:
    raw = request.match_info["person"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise web.HTTPNotFound()
    async with request.app[DEPS].read_sessions() as session:
        person = await session.get(Person, int(raw))
        if person is None:
            raise web.HTTPNotFound()
        roles = await rows.roles_of(session, person.id)
        units = {u.id: u.name for u in await directory.list_units(session)}
    return person, roles, units


async def person_page(request: web.Request) -> web.Response:
    person, roles, units = await _person(request)
    fragment = await _person_fragment(request, person)
    role_set = {Role(r) for r, _ in roles}
    quick: list[str] = []
    for role in ROLE_ORDER:
        for word in QUICK.get(role, []) if role in role_set else []:
            if word not in quick:
                quick.append(word)
    quick_html = "".join(f'<button type="button" class="btn" data-say="{_e(w)}">{_e(w)}</button>' for w in quick)
    side = ""
    if role_set & {Role.DISPATCHER, Role.ADMIN}:
        side = await _register_panel(request, units)
    inactive = "" if person.active else '<div class="notice">此人已停用：机器人不再受理其消息。</div>'
    body = (
        f'{inactive}<div class="layout"><div>'
        f'<p class="muted">{_e(person.name)}（{_e(_roles_text(roles, units))}）看到的企业微信对话。'
        "点卡片按钮或输入命令，如“帮助”。</p>"
        f'<div class="chatbox"><ol id="chat" aria-live="polite">{fragment}</ol>'
        f'<div class="quick">{quick_html}</div>'
        '<form class="say" id="say"><input name="text" autocomplete="off" maxlength="2000" '
        'placeholder="输入消息，如：签收 LY2026-000001" aria-label="消息"><button class="btn primary" '
        'type="submit">发送</button></form></div></div>'
        f"<div>{side}{_clock_panel()}</div></div>"
    )
    me = sandbox_user(person.id)
    return _page(
        request,
        person.name,
        body,
        data={"who": str(person.id), "topics": f"user:{me} clock", "fragment": f"/sandbox/p/{person.id}/messages"},
    )


async def _person_fragment(request: web.Request, person: Person) -> str:
    deps = request.app[DEPS]
    async with deps.read_sessions() as session:
        lines = await rows.history(session, "user", sandbox_user(person.id))
    return messages_html(lines, deps.config.server.public_url, deps.config.office.hours().tz, interactive=True)


async def person_messages(request: web.Request) -> web.Response:
    person, _, _ = await _person(request)
    return _fragment(await _person_fragment(request, person))


def _fragment(html: str) -> web.Response:
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=HEADERS)


async def _register_panel(request: web.Request, units: dict[int, str]) -> str:
    cfg = request.app[DEPS].config
    unit_options = '<option value="">（暂不交办）</option>' + "".join(
        f'<option value="{_e(n)}">{_e(n)}</option>' for n in units.values()
    )
    category_options = '<option value="">（未分类）</option>' + "".join(
        f'<option value="{_e(c)}">{_e(c)}</option>' for c in cfg.cases.categories
    )
    level_options = "".join(
        f'<option value="{_e(level.value)}"{" selected" if level is Level.COUNTY else ""}>{_e(level.value)}</option>'
        for level in Level
    )
    return (
        '<section class="panel"><h2>登记留言</h2><form id="register">'
        '<label for="r-title">标题</label><input id="r-title" name="title" required maxlength="200">'
        '<label for="r-content">主要诉求</label><textarea id="r-content" name="content" required></textarea>'
        f'<label for="r-unit">承办单位</label><select id="r-unit" name="unit">{unit_options}</select>'
        f'<label for="r-category">类型</label><select id="r-category" name="category">{category_options}</select>'
        f'<label for="r-level">级别</label><select id="r-level" name="level">{level_options}</select>'
        '<label for="r-petitioner">留言人</label><input id="r-petitioner" name="petitioner" maxlength="100">'
        '<label for="r-contact">联系方式</label><input id="r-contact" name="contact" maxlength="200">'
        '<label class="check"><input type="checkbox" name="urgent"> 急件</label>'
        '<div class="row"><button class="btn primary" type="submit">登记</button></div></form></section>'
    )


# --- group views ---------------------------------------------------------------------------------


async def group_page(request: web.Request) -> web.Response:
    fragment = await _group_fragment(request)
    body = (
        '<p class="muted">督查群：每个工作日上午的逾期清单、未交办清单、月度通报（群消息不含联系方式）。</p>'
        f'<div class="chatbox"><ol id="chat" aria-live="polite">{fragment}</ol></div>'
    )
    return _page(
        request,
        "督查群",
        body,
        data={"topics": f"group:{SANDBOX_SUPERVISION} clock", "fragment": "/sandbox/g/supervision/messages"},
    )


async def _group_fragment(request: web.Request) -> str:
    deps = request.app[DEPS]
    async with deps.read_sessions() as session:
        lines = await rows.history(session, "group", SANDBOX_SUPERVISION)
    return messages_html(lines, deps.config.server.public_url, deps.config.office.hours().tz, interactive=False)


async def group_messages(request: web.Request) -> web.Response:
    return _fragment(await _group_fragment(request))


async def _unit(request: web.Request) -> tuple[int, str, dict[str, str]]:
    raw = request.match_info["unit"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise web.HTTPNotFound()
    async with request.app[DEPS].read_sessions() as session:
        names = await directory.unit_names(session, [int(raw)])
        if int(raw) not in names:
            raise web.HTTPNotFound()
        members = await directory.members_of(session, int(raw))
    who = {sandbox_user(p.id): f"{p.name}（{Role(role).label}）" for p, role in members}
    return int(raw), names[int(raw)], who


async def unit_page(request: web.Request) -> web.Response:
    unit_id, name, who = await _unit(request)
    fragment = await _unit_fragment(request, who)
    links = "、".join(f'<a href="/sandbox/p/{_e(uid)}">{_e(label)}</a>' for uid, label in who.items()) or "无成员"
    body = (
        f'<p class="muted">{_e(name)}的成员收到的全部消息（只读；要操作请打开成员的对话：{links}）。</p>'
        f'<div class="chatbox"><ol id="chat" aria-live="polite">{fragment}</ol></div>'
    )
    topics = " ".join(f"user:{uid}" for uid in who) + " clock"
    return _page(request, name, body, data={"topics": topics, "fragment": f"/sandbox/u/{unit_id}/messages"})


async def _unit_fragment(request: web.Request, who: dict[str, str]) -> str:
    deps = request.app[DEPS]
    async with deps.read_sessions() as session:
        lines = await rows.history_of(session, list(who))
    cfg = deps.config
    return messages_html(lines, cfg.server.public_url, cfg.office.hours().tz, interactive=False, names=who)


async def unit_messages(request: web.Request) -> web.Response:
    _, _, who = await _unit(request)
    return _fragment(await _unit_fragment(request, who))


# --- live updates and the script -------------------------------------------------------------------


async def live(request: web.Request) -> web.StreamResponse:
    return await request.app[EDGE].hub.socket(request)


async def script(request: web.Request) -> web.Response:
    text = resources.files("bot.web.sandbox").joinpath("sandbox.js").read_text(encoding="utf-8")
    return web.Response(
        text=text,
        content_type="application/javascript",
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# --- the JSON API ----------------------------------------------------------------------------------


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _ok(data: dict[str, Any]) -> web.Response:
    return web.json_response(data, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def _body(request: web.Request) -> dict[str, Any]:
    if request.headers.get("X-Sandbox") != "1" or request.content_type != "application/json":
        raise Refused("请从模拟工作台页面操作。", 403)
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise Refused("请求格式有误。") from exc
    if not isinstance(data, dict):
        raise Refused("请求格式有误。")
    return data


async def _who(request: web.Request, data: dict[str, Any]) -> Person:
    raw = str(data.get("who", ""))
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise Refused("请先选择人员。")
    async with request.app[DEPS].read_sessions() as session:
        person = await session.get(Person, int(raw))
    if person is None:
        raise Refused("没有这个人员。", 404)
    return person


def _guarded(
    handler: Callable[[web.Request, dict[str, Any]], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request, await _body(request))
        except Refused as exc:
            return _error(exc.status, exc.message)
        except rehearsal.ClockRefused as exc:
            return _error(exc.status, exc.message)
        except UserError as exc:
            return _error(422, exc.message)
        except Exception as exc:  # SQLite's write lock not free in time: nothing was written
            if not is_locked(exc):
                raise
            return _error(503, "数据库正忙，请稍后重试。")

    return wrapped


@_guarded
async def say(request: web.Request, data: dict[str, Any]) -> web.Response:
    person = await _who(request, data)
    sessions = request.app[DEPS].sessions
    fresh = await request.app[EDGE].say(sessions, person.id, str(data.get("text", "")), str(data.get("id", "")))
    return _ok({"stored": fresh})


@_guarded
async def click(request: web.Request, data: dict[str, Any]) -> web.Response:
    person = await _who(request, data)
    edge, sessions = request.app[EDGE], request.app[DEPS].sessions
    task, key, rid = str(data.get("task_id", "")), str(data.get("key", "")), str(data.get("id", ""))
    fresh = await edge.click(sessions, person.id, task, key, rid)
    return _ok({"stored": fresh})


async def clock_now(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    return _ok({"now": _clock_text(deps.clock.now(), deps.config.office.hours().tz)})


@_guarded
async def clock_advance(request: web.Request, data: dict[str, Any]) -> web.Response:
    deps = request.app[DEPS]
    hours, workdays = _count(data, "hours"), _count(data, "workdays")
    if bool(hours) == bool(workdays):
        raise Refused("请选择拨快的小时数或工作日数。")
    async with request.app[EDGE].clock_lock:  # two tabs moving the clock at once take turns
        now, queued = await rehearsal.advance(deps, request.app[EDGE].tick, hours=hours, workdays=workdays)
    request.app[EDGE].send()
    request.app[EDGE].hub.publish("clock")
    return _ok({"now": _clock_text(now, deps.config.office.hours().tz), "queued": queued})


def _count(data: dict[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(f"{name} 应为整数。")
    return value


@_guarded
async def register(request: web.Request, data: dict[str, Any]) -> web.Response:
    """登记 by a dispatcher (or admin) of the directory: the intake use case of the API."""
    deps = request.app[DEPS]
    person = await _who(request, data)
    async with deps.read_sessions() as session:
        actor = await directory.actor_for(session, person)
    if not person.active or not actor.roles & {Role.DISPATCHER, Role.ADMIN}:
        raise Refused("只有登记员或管理员可以登记留言。", 403)
    fields = {
        k: v for k, v in data.items() if k in ("title", "content", "unit", "category", "level", "petitioner", "contact")
    }
    fields = {k: v.strip() for k, v in fields.items() if isinstance(v, str) and v.strip()}
    if data.get("urgent") is True:
        fields["urgent"] = True
    fields["source"] = "模拟工作台"
    try:
        new = validate_new_case(
            fields, now=deps.clock.now(), tz=deps.config.office.hours().tz, categories=deps.config.cases.categories
        )
    except InputError as exc:
        raise Refused(f"{FORM_LABELS.get(exc.field or '', exc.field)}：{exc.message}", 422) from exc
    registered = await register_case(deps, new, actor)
    case = registered.case
    async with deps.read_sessions() as session:
        unit = (await directory.unit_names(session, [case.unit_id])).get(case.unit_id or 0) if case.unit_id else None
    done = f"已登记 {case.number}" + (f"，已交办{unit}" if unit else "，待交办")
    request.app[EDGE].send()  # the notices it queued go out now
    return _ok({"number": case.number, "message": done})


@_guarded
async def demo(request: web.Request, data: dict[str, Any]) -> web.Response:
    from bot.handlers.demo import load_demo

    deps = request.app[DEPS]
    result = await load_demo(deps)
    request.app[EDGE].send()
    request.app[EDGE].hub.publish("clock")
    return _ok({"message": result.summary()})
