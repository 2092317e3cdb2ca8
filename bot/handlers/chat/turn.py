"""One inbound chat event being handled, and the moves every use case shares: say, run a
transition, pre-check it, and move the dialogue along its table (``dialogue.next_step``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.cards import builders as b
from bot.cards.models import Card
from bot.domain.lifecycle import ActionInput, Actor, WorkflowError, precheck
from bot.domain.states import Action
from bot.domain.visibility import NOT_VISIBLE
from bot.handlers import dialogue as dlg
from bot.handlers.access import may_see
from bot.handlers.deps import Deps
from bot.handlers.messaging import Outbox
from bot.handlers.notify import ChatNotifier
from bot.handlers.workflow import already_done, apply_in_session, facts_of
from bot.ports import Inbound
from store import repo
from store.db import Session
from store.models import Case, Person


@dataclass
class Turn:
    """One inbound event (a click or a text) from a registered person, in one transaction."""

    deps: Deps
    notifier: ChatNotifier
    session: Session
    event: Inbound
    person: Person
    actor: Actor
    now: datetime
    _pending: dlg.Pending | None = field(default=None, init=False, repr=False)
    _loaded: bool = field(default=False, init=False, repr=False)

    @property
    def outbox(self) -> Outbox:
        return self.notifier.outbox

    @property
    def tz(self) -> ZoneInfo:
        """The office time zone: times in answers are shown in it."""
        return self.deps.config.office.tz

    # --- answers ----------------------------------------------------------------------------

    async def say(self, text: str, case: Case | None = None) -> None:
        await self.outbox.reply(self.session, self.event.platform, self.person, text, self.now, case)

    async def card(self, case: Case, card: Card, kind: str) -> None:
        """A dialogue card (属实程度, 理由, 是否化解 …) to this person on this platform only."""
        await self.outbox.card(
            self.session, [self.person], lambda _p: card, kind, case, self.now, platform=self.event.platform
        )

    async def view(self, case: Case) -> b.CaseView:
        return await self.notifier.view(self.session, case)

    async def find_case(self, number: str) -> Case | None:
        """The case named in a command, click or dialogue — only if this person may see it
        (docs/visibility.md): otherwise "无权查看此件" and nothing about it, not even its state."""
        case = await repo.case_by_number(self.session, number)
        if case is None:
            await self.say(f"未找到文号为 {number} 的留言件，请核对文号。")
            return None
        if not may_see(self.deps.config, self.actor, case):
            await self.say(NOT_VISIBLE)
            return None
        return case

    # --- transitions ------------------------------------------------------------------------

    async def run(self, case: Case, action: Action, data: ActionInput) -> bool:
        """Apply a transition; on refusal tell the person why. True when it happened."""
        try:
            await apply_in_session(self.deps, self.session, case, action, self.actor, data)
        except WorkflowError as exc:
            await self.say(f"{case.number}：{exc.message}", case)
            return False
        return True

    async def allowed(self, case: Case, action: Action) -> bool:
        """The domain's pre-check (state, role, window) before asking for words, so nobody types
        in vain; a refusal is told, a second click names who already acted."""
        refusal = precheck(facts_of(case, tz=self.deps.config.office.hours().tz), action, self.actor, self.now)
        if refusal is None:
            return True
        if refusal.code == "wrong_state":
            refusal = await already_done(self.session, case, action, self.tz) or refusal
        await self.say(f"{case.number}：{refusal.message}", case)
        return False

    async def finish(self, case: Case, action: Action, data: ActionInput, done: str) -> None:
        """A command that carries its text: run it and say ``done``."""
        await self._conclude(case, action, data, done, None)

    async def answer(self, case: Case, action: Action, data: ActionInput, done: str) -> None:
        """The text a dialogue step waited for: run it; the dialogue takes its "text" edge."""
        await self._conclude(case, action, data, done, "text")

    async def _conclude(self, case: Case, action: Action, data: ActionInput, done: str, event: str | None) -> None:
        try:
            await apply_in_session(self.deps, self.session, case, action, self.actor, data)
        except WorkflowError as exc:
            if exc.field is None:  # state or role changed meanwhile: the dialogue is over
                await self.end_dialogue()
            await self.say(f"{case.number}：{exc.message}", case)
            return  # a refused answer leaves the step where it is
        if event is None:
            await self.end_dialogue()
        else:
            await self.move(case, event)
        await self.say(f"{case.number}：{done}", case)

    # --- the dialogue -----------------------------------------------------------------------

    async def pending(self) -> dlg.Pending | None:
        """The person's pending dialogue (loaded once per turn)."""
        if not self._loaded:
            self._pending = await dlg.load(self.session, self.event.platform, self.event.user, self.now)
            self._loaded = True
        return self._pending

    async def step(self) -> dlg.Step:
        pending = await self.pending()
        return pending.step if pending is not None else dlg.Step.IDLE

    async def move(
        self, case: Case, *events: str, data: dict[str, Any] | None = None, prompt: str | None = None
    ) -> dlg.Step:
        """Take the table's edges for ``events`` in turn, keep ``data`` with the step reached and
        say its prompt (``prompt`` instead, e.g. with the reason an answer was refused)."""
        step = await self.step()
        for event in events:
            step = dlg.next_step(step, event)
        await self._save(case, step, data)
        text = prompt or dlg.PROMPTS.get(step)
        if text:
            await self.say(f"{case.number}：{text}", case)
        return step

    async def _save(self, case: Case, step: dlg.Step, data: dict[str, Any] | None) -> None:
        session, event = self.session, self.event
        self._pending = await dlg.save(
            session, event.platform, event.user, step, case.number, case.id, data or {}, self.now
        )
        self._loaded = True

    async def expect(self, case: Case, event: str) -> dlg.Pending | None:
        """The pending dialogue of ``case`` if its step takes ``event``; else say it has lapsed."""
        pending = await self.pending()
        if pending is None or not dlg.takes(pending.step, event) or pending.number != case.number:
            await self.say(f"{case.number}：操作已超时或已取消，请重新开始。", case)
            return None
        return pending

    async def end_dialogue(self) -> None:
        """Leave any dialogue (the "cancel" edge of every step)."""
        await dlg.clear(self.session, self.event.platform, self.event.user)
        self._pending, self._loaded = None, True
