"""The monthly summary in chat: the supervision group's post and each unit leader's own line.

Group posts carry no contact details and no text of non-public cases: only figures, unit names,
文号 and the titles of hot subjects that may be shown (``Report.hot_subjects`` already hides the
others and masks personal data in titles). The chart goes to the group robot webhook as an image
(WeCom webhook ``image``: base64 + md5, ≤ 2 MB — spec §5.2); an app group chat (appchat) would need
a media upload, so it gets the markdown only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cards.markdown import escape_markdown, group_excerpt
from bot.cards.models import markdown_payload
from bot.domain.scoring import GRADES, ScoreLine
from bot.domain.states import Role
from bot.domain.statistics import Period, summary_period_due
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox, address, split_markdown
from bot.ports import Channel
from bot.privacy import redact
from bot.reports.compute import compute_report, report_session
from bot.reports.model import Report, UnitReport
from store import directory, nudges
from store import outbox as outbox_store
from store.db import Session

#: at most this many units in the group's ranking and problem list (the workbook has them all)
MAX_RANKED = 20
MAX_PROBLEMS = 15
MAX_NUMBERS = 5  # 文号 per rule in a unit leader's line
WEBHOOK_IMAGE_MAX = 2 * 1024 * 1024  # bytes (spec §5.2)
CLAIM_SCOPE, CLAIM_KIND = "report", "period_summary"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def pts(value: float) -> str:
    return f"{value:g}"


def days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def has_problems(u: UnitReport) -> bool:
    """A unit to point out: not 合格, or cases overdue right now."""
    return u.score.grade != GRADES[0] or u.stats.overdue_now > 0


def _line_text(line: ScoreLine, *, numbers: bool = False) -> str:
    sign = "-" if line.points < 0 else "+"
    text = f"{line.rule.label} {line.count}{line.rule.info.per} {sign}{pts(abs(line.points))}"
    if line.capped:
        text += "（已封顶）"
    if numbers:
        shown = [i.occurrence.case_number for i in line.items if i.occurrence.case_number][:MAX_NUMBERS]
        if shown:
            more = "等" if line.count > len(shown) else ""
            text += f"（{'、'.join(dict.fromkeys(shown))}{more}）"
    return text


def _problems(u: UnitReport) -> str:
    parts = [_line_text(ln) for ln in u.score.deduction_lines()]
    if u.stats.overdue_now:
        parts.append(f"当前超期 {u.stats.overdue_now} 件")
    return "，".join(parts) or "—"


def _change(now: int, before: int) -> str:
    if before == now:
        return "持平"
    arrow = "↑" if now > before else "↓"
    return f"{arrow}{abs(now - before)}"


def summary_header(report: Report) -> str:
    return f"## {report.period.label}网民留言办理情况通报"


Section = tuple[str, list[str]]  # (heading, lines); an empty heading is not written


def summary_sections(report: Report) -> list[Section]:
    """The group post: an overview, the ranking, the units to point out, the hot topics."""
    o = report.office
    grades = "、".join(f"{g} {n} 个" for g, n in report.grade_counts().items()) or "无单位"
    sections: list[Section] = [
        (
            "",
            [
                f"> 统计范围：{report.period_text} 收到的留言；数据截至 {report.as_of_text}",
                (
                    f"全部受理 **{o.received}** 件（上期 {report.previous_received} 件），已办结 {o.finished} 件，"
                    f"按期办结率 **{pct(o.on_time_rate)}**，签收及时率 {pct(o.accept_rate)}，"
                    f"当前超期 **{sum(u.stats.overdue_now for u in report.units)}** 件"
                ),
                (
                    f"化解率 {pct(o.resolution_rate)}　满意率 {pct(o.satisfaction_rate)}　公开答复率 {pct(o.public_rate)}　"
                    f"平均办结 {days(o.avg_workdays)} 个工作日"
                ),
                (
                    f"未当日交办 {o.not_same_day} 件　礼节性回复 {o.courtesy} 件　"
                    f"转办 {o.transferred} 件（不计入办理、考核）"
                ),
                f"评分：{grades}",
            ],
        )
    ]
    ranked = report.units[:MAX_RANKED]
    if ranked:
        lines = [f"{u.rank}. {u.name}　{pts(u.score.score)} 分　{u.score.grade}" for u in ranked]
        if len(report.units) > len(ranked):
            lines.append(f"（共 {len(report.units)} 个单位，完整排名见月报表格）")
        sections.append(("**单位排名**", lines))
    problems = [u for u in report.units if has_problems(u)]
    if problems:
        lines = [
            f"> **{u.name}** {pts(u.score.score)} 分（{u.score.grade}）：{_problems(u)}"
            for u in problems[:MAX_PROBLEMS]
        ]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"（另有 {len(problems) - MAX_PROBLEMS} 个单位，见月报表格）")
        sections.append(("**需关注单位**", lines))
    hot = [b for b in report.hot_categories if b.count][:5]
    if hot:
        sections.append(
            ("**热点类型**（与上期比）", [f"> {t.key} {t.count} 件（{_change(t.count, t.previous)}）" for t in hot])
        )
    if report.hot_subjects:
        sections.append(
            (
                "**重复反映事项**",
                [
                    f"> {s.number} {group_excerpt(s.title, 40) if s.title else '不公开事项'}（{escape_markdown(s.category)}，本期 {s.count} 件）"
                    for s in report.hot_subjects[:5]
                ],
            )
        )
    return sections


def summary_markdown(report: Report, *, limit_bytes: int = 2000) -> list[str]:
    """The group post cut into messages under ``limit_bytes`` (WeCom appchat markdown: 2048)."""
    return split_markdown(summary_header(report), summary_sections(report), limit_bytes)


def unit_line(report: Report, u: UnitReport) -> str:
    """A unit leader's own line: their score, rank, figures and every deduction and bonus."""
    s = u.stats
    lines = [
        f"### {report.period.label}留言办理通报（{u.name}）",
        f"得分 **{pts(u.score.score)}**（{u.score.grade}），排名 {u.rank}/{len(report.units)}",
    ]
    if s.received:
        lines.append(
            f"受理 {s.received} 件，已办结 {s.finished} 件，按期办结率 {pct(s.on_time_rate)}，"
            f"签收及时率 {pct(s.accept_rate)}，化解率 {pct(s.resolution_rate)}，满意率 {pct(s.satisfaction_rate)}"
        )
    else:
        lines.append("本期没有收到交办的留言。")
    if s.overdue_now:
        lines.append(f'<font color="warning">当前超期 {s.overdue_now} 件，请抓紧办理。</font>')
    deductions = u.score.deduction_lines()
    bonuses = u.score.bonus_lines()
    if deductions:
        lines.append("扣分：" + "；".join(_line_text(ln, numbers=True) for ln in deductions))
    if bonuses:
        lines.append("加分：" + "；".join(_line_text(ln, numbers=True) for ln in bonuses))
    if deductions or bonuses:
        lines.append("明细见月报表格“扣分明细”表。")
    return "\n".join(lines)


def image_payload(png: bytes) -> dict[str, str]:
    """The outbox payload of a chart for the group robot webhook (base64 + md5 of the raw PNG)."""
    return {"type": "image", "png_b64": base64.b64encode(png).decode("ascii"), "md5": hashlib.md5(png).hexdigest()}


@dataclass(frozen=True)
class PlannedMessage:
    """One message of the summary: where it goes and what it says (``who`` is for people)."""

    platform: str
    channel: Channel  # to a group, through the robot, or to a person
    recipient: str
    who: str
    payload: dict[str, Any]
    dedupe_key: str
    person_id: int | None = None


@dataclass(frozen=True)
class SummaryPlan:
    period: Period
    messages: tuple[PlannedMessage, ...]


async def summary_reachable(deps: Deps, session: Session) -> bool:
    """Whether the summary would reach anyone: a supervision group on an enabled platform, or a
    unit leader with an id on one (a cheap check before computing the report)."""
    outbox = Outbox(deps.config)
    if any(outbox.supervision_target(p) for p in outbox.platforms):
        return True
    leaders = await directory.people_with_role(session, Role.UNIT_LEADER)
    return any(address(person, p) for person in leaders for p in outbox.platforms)


async def plan_monthly_summary(deps: Deps, period: Period, now: datetime, *, again: str = "") -> SummaryPlan:
    """What the summary of ``period`` (as of ``now``) would send: markdown to the supervision
    group(s), the chart to the WeCom group robot webhook, each unit leader their own line. Reads in
    a snapshot of its own and writes nothing. ``again`` makes the dedupe keys of a forced re-post
    differ from the first post's."""
    from bot.reports.chart import render_png

    cfg = deps.config
    outbox = Outbox(cfg)
    platforms = outbox.platforms
    async with report_session(deps) as reader:
        report = await compute_report(reader, cfg, deps.calendar.current, period, now)
        leaders = {
            u.unit_id: await directory.people_with_role(reader, Role.UNIT_LEADER, u.unit_id) for u in report.units
        }
    key = f"report:{period.key}" + (f":again:{again}" if again else "")
    messages: list[PlannedMessage] = []
    chunks = summary_markdown(report)
    for platform in platforms:
        target = outbox.supervision_target(platform)
        if target is None:
            continue
        channel, recipient = target
        for i, chunk in enumerate(chunks):
            payload = {"type": "markdown", "text": redact(chunk)}  # a group post: masked once more
            messages.append(PlannedMessage(platform, channel, recipient, "督查群", payload, f"{key}:{platform}:{i}"))
    if cfg.wecom.enabled and cfg.wecom.supervision_webhook_key:
        # the drawing runs before the caller's first write: SQLite takes its writer lock there
        png = await asyncio.to_thread(render_png, report)
        if 0 < len(png) <= WEBHOOK_IMAGE_MAX:
            messages.append(
                PlannedMessage(
                    "wecom", Channel.WEBHOOK, "supervision", "督查群（图表）", image_payload(png), f"{key}:chart:wecom"
                )
            )
    for u in report.units:
        line = unit_line(report, u)
        seen: set[int] = set()
        for person in leaders[u.unit_id]:
            if person.id in seen:
                continue
            seen.add(person.id)
            for platform in platforms:
                user = address(person, platform)
                if user:
                    messages.append(
                        PlannedMessage(
                            platform,
                            Channel.USER,
                            user,
                            f"{person.name}（{u.name}负责人）",
                            markdown_payload(line),
                            f"{key}:unit:{u.unit_id}:{platform}:{user}",
                            person.id,
                        )
                    )
    return SummaryPlan(period, tuple(messages))


async def queue_monthly_summary(
    deps: Deps, session: Session, period: Period, now: datetime, *, force: bool = False
) -> int:
    """Queue the summary of ``period`` in the caller's transaction and return the number of
    messages queued. Once per period, even with several processes: a ``nudges`` row (scope
    ``report``) is claimed with the writes — and only when a message was queued, so that a post
    with no group and no unit leader configured does not use up the period. ``force`` posts
    again although the period was posted (fresh dedupe keys)."""
    if not force:
        async with report_session(deps) as reader:
            if await nudges.claimed_any_day(reader, scope=CLAIM_SCOPE, kind=CLAIM_KIND, threshold=period.key):
                return 0
    plan = await plan_monthly_summary(deps, period, now, again=f"{now:%Y%m%dT%H%M%S.%f}" if force else "")
    if not plan.messages:
        return 0
    claimed = await nudges.claim(
        session, scope=CLAIM_SCOPE, kind=CLAIM_KIND, threshold=period.key, day=period.start, now=now
    )
    if not claimed and not force:
        return 0  # another process got there first
    queued = 0
    for m in plan.messages:
        sent = await outbox_store.enqueue(
            session,
            platform=m.platform,
            channel=m.channel,
            recipient=m.recipient,
            payload=m.payload,
            now=now,
            person_id=m.person_id,
            dedupe_key=m.dedupe_key,
        )
        queued += sent is not None
    if not queued and not force:
        # nothing went out: the period is still to post
        await nudges.release(session, scope=CLAIM_SCOPE, kind=CLAIM_KIND, threshold=period.key, day=period.start)
    return queued


def due_summary(deps: Deps, now: datetime) -> Period | None:
    """The month whose summary is due at ``now`` (``[scoring] summary_workday``/``summary_time``),
    or None. For the scheduler: call it on every tick, queue when it returns a period (the dedupe
    keys make a second call harmless)."""
    cfg = deps.config
    return summary_period_due(
        now,
        deps.calendar.current,
        cfg.office.hours().tz,
        workday=cfg.scoring.summary_workday,
        at=cfg.scoring.summary_time,
    )
