"""The chat use cases: a neutral inbound event (a button click or a text) → who is it, what may
they do, run the transition, answer. Platform-neutral: WeCom and DingTalk both land here.

Each event is handled in one transaction: the transition, the timeline entry, the dialogue
state and every message to send (replies, card updates, new cards) commit together.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cards import builders as b
from bot.cards.payload import CardAction, PayloadError, Verb
from bot.domain.lifecycle import (
    ActionInput,
    Actor,
    AssignInput,
    CommentInput,
    ExtensionDecision,
    ExtensionRequest,
    FollowUpInput,
    NoInput,
    PublishInput,
    ReasonInput,
    RejectInput,
    ReplyInput,
    WorkflowError,
    check_reply_part,
    decide,
)
from bot.domain.states import Action, ReplyMode, Role, Satisfaction, State, Truthfulness
from bot.handlers import dialogue as dlg
from bot.handlers.commands import HELP, MAX_TEXT, Command, parse_command, split_reply
from bot.handlers.commendations import commend_in_session
from bot.handlers.deps import Deps
from bot.handlers.directory import DirectoryError, ensure_person, ensure_unit, grant, unit_summaries
from bot.handlers.events import Inbound
from bot.handlers.notify import ChatNotifier
from bot.handlers.read_models import event_label
from bot.handlers.workflow import add_note_in_session, already_done, apply_in_session, facts_of
from store import repo
from store.models import CardTask, Case, Person

log = logging.getLogger(__name__)

_TRUTH_BY_TEXT = {t.value: t for t in Truthfulness}
_REPLY_ORDER = ["attitude", "process", "verification", "feedback"]
_REPLY_STEPS = [dlg.Step.REPLY_ATTITUDE, dlg.Step.REPLY_PROCESS, dlg.Step.REPLY_VERIFICATION, dlg.Step.REPLY_FEEDBACK]
_DAYS = re.compile(r"(\d{1,2})\s*(?:个)?(?:工作日|天|日)?\s*$")
# placeholders that satisfy the input guards when only state, role and window are pre-checked
_PROBE: dict[Action, ActionInput] = {
    Action.RETURN: ReasonInput("预检原因文字"),
    Action.SUBMIT: ReplyInput(
        Truthfulness.TRUE, "预检态度文字", "预检工作过程文字" * 3, "预检核查情况", "预检反馈文字"
    ),
    Action.REVIEW_REJECT: RejectInput("预检意见"),
    Action.LEADER_REJECT: RejectInput("预检意见"),
    Action.REFUSE_EXTENSION: RejectInput("预检意见"),
    Action.PUBLISH: PublishInput(ReplyMode.PUBLIC),
    Action.FOLLOW_UP: FollowUpInput(True, Satisfaction.SATISFIED, "预检评价"),
}


@dataclass
class Turn:
    """One inbound event being handled."""

    session: AsyncSession
    event: Inbound
    person: Person
    actor: Actor
    now: datetime


class ChatHandler:
    def __init__(self, deps: Deps, notifier: ChatNotifier) -> None:
        self.deps = deps
        self.notifier = notifier
        self.outbox = notifier.outbox

    async def handle(self, session: AsyncSession, event: Inbound) -> None:
        """Handle one event inside the caller's transaction (the inbound worker's)."""
        if event.kind not in ("text", "click"):
            return
        now = self.deps.clock.now()
        person = await repo.person_by_platform(session, event.platform, event.user)
        if person is None or not person.active:
            await self.outbox.reply_raw(
                session,
                event.platform,
                event.user,
                f"您还没有登记为留言办理系统的用户，请联系管理员登记您的账号（{event.user}）。",
                now,
            )
            return
        turn = Turn(session, event, person, await repo.actor_for(session, person), now)
        if event.kind == "click":
            await self._click(turn)
        else:
            await self._text(turn)

    # --- helpers --------------------------------------------------------------------------

    async def say(self, turn: Turn, text: str, case: Case | None = None) -> None:
        await self.outbox.reply(turn.session, turn.event.platform, turn.person, text, turn.now, case)

    async def _case(self, turn: Turn, number: str) -> Case | None:
        case = await repo.case_by_number(turn.session, number)
        if case is None:
            await self.say(turn, f"未找到文号为 {number} 的留言件，请核对文号。")
        return case

    async def _run(self, turn: Turn, case: Case, action: Action, data: ActionInput) -> bool:
        """Apply a transition; on refusal tell the person why. True when it happened."""
        try:
            await apply_in_session(self.deps, turn.session, case, action, turn.actor, data)
        except WorkflowError as exc:
            await self.say(turn, f"{case.number}：{exc.message}", case)
            return False
        return True

    async def _probe(self, turn: Turn, case: Case, action: Action) -> bool:
        """Check state, role and window before asking for words (so nobody types in vain)."""
        try:
            decide(facts_of(case, tz=self.deps.config.office.hours().tz), action, turn.actor, _PROBE[action], turn.now)
        except WorkflowError as exc:
            if exc.code == "wrong_state":
                already = await already_done(turn.session, case, action)
                exc = already or exc
            await self.say(turn, f"{case.number}：{exc.message}", case)
            return False
        return True

    async def _ask(
        self, turn: Turn, step: dlg.Step, case: Case, data: dict[str, Any] | None = None, prompt: str | None = None
    ) -> None:
        await dlg.save(
            turn.session, turn.event.platform, turn.event.user, step, case.number, case.id, data or {}, turn.now
        )
        text = prompt or dlg.PROMPTS.get(step)
        if text:
            await self.say(turn, f"{case.number}：{text}", case)

    async def _dialogue_card(self, turn: Turn, case: Case, card: Any, kind: str) -> None:
        await self.outbox.card(
            turn.session, [turn.person], lambda _p: card, kind, case, turn.now, platform=turn.event.platform
        )

    async def _view(self, turn: Turn, case: Case) -> b.CaseView:
        return await self.notifier.view(turn.session, case)

    # --- clicks ---------------------------------------------------------------------------

    async def _click(self, turn: Turn) -> None:
        event = turn.event
        try:
            action = CardAction.unpack(event.key)
        except PayloadError:
            await self.say(turn, "无法识别的按钮，请使用最新的卡片，或发送“帮助”查看文字指令。")
            return
        if event.task_id and event.response_code:
            task = await turn.session.get(CardTask, event.task_id)
            if task is not None:  # the click's code is fresher than the send's (spec §3.6)
                task.response_code, task.code_used = event.response_code, False
        case = await self._case(turn, action.number)
        if case is None:
            return
        if action.verb is Verb.CANCEL:
            await dlg.clear(turn.session, event.platform, event.user)
            await self.say(turn, f"{case.number}：已取消。", case)
            return
        if action.verb in (Verb.URGE, Verb.SUPERVISE):  # unit-level, not tied to one case version
            await self._unit_pressure(turn, case, action)
            return
        if action.stage != case.version:
            await self.say(turn, await self._stale(turn, case), case)
            return
        await self._CLICKS[action.verb](self, turn, case, action)

    async def _stale(self, turn: Turn, case: Case) -> str:
        last = await repo.last_event(turn.session, case.id)
        who = f"（{last.actor_name}于{b.hm(last.at)}{event_label(last.action)}）" if last else ""
        return f"{case.number}：此卡片已失效，此件当前状态为“{State(case.state).label}”{who}。"

    async def _c_accept(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._run(turn, case, Action.ACCEPT, NoInput()):
            view = await self._view(turn, case)
            await self.say(turn, f"{case.number}：已签收，请于 {b.due_text(view)} 前办结。", case)

    async def _c_return(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._probe(turn, case, Action.RETURN):
            deadline = b.hm(case.return_deadline) if case.return_deadline else ""
            prompt = dlg.PROMPTS[dlg.Step.RETURN_REASON] + (f"（退回期限：{deadline}）" if deadline else "")
            await self._ask(turn, dlg.Step.RETURN_REASON, case, prompt=prompt)

    async def _c_reply(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._probe(turn, case, Action.SUBMIT):
            await dlg.save(
                turn.session,
                turn.event.platform,
                turn.event.user,
                dlg.Step.REPLY_TRUTH,
                case.number,
                case.id,
                {},
                turn.now,
            )
            await self._dialogue_card(turn, case, b.truth_card(await self._view(turn, case)), "truth")

    async def _c_truth(self, turn: Turn, case: Case, action: CardAction) -> None:
        truth = Truthfulness.__members__.get(action.arg)
        if truth is None or not await self._probe(turn, case, Action.SUBMIT):
            return
        await self._with_truth(turn, case, truth)

    async def _with_truth(self, turn: Turn, case: Case, truth: Truthfulness) -> None:
        """属实程度 chosen: keep any parts already given (e.g. by 回复 <文号> …) and go on."""
        pending = await dlg.load(turn.session, turn.event.platform, turn.event.user, turn.now)
        data = dict(pending.data) if pending and pending.number == case.number else {}
        data["truth"] = truth.value
        await self._advance_reply(turn, case, data)

    async def _c_submit(self, turn: Turn, case: Case, action: CardAction) -> None:
        pending = await self._pending(turn, case, dlg.Step.REPLY_PREVIEW)
        if pending is None:
            return
        data = _reply_input(pending.data)
        if await self._run(turn, case, Action.SUBMIT, data):
            await dlg.clear(turn.session, turn.event.platform, turn.event.user)
            await self.say(turn, f"{case.number}：办理情况已提交，等待督查室审核。", case)

    async def _c_edit(self, turn: Turn, case: Case, action: CardAction) -> None:
        pending = await self._pending(turn, case, dlg.Step.REPLY_PREVIEW)
        if pending is not None:
            await self._ask(turn, dlg.Step.REPLY_ATTITUDE, case, {"truth": pending.data.get("truth")})

    async def _c_review_pass(self, turn: Turn, case: Case, action: CardAction) -> None:
        step = Action.REVIEW_PASS if case.needs_leader else Action.REVIEW_PASS_FINAL
        if await self._run(turn, case, step, CommentInput()):
            nxt = "已报领导审定" if case.needs_leader else "请登记员统一回复"
            await self.say(turn, f"{case.number}：审核通过，{nxt}。", case)

    async def _c_review_reject(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._probe(turn, case, Action.REVIEW_REJECT):
            await self._ask(turn, dlg.Step.REVIEW_COMMENT, case)

    async def _c_approve(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._run(turn, case, Action.APPROVE, CommentInput()):
            await self.say(turn, f"{case.number}：已同意，请登记员统一回复。", case)

    async def _c_leader_reject(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._probe(turn, case, Action.LEADER_REJECT):
            await self._ask(turn, dlg.Step.LEADER_COMMENT, case)

    async def _c_publish_public(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._run(turn, case, Action.PUBLISH, PublishInput(ReplyMode.PUBLIC)):
            await self.say(turn, f"{case.number}：已标记为公开回复，请回访网友。", case)

    async def _c_publish_individual(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._probe(turn, case, Action.PUBLISH):
            await dlg.save(
                turn.session, turn.event.platform, turn.event.user, dlg.Step.GROUND, case.number, case.id, {}, turn.now
            )
            await self._dialogue_card(turn, case, b.ground_card(await self._view(turn, case)), "ground")

    async def _c_ground(self, turn: Turn, case: Case, action: CardAction) -> None:
        ground = b.GROUND_KEYS.get(action.arg)
        if ground is None or await self._pending(turn, case, dlg.Step.GROUND) is None:
            return
        if await self._run(turn, case, Action.PUBLISH, PublishInput(ReplyMode.INDIVIDUAL, ground)):
            await dlg.clear(turn.session, turn.event.platform, turn.event.user)
            await self.say(turn, f"{case.number}：已标记为个别回复（{ground.value}），请回访网友。", case)

    async def _c_satisfaction(self, turn: Turn, case: Case, action: CardAction) -> None:
        sat = b.SATISFACTION_KEYS.get(action.arg)
        if sat is None or not await self._probe(turn, case, Action.FOLLOW_UP):
            return
        await dlg.save(
            turn.session,
            turn.event.platform,
            turn.event.user,
            dlg.Step.FOLLOWUP_RESOLVED,
            case.number,
            case.id,
            {"satisfaction": sat.value},
            turn.now,
        )
        await self._dialogue_card(turn, case, b.resolved_card(await self._view(turn, case)), "resolved")

    async def _c_resolved(self, turn: Turn, case: Case, action: CardAction) -> None:
        pending = await self._pending(turn, case, dlg.Step.FOLLOWUP_RESOLVED)
        if pending is None or action.arg not in ("y", "n"):
            return
        await self._ask(turn, dlg.Step.FOLLOWUP_EVALUATION, case, {**pending.data, "resolved": action.arg == "y"})

    async def _c_ext_approve(self, turn: Turn, case: Case, action: CardAction) -> None:
        days = int(action.arg) if action.arg.isdigit() else 0
        if await self._run(turn, case, Action.APPROVE_EXTENSION, ExtensionDecision(days)):
            await self.say(turn, f"{case.number}：已批准延期{days}个工作日。", case)

    async def _c_ext_refuse(self, turn: Turn, case: Case, action: CardAction) -> None:
        if await self._probe(turn, case, Action.REFUSE_EXTENSION):
            await self._ask(turn, dlg.Step.REFUSAL_COMMENT, case)

    async def _unit_pressure(self, turn: Turn, case: Case, action: CardAction) -> None:
        """催办 (an immediate nudge) or 督办 (a formal notice on every overdue case's timeline)."""
        if Role.SUPERVISOR not in turn.actor.roles:
            await self.say(turn, "只有督查员可以催办、督办。")
            return
        unit_id = int(action.arg) if action.arg.isdigit() else case.unit_id
        overdue = [c for c in await repo.due_cases(turn.session, turn.now) if c.unit_id == unit_id]
        if not overdue:
            await self.say(turn, "该单位目前没有超期件。")
            return
        kind, word = ("urge", "催办") if action.verb is Verb.URGE else ("supervise", "督办")
        for c in overdue:
            await repo.add_event(turn.session, c.id, turn.now, kind, turn.actor, comment=f"{turn.actor.name}{word}")
        numbers = "、".join(c.number for c in overdue[:10]) + ("等" if len(overdue) > 10 else "")
        people = await repo.people_with_role(turn.session, Role.HANDLER, unit_id)
        if action.verb is Verb.SUPERVISE:
            people += await repo.people_with_role(turn.session, Role.UNIT_LEADER, unit_id)
            text = (
                f"【督办通知】督查室（{turn.actor.name}）对贵单位{len(overdue)}件超期留言发出督办：{numbers}。"
                "请立即办理并报告情况。"
            )
        else:
            text = f"【催办】督查室（{turn.actor.name}）催办贵单位{len(overdue)}件超期留言：{numbers}，请抓紧办理。"
        await self.outbox.text(turn.session, people, text, turn.now)
        await self.say(turn, f"已{word}（{len(overdue)}件）。")

    async def _pending(self, turn: Turn, case: Case, step: dlg.Step) -> dlg.Pending | None:
        pending = await dlg.load(turn.session, turn.event.platform, turn.event.user, turn.now)
        if pending is None or pending.step is not step or pending.number != case.number:
            await self.say(turn, f"{case.number}：操作已超时或已取消，请重新开始。", case)
            return None
        return pending

    _CLICKS = {  # noqa: RUF012
        Verb.ACCEPT: _c_accept,
        Verb.RETURN: _c_return,
        Verb.REPLY: _c_reply,
        Verb.TRUTH: _c_truth,
        Verb.SUBMIT: _c_submit,
        Verb.EDIT: _c_edit,
        Verb.REVIEW_PASS: _c_review_pass,
        Verb.REVIEW_REJECT: _c_review_reject,
        Verb.APPROVE: _c_approve,
        Verb.LEADER_REJECT: _c_leader_reject,
        Verb.PUBLISH_PUBLIC: _c_publish_public,
        Verb.PUBLISH_INDIVIDUAL: _c_publish_individual,
        Verb.GROUND: _c_ground,
        Verb.SATISFACTION: _c_satisfaction,
        Verb.RESOLVED: _c_resolved,
        Verb.EXT_APPROVE: _c_ext_approve,
        Verb.EXT_REFUSE: _c_ext_refuse,
    }

    # --- texts ----------------------------------------------------------------------------

    async def _text(self, turn: Turn) -> None:
        text = turn.event.text.strip()
        if len(text) > MAX_TEXT:
            await self.say(turn, f"内容过长（{len(text)}字，最多{MAX_TEXT}字），请精简后重新发送。")
            return
        cmd = parse_command(text)
        pending = await dlg.load(turn.session, turn.event.platform, turn.event.user, turn.now)
        if cmd is not None and cmd.name == "cancel":
            await dlg.clear(turn.session, turn.event.platform, turn.event.user)
            await self.say(turn, "已取消当前操作。" if pending else "当前没有进行中的操作。")
            return
        takes_number = cmd is not None and (
            cmd.number or cmd.name in ("todo", "help", "unit_add", "member_add", "unit_list")
        )
        if pending is not None and not takes_number:
            await self._continue(turn, pending, text)
            return
        if cmd is None:
            await self.say(turn, "没有理解您的意思。发送“帮助”查看可用指令。")
            return
        if pending is not None:
            await dlg.clear(turn.session, turn.event.platform, turn.event.user)
        await self._command(turn, cmd)

    async def _continue(self, turn: Turn, pending: dlg.Pending, text: str) -> None:
        case = await self._case(turn, pending.number)
        if case is None:
            await dlg.clear(turn.session, turn.event.platform, turn.event.user)
            return
        step = pending.step
        handler = self._STEPS.get(step)
        if handler is None:  # a step that waits for a button
            if step is dlg.Step.REPLY_TRUTH and text in _TRUTH_BY_TEXT:
                await self._with_truth(turn, case, _TRUTH_BY_TEXT[text])
            elif step is dlg.Step.REPLY_PREVIEW and text in ("提交", "确认", "修改"):
                verb = Verb.EDIT if text == "修改" else Verb.SUBMIT
                await self._CLICKS[verb](self, turn, case, CardAction(verb, case.number, case.version))
            else:
                await self.say(turn, f"{case.number}：请点击卡片上的按钮选择，或发送“取消”。", case)
            return
        await handler(self, turn, case, pending, text)

    async def _finish(self, turn: Turn, case: Case, action: Action, data: ActionInput, done: str) -> None:
        try:
            await apply_in_session(self.deps, turn.session, case, action, turn.actor, data)
        except WorkflowError as exc:
            if exc.field is None:  # state or role changed meanwhile: the dialogue is over
                await dlg.clear(turn.session, turn.event.platform, turn.event.user)
            await self.say(turn, f"{case.number}：{exc.message}", case)
            return
        await dlg.clear(turn.session, turn.event.platform, turn.event.user)
        await self.say(turn, f"{case.number}：{done}", case)

    async def _s_return(self, turn: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
        await self._finish(turn, case, Action.RETURN, ReasonInput(text), "已退回，等待登记员改派。")

    async def _s_reply_part(self, turn: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
        data = dict(pending.data)
        parts = split_reply(text)
        if pending.step is dlg.Step.REPLY_ATTITUDE and parts:
            data.update(parts)
        else:
            data[_REPLY_ORDER[_REPLY_STEPS.index(pending.step)]] = text
        await self._advance_reply(turn, case, data)

    async def _advance_reply(self, turn: Turn, case: Case, data: dict[str, Any]) -> None:
        """Check the parts given so far; ask for the first bad or missing one, else preview."""
        for part, step in zip(_REPLY_ORDER, _REPLY_STEPS, strict=True):
            if part not in data:
                await self._ask(turn, step, case, data)
                return
            try:
                data[part] = check_reply_part(part, data[part])
            except WorkflowError as exc:
                data.pop(part)
                await self._ask(turn, step, case, data, prompt=f"{exc.message}\n{dlg.PROMPTS[step]}")
                return
        await self._preview(turn, case, data)

    async def _preview(self, turn: Turn, case: Case, data: dict[str, Any]) -> None:
        await dlg.save(
            turn.session,
            turn.event.platform,
            turn.event.user,
            dlg.Step.REPLY_PREVIEW,
            case.number,
            case.id,
            data,
            turn.now,
        )
        reply = _reply_input(data)
        view = await self._view(turn, case)
        await self._dialogue_card(turn, case, b.preview_card(view, reply.as_text()), "preview")
        await self.say(
            turn, f"{case.number} 办理情况预览：\n{reply.as_text()}\n\n回复“提交”确认，“修改”重填，“取消”放弃。", case
        )

    async def _s_review_comment(self, turn: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
        await self._finish(turn, case, Action.REVIEW_REJECT, RejectInput(text), "已退回承办单位修改。")

    async def _s_leader_comment(self, turn: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
        await self._finish(turn, case, Action.LEADER_REJECT, RejectInput(text), "已驳回，批示已转承办单位。")

    async def _s_refusal_comment(self, turn: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
        await self._finish(turn, case, Action.REFUSE_EXTENSION, RejectInput(text), "已不批准延期。")

    async def _s_evaluation(self, turn: Turn, case: Case, pending: dlg.Pending, text: str) -> None:
        data = FollowUpInput(bool(pending.data.get("resolved")), Satisfaction(pending.data["satisfaction"]), text)
        await self._finish(turn, case, Action.FOLLOW_UP, data, "回访已记录，此件办结。")

    _STEPS = {  # noqa: RUF012
        dlg.Step.RETURN_REASON: _s_return,
        dlg.Step.REPLY_ATTITUDE: _s_reply_part,
        dlg.Step.REPLY_PROCESS: _s_reply_part,
        dlg.Step.REPLY_VERIFICATION: _s_reply_part,
        dlg.Step.REPLY_FEEDBACK: _s_reply_part,
        dlg.Step.REVIEW_COMMENT: _s_review_comment,
        dlg.Step.LEADER_COMMENT: _s_leader_comment,
        dlg.Step.REFUSAL_COMMENT: _s_refusal_comment,
        dlg.Step.FOLLOWUP_EVALUATION: _s_evaluation,
    }

    # --- commands -------------------------------------------------------------------------

    async def _command(self, turn: Turn, cmd: Command) -> None:
        if cmd.name == "help":
            await self.say(turn, HELP)
            return
        if cmd.name == "todo":
            await self._todo(turn)
            return
        if cmd.name in ("unit_add", "member_add", "unit_list"):
            await self._admin(turn, cmd)
            return
        if not cmd.number:
            await self.say(turn, "请在指令中写明文号，例如：签收 LY2026-000001。发送“帮助”查看格式。")
            return
        case = await self._case(turn, cmd.number)
        if case is None:
            return
        await self._COMMANDS[cmd.name](self, turn, case, cmd.rest)

    async def _k_accept(self, turn: Turn, case: Case, rest: str) -> None:
        await self._c_accept(turn, case, CardAction(Verb.ACCEPT, case.number, case.version))

    async def _k_return(self, turn: Turn, case: Case, rest: str) -> None:
        if not rest:
            await self._c_return(turn, case, CardAction(Verb.RETURN, case.number, case.version))
            return
        await self._finish(turn, case, Action.RETURN, ReasonInput(rest), "已退回，等待登记员改派。")

    async def _k_reply(self, turn: Turn, case: Case, rest: str) -> None:
        if not await self._probe(turn, case, Action.SUBMIT):
            return
        truth = next((t for t in sorted(_TRUTH_BY_TEXT, key=len, reverse=True) if rest.startswith(t)), None)
        data: dict[str, Any] = {"truth": truth} if truth else {}
        body = rest[len(truth) :].strip() if truth else rest
        data.update(split_reply(body))
        if not truth:
            await dlg.save(
                turn.session,
                turn.event.platform,
                turn.event.user,
                dlg.Step.REPLY_TRUTH,
                case.number,
                case.id,
                data,
                turn.now,
            )
            await self._dialogue_card(turn, case, b.truth_card(await self._view(turn, case)), "truth")
            await self.say(turn, f"{case.number}：请先选择属实程度（回复：属实/基本属实/部分属实/不属实）。", case)
            return
        if body and "attitude" not in data and not split_reply(body):
            data["attitude"] = body  # unlabelled text is taken as the first part
        await self._advance_reply(turn, case, data)

    async def _k_extend(self, turn: Turn, case: Case, rest: str) -> None:
        m = _DAYS.search(rest)
        days = int(m.group(1)) if m else 5
        reason = rest[: m.start()].strip() if m else rest
        await self._finish(
            turn,
            case,
            Action.REQUEST_EXTENSION,
            ExtensionRequest(reason, days),
            f"延期申请（{days}个工作日）已提交督查室。",
        )

    async def _k_progress(self, turn: Turn, case: Case, rest: str) -> None:
        await self._finish(turn, case, Action.INTERIM_REPORT, ReasonInput(rest), "阶段性情况已报送督查室。")

    async def _k_show(self, turn: Turn, case: Case, rest: str) -> None:
        view = await self._view(turn, case)
        events = await repo.timeline(turn.session, case.id)
        lines = [
            f"{case.number} {b.short(case.title, 40)}",
            f"状态：{view.state.label}",
            f"承办单位：{view.unit or '-'}",
            f"到期：{b.due_text(view)}",
        ]
        lines += [f"{b.hm(e.at)} {event_label(e.action)} {e.actor_name}" for e in events[-5:]]
        lines.append(f"详情：{self.notifier.link(case, turn.person)}")
        await self.say(turn, "\n".join(lines), case)

    async def _k_review_pass(self, turn: Turn, case: Case, rest: str) -> None:
        step = Action.REVIEW_PASS if case.needs_leader else Action.REVIEW_PASS_FINAL
        await self._finish(turn, case, step, CommentInput(rest), "审核通过。")

    async def _k_review_reject(self, turn: Turn, case: Case, rest: str) -> None:
        if not rest:
            await self._c_review_reject(turn, case, CardAction(Verb.REVIEW_REJECT, case.number, case.version))
            return
        await self._finish(turn, case, Action.REVIEW_REJECT, RejectInput(rest), "已退回承办单位修改。")

    async def _k_approve(self, turn: Turn, case: Case, rest: str) -> None:
        await self._finish(turn, case, Action.APPROVE, CommentInput(rest), "已同意。")

    async def _k_leader_reject(self, turn: Turn, case: Case, rest: str) -> None:
        if not rest:
            await self._c_leader_reject(turn, case, CardAction(Verb.LEADER_REJECT, case.number, case.version))
            return
        await self._finish(turn, case, Action.LEADER_REJECT, RejectInput(rest), "已驳回，批示已转承办单位。")

    async def _k_instruction(self, turn: Turn, case: Case, rest: str) -> None:
        if Role.LEADER not in turn.actor.roles:
            await self.say(turn, "只有领导可以批示。")
            return
        if not rest.strip():
            await self.say(turn, "请写明批示内容：批示 <文号> <内容>。")
            return
        await add_note_in_session(self.deps, turn.session, case, turn.actor, "instruction", rest.strip())
        await self.say(turn, f"{case.number}：批示已转承办单位。", case)

    async def _k_commend(self, turn: Turn, case: Case, rest: str) -> None:
        try:
            await commend_in_session(self.deps, turn.session, case, turn.actor, rest)
        except WorkflowError as exc:
            await self.say(turn, f"{case.number}：{exc.message}", case)
            return
        await self.say(turn, f"{case.number}：已记录表扬，计入承办单位本月加分。", case)

    async def _k_assign(self, turn: Turn, case: Case, rest: str) -> None:
        unit = await repo.unit_by_name(turn.session, rest) if rest else None
        if unit is None:
            await self.say(
                turn, f"{case.number}：请写明已登记的承办单位名称，例如：交办 {case.number} 区人社局。", case
            )
            return
        action = Action.REASSIGN if case.state == State.RETURNED.value else Action.ASSIGN
        await self._finish(turn, case, action, AssignInput(unit.id), f"已交办{unit.name}。")

    _COMMANDS = {  # noqa: RUF012
        "accept": _k_accept,
        "return": _k_return,
        "reply": _k_reply,
        "extend": _k_extend,
        "progress": _k_progress,
        "show": _k_show,
        "review_pass": _k_review_pass,
        "review_reject": _k_review_reject,
        "approve": _k_approve,
        "leader_reject": _k_leader_reject,
        "instruction": _k_instruction,
        "assign": _k_assign,
        "commend": _k_commend,
    }

    async def _todo(self, turn: Turn) -> None:
        roles = turn.actor.roles
        wanted: list[tuple[str, int | None]] = []
        for unit_id in turn.actor.unit_ids:
            wanted += [(s, unit_id) for s in ("assigned", "accepted", "extension_requested")]
        if Role.SUPERVISOR in roles:
            wanted += [("submitted", None), ("extension_requested", None)]
        if Role.LEADER in roles:
            wanted += [("reviewed", None)]
        if Role.DISPATCHER in roles:
            wanted += [(s, None) for s in ("registered", "returned", "approved", "replied")]
        lines: list[str] = []
        for state, unit_id in wanted:
            for c in await repo.list_cases(turn.session, repo.CaseFilter(state=state, unit_id=unit_id, limit=20)):
                lines.append(f"{c.number} {State(c.state).label} 到期{b.hm(c.due_at) or '-'} {b.short(c.title, 20)}")
        if not lines:
            await self.say(turn, "您当前没有待办件。")
            return
        more = f"\n（仅显示前30件，共{len(lines)}件）" if len(lines) > 30 else ""
        await self.say(turn, "您的待办件：\n" + "\n".join(lines[:30]) + more)

    async def _admin(self, turn: Turn, cmd: Command) -> None:
        if Role.ADMIN not in turn.actor.roles:
            await self.say(turn, "只有管理员可以配置单位和成员。")
            return
        session, now = turn.session, turn.now
        try:
            if cmd.name == "unit_list":
                summaries = await unit_summaries(session)
                lines = [
                    f"{s.unit.name}：承办人 {'、'.join(p.name for p in s.handlers) or '-'}；"
                    f"负责人 {'、'.join(p.name for p in s.leaders) or '-'}"
                    for s in summaries
                ]
                await self.say(turn, "\n".join(lines) or "还没有单位。")
            elif cmd.name == "unit_add":
                _, created = await ensure_unit(session, cmd.rest, now=now)
                await self.say(turn, f"单位“{cmd.rest.strip()}”{'已添加' if created else '已存在'}。")
            else:
                parts = cmd.rest.split()
                if len(parts) not in (3, 4):
                    await self.say(turn, "格式：添加成员 <单位> <姓名> <账号> [承办人|负责人]")
                    return
                unit_name, name, account = parts[:3]
                role = Role.UNIT_LEADER if len(parts) == 4 and parts[3] == "负责人" else Role.HANDLER
                ids = {"wecom_userid": account} if turn.event.platform == "wecom" else {"dingtalk_userid": account}
                person, _ = await ensure_person(session, name, now=now, **ids)
                changed = await grant(session, person, role, unit_name)
                await self.say(turn, f"{name}（{account}）{'已设为' if changed else '已是'}{unit_name}{role.label}。")
        except DirectoryError as exc:
            await self.say(turn, f"{exc.message}。")


def _reply_input(data: dict[str, Any]) -> ReplyInput:
    return ReplyInput(
        Truthfulness(data["truth"]),
        data.get("attitude", ""),
        data.get("process", ""),
        data.get("verification", ""),
        data.get("feedback", ""),
    )
