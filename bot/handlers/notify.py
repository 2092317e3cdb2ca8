"""Who must be told what when a case moves (design.md "The workflow"); writes to the outbox in
the transaction of the change, so nothing is lost and nothing is sent for a change that failed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

from bot.calendar.service import CalendarHolder
from bot.cards import builders as b
from bot.cards.cohandling import co_card
from bot.cards.models import Card
from bot.clock import Clock
from bot.config import Config
from bot.domain.archive import has_contact
from bot.domain.cohandling import OPEN_FOR_OPINION
from bot.domain.deadlines import working_days_left
from bot.domain.states import Action, Role, Route, State
from bot.handlers.access import may_see
from bot.handlers.cohandling import co_due
from bot.handlers.deps import CaseChange
from bot.handlers.directory import reachable, unreachable_audience, unreachable_text
from bot.handlers.messaging import Outbox
from bot.links import detail_url
from store import directory, repo
from store.db import Session
from store.models import Case, Person


class ChatNotifier:
    """The notifier of the chat channels (WeCom, DingTalk)."""

    def __init__(self, config: Config, calendar: CalendarHolder, clock: Clock, link_secret: bytes) -> None:
        self.config = config
        self.calendar = calendar
        self.clock = clock
        self.outbox = Outbox(config)
        self._secret = link_secret

    # --- views and links -------------------------------------------------------------------

    async def view(self, session: Session, case: Case) -> b.CaseView:
        names = await directory.unit_names(session, [case.unit_id] if case.unit_id else [])
        repeated = None
        if case.duplicate_of_id:
            original = await repo.case_by_id(session, case.duplicate_of_id)
            repeated = original.number if original else None
        days_left = None
        if case.due_at is not None:
            days_left = working_days_left(
                self.clock.now(), case.due_at, self.calendar.current, self.config.office.hours()
            )
        return b.CaseView(
            number=case.number,
            title=case.title,
            content=case.content,
            level=case.level,
            source=case.source,
            category=case.category,
            unit=names.get(case.unit_id) if case.unit_id else None,
            state=State(case.state),
            stage=case.version,
            due_at=case.due_at,
            days_left=days_left,
            repeated_of=repeated,
            handling=case.handling,
            truthfulness=case.truthfulness,
            public=case.reply_mode != "individual",
            has_contact=has_contact(case.contact),
            tz=self.config.office.tz,
            proposal=case.reply_proposal,
        )

    def link(self, case: Case, person: Person) -> str:
        now = int(self.clock.now().timestamp())
        return detail_url(
            self.config.server.public_url, self._secret, case.number, person.id, now, self.config.server.link_ttl_hours
        )

    def _linked(self, case: Case, make: Callable[[str], Card]) -> Callable[[Person], Card]:
        return lambda person: make(self.link(case, person))

    # --- who may be told (docs/visibility.md) -----------------------------------------------

    async def may_see(self, session: Session, case: Case, people: Iterable[Person]) -> list[Person]:
        """Those of ``people`` who may see ``case``: nobody else gets a card, a link or a notice
        about it."""
        kept = []
        for person in people:
            if may_see(self.config, await directory.actor_for(session, person), case):
                kept.append(person)
        return kept

    async def _card(
        self,
        session: Session,
        people: Iterable[Person],
        make: Callable[[Person], Card],
        kind: str,
        case: Case,
        now: datetime,
    ) -> int:
        return await self.outbox.card(session, await self.may_see(session, case, people), make, kind, case, now)

    async def _text(self, session: Session, people: Iterable[Person], text: str, now: datetime, *, case: Case) -> int:
        return await self.outbox.text(session, await self.may_see(session, case, people), text, now, case=case)

    # --- recipients --------------------------------------------------------------------------

    async def unit_handlers(self, session: Session, case: Case) -> list[Person]:
        if case.unit_id is None:
            return []
        return await directory.people_with_role(session, Role.HANDLER, case.unit_id)

    async def office(self, session: Session, role: Role) -> list[Person]:
        return await directory.people_with_role(session, role)

    # --- the rules ---------------------------------------------------------------------------

    async def case_changed(self, session: Session, change: CaseChange) -> None:
        case, now = change.case, change.at
        action = change.action
        if isinstance(action, Action) and action not in _KEEPS_CARDS:
            done = f"已{action.label}（{change.actor.name} {b.hm(now, self.config.office.tz)}）"
            # the co-units' cards stay open while the lead unit still works on the case
            keeps = State(case.state) in OPEN_FOR_OPINION and action not in (Action.ASSIGN, Action.REASSIGN)
            spare = co_kinds(case) if keeps else []
            await self.outbox.close_cards(session, case, done, now, spare_kinds=spare)
        handler = _RULES.get(action if isinstance(action, Action) else str(action))
        if handler is not None:
            await handler(self, session, case, change, now)

    async def _on_register(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        if change.data.get("auto_assign") or case.route == Route.TRANSFER.value:
            return  # assigned, or transferred at once (the transfer tells the office)
        if case.route == Route.COURTESY.value:
            await self._courtesy_due(session, case, now)
            return
        text = (
            f"【新留言待交办】{case.number}\n{b.short(case.title, 60)}\n类型：{case.category or '-'}"
            f"　级别：{case.level}\n请回复“交办 {case.number} 单位名称”。"
        )
        dispatchers = await self.may_see(session, case, await self.office(session, Role.DISPATCHER))
        # a sensitive case is not the dispatchers' to see: the admins (who may 交办 too) get it
        people = dispatchers or await self.office(session, Role.ADMIN)
        await self._text(session, people, text, now, case=case)

    async def _courtesy_due(self, session: Session, case: Case, now: datetime) -> None:
        """A case routed to 礼节性回复 (第九条): the supervisors write it (card button or
        ``礼节性回复 <文号> <内容>``)."""
        view = await self.view(session, case)
        supervisors = await self.office(session, Role.SUPERVISOR)
        make = self._linked(case, lambda url: b.courtesy_card(view, url))
        await self._card(session, supervisors, make, "courtesy", case, now)

    async def _on_transfer(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        """已转办: the office is told where it went; a unit that had it is told it owes nothing."""
        destination = str(change.data.get("destination") or case.transfer_to or "")
        text = (
            f"【已转办】{case.number}（{case.category or '-'}）已转{destination}"
            f"（{change.actor.name} {b.hm(now, self.config.office.tz)}）：{change.comment}\n此件不再交办承办单位办理。"
        )
        office = await self.office(session, Role.SUPERVISOR) + await self.office(session, Role.DISPATCHER)
        await self._text(session, office, text, now, case=case)
        await self._tell_former_units(
            session, case, change, f"【转办】{case.number}\n已转{destination}，贵单位无须办理。", now
        )

    async def _on_reroute(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        route = Route(case.route)
        await self._tell_former_units(
            session, case, change, f"【改变办理方式】{case.number}\n已改为{route.label}，贵单位无须办理。", now
        )
        if route is Route.COURTESY:
            await self._courtesy_due(session, case, now)
            return
        text = (
            f"【改为办理】{case.number}\n{b.short(case.title, 60)}\n类型：{case.category or '-'}"
            f"（{change.actor.name}：{change.comment}）\n请回复“交办 {case.number} 单位名称”。"
        )
        dispatchers = await self.may_see(session, case, await self.office(session, Role.DISPATCHER))
        await self._text(session, dispatchers or await self.office(session, Role.ADMIN), text, now, case=case)

    async def _tell_former_units(
        self, session: Session, case: Case, change: CaseChange, text: str, now: datetime
    ) -> None:
        """The unit a case was taken from (转办, 改变办理方式) and its co-units owe nothing any more."""
        before = change.data.get("from_unit_id")
        if not before:
            return
        people = await directory.people_with_role(session, Role.HANDLER, int(before))
        for unit_id in case.co_unit_ids or []:
            people += await directory.people_with_role(session, Role.HANDLER, int(unit_id))
        await self.outbox.text(session, people, text, now, case=case)

    async def _on_assign(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        handlers = await self.unit_handlers(session, case)
        await self._card(
            session, handlers, self._linked(case, lambda url: b.assignment_card(view, url)), "assign", case, now
        )
        if not reachable(handlers, self.outbox.platforms):
            await self.outbox.text(
                session, await unreachable_audience(session), unreachable_text(case, view.unit), now, case=case
            )
        await self._co_cards(session, case, view, now)
        before = change.data.get("from_unit_id")
        if change.action is Action.REASSIGN and change.from_state is State.ASSIGNED and before:
            text = f"【改派】{case.number} {b.short(case.title, 40)}\n已改派{view.unit}办理，贵单位无须办理。"
            await self.outbox.text(
                session, await directory.people_with_role(session, Role.HANDLER, int(before)), text, now, case=case
            )

    async def _co_cards(self, session: Session, case: Case, view: b.CaseView, now: datetime) -> None:
        """Each co-unit (协办) gets its own card: its task, its deadline, 报送协办意见."""
        co_ids = [int(u) for u in case.co_unit_ids or []]
        names = await directory.unit_names(session, co_ids)
        due = co_due(self.config, self.calendar, case)
        for unit_id in co_ids:
            people = await directory.people_with_role(session, Role.HANDLER, unit_id)
            make = partial(co_card, view, names.get(unit_id, ""), due)
            await self.outbox.card(session, people, self._linked(case, make), co_kind(unit_id), case, now)

    async def _on_co_opinion(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        unit_id = int(change.data.get("unit_id", 0))
        names = await directory.unit_names(session, [unit_id])
        done = f"已报送协办意见（{change.actor.name} {b.hm(now, self.config.office.tz)}）"
        await self.outbox.close_cards(session, case, done, now, kinds=[co_kind(unit_id)])
        text = (
            f"【协办意见】{case.number} {b.short(case.title, 40)}\n{names.get(unit_id, '协办单位')}"
            f"（{change.actor.name}）：{b.short(change.comment, 300)}"
        )
        await self.outbox.text(session, await self.unit_handlers(session, case), text, now, case=case)

    async def _on_accept(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        accepter = [p for p in await self.unit_handlers(session, case) if p.id == change.actor.person_id]
        await self._card(
            session, accepter, self._linked(case, lambda url: b.handling_card(view, url)), "handle", case, now
        )

    async def _on_return(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        names = await directory.unit_names(session, [case.unit_id] if case.unit_id else [])
        text = (
            f"【退回】{case.number} {b.short(case.title, 40)}\n退回单位：{names.get(case.unit_id or 0, '-')}"
            f"（{change.actor.name}）\n原因：{change.comment}\n请回复“改派 {case.number} 单位名称”重新交办。"
        )
        await self._text(session, await self.office(session, Role.DISPATCHER), text, now, case=case)

    async def _on_submit(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        await self._card(
            session,
            await self.office(session, Role.SUPERVISOR),
            self._linked(case, lambda url: b.review_card(view, url)),
            "review",
            case,
            now,
        )

    async def _on_review_pass(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        await self._card(
            session,
            await self.office(session, Role.LEADER),
            self._linked(case, lambda url: b.approval_card(view, url)),
            "approve",
            case,
            now,
        )

    async def _on_approved(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        await self._card(
            session,
            await self.office(session, Role.DISPATCHER),
            self._linked(case, lambda url: b.publish_card(view, url, self.config.publication.untrue_public_note)),
            "publish",
            case,
            now,
        )
        if change.action is Action.APPROVE and change.comment:
            await self._tell_unit(session, case, f"【领导批示】{case.number}：{change.comment}", now)

    async def _on_sent_back(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        who = "督查室" if change.action is Action.REVIEW_REJECT else "领导"
        view = await self.view(session, case)
        note = f"{who}退回修改：{b.short(change.comment, 30)}"
        handlers = await self.unit_handlers(session, case)
        await self._card(
            session, handlers, self._linked(case, lambda url: b.handling_card(view, url, note)), "handle", case, now
        )
        text = (
            f"【退回修改】{case.number} {b.short(case.title, 40)}\n{who}（{change.actor.name}）意见："
            f"{change.comment}\n请修改后重新提交办理情况。"
        )
        await self._text(session, handlers, text, now, case=case)

    async def _on_publish(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        if change.to_state is State.CLOSED:  # a 礼节性回复: closed once published, no 回访
            return
        view = await self.view(session, case)
        await self._card(
            session,
            await self.office(session, Role.DISPATCHER),
            self._linked(case, lambda url: b.followup_card(view, url)),
            "followup",
            case,
            now,
        )

    async def _on_extension(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        days = int(change.data.get("days", 0))
        await self._card(
            session,
            await self.office(session, Role.SUPERVISOR),
            self._linked(case, lambda url: b.extension_card(view, change.comment, days, url)),
            "extension",
            case,
            now,
        )

    async def _on_extension_decided(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        view = await self.view(session, case)
        if change.action is Action.APPROVE_EXTENSION:
            text = f"【延期已批准】{case.number} 新的办理时限：{b.due_text(view)}。"
        else:
            text = f"【延期未批准】{case.number} 请按原时限（{b.due_text(view)}）办结。意见：{change.comment}"
        await self._tell_unit(session, case, text, now)

    async def _on_interim(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        text = f"【阶段性报告】{case.number} {b.short(case.title, 40)}\n{change.actor.name}：{b.short(change.comment, 300)}"
        proposal = str(change.data.get("proposal") or "")
        if proposal:
            text += f"\n回复建议：{b.short(proposal, 300)}"
        await self._text(session, await self.office(session, Role.SUPERVISOR), text, now, case=case)

    async def _on_instruction(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        await self._tell_unit(session, case, f"【领导批示】{case.number}（{change.actor.name}）：{change.comment}", now)

    async def _on_commendation(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        await self._tell_unit(session, case, f"【表扬】{case.number}（{change.actor.name}）：{change.comment}", now)

    async def _on_deadline_recomputed(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        await self._tell_unit(
            session, case, f"【期限调整】{case.number} {b.short(case.title, 40)}\n{change.comment}", now
        )

    async def _on_void(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        text = f"【作废】{case.number} {b.short(case.title, 40)}\n已作废（{change.actor.name}）：{change.comment}\n无须继续办理。"
        people = await self.unit_handlers(session, case)
        for unit_id in case.co_unit_ids or []:
            people += await directory.people_with_role(session, Role.HANDLER, int(unit_id))
        await self.outbox.text(session, people, text, now, case=case)

    async def _on_reclassify(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        if State(case.state) in OPEN_FOR_OPINION:
            await self._tell_unit(
                session, case, f"【时限调整】{case.number} {b.short(case.title, 30)}\n{change.comment}", now
            )

    async def _on_track(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        promised = b.hm(case.promised_at, self.config.office.tz)[:5] if case.promised_at else "-"
        text = (
            f"【继续跟踪】{case.number} {b.short(case.title, 40)}\n回访：{case.satisfaction}，"
            f"{'已化解' if case.resolved else '未化解'}。请继续办理，于{promised}前解决，并再回复："
            f"再回复 {case.number} <解决情况>"
        )
        await self._tell_unit(session, case, text, now)

    async def _on_tracking_closed(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        await self._tell_unit(session, case, f"【跟踪销号】{case.number}（{change.actor.name}）：{change.comment}", now)

    async def _on_public_comment(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        text = (
            f"【网友评论】{case.number} {b.short(case.title, 40)}\n{b.short(change.comment, 300)}\n"
            f"请核实并说明情况：说明 {case.number} <内容>"
        )
        await self._tell_unit(session, case, text, now)

    async def _on_office_note(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        label = "回头看" if change.action == "look_back" else "单位说明"
        text = f"【{label}】{case.number}（{change.actor.name}）：{b.short(change.comment, 300)}"
        people = await self.office(session, Role.SUPERVISOR) + await self.office(session, Role.DISPATCHER)
        if change.action == "look_back":
            await self._tell_unit(session, case, text, now)
        else:
            await self.outbox.text(session, people, text, now, case=case)

    async def _on_supervise(self, session: Session, case: Case, change: CaseChange, now: datetime) -> None:
        text = (
            f"【督办】{case.number} {b.short(case.title, 40)}\n督查室（{change.actor.name}）{change.comment}\n"
            f"请按期答复：说明 {case.number} <办理情况>"
        )
        await self._tell_unit(session, case, text, now)

    async def _tell_unit(self, session: Session, case: Case, text: str, now: datetime) -> None:
        people = await self.unit_handlers(session, case)
        if case.unit_id is not None:
            people += await directory.people_with_role(session, Role.UNIT_LEADER, case.unit_id)
        await self._text(session, people, text, now, case=case)


#: steps that leave the open cards as they are (the unit keeps working on the case)
_KEEPS_CARDS = frozenset({Action.INTERIM_REPORT})

_Rule = Callable[[ChatNotifier, Session, Case, CaseChange, datetime], Any]
_RULES: dict[str, _Rule] = {
    "register": ChatNotifier._on_register,
    Action.ASSIGN: ChatNotifier._on_assign,
    Action.REASSIGN: ChatNotifier._on_assign,
    Action.ACCEPT: ChatNotifier._on_accept,
    Action.RETURN: ChatNotifier._on_return,
    Action.SUBMIT: ChatNotifier._on_submit,
    Action.REVIEW_PASS: ChatNotifier._on_review_pass,
    Action.REVIEW_PASS_FINAL: ChatNotifier._on_approved,
    Action.APPROVE: ChatNotifier._on_approved,
    Action.REVIEW_REJECT: ChatNotifier._on_sent_back,
    Action.LEADER_REJECT: ChatNotifier._on_sent_back,
    Action.PUBLISH: ChatNotifier._on_publish,
    Action.REQUEST_EXTENSION: ChatNotifier._on_extension,
    Action.APPROVE_EXTENSION: ChatNotifier._on_extension_decided,
    Action.REFUSE_EXTENSION: ChatNotifier._on_extension_decided,
    Action.INTERIM_REPORT: ChatNotifier._on_interim,
    "instruction": ChatNotifier._on_instruction,
    "commendation": ChatNotifier._on_commendation,
    "deadline_recomputed": ChatNotifier._on_deadline_recomputed,
    "co_opinion": ChatNotifier._on_co_opinion,
    Action.VOID: ChatNotifier._on_void,
    Action.TRANSFER: ChatNotifier._on_transfer,
    Action.REROUTE: ChatNotifier._on_reroute,
    Action.COURTESY_REPLY: ChatNotifier._on_approved,
    "reclassify": ChatNotifier._on_reclassify,
    Action.TRACK: ChatNotifier._on_track,
    Action.RE_REPLY: ChatNotifier._on_submit,
    Action.CLOSE_TRACKING: ChatNotifier._on_tracking_closed,
    "public_comment": ChatNotifier._on_public_comment,
    "look_back": ChatNotifier._on_office_note,
    "explanation": ChatNotifier._on_office_note,
    "supervise": ChatNotifier._on_supervise,
}


def co_kind(unit_id: int) -> str:
    """The card kind of a co-unit's card (one per co-unit, closed on its own)."""
    return f"co{unit_id}"


def co_kinds(case: Case) -> list[str]:
    return [co_kind(int(u)) for u in case.co_unit_ids or []]
