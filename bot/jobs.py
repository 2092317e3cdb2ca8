"""Scheduled work: one periodic tick runs the sweeps (nudges, the morning overdue list, calendar
warnings). Every message is claimed in the ``nudges`` table (unique key) in the transaction that
queues it, so a sweep that runs twice, a restart mid-sweep or two processes never send twice."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.cards import builders as b
from bot.cards.fit import DEFAULT_BYTES, fit_lines
from bot.cards.markdown import group_excerpt
from bot.cards.models import Button, Card
from bot.cards.payload import CardAction, Verb
from bot.domain import supervision
from bot.domain.deadlines import OfficeHours, is_office_time, workday_deadline
from bot.domain.lifecycle import Actor
from bot.domain.nudges import Audience, CaseClock, Kind, Nudge, due_now, horizon, overdue_days, planned
from bot.domain.routing import title_hidden
from bot.domain.states import Note, Role, State
from bot.domain.steps import STEPS
from bot.domain.supervision import Awaited
from bot.domain.workcalendar import coverage_warnings
from bot.handlers import cohandling, retention, same_day
from bot.handlers.access import may_see
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox, split_markdown
from store import cases as case_rows
from store import directory, nudges, repo
from store.db import Session
from store.models import Case, Person

log = logging.getLogger(__name__)

_SYSTEM = Actor.system()


def clock_of(case: Case, deps: Deps, supervision: Awaited | None = None) -> CaseClock:
    cfg = deps.config
    interim_due = None
    extended = case.extension_count > 0 or case.state == State.EXTENSION_REQUESTED.value
    # 第十条: a complex or extended case owes an interim report (with 回复建议) within interim_days
    if (case.complex or extended) and case.assigned_at is not None:
        interim_due = workday_deadline(
            case.assigned_at, cfg.deadlines.interim_days, deps.calendar.current, cfg.office.hours()
        ).due_at
    return CaseClock(
        case_id=case.id,
        unit_id=case.unit_id,
        state=State(case.state),
        complex=case.complex,
        urgent=case.urgent,
        assigned_at=case.assigned_at,
        due_at=case.due_at,
        return_deadline=case.return_deadline,
        replied_at=case.replied_at,
        interim_count=case.interim_count,
        interim_due=interim_due,
        extended=extended,
        step_due_at=case.step_due_at,
        promised_at=case.promised_at,
        supervision_answer_by=supervision.answer_by if supervision else None,
    )


async def candidates(session: Session, deps: Deps, now: datetime) -> list[Case]:
    """The cases that may owe a reminder now — indexed queries, bounded by what is due."""
    cfg = deps.config
    rules = cfg.nudges.rules()
    until = horizon(now, rules, deps.calendar.current, cfg.office.hours())
    found = await case_rows.nudge_candidates(
        session,
        due_until=until,
        assigned_before=now - timedelta(hours=min(rules.unaccepted_handler_hours, rules.unaccepted_leader_hours)),
        replied_before=now - timedelta(days=rules.followup_after_days),
        # N working days span at least N calendar days: the earliest an interim reminder is due
        interim_assigned_before=now
        - timedelta(days=max(0, cfg.deadlines.interim_days - 1 - max(rules.interim_days_before, default=0))),
    )
    seen = {c.id for c in found}
    return found + [c for c in await case_rows.step_candidates(session, until) if c.id not in seen]


async def clocked_candidates(session: Session, deps: Deps, now: datetime) -> list[tuple[Case, Awaited | None]]:
    """The candidates, and every case owing an answer to a 督办, each with that 督办 (or None)."""
    awaited = await awaited_supervisions(session)
    found = await candidates(session, deps, now)
    seen = {c.id for c in found}
    pairs = [(c, awaited[c.id][1] if c.id in awaited else None) for c in found]
    return pairs + [(c, owes) for c, owes in awaited.values() if c.id not in seen]


async def awaited_supervisions(session: Session) -> dict[int, tuple[Case, Awaited]]:
    """Case id → (the case, its 督办 still waiting for the unit's answer)."""
    found: dict[int, tuple[Case, Awaited]] = {}
    ended = [s.value for s in supervision.ENDED]
    for case, events in await case_rows.supervised_cases(session, supervision.RELEVANT, ended):
        entries = [supervision.Entry(e.action, e.at, e.data) for e in events]
        awaited = supervision.awaited_answer(State(case.state), entries)
        if awaited is not None:
            found[case.id] = (case, awaited)
    return found


@dataclass
class _Bucket:
    person: Person
    lines: list[str] = field(default_factory=list)


class Jobs:
    def __init__(self, deps: Deps, outbox: Outbox, *, after: Callable[[], None] | None = None) -> None:
        self.deps = deps
        self.outbox = outbox
        self.after = after  # called after a tick queued messages (wakes the sender)
        self.alerts: list[str] = []  # raised by platform clients outside any transaction

    @property
    def hours(self) -> OfficeHours:
        return self.deps.config.office.hours()

    async def tick(self) -> int:
        """Everything that is due now; safe to call as often as you like."""
        now = self.deps.clock.now()
        async with self.deps.sessions() as session:
            await self.deps.calendar.ensure_fresh(session)  # a change elsewhere counts at once
        await retention.prune(self.deps)  # first: housekeeping does not wait on the sweeps below
        queued = 0
        if self.deps.config.nudges.enabled:
            queued += await self.sweep(now)
            queued += await cohandling.sweep(self.deps, self.outbox, now)
            queued += await same_day.sweep(self.deps, self.outbox, now)
            queued += await self.overdue_list(now)
        queued += await self.calendar_warning(now)
        queued += await self.monthly_summary(now)
        queued += await self.flush_alerts(now)
        if queued and self.after is not None:
            self.after()
        return queued

    # --- reminders --------------------------------------------------------------------------

    async def sweep(self, now: datetime) -> int:
        cfg = self.deps.config
        rules, cal, hours = cfg.nudges.rules(), self.deps.calendar.current, self.hours
        async with self.deps.sessions() as session, session.begin():
            owed: list[tuple[Case, list[Nudge]]] = []
            keys: dict[_ClaimKey, Nudge] = {}
            for case, owes in await clocked_candidates(session, self.deps, now):
                send, superseded = due_now(clock_of(case, self.deps, owes), now, rules, cal, hours)
                if send:
                    owed.append((case, send))
                for nudge in (*superseded, *send):
                    keys[self._key(nudge)] = nudge
            # Most candidates owe nothing new on a repeated tick: one read of what earlier sweeps
            # claimed, then one INSERT … ON CONFLICT DO NOTHING for the rest. The unique key still
            # decides who wins, so a concurrent sweep of another process never sends twice.
            claimed = await nudges.claimed(session, {n.case_id for n in keys.values()})
            wanted = [k for k in keys if k not in claimed]
            won = await nudges.claim_all(session, wanted, {k: keys[k].case_id for k in wanted}, now)
            buckets: dict[int, _Bucket] = {}
            people: dict[tuple[Audience, int | None], list[Person]] = {}  # this sweep's directory look-ups
            for case, send in owed:
                for nudge in send:
                    if self._key(nudge) in won:
                        await self._route(session, case, nudge, now, buckets, people)
            queued = 0
            for bucket in buckets.values():
                text = _merged(bucket)
                queued += await self.outbox.text(session, [bucket.person], text, now)
        return queued

    def _key(self, nudge: Nudge) -> _ClaimKey:
        return (
            f"case:{nudge.case_id}",
            nudge.kind.value,
            nudge.threshold,
            nudge.send_at.astimezone(self.hours.tz).date(),
        )

    async def _claim(self, session: Session, nudge: Nudge, now: datetime) -> bool:
        scope, kind, threshold, local_day = self._key(nudge)
        return await nudges.claim(
            session, scope=scope, kind=kind, threshold=threshold, day=local_day, now=now, case_id=nudge.case_id
        )

    async def _route(
        self,
        session: Session,
        case: Case,
        nudge: Nudge,
        now: datetime,
        buckets: dict[int, _Bucket],
        people: dict[tuple[Audience, int | None], list[Person]] | None = None,
    ) -> None:
        line = self._line(case, nudge, now)
        for audience in nudge.audience:
            for person in await self._people(session, case, audience, people):
                buckets.setdefault(person.id, _Bucket(person)).lines.append(line)
        if nudge.kind is Kind.NOTICE:
            await repo.add_event(
                session,
                case.id,
                now,
                Note.SUPERVISE,
                _SYSTEM,
                comment=f"超期{nudge.info.get('overdue_days', '')}个工作日，系统发出督办通知",
            )

    async def _people(
        self,
        session: Session,
        case: Case,
        audience: Audience,
        cache: dict[tuple[Audience, int | None], list[Person]] | None = None,
    ) -> list[Person]:
        unit_scoped = audience in (Audience.HANDLERS, Audience.UNIT_LEADER)
        key = (audience, case.unit_id if unit_scoped else None)
        if cache is not None and key in cache:
            return cache[key]
        if audience is Audience.HANDLERS:
            found = await directory.people_with_role(session, Role.HANDLER, case.unit_id) if case.unit_id else []
        elif audience is Audience.UNIT_LEADER:
            found = await directory.people_with_role(session, Role.UNIT_LEADER, case.unit_id) if case.unit_id else []
        else:
            found = await directory.people_with_role(session, _OFFICE_ROLES[audience])
        if cache is not None:
            cache[key] = found
        if audience is Audience.DISPATCHERS:  # office-wide, but not for the sensitive categories
            return [p for p in found if may_see(self.deps.config, await directory.actor_for(session, p), case)]
        return found

    def _line(self, case: Case, nudge: Nudge, now: datetime) -> str:
        title = b.short(case.title, 20)
        due = b.hm(case.due_at, self.hours.tz)
        step, stalled, _holder = STEPS.get(State(case.state), ("", "", Role.SUPERVISOR))
        answer_by = (
            b.hm(datetime.fromtimestamp(nudge.info["answer_by"], UTC), self.hours.tz)
            if "answer_by" in nudge.info
            else ""
        )
        reason = {
            Kind.DUE: f"{due}到期"
            + (
                "（今日到期）"
                if nudge.info.get("days_left") == 0
                else "（明日到期）"
                if nudge.info.get("days_left") == 1
                else ""
            ),
            Kind.UNACCEPTED: f"交办已超过{nudge.info.get('hours', '')}小时未签收",
            Kind.RETURN_WINDOW: f"退回期限今日{b.hm(case.return_deadline, self.hours.tz)[-5:]}截止，逾期不能退回",
            Kind.INTERIM: f"请于{b.hm(self._interim_due(case), self.hours.tz)}前报送阶段性办理情况并提出回复建议"
            f"（进展 {case.number} <情况> 回复建议：<内容>）",
            Kind.OVERDUE: f"已超期（{due}到期），请抓紧办理",
            Kind.NOTICE: f"已超期{nudge.info.get('overdue_days', '')}个工作日，督查室已发督办通知",
            Kind.FOLLOWUP: "已回复超过规定时间未回访",
            Kind.STEP: f"待{step}，今日{b.hm(case.step_due_at, self.hours.tz)[-5:]}到期",
            Kind.STEP_OVERDUE: f"{stalled}（{b.hm(case.step_due_at, self.hours.tz)}到期），请尽快{step}",
            Kind.PROMISE: f"承诺解决日期已到，请报告解决情况并再回复（再回复 {case.number} <内容>）",
            Kind.SUPERVISION: f"督办要求今日{answer_by[-5:]}前答复，请报告办理情况（说明 {case.number} <办理情况>）",
            Kind.SUPERVISION_OVERDUE: f"督办限{answer_by}前答复，逾期未答复",
        }[nudge.kind]
        if case.urgent and nudge.kind in (Kind.DUE, Kind.OVERDUE):
            reason = "【急件】" + reason
        return f"{case.number} {title}：{reason}"

    def _interim_due(self, case: Case) -> datetime | None:
        return clock_of(case, self.deps).interim_due

    # --- the morning overdue list -------------------------------------------------------------

    async def overdue_list(self, now: datetime) -> int:
        cfg = self.deps.config
        cal, hours = self.deps.calendar.current, self.hours
        local = now.astimezone(hours.tz)
        if not is_office_time(now, cal, hours) or local.time() < cfg.nudges.overdue_list_time:
            return 0
        async with self.deps.sessions() as session, session.begin():
            if not await nudges.claim(
                session, scope="group:supervision", kind="overdue_list", threshold="daily", day=local.date(), now=now
            ):
                return 0
            entries = await self.overdue_entries(session, now)
            stalled = await self.stalled_sections(session, now) + await self.supervision_sections(session, now)
            if not entries and not stalled:
                return 0
            header = f"## 超期未办结留言（{local:%m月%d日}）\n共 **{len(entries)}** 件，涉及 {len({e.unit for e in entries})} 个单位"
            sections = [
                (
                    f"**{unit}**（{len(group)}件）",
                    [f"> {e.number} {e.title} 超期{e.days}个工作日 承办人：{e.handler}" for e in group],
                )
                for unit, group in _by_unit(entries).items()
            ]
            sections += stalled
            queued = await self.outbox.supervision(
                session, split_markdown(header, sections), now, dedupe=f"overdue:{local.date()}"
            )
            queued += await self._supervisor_cards(session, entries, now)
            return queued

    async def overdue_entries(self, session: Session, now: datetime) -> list[_Entry]:
        cfg = self.deps.config
        cal, hours = self.deps.calendar.current, self.hours
        rows = await case_rows.overdue_cases(session, now)
        names = await directory.unit_names(session, [c.unit_id for c in rows if c.unit_id])
        accepted_by = await case_rows.accepted_by(session, [c.id for c in rows])
        hidden = set(cfg.nudges.hide_title_categories)
        entries = []
        for c in rows:
            assert c.due_at is not None
            title = "（标题不公开）" if title_hidden(c.category, c.route, hidden) else group_excerpt(c.title, 18)
            entries.append(
                _Entry(
                    c.number,
                    title,
                    names.get(c.unit_id or 0, "未指定单位"),
                    c.unit_id,
                    overdue_days(now, c.due_at, cal, hours) or 1,
                    accepted_by.get(c.id, "未签收"),
                    c,
                )
            )
        return entries

    async def stalled_sections(self, session: Session, now: datetime) -> list[tuple[str, list[str]]]:
        """Replies stalled in the office, one section per step: 待审核超期, 待审定超期, 待回复超期."""
        cal, hours = self.deps.calendar.current, self.hours
        hidden = set(self.deps.config.nudges.hide_title_categories)
        rows = await case_rows.stalled_cases(session, now)
        names = await directory.unit_names(session, [c.unit_id for c in rows if c.unit_id])
        sections = []
        for state, (_step, label, _holder) in STEPS.items():
            group = [c for c in rows if c.state == state.value and c.step_due_at is not None]
            if not group:
                continue
            lines = []
            for c in group:
                assert c.step_due_at is not None
                title = "（标题不公开）" if title_hidden(c.category, c.route, hidden) else group_excerpt(c.title, 18)
                days = overdue_days(now, c.step_due_at, cal, hours) or 1
                lines.append(f"> {c.number} {title} {names.get(c.unit_id or 0, '-')} 超{days}个工作日")
            sections.append((f"**{label}**（{len(group)}件）", lines))
        return sections

    async def supervision_sections(self, session: Session, now: datetime) -> list[tuple[str, list[str]]]:
        """督办 whose answer date has passed without the unit's answer: 督办逾期未答复."""
        cal, hours = self.deps.calendar.current, self.hours
        hidden = set(self.deps.config.nudges.hide_title_categories)
        late = sorted(
            ((c, a) for c, a in (await awaited_supervisions(session)).values() if a.answer_by < now),
            key=lambda pair: (pair[1].answer_by, pair[0].id),
        )
        if not late:
            return []
        names = await directory.unit_names(session, [c.unit_id for c, _ in late if c.unit_id])
        lines = []
        for c, awaited in late:
            title = "（标题不公开）" if c.category in hidden else group_excerpt(c.title, 18)
            days = overdue_days(now, awaited.answer_by, cal, hours) or 1
            word = "专项督办" if awaited.special else "督办"
            lines.append(
                f"> {c.number} {title} {names.get(c.unit_id or 0, '-')} "
                f"{word}限{b.hm(awaited.answer_by, hours.tz)[:5]}答复，超{days}个工作日未答复"
            )
        return [(f"**督办逾期未答复**（{len(late)}件）", lines)]

    async def _supervisor_cards(self, session: Session, entries: list[_Entry], now: datetime) -> int:
        supervisors = await directory.people_with_role(session, Role.SUPERVISOR)
        count = 0
        for unit, group in list(_by_unit(entries).items())[:10]:
            first = group[0]
            numbers = "、".join(e.number for e in group[:5]) + ("等" if len(group) > 5 else "")
            card = Card(
                title=f"【超期】{unit} {len(group)}件",
                desc=f"最长超期{max(e.days for e in group)}个工作日",
                body=f"超期件：{numbers}",
                buttons=[
                    Button("催办", CardAction(Verb.URGE, first.number, 0, str(first.unit_id or 0)).pack(), "primary"),
                    Button(
                        "督办", CardAction(Verb.SUPERVISE, first.number, 0, str(first.unit_id or 0)).pack(), "danger"
                    ),
                ],
            )
            count += await self.outbox.card(
                session, supervisors, lambda _p, card=card: card, "overdue", first.case, now
            )
        return count

    async def monthly_summary(self, now: datetime) -> int:
        """分析通报: on the configured working day of the month, last month's summary, once."""
        from bot.domain.statistics import summary_period_due
        from bot.reports.summary import queue_monthly_summary, summary_reachable

        cfg = self.deps.config.scoring
        period = summary_period_due(
            now, self.deps.calendar.current, self.hours.tz, workday=cfg.summary_workday, at=cfg.summary_time
        )
        if period is None:
            return 0
        day = now.astimezone(self.hours.tz).date()
        scope, kind = "group:supervision", "monthly_summary"
        async with self.deps.sessions() as session:
            if await nudges.exists(session, scope=scope, kind=kind, threshold=period.key, day=day):
                return 0  # posted already today: do not recompute the report every tick
            if not await summary_reachable(self.deps, session):
                return 0  # no group, no unit leader: nothing to post, and the month stays unposted
        # one transaction for the messages and the record; the messages' dedupe keys keep a
        # second process from posting twice even if both got here. The day is recorded only when
        # a message was queued (issue 14: an unconfigured office must not use up the month).
        async with self.deps.sessions() as session, session.begin():
            queued = await queue_monthly_summary(self.deps, session, period, now)
            if queued:
                await nudges.claim(session, scope=scope, kind=kind, threshold=period.key, day=day, now=now)
        return queued

    async def flush_alerts(self, now: datetime) -> int:
        queued = 0
        while self.alerts:
            text = self.alerts.pop(0)
            async with self.deps.sessions() as session, session.begin():
                admins = await directory.people_with_role(session, Role.ADMIN)
                key = f"alert:{now.astimezone(self.hours.tz):%Y-%m}:{hashlib.sha1(text.encode()).hexdigest()[:16]}"
                queued += await self.outbox.text(session, admins, f"【系统告警】{text}", now, dedupe=key)
        return queued

    # --- calendar coverage -----------------------------------------------------------------------

    async def calendar_warning(self, now: datetime) -> int:
        cal, hours = self.deps.calendar.current, self.hours
        if not is_office_time(now, cal, hours):
            return 0
        today = now.astimezone(hours.tz).date()
        warnings = coverage_warnings(cal, today)
        if not warnings:
            return 0
        async with self.deps.sessions() as session, session.begin():
            if not await nudges.claim(
                session, scope="admins", kind="calendar_coverage", threshold="daily", day=today, now=now
            ):
                return 0
            admins = await directory.people_with_role(session, Role.ADMIN)
            return await self.outbox.text(session, admins, "【工作日历提醒】" + "\n".join(warnings), now)

    # --- planning (liuyan nudges plan) -----------------------------------------------------------

    async def plan(self, day: date) -> list[tuple[datetime, str, str]]:
        """What the sweeps would send on ``day`` (time, recipients, line) — nothing is sent."""
        cfg = self.deps.config
        rules, cal, hours = cfg.nudges.rules(), self.deps.calendar.current, self.hours
        end = datetime.combine(day, hours.close, tzinfo=hours.tz)
        result: list[tuple[datetime, str, str]] = []
        async with self.deps.sessions() as session:
            for case, owes in await clocked_candidates(session, self.deps, end):
                for nudge in planned(clock_of(case, self.deps, owes), rules, cal, hours):
                    local = nudge.send_at.astimezone(hours.tz)
                    if local.date() != day or (not cal.is_workday(day) and not case.urgent):
                        continue
                    people = []
                    for audience in nudge.audience:
                        people += [p.name for p in await self._people(session, case, audience)]
                    result.append((nudge.send_at, "、".join(people) or "-", self._line(case, nudge, nudge.send_at)))
            if cal.is_workday(day):
                list_at = datetime.combine(day, cfg.nudges.overdue_list_time, tzinfo=hours.tz)
                count = len(await self.overdue_entries(session, list_at))
                result.append((list_at, "督查群", f"超期未办结清单（当前{count}件）"))
        return sorted(result)


_ClaimKey = nudges.ClaimKey
#: the office role each office audience stands for
_OFFICE_ROLES: dict[Audience, Role] = {
    Audience.SUPERVISORS: Role.SUPERVISOR,
    Audience.LEADERS: Role.LEADER,
    Audience.DISPATCHERS: Role.DISPATCHER,
}


@dataclass
class _Entry:
    number: str
    title: str
    unit: str
    unit_id: int | None
    days: int
    handler: str
    case: Case


def _by_unit(entries: list[_Entry]) -> dict[str, list[_Entry]]:
    grouped: dict[str, list[_Entry]] = defaultdict(list)
    for e in entries:
        grouped[e.unit].append(e)
    return dict(grouped)


def _merged(bucket: _Bucket) -> str:
    lines = bucket.lines
    if len(lines) == 1:
        return f"【办理提醒】{lines[0]}"
    numbered = [f"{i}. {line}" for i, line in enumerate(lines, 1)]
    header = f"【办理提醒】您有{len(lines)}件留言需要关注："
    # whole lines under the platforms' size limit (WeCom text: 2048 bytes), at most 30 of them;
    # the rest summed up in the last line
    return fit_lines(header, numbered[:30], DEFAULT_BYTES, hidden=len(numbered[30:]))
