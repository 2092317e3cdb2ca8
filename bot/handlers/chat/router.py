"""A tiny router in the style of aiogram's ``Router`` and Bolt's ``app.action``.

Each use-case module makes its own ``on = Router()`` and registers its functions on it::

    @on.click(Verb.ACCEPT)                       # a card button: (turn, case, action)
    @on.command("签收")                          # "签收 <文号> …": (turn, case, rest)
    @on.command("待办", case=False)              # a command without 文号: (turn, rest)
    @on.step(Step.RETURN_REASON)                 # the text a dialogue step waits for:
                                                 # (turn, case, pending, text)

``bot/handlers/chat/__init__.py`` includes every module's router into one and dispatches each
event to it. The router itself owns what is common to all: the button payload and a stale card,
the 文号 lookup, "取消", and which texts answer a pending dialogue and which start a command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from bot.cards import builders as b
from bot.cards.payload import CardAction, PayloadError, Verb
from bot.domain.states import State
from bot.handlers.chat.turn import Turn
from bot.handlers.commands import MAX_TEXT, NEEDS_NUMBER, WORDS, Command, parse_command
from bot.handlers.dialogue import Pending, Step
from bot.handlers.read_models import event_label
from store import repo
from store.models import Case

ClickHandler = Callable[[Turn, Case, CardAction], Awaitable[None]]
CaseCommandHandler = Callable[[Turn, Case, str], Awaitable[None]]
PlainCommandHandler = Callable[[Turn, str], Awaitable[None]]
StepHandler = Callable[[Turn, Case, Pending, str], Awaitable[None]]
_K = TypeVar("_K")
_V = TypeVar("_V")

#: said when a step waits for a button and gets some other text
PRESS_A_BUTTON = "请点击卡片上的按钮选择，或发送“取消”。"


@dataclass(frozen=True)
class _Click:
    handler: ClickHandler
    any_stage: bool  # acts on the unit or the dialogue, not on one version of the case


class Router:
    """Registrations by decorator; ``include`` merges module routers; ``dispatch`` routes."""

    def __init__(self) -> None:
        self.clicks: dict[Verb, _Click] = {}
        self.commands: dict[str, CaseCommandHandler] = {}  # canonical command name → handler
        self.plain_commands: dict[str, PlainCommandHandler] = {}
        self.steps: dict[Step, StepHandler] = {}

    # --- registration -----------------------------------------------------------------------

    def click(self, *verbs: Verb, any_stage: bool = False) -> Callable[[ClickHandler], ClickHandler]:
        """A card button. A click on a card made for an older version of the case is answered as
        stale unless ``any_stage`` (催办/督办 act on a unit, not on one version of a case)."""

        def register(handler: ClickHandler) -> ClickHandler:
            for verb in verbs:
                _put(self.clicks, verb, _Click(handler, any_stage))
            return handler

        return register

    @overload
    def command(
        self, *words: str, case: Literal[True] = True
    ) -> Callable[[CaseCommandHandler], CaseCommandHandler]: ...

    @overload
    def command(self, *words: str, case: Literal[False]) -> Callable[[PlainCommandHandler], PlainCommandHandler]: ...

    def command(self, *words: str, case: bool = True) -> Callable[[Any], Any]:
        """A text command by its word (bot/handlers/commands.py ``WORDS``). With ``case`` (the
        default) the command names a 文号 and the handler gets the case; without, only the text."""

        def register(handler: Any) -> Any:
            for word in words:
                name = WORDS.get(word)
                if name is None:
                    raise ValueError(f"{word!r} is not a command word (bot/handlers/commands.py WORDS)")
                if (name in NEEDS_NUMBER) != case:
                    raise ValueError(f"{word!r}: case={case} disagrees with NEEDS_NUMBER")
                _put(self.commands if case else self.plain_commands, name, handler)
            return handler

        return register

    def step(self, *steps: Step) -> Callable[[StepHandler], StepHandler]:
        """The text a dialogue step waits for."""

        def register(handler: StepHandler) -> StepHandler:
            for step in steps:
                _put(self.steps, step, handler)
            return handler

        return register

    def include(self, *routers: Router) -> Router:
        """Merge the registrations of module routers into this one (each key once)."""
        for r in routers:
            for verb, click in r.clicks.items():
                _put(self.clicks, verb, click)
            for name, case_handler in r.commands.items():
                _put(self.commands, name, case_handler)
            for name, plain_handler in r.plain_commands.items():
                _put(self.plain_commands, name, plain_handler)
            for step, step_handler in r.steps.items():
                _put(self.steps, step, step_handler)
        return self

    # --- dispatch ---------------------------------------------------------------------------

    async def dispatch(self, t: Turn) -> None:
        if t.event.kind == "click":
            await self._click(t)
        else:
            await self._text(t)

    async def _click(self, t: Turn) -> None:
        event = t.event
        try:
            action = CardAction.unpack(event.key)
        except PayloadError:
            await t.say("无法识别的按钮，请使用最新的卡片，或发送“帮助”查看文字指令。")
            return
        case = await t.find_case(action.number)
        if case is None:
            return
        if action.verb is Verb.CANCEL:
            await t.end_dialogue()
            await t.say(f"{case.number}：已取消。", case)
            return
        route = self.clicks.get(action.verb)
        if route is None:  # pragma: no cover - every verb is routed (tests/unit/test_chat_router.py)
            await t.say("无法识别的按钮，请使用最新的卡片，或发送“帮助”查看文字指令。")
            return
        if not route.any_stage and action.stage != case.version:
            await t.say(await _stale(t, case), case)
            return
        await route.handler(t, case, action)

    async def _text(self, t: Turn) -> None:
        text = t.event.text.strip()
        if len(text) > MAX_TEXT:
            await t.say(f"内容过长（{len(text)}字，最多{MAX_TEXT}字），请精简后重新发送。")
            return
        cmd = parse_command(text)
        pending = await t.pending()
        if cmd is not None and cmd.name == "cancel":
            await t.end_dialogue()
            await t.say("已取消当前操作。" if pending else "当前没有进行中的操作。")
            return
        # a command that names a 文号, or one that needs none written as a word of its own, leaves
        # the dialogue; other text answers it ("催办多次未果…" is an answer, "催办 区人社局" a command)
        first = text.replace("\u3000", " ").split()[0]
        starts_command = cmd is not None and (bool(cmd.number) or (cmd.name in self.plain_commands and first in WORDS))
        if pending is not None and not starts_command:
            await self._answer(t, pending, text)
            return
        if cmd is None:
            await t.say("没有理解您的意思。发送“帮助”查看可用指令。")
            return
        if pending is not None:
            await t.end_dialogue()
        await self._command(t, cmd)

    async def _answer(self, t: Turn, pending: Pending, text: str) -> None:
        case = await t.find_case(pending.number)
        if case is None:
            await t.end_dialogue()
            return
        handler = self.steps.get(pending.step)
        if handler is None:  # a step that waits for a button
            await t.say(f"{case.number}：{PRESS_A_BUTTON}", case)
            return
        await handler(t, case, pending, text)

    async def _command(self, t: Turn, cmd: Command) -> None:
        plain = self.plain_commands.get(cmd.name)
        if plain is not None:
            await plain(t, cmd.rest)
            return
        if not cmd.number:
            await t.say("请在指令中写明文号，例如：签收 LY2026-000001。发送“帮助”查看格式。")
            return
        case = await t.find_case(cmd.number)
        if case is None:
            return
        await self.commands[cmd.name](t, case, cmd.rest)


def _put(table: dict[_K, _V], key: _K, value: _V) -> None:
    if key in table and table[key] != value:
        raise ValueError(f"{key!r} is routed twice")
    table[key] = value


async def _stale(t: Turn, case: Case) -> str:
    last = await repo.last_event(t.session, case.id)
    who = f"（{last.actor_name}于{b.hm(last.at, t.tz)}{event_label(last.action)}）" if last else ""
    return f"{case.number}：此卡片已失效，此件当前状态为“{State(case.state).label}”{who}。"
