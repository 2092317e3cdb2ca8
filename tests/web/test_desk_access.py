"""The desk over real HTTP: who is let in, what each person sees, and that every form needs its
token. Each guarantee here was broken once in the code to watch its test fail (see the report)."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from openpyxl import load_workbook

from bot.clock import ManualClock
from bot.domain.lifecycle import NoInput
from bot.domain.states import Action
from bot.handlers.intake import register_case, validate_new_case
from bot.handlers.workflow import perform
from bot.web.api import API_ACTOR
from store import directory, repo
from tests.web.conftest import PASSWORD, Desk, csrf_of

SECRET_TITLE = "区住建局独有的机密标题"


async def _register(desk: Desk, title: str, unit: str | None, **extra: str) -> str:
    deps = desk.runtime.deps
    data = {"title": title, "content": f"{title}的详细诉求", **extra}
    if unit:
        data["unit"] = unit
    new = validate_new_case(data, now=deps.clock.now(), tz=deps.config.office.hours().tz, categories=[])
    return (await register_case(deps, new, API_ACTOR)).case.number


async def _actor(desk: Desk, wecom: str):  # type: ignore[no-untyped-def]
    async with desk.runtime.deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", wecom)
        assert person is not None
        return await directory.actor_for(session, person)


# --- signing in ------------------------------------------------------------------------------------


async def test_pages_need_a_signed_in_visitor(desk: Desk) -> None:
    s = desk.browser()
    status, _ = await desk.page(s, "/desk/cases")
    assert status == 303
    async with s.get("/desk/cases", allow_redirects=False) as r:
        assert r.headers["Location"] == "/desk/login?next=/desk/cases"
    async with s.post("/desk/register", data={"title": "x"}, allow_redirects=False) as r:
        assert r.status == 401


async def test_session_cookie_is_signed_httponly_samesite(desk: Desk) -> None:
    await desk.account("qian")
    s = desk.browser()
    async with s.get("/desk/login") as r:
        token = csrf_of(await r.text())
    form = {"csrf": token, "username": "qian", "password": PASSWORD, "next": "/desk/cases"}
    async with s.post("/desk/login", data=form, allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == "/desk/cases"
        cookie = next(h for h in r.headers.getall("Set-Cookie") if h.startswith("liuyan_desk="))
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/desk/" in lowered
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    async with desk.runtime.deps.sessions() as session:
        from sqlalchemy import text

        stored = [row[0] for row in await session.execute(text("SELECT id FROM desk_sessions"))]
    assert stored and all(value.split(".")[0] not in key for key in stored)  # only a hash is kept
    # an altered cookie signs nobody in
    forged = desk.browser()
    forged.cookie_jar.update_cookies({"liuyan_desk": value[:-2] + ("AA" if not value.endswith("AA") else "BB")})
    status, _ = await desk.page(forged, "/desk/")
    assert status == 303


async def test_a_session_ends_after_its_hours(desk: Desk, clock: ManualClock) -> None:
    s = await desk.sign_in("qian")
    assert (await desk.page(s, "/desk/"))[0] == 200
    clock.advance(timedelta(hours=desk.runtime.config.desk.session_hours, seconds=1).total_seconds())
    assert (await desk.page(s, "/desk/"))[0] == 303


async def test_wrong_password_and_sign_in_limit(desk: Desk, clock: ManualClock) -> None:
    await desk.account("qian")
    s = desk.browser()

    async def attempt(password: str) -> tuple[int, str]:
        async with s.get("/desk/login") as r:
            token = csrf_of(await r.text())
        data = {"csrf": token, "username": "qian", "password": password}
        async with s.post("/desk/login", data=data, allow_redirects=False) as r:
            return r.status, await r.text()

    for _ in range(desk.runtime.config.desk.max_failures):
        status, html = await attempt("wrong password!")
        assert status == 401 and "用户名或密码不正确" in html
    status, html = await attempt(PASSWORD)  # even the right password waits now
    assert status == 429 and "登录失败次数过多" in html
    clock.advance(timedelta(minutes=desk.runtime.config.desk.lockout_minutes, seconds=1).total_seconds())
    status, _ = await attempt(PASSWORD)
    assert status == 303


async def test_sign_in_form_needs_its_token(desk: Desk) -> None:
    await desk.account("qian")
    s = desk.browser()
    data = {"csrf": "made-up", "username": "qian", "password": PASSWORD}
    async with s.post("/desk/login", data=data, allow_redirects=False) as r:
        assert r.status == 403
        assert "liuyan_desk=" not in "".join(r.headers.getall("Set-Cookie", []))


async def test_every_form_needs_the_session_csrf_token(desk: Desk) -> None:
    number = await _register(desk, "路灯不亮", None)
    s = await desk.sign_in("qian")
    other = await desk.sign_in("wu")
    _, other_page = await desk.page(other, "/desk/")
    for token in (None, "forged", csrf_of(other_page)):  # none, made up, another person's
        data = {"unit": "区人社局"} | ({"csrf": token} if token else {})
        async with s.post(f"/desk/cases/{number}/assign", data=data, allow_redirects=False) as r:
            assert r.status == 403, token
    async with desk.runtime.deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None and case.state == "registered"
    # the page's own token works
    status, location, _ = await desk.post(
        s, f"/desk/cases/{number}", f"/desk/cases/{number}/assign", {"unit": "区人社局"}
    )
    assert status == 303 and location.endswith("done=assign")


async def test_a_cross_site_origin_is_refused(desk: Desk) -> None:
    number = await _register(desk, "路灯不亮", None)
    s = await desk.sign_in("qian")
    _, html = await desk.page(s, f"/desk/cases/{number}")
    data = {"csrf": csrf_of(html), "unit": "区人社局"}
    headers = {"Origin": "https://evil.example"}
    async with s.post(f"/desk/cases/{number}/assign", data=data, headers=headers, allow_redirects=False) as r:
        assert r.status == 403


async def test_logout_ends_the_session(desk: Desk) -> None:
    s = await desk.sign_in("qian")
    status, location, _ = await desk.post(s, "/desk/", "/desk/logout", {})
    assert status == 303 and location == "/desk/login"
    assert (await desk.page(s, "/desk/"))[0] == 303


# --- who sees what -------------------------------------------------------------------------------


async def test_a_unit_handler_sees_only_the_units_cases(desk: Desk) -> None:
    mine = await _register(desk, "欠薪问题反映", "区人社局")
    theirs = await _register(desk, SECRET_TITLE, "区住建局")
    s = await desk.sign_in("zhang")  # handler of 区人社局
    for path in ("/desk/", "/desk/cases", "/desk/cases?q=标题"):
        status, html = await desk.page(s, path)
        assert status == 200
        assert SECRET_TITLE not in html and theirs not in html, path
    _, ledger = await desk.page(s, "/desk/cases")
    assert mine in ledger and "共 1 件" in ledger
    # the other unit's case: the same answer as a case that does not exist, nothing of it shown
    status, html = await desk.page(s, f"/desk/cases/{theirs}")
    assert status == 404 and SECRET_TITLE not in html and "区住建局" not in html
    status, missing = await desk.page(s, "/desk/cases/LY2026-999999")
    assert status == 404 and missing.replace("LY2026-999999", "") == html.replace(theirs, "")
    # nor can they act on it
    _, page = await desk.page(s, "/desk/")
    async with s.post(
        f"/desk/cases/{theirs}/act", data={"csrf": csrf_of(page), "action": "accept"}, allow_redirects=False
    ) as r:
        assert r.status == 404 and SECRET_TITLE not in await r.text()
    # the export holds only their unit's cases
    async with s.get("/desk/cases.xlsx") as r:
        assert r.status == 200
        sheet = load_workbook(BytesIO(await r.read())).worksheets[0]
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [mine]


async def test_a_co_unit_does_not_see_the_petitioner(desk: Desk) -> None:
    number = await _register(desk, "噪声扰民", "区人社局", petitioner="王五", contact="13912345678")
    deps = desk.runtime.deps
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        unit = await directory.unit_by_name(session, "区住建局")
        assert case is not None and unit is not None
        case.co_unit_ids = [unit.id]
    lead = await desk.sign_in("zhang")
    co = await desk.sign_in("zhao")
    _, html = await desk.page(lead, f"/desk/cases/{number}")
    assert "13912345678" in html and "王五" in html
    status, html = await desk.page(co, f"/desk/cases/{number}")
    assert status == 200 and "噪声扰民" in html
    assert "13912345678" not in html and "王五" not in html


async def test_actions_shown_are_those_the_role_may_take(desk: Desk) -> None:
    number = await _register(desk, "欠薪问题反映", "区人社局")
    handler = await desk.sign_in("zhang")
    dispatcher = await desk.sign_in("qian")
    _, html = await desk.page(handler, f"/desk/cases/{number}")
    assert 'value="accept"' in html and 'value="return"' in html and "改派至" not in html
    _, html = await desk.page(dispatcher, f"/desk/cases/{number}")
    assert 'value="accept"' not in html and "改派至" in html
    # 签收 from the desk: the chat's use case, on the timeline
    status, location, _ = await desk.post(
        handler, f"/desk/cases/{number}", f"/desk/cases/{number}/act", {"action": "accept"}
    )
    assert status == 303
    _, html = await desk.page(handler, location)
    assert "已签收。" in html and "张三" in html
    # a second 签收 is refused with who did it, as in chat
    status, _, html = await desk.post(
        handler, f"/desk/cases/{number}", f"/desk/cases/{number}/act", {"action": "accept"}
    )
    assert status == 409 and "已由张三" in html


async def test_register_warns_of_a_repeat_and_links_it(desk: Desk) -> None:
    first = await _register(desk, "小区电梯停运三天", "区住建局", contact="13800138000")
    s = await desk.sign_in("qian")
    form = {"title": "电梯又坏了", "content": "还是没修", "contact": "138-0013-8000", "unit": "区住建局"}
    status, _, html = await desk.post(s, "/desk/register", "/desk/register", form)
    assert status == 200 and "疑似重复反映" in html and first in html
    async with desk.runtime.deps.sessions() as session:
        assert await repo.case_by_number(session, "LY2026-000002") is None  # not registered yet
    status, location, _ = await desk.post(s, "/desk/register", "/desk/register", {**form, "confirm": "1"})
    assert status == 303
    _, html = await desk.page(s, location)
    assert "已登记。" in html and "重复反映" in html and first in html


async def test_board_and_supervise_a_unit(desk: Desk, clock: ManualClock) -> None:
    late = await _register(desk, "拖欠工资", "区人社局")
    await perform(desk.runtime.deps, late, Action.ACCEPT, await _actor(desk, "zhangsan"), NoInput())
    clock.advance(timedelta(days=40).total_seconds())
    supervisor = await desk.sign_in("sun")
    status, html = await desk.page(supervisor, "/desk/board")
    assert status == 200 and "区人社局" in html and late in html and "督办" in html
    status, location, _ = await desk.post(
        supervisor, "/desk/board", "/desk/board/press", {"unit": _unit_id(html, "区人社局"), "kind": "supervise"}
    )
    assert status == 303
    _, html = await desk.page(supervisor, location)
    assert "已督办（1件）" in html
    async with desk.runtime.deps.sessions() as session:
        case = await repo.case_by_number(session, late)
        assert case is not None
        assert any(e.action == "supervise" for e in await repo.timeline(session, case.id))
    # a handler may not see the board, nor press
    handler = await desk.sign_in("zhang")
    assert (await desk.page(handler, "/desk/board"))[0] == 403
    status, _, _ = await desk.post(handler, "/desk/", "/desk/board/press", {"unit": "1", "kind": "urge"})
    assert status == 403


def _unit_id(html: str, name: str) -> str:
    import re

    block = html[html.index(f'data-unit="{name}"') :]
    found = re.search(r'name="unit" value="(\d+)"', block)
    assert found
    return found.group(1)


async def test_role_pages(desk: Desk) -> None:
    admin = await desk.sign_in("wu")
    status, html = await desk.page(admin, "/desk/admin")
    assert status == 200 and "区人社局" in html and "zhangsan" in html and "工作日历" in html
    assert "2026 年" in html
    dispatcher = await desk.sign_in("qian")
    assert (await desk.page(dispatcher, "/desk/admin"))[0] == 403
    status, html = await desk.page(dispatcher, "/desk/stats")
    assert status == 200 and "受理" in html and "/desk/stats/chart.png?month=2026-11" in html
    async with dispatcher.get("/desk/stats/chart.png?month=2026-11") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/png"
        assert (await r.read()).startswith(b"\x89PNG")
    handler = await desk.sign_in("zhang")
    assert (await desk.page(handler, "/desk/stats"))[0] == 403
    assert (await desk.page(handler, "/desk/stats/chart.png"))[0] == 403


async def test_vendored_files_and_security_headers(desk: Desk) -> None:
    s = desk.browser()
    async with s.get("/desk/static/htmx.min.js") as r:
        assert r.status == 200 and "javascript" in r.headers["Content-Type"]
        assert (await r.text()).startswith("var htmx=")
    async with s.get("/desk/login") as r:
        csp = r.headers["Content-Security-Policy"]
        html = await r.text()
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store"
    assert "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html  # nothing from a CDN


async def test_one_case_through_the_whole_workflow_at_the_desk(desk: Desk) -> None:
    """Every kind of action form, each posted as its page shows it, through the chat's use cases."""
    number = await _register(
        desk, "小区供暖温度不达标", "区人社局", petitioner="赵女士", contact="13711112222", category="求助"
    )
    page = f"/desk/cases/{number}"
    act = f"/desk/cases/{number}/act"
    handler = await desk.sign_in("zhang")
    supervisor = await desk.sign_in("sun")
    dispatcher = await desk.sign_in("qian")
    steps = [
        (handler, {"action": "accept"}),
        (
            handler,
            {
                "action": "submit",
                "truthfulness": "属实",
                "attitude": "反映属实，我局高度重视。",
                "process": "11月3日约谈供热公司，责令整改。",
                "verification": "经入户测温，室温已达18℃以上。",
                "feedback": "已电话告知网友，网友表示认可。",
            },
        ),
        (supervisor, {"action": "review_pass_final", "comment": ""}),
        (
            dispatcher,
            {
                "action": "publish",
                "mode": "public",
                "public_text": "经核查，供热公司已整改，室温达标。",
                "report_number": "信办〔2026〕12号",
            },
        ),
        (dispatcher, {"action": "follow_up", "resolved": "yes", "satisfaction": "满意", "evaluation": "网友满意"}),
        (dispatcher, {"action": "archive"}),
    ]
    for who, form in steps:
        _, html = await desk.page(who, page)
        assert f'value="{form["action"]}"' in html, form["action"]
        status, _, body = await desk.post(who, page, act, form)
        assert status == 303, (form["action"], body[body.find('class="error"') :][:200])
    async with desk.runtime.deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None and case.state == "archived"
        actions = [e.action for e in await repo.timeline(session, case.id)]
    assert actions[-6:] == ["accept", "submit", "review_pass_final", "publish", "follow_up", "archive"]


async def test_a_refused_form_says_why_and_changes_nothing(desk: Desk) -> None:
    number = await _register(desk, "路面塌陷", "区人社局")
    handler = await desk.sign_in("zhang")
    page = f"/desk/cases/{number}"
    status, _, html = await desk.post(handler, page, f"/desk/cases/{number}/act", {"action": "return", "reason": "否"})
    assert status == 422 and 'class="error"' in html
    async with desk.runtime.deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        assert case is not None and case.state == "assigned"


async def test_supervise_and_commend_one_case(desk: Desk) -> None:
    number = await _register(desk, "违建长期未拆除", "区住建局")
    supervisor = await desk.sign_in("sun")
    page = f"/desk/cases/{number}"
    _, html = await desk.page(supervisor, page)
    assert "督办方式" in html and "表扬理由" in html
    form = {"kind": "supervise", "method": "实地走访", "text": "请三日内现场核查并报告", "days": "3"}
    status, location, _ = await desk.post(supervisor, page, f"/desk/cases/{number}/note", form)
    assert status == 303
    _, html = await desk.page(supervisor, location)
    assert "已督办。" in html and "督办（实地走访）：请三日内现场核查并报告" in html
    # 专项督办 needs a repeat or a late case: refused, as in chat
    status, _, html = await desk.post(supervisor, page, f"/desk/cases/{number}/note", {**form, "special": "1"})
    assert status == 422 and "专项督办用于" in html
    status, _, _ = await desk.post(
        supervisor, page, f"/desk/cases/{number}/note", {"kind": "commend", "text": "处置迅速群众满意"}
    )
    assert status == 303
    handler = await desk.sign_in("zhao")
    _, html = await desk.page(handler, page)
    assert "督办方式" not in html and "表扬理由" not in html
    status, _, html = await desk.post(handler, page, f"/desk/cases/{number}/note", form)
    assert status == 422 and "仅限督查员" in html


async def test_a_leaders_instruction_goes_on_the_timeline(desk: Desk) -> None:
    number = await _register(desk, "学校周边交通拥堵", "区住建局")
    page, note = f"/desk/cases/{number}", f"/desk/cases/{number}/note"
    leader = await desk.sign_in("zhou")
    assert "批示内容" in (await desk.page(leader, page))[1]
    status, location, _ = await desk.post(
        leader, page, note, {"kind": "instruct", "text": "请住建局会同交警本周拿出方案"}
    )
    assert status == 303
    _, html = await desk.page(leader, location)
    assert "已批示。" in html and "请住建局会同交警本周拿出方案" in html
    status, _, html = await desk.post(leader, page, note, {"kind": "instruct", "text": "阅" * 1001})
    assert status == 422 and "批示内容过长" in html
    # a supervisor sees no such form, and a forged post is refused as in chat
    supervisor = await desk.sign_in("sun")
    assert "批示内容" not in (await desk.page(supervisor, page))[1]
    status, _, html = await desk.post(supervisor, page, note, {"kind": "instruct", "text": "越权批示"})
    assert status == 422 and "只有领导可以批示" in html
    assert "越权批示" not in (await desk.page(leader, page))[1]
