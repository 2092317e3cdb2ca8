"""Signing in and out of the desk: a local account's password, or WeCom's 网页授权 / DingTalk's
OAuth (the platform says who it is; the directory says who that is here)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.domain.states import Role
from bot.web.desk import auth
from bot.web.desk.common import NEXT, VISITOR, deps_of, render
from store import desk as desk_store
from store import directory
from store.listings import people_with_roles

log = logging.getLogger(__name__)

#: platform → "code from the OAuth redirect → that platform's user id" (wired in bot/app.py)
Resolver = Callable[[str], Awaitable[str]]
LOGINS: web.AppKey[dict[str, Resolver]] = web.AppKey("desk_logins", dict)
PLATFORM_LABELS = {"wecom": "企业微信", "dingtalk": "钉钉"}
WRONG = "用户名或密码不正确。"


def _secure(request: web.Request) -> bool:
    return deps_of(request).config.server.public_url.startswith("https://")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/desk/", httponly=True, samesite="Lax", secure=_secure(request)
    )


def _next(value: str) -> str:
    """Only a desk path of this site (never ``//host`` or a URL)."""
    if value.startswith("/desk/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/desk/"


def platforms(request: web.Request) -> list[tuple[str, str]]:
    deps = deps_of(request)
    logins = request.app.get(LOGINS, {})
    found = []
    if deps.config.wecom.enabled and deps.config.desk.wecom_login and "wecom" in logins:
        found.append(("wecom", PLATFORM_LABELS["wecom"]))
    if deps.config.dingtalk.enabled and deps.config.desk.dingtalk_login and "dingtalk" in logins:
        found.append(("dingtalk", PLATFORM_LABELS["dingtalk"]))
    return found


def rehearsal(request: web.Request) -> bool:
    """The sandbox is the office's only platform: as at /sandbox/, whoever opens the page may act
    as anyone of the directory, so the desk lets them pick who to be. Never beside WeCom or DingTalk."""
    config = deps_of(request).config
    return config.sandbox.enabled and not config.wecom.enabled and not config.dingtalk.enabled


async def _rehearsal_people(request: web.Request) -> list[tuple[int, str]]:
    """(person id, "name（roles）") of the active people with a role, for the rehearsal sign-in."""
    if not rehearsal(request):
        return []
    async with deps_of(request).read_sessions() as session:
        people = await people_with_roles(session)
    labels = {r.value: r.label for r in Role}
    return [
        (p.id, f"{p.name}（{'、'.join(labels.get(r, r) + (f'@{u}' if u else '') for r, u in p.roles)}）")
        for p in people
        if p.active and p.roles
    ]


async def login_page(request: web.Request, *, error: str = "", status: int = 200, username: str = "") -> web.Response:
    deps = deps_of(request)
    nonce, signed = auth.new_pre(deps)
    response = render(
        request,
        "login.html",
        {
            "title": "登录办理台",
            "login_csrf": nonce,
            "next": _next(request.query.get("next", "") or request.get(NEXT, "")),
            "error": error,
            "username": username,
            "platforms": platforms(request),
            "rehearsal_people": await _rehearsal_people(request),
        },
        status=status,
    )
    set_cookie(request, response, auth.PRE_COOKIE, signed, auth.PRE_SECONDS)
    return response


async def login_form(request: web.Request) -> web.Response:
    return await login_page(request)


async def _signed_in(
    request: web.Request, person_id: int, via: str, account_id: int | None, target: str
) -> web.StreamResponse:
    deps = deps_of(request)
    async with deps.sessions() as session, session.begin():
        person = await directory.person_by_id(session, person_id)
        assert person is not None
        cookie, _ = await auth.start_session(deps, session, person, via, account_id)
        await desk_store.prune_sessions(session, deps.clock.now())
    log.info("desk sign-in (%s) of person %s", via, person_id)
    response = web.HTTPSeeOther(_next(target))
    set_cookie(request, response, auth.COOKIE, cookie, deps.config.desk.session_hours * 3600)
    response.del_cookie(auth.PRE_COOKIE, path="/desk/")
    raise response


async def login(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    form = await request.post()
    request[NEXT] = str(form.get("next", ""))
    nonce = auth.pre_nonce(deps, request.cookies.get(auth.PRE_COOKIE))
    if not auth.same_token(nonce, str(form.get(auth.CSRF_FIELD, ""))):
        log.info("desk sign-in refused: missing or wrong form token")
        return await login_page(request, error="页面已过期，请重新登录。", status=403)
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    address = request.remote or "-"
    async with deps.sessions() as session, session.begin():
        result = await auth.password_sign_in(deps, session, username, password, address)
    if result.locked_minutes:
        log.warning("desk sign-in locked for a user name (too many failures) from %s", address)
        return await login_page(
            request,
            error=f"登录失败次数过多，请 {result.locked_minutes} 分钟后再试。",
            status=429,
            username=username,
        )
    if result.person is None:
        return await login_page(request, error=WRONG, status=401, username=username)
    return await _signed_in(request, result.person.id, "password", result.account_id, str(form.get("next", "")))


async def rehearsal_sign_in(request: web.Request) -> web.StreamResponse:
    """模拟工作台 only (``rehearsal``): sign in as the person picked on the sign-in page."""
    deps = deps_of(request)
    if not rehearsal(request):
        return await login_page(request, error="此登录方式未启用。", status=404)
    form = await request.post()
    nonce = auth.pre_nonce(deps, request.cookies.get(auth.PRE_COOKIE))
    if not auth.same_token(nonce, str(form.get(auth.CSRF_FIELD, ""))):
        return await login_page(request, error="页面已过期，请重新登录。", status=403)
    person_id = str(form.get("person", ""))
    async with deps.read_sessions() as session:
        person = await directory.person_by_id(session, int(person_id)) if person_id.isdigit() else None
    if person is None or not person.active:
        return await login_page(request, error="请选择通讯录中的人员。", status=422)
    return await _signed_in(request, person.id, "sandbox", None, str(form.get("next", "")))


async def logout(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    visitor = request.get(VISITOR)
    if isinstance(visitor, auth.Visitor):
        async with deps.sessions() as session, session.begin():
            await desk_store.end_session(session, visitor.key)
    response = web.HTTPSeeOther("/desk/login")
    response.del_cookie(auth.COOKIE, path="/desk/")
    raise response


def _callback_url(request: web.Request, platform: str) -> str:
    base = deps_of(request).config.server.public_url.rstrip("/")
    return f"{base}/desk/login/{platform}/callback"


async def oauth_start(request: web.Request) -> web.StreamResponse:
    """Off to the platform's authorisation page; ``state`` is bound to a signed cookie."""
    deps = deps_of(request)
    platform = request.match_info["platform"]
    if platform not in dict(platforms(request)):
        return await login_page(request, error="此登录方式未启用。", status=404)
    nonce, signed = auth.new_pre(deps)
    redirect = _callback_url(request, platform)
    if platform == "wecom":
        cfg = deps.config.wecom
        query = urlencode(
            {
                "appid": cfg.corp_id,
                "redirect_uri": redirect,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": nonce,
                "agentid": str(cfg.agent_id),
            },
            quote_via=quote,
        )
        url = f"{deps.config.desk.wecom_oauth_url}?{query}#wechat_redirect"
    else:
        ding = deps.config.dingtalk
        query = urlencode(
            {
                "redirect_uri": redirect,
                "response_type": "code",
                "client_id": ding.client_id,
                "scope": "openid",
                "state": nonce,
                "prompt": "consent",
            },
            quote_via=quote,
        )
        url = f"{deps.config.desk.dingtalk_oauth_url}?{query}"
    response = web.HTTPFound(url)
    set_cookie(request, response, auth.PRE_COOKIE, signed, auth.PRE_SECONDS)
    raise response


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    """Back from the platform with a code: who is it, and are they in the directory?"""
    deps = deps_of(request)
    platform = request.match_info["platform"]
    label = PLATFORM_LABELS.get(platform, platform)
    if platform not in dict(platforms(request)):
        return await login_page(request, error="此登录方式未启用。", status=404)
    nonce = auth.pre_nonce(deps, request.cookies.get(auth.PRE_COOKIE))
    if not auth.same_token(nonce, request.query.get("state", "")):
        log.info("desk %s sign-in refused: state does not match", platform)
        return await login_page(request, error=f"{label}登录已过期或不是从本页发起的，请重新登录。", status=403)
    code = request.query.get("code") or request.query.get("authCode") or ""
    if not code or len(code) > 512:
        return await login_page(request, error=f"{label}未授权登录。", status=401)
    resolve = request.app[LOGINS][platform]
    try:
        userid = await resolve(code)
    except Exception as exc:  # the clients raise their own errors; none of them signs anyone in
        log.warning("desk %s sign-in failed: %s", platform, type(exc).__name__)
        return await login_page(request, error=f"{label}登录失败（授权码无效或已过期），请重试。", status=401)
    async with deps.read_sessions() as session:
        person = await directory.person_by_platform(session, platform, userid)
    if person is None or not person.active:
        log.info("desk %s sign-in refused: no active person for that id", platform)
        return await login_page(request, error=f"您的{label}账号不在本办公室的人员名单中，请联系管理员。", status=403)
    return await _signed_in(request, person.id, platform, None, "/desk/")
