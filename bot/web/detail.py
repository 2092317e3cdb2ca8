"""The case detail page: GET /cases/{number}/view?p=&e=&s= (a signed link from a card).

One self-contained, mobile-first HTML page: no scripts, no external assets, everything escaped.
It shows the full 主要诉求, the reply if submitted and the timeline to whoever may see the case
(bot/domain/visibility.py, docs/visibility.md); the petitioner's name and 联系方式 only at
``Sight.FULL`` (the lead unit's handlers and leader, the office roles that see the case); nothing
at all ("无权查看此件", 403) to anyone else. The link is bound to its recipient (bot.links), so a
forwarded link shows only what the recipient may see, and it expires after
``[server] link_ttl_hours``.

Never logged: the contact and the signature (the query string is not logged either).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.domain.lifecycle import Actor
from bot.domain.states import OPEN_STATES, REPLY_MODE_LABELS, ReplyMode, Route, State
from bot.domain.visibility import NOT_VISIBLE, Sight
from bot.handlers.access import sight_of
from bot.handlers.read_models import event_label, local_time_text
from bot.links import LinkError, verify_link
from bot.web.api import DEPS
from bot.web.page_style import DETAIL_CSS
from store import directory, repo
from store.models import Case, CaseEvent

log = logging.getLogger(__name__)

_INT = re.compile(r"[0-9]{1,19}")
HIDDEN_CONTACT = "（仅承办单位可见）"
HIDDEN_PETITIONER = "（不公开）"
NOT_VISIBLE_WHY = "此件不属于您所在单位，也不在您的职责范围内。"
NOT_VISIBLE_TODO = "如确因工作需要查看，请联系督查室。"
# A refused link says what happened and what to do, and nothing about the case: not even whether
# the 文号 exists (only an expired link, whose signature is genuine, names it).
EXPIRED_TEXT = "链接已过期"
INVALID_TEXT = "链接无效"
EXPIRED_WHY = "为保护留言人信息，详情链接只在签发后 {hours} 小时内有效。"
INVALID_WHY = "链接不完整或已被改动，或者不是发给您本人的（详情链接只能由收到卡片的人打开）。"
NEW_LINK_TODO = "请在企业微信/钉钉中重新打开该留言件的卡片，或向机器人发送 <kbd>查询 {number}</kbd> 获取新链接。"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
}

REPLY_PARTS = (
    ("attitude", "表明态度"),
    ("process", "工作过程"),
    ("verification", "核查情况"),
    ("feedback", "网友反馈"),
)


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{DETAIL_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _html_response(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


def refusal(status: int, message: str, why: str = "", number: str = "", todo: str = "") -> web.Response:
    """What happened (``message``, ``why``) and how to get a working link (or ``todo``, HTML);
    ``number`` only when it may be shown, else the advice says 文号."""
    todo = todo or NEW_LINK_TODO.format(number=_e(number) if number else "文号")
    why_html = f"<p>{_e(why)}</p>" if why else ""
    body = f'<section class="refusal" role="alert"><h1>{_e(message)}</h1>{why_html}<p class="todo">{todo}</p></section>'
    return _html_response(_page(message, body), status)


def _row(label: str, value_html: str) -> str:
    return f"<dt>{_e(label)}</dt><dd>{value_html}</dd>"


def _units_html(case: Case, names: dict[int, str]) -> str:
    if case.unit_id is None:
        return '<span class="muted">尚未交办</span>'
    text = _e(names.get(case.unit_id, "?"))
    co = [names[int(u)] for u in case.co_unit_ids or [] if int(u) in names]
    if co:
        text += f"（牵头）<br>协办：{_e('、'.join(co))}"
    return text


def _due_html(case: Case, now: datetime, tz: ZoneInfo) -> str:
    state = State(case.state)
    if case.due_at is None:
        return f'<span class="muted">无</span>（{_e(state.label)}）'
    text = f"{_e(local_time_text(case.due_at, tz))}（{_e(state.label)}）"
    if state in OPEN_STATES and case.due_at < now:
        text += ' <span class="badge warn">已超期</span>'
    return text


def _timeline_html(events: Iterable[CaseEvent], tz: ZoneInfo) -> str:
    items = []
    for ev in events:
        comment = f'<p class="comment">{_e(ev.comment)}</p>' if ev.comment else ""
        items.append(
            f'<li><span class="when">{_e(local_time_text(ev.at, tz))}</span>'
            f'<span class="step">{_e(event_label(ev.action))}</span> · {_e(ev.actor_name)}{comment}</li>'
        )
    if not items:
        return '<p class="muted">暂无记录</p>'
    return '<ol class="timeline">' + "".join(items) + "</ol>"


def _reply_html(case: Case) -> str:
    reply = case.reply or {}
    if not reply and not case.handling:
        return ""
    rows = []
    if case.truthfulness or reply.get("truthfulness"):
        rows.append(_row("属实程度", _e(case.truthfulness or reply.get("truthfulness"))))
    parts = [(label, reply.get(key)) for key, label in REPLY_PARTS if reply.get(key)]
    if parts:
        rows += [f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in parts]
    elif case.handling:
        rows.append(f"<dt>办理情况</dt><dd>{_e(case.handling)}</dd>")
    if case.reply_mode:
        mode = REPLY_MODE_LABELS.get(ReplyMode(case.reply_mode), case.reply_mode)
        ground = f"（{_e(case.reply_ground)}）" if case.reply_ground else ""
        rows.append(f"<dt>回复方式</dt><dd>{_e(mode)}{ground}</dd>")
        if case.public_reply:
            rows.append(f"<dt>公开回复</dt><dd>{_e(case.public_reply)}</dd>")
        if case.told_via:
            rows.append(f"<dt>告知网友</dt><dd>{_e(case.told_via)}</dd>")
    return f'<section><h2>办理情况</h2><dl class="reply">{"".join(rows)}</dl></section>'


def render_case(
    case: Case,
    *,
    viewer: Actor,
    sight: Sight,
    unit_names: dict[int, str],
    events: Iterable[CaseEvent],
    now: datetime,
    expires_at: datetime,
    tz: ZoneInfo,
) -> str:
    """The detail page HTML for ``viewer``, who sees ``sight`` of the case (CASE or FULL; pure:
    everything it shows is passed in)."""
    state = State(case.state)
    badges = [f'<span class="badge">{_e(state.label)}</span>']
    if case.urgent:
        badges.append('<span class="badge warn">急事急办</span>')
    if case.complex:
        badges.append('<span class="badge">复杂件</span>')
    if case.duplicate_of_id:
        badges.append('<span class="badge warn">重复反映</span>')
    if sight >= Sight.FULL:
        petitioner = _e(case.petitioner) if case.petitioner else '<span class="muted">未留</span>'
        contact = (
            f'{_e(case.contact)}<span class="private">个人信息，仅用于办理，请勿外传</span>'
            if case.contact
            else '<span class="muted">未留</span>'
        )
    else:
        petitioner = f'<span class="muted">{_e(HIDDEN_PETITIONER)}</span>'
        contact = f'<span class="muted">{_e(HIDDEN_CONTACT)}</span>'
    source = _e(case.source) + (f"（编号 {_e(case.source_ref)}）" if case.source_ref else "")
    rows = [
        _row("状态", _e(state.label)),
        _row("级别", _e(case.level)),
        _row("来源", source),
        _row("类型", _e(case.category) if case.category else '<span class="muted">未分类</span>'),
        _row("留言时间", _e(local_time_text(case.received_at, tz))),
        _row("承办单位", _units_html(case, unit_names)),
        _row("到期时间", _due_html(case, now, tz)),
        _row("反映人", petitioner),
        _row("联系方式", contact),
    ]
    if case.report_number:
        rows.append(_row("呈报文号", _e(case.report_number)))
    if case.route and case.route != Route.HANDLE.value:
        rows.append(_row("办理方式", _e(Route(case.route).label)))
    if case.transfer_to:
        when = local_time_text(case.transferred_at, tz) if case.transferred_at else ""
        rows.append(_row("转办", _e(f"转{case.transfer_to}（{when}）：{case.transfer_note or ''}")))
    if case.reply_proposal:
        rows.append(_row("回复建议", _e(case.reply_proposal)))
    body = (
        f'<header><p class="num">留言文号 {_e(case.number)}</p><h1>{_e(case.title)}</h1>'
        f'<p class="badges">{"".join(badges)}</p></header>'
        f"<section><h2>基本信息</h2><dl>{''.join(rows)}</dl></section>"
        f'<section><h2>主要诉求</h2><p class="text">{_e(case.content)}</p></section>'
        f"{_reply_html(case)}"
        f"<section><h2>办理过程</h2>{_timeline_html(events, tz)}</section>"
        f"<footer>仅供 {_e(viewer.name)} 办理使用，请勿转发或截图外传。"
        f"链接有效至 {_e(local_time_text(expires_at, tz))}。</footer>"
    )
    return _page(f"{case.number} {case.title}", body)


async def view_case(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    number = request.match_info["number"]
    query = request.query
    p, e, s = query.get("p", ""), query.get("e", ""), query.get("s", "")
    now = deps.clock.now()
    if not (_INT.fullmatch(p) and _INT.fullmatch(e) and s):
        log.info("detail link refused (malformed) for %s", number)
        return refusal(403, INVALID_TEXT, INVALID_WHY)
    person_id, expires = int(p), int(e)
    try:
        verify_link(
            deps.link_secret,
            number,
            person_id,
            expires,
            s,
            int(now.timestamp()),
            max_ttl_hours=deps.config.server.link_ttl_hours,
        )
    except LinkError as exc:
        log.info("detail link refused (%s) for %s person %s", exc.reason, number, person_id)
        if exc.reason == "expired":
            why = EXPIRED_WHY.format(hours=deps.config.server.link_ttl_hours)
            return refusal(403, EXPIRED_TEXT, why, number)
        return refusal(403, INVALID_TEXT, INVALID_WHY)
    tz = deps.config.office.hours().tz
    async with deps.read_sessions() as session:
        person = await directory.person_by_id(session, person_id)
        if person is None or not person.active:
            log.info("detail link refused (no active person) for %s person %s", number, person_id)
            return refusal(403, INVALID_TEXT, INVALID_WHY)
        case = await repo.case_by_number(session, number)
        if case is None:
            return refusal(404, f"未找到文号为 {number} 的留言件", number=number)
        viewer = await directory.actor_for(session, person)
        sight = sight_of(deps.config, viewer, case)
        if sight is Sight.NONE:
            log.info("detail page %s refused (not visible) to person %s", case.number, person_id)
            return refusal(403, NOT_VISIBLE, NOT_VISIBLE_WHY, todo=NOT_VISIBLE_TODO)
        ids = [case.unit_id] if case.unit_id else []
        ids += [int(u) for u in case.co_unit_ids or []]
        names = await directory.unit_names(session, ids)
        events = await repo.timeline(session, case.id)
        html_text = render_case(
            case,
            viewer=viewer,
            sight=sight,
            unit_names=names,
            events=events,
            now=now,
            expires_at=datetime.fromtimestamp(expires, tz),
            tz=tz,
        )
    log.info("detail page %s viewed by person %s", case.number, person_id)
    return _html_response(html_text)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cases/{number}/view", view_case)
