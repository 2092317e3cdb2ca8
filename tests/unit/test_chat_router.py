"""The chat router: every button, command and waiting step is routed once; registration is
checked; the chat use cases import no SQLAlchemy and save dialogue steps only through the table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.cards.payload import CardAction, Verb
from bot.handlers.chat import ROUTER
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.commands import NEEDS_NUMBER, WORDS
from bot.handlers.dialogue import PROMPTS, Pending, Step
from store.models import Case

ROOT = Path(__file__).parents[2]
CHAT = ROOT / "bot" / "handlers" / "chat"


def test_every_button_is_routed() -> None:
    assert set(ROUTER.clicks) == set(Verb) - {Verb.CANCEL}  # 取消 belongs to the router itself


def test_every_command_word_is_routed() -> None:
    assert set(ROUTER.commands) == NEEDS_NUMBER
    assert set(ROUTER.plain_commands) == set(WORDS.values()) - NEEDS_NUMBER - {"cancel"}


def test_every_step_that_asks_for_text_takes_text() -> None:
    assert set(PROMPTS) <= set(ROUTER.steps)
    # the rest wait for a button (a text there is answered "请点击卡片上的按钮")
    assert set(Step) - set(ROUTER.steps) == {Step.IDLE, Step.GROUND, Step.FOLLOWUP_RESOLVED}


def test_only_stage_free_buttons_skip_the_stale_check() -> None:
    # 协办意见 acts on the co-unit's own task, which the lead unit's steps do not make stale
    assert {v for v, c in ROUTER.clicks.items() if c.any_stage} == {Verb.URGE, Verb.SUPERVISE, Verb.CO_OPINION}


async def _click(t: Turn, case: Case, action: CardAction) -> None: ...


async def _other(t: Turn, case: Case, action: CardAction) -> None: ...


async def _cmd(t: Turn, case: Case, rest: str) -> None: ...


async def _plain(t: Turn, rest: str) -> None: ...


async def _step(t: Turn, case: Case, pending: Pending, text: str) -> None: ...


def test_a_key_is_routed_once() -> None:
    a, b = Router(), Router()
    a.click(Verb.ACCEPT)(_click)
    b.click(Verb.ACCEPT)(_other)
    with pytest.raises(ValueError, match="routed twice"):
        Router().include(a, b)
    with pytest.raises(ValueError, match="routed twice"):
        Router().include(a, ROUTER)


def test_command_registration_is_checked() -> None:
    on = Router()
    on.command("交办", "改派")(_cmd)  # two words, one command
    assert list(on.commands) == ["assign"]
    with pytest.raises(ValueError, match="not a command word"):
        on.command("签字")(_cmd)
    with pytest.raises(ValueError, match="NEEDS_NUMBER"):
        on.command("待办")(_cmd)  # 待办 names no 文号: case=False
    with pytest.raises(ValueError, match="NEEDS_NUMBER"):
        on.command("签收", case=False)(_plain)
    on.step(Step.RETURN_REASON)(_step)
    with pytest.raises(ValueError, match="routed twice"):
        on.step(Step.RETURN_REASON)(lambda *a: _step(*a))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


CHAT_SIDE = [
    *sorted(CHAT.glob("*.py")),
    ROOT / "bot" / "handlers" / "dialogue.py",
    ROOT / "bot" / "handlers" / "commands.py",
    ROOT / "bot" / "handlers" / "commendations.py",
]


@pytest.mark.parametrize("path", CHAT_SIDE, ids=lambda p: p.name)
def test_chat_side_imports_no_sqlalchemy(path: Path) -> None:
    assert not {n for n in _imports(path) if n.split(".")[0] == "sqlalchemy"}


@pytest.mark.parametrize("path", sorted(set(CHAT.glob("*.py")) - {CHAT / "__init__.py"}), ids=lambda p: p.name)
def test_use_case_modules_do_not_import_the_package(path: Path) -> None:
    """Only ``__init__`` includes the modules, so importing any one of them is safe."""
    allowed = {"bot.handlers.chat.router", "bot.handlers.chat.turn"}
    mine = {n for n in _imports(path) if n.startswith("bot.handlers.chat")}
    assert mine <= allowed | {f"{m}.{n}" for m in allowed for n in ("Router", "Turn", "PRESS_A_BUTTON")}


def test_dialogue_steps_are_saved_only_by_the_turn() -> None:
    """Use cases move dialogues with ``Turn.move`` (the table); none stores a step of its own."""
    for path in CHAT.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert ("dlg.save(" in text) == (path.name == "turn.py"), path.name
