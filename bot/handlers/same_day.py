"""当日交办 (seed 001 第九条: 信访类 assigned the same day, 重要留言立即交办): a registered case not
assigned by office close reminds the dispatchers; the next working morning the supervision group
gets the 未交办 list; an urgent case reminds the dispatchers every hour until it is assigned.
Each message is claimed in the nudges table, so a repeated tick or a second process sends once."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.cards import builders as b
from bot.domain.routing import title_hidden
from bot.domain.states import Role
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox, split_markdown
from bot.privacy import redact
from store import cases as case_rows
from store import directory, nudges
from store.db import Session
from store.models import Case, Person


def _title(deps: Deps, case: Case) -> str:
    hidden = set(deps.config.nudges.hide_title_categories)
    return "（标题不公开）" if title_hidden(case.category, case.route, hidden) else redact(b.short(case.title, 18))


async def sweep(deps: Deps, outbox: Outbox, now: datetime) -> int:
    cal, hours = deps.calendar.current, deps.config.office.hours()
    local = now.astimezone(hours.tz)
    today = local.date()
    queued = 0
    async with deps.sessions() as session, session.begin():
        waiting = await case_rows.registered_before(session, now)
        if not waiting:
            return 0
        dispatchers = await directory.people_with_role(session, Role.DISPATCHER)
        # urgent: every hour since registration, day or night (重要留言立即交办)
        for case in waiting:
            if not case.urgent:
                continue
            hours_waited = int((now - case.created_at).total_seconds() // 3600)
            if hours_waited < 1:
                continue  # the registration itself told the dispatchers at once
            if await nudges.claim(
                session,
                scope=f"case:{case.id}",
                kind="unassigned_urgent",
                threshold=f"{hours_waited}h",
                day=case.created_at.astimezone(hours.tz).date(),
                now=now,
                case_id=case.id,
            ):
                text = f"【急件未交办】{case.number} {b.short(case.title, 30)}：已登记{hours_waited}小时未交办，请立即交办。"
                queued += await outbox.text(session, dispatchers, text, now, case=case)
        if cal.is_workday(today) and local.time() >= hours.close:
            queued += await _at_close(session, outbox, waiting, dispatchers, now, today, hours.tz)
        if cal.is_workday(today) and local.time() >= deps.config.nudges.overdue_list_time:
            opened = datetime.combine(today, hours.open, tzinfo=hours.tz)
            queued += await _morning_list(deps, session, outbox, [c for c in waiting if c.created_at < opened], now)
    return queued


async def _at_close(
    session: Session,
    outbox: Outbox,
    waiting: list[Case],
    people: list[Person],
    now: datetime,
    day: date,
    tz: ZoneInfo,
) -> int:
    if not await nudges.claim(
        session, scope="dispatchers", kind="unassigned_close", threshold="daily", day=day, now=now
    ):
        return 0
    lines = [
        f"{i}. {c.number} {b.short(c.title, 20)}（登记于{b.hm(c.created_at, tz)}）"
        for i, c in enumerate(waiting[:30], 1)
    ]
    more = f"\n……另有{len(waiting) - 30}件。" if len(waiting) > 30 else ""
    text = f"【当日未交办】已到下班时间，尚有{len(waiting)}件留言未交办：\n" + "\n".join(lines) + more
    return await outbox.text(session, people, text + "\n请回复“交办 <文号> <单位>”。", now)


async def _morning_list(deps: Deps, session: Session, outbox: Outbox, waiting: list[Case], now: datetime) -> int:
    if not waiting:
        return 0
    local = now.astimezone(deps.config.office.hours().tz)
    if not await nudges.claim(
        session, scope="group:supervision", kind="unassigned_list", threshold="daily", day=local.date(), now=now
    ):
        return 0
    header = f"## 未交办留言（{local:%m月%d日}）\n共 **{len(waiting)}** 件登记后未当日交办"
    section = (
        "**未交办**",
        [f"> {c.number} {_title(deps, c)} 登记于{b.hm(c.created_at, deps.config.office.tz)}" for c in waiting],
    )
    return await outbox.supervision(
        session, split_markdown(header, [section]), now, dedupe=f"unassigned:{local.date()}"
    )
