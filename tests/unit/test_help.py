"""帮助 per role (issues 12, 14): each person sees the commands their roles may use — judged against
docs/roles.md, the table written from the 制度 — and every button has a text form that is a routed
command and is listed in the help of those who get the button."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cards.payload import Verb
from bot.domain.states import Action, Role
from bot.handlers.chat import ROUTER
from bot.handlers.commands import WORDS, parse_command
from bot.handlers.help import COMMAND_ROLES, FULL_HELP, LINES, TEXT_FORMS, help_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
ROLES = [Role.HANDLER, Role.UNIT_LEADER, Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN]
CELLS = {"是": True, "代": True, "否": False}
#: the chat command that takes each step of docs/roles.md
STEP_COMMAND = {
    Action.ASSIGN: "assign",
    Action.REASSIGN: "assign",
    Action.ACCEPT: "accept",
    Action.RETURN: "return",
    Action.SUBMIT: "reply",
    Action.INTERIM_REPORT: "progress",
    Action.REQUEST_EXTENSION: "extend",
    Action.APPROVE_EXTENSION: "approve_extension",
    Action.REFUSE_EXTENSION: "refuse_extension",
    Action.REVIEW_PASS: "review_pass",
    Action.REVIEW_PASS_FINAL: "review_pass",
    Action.REVIEW_REJECT: "review_reject",
    Action.APPROVE: "approve",
    Action.LEADER_REJECT: "leader_reject",
    Action.PUBLISH: "publish",
    Action.FOLLOW_UP: "follow_up",
    Action.TRACK: "follow_up",
    Action.ARCHIVE: "archive",
    Action.RE_REPLY: "re_reply",
    Action.CLOSE_TRACKING: "close_tracking",
    Action.VOID: "void",
    Action.TRANSFER: "route_transfer",
    Action.REROUTE: "route_handle",
    Action.COURTESY_REPLY: "courtesy_reply",
}


def rules() -> dict[Action, dict[Role, bool]]:
    rows: dict[Action, dict[Role, bool]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 + len(ROLES) and cells[2] in CELLS:
            rows[Action(cells[0].split()[-1])] = {r: CELLS[c] for r, c in zip(ROLES, cells[2:], strict=True)}
    return rows


def line_of(name: str) -> str:
    return next(line for names, line in LINES if name in names)


def test_every_command_has_roles_and_a_help_line() -> None:
    assert set(COMMAND_ROLES) == set(WORDS.values())
    explained = {n for names, _ in LINES for n in names}
    assert explained == set(WORDS.values()) - {"help"}
    for word, name in WORDS.items():
        if name != "help":
            assert word in FULL_HELP, word


@pytest.mark.parametrize(("action", "row"), sorted(rules().items()))
def test_help_follows_the_rules(action: Action, row: dict[Role, bool]) -> None:
    line = line_of(STEP_COMMAND[action])
    for role, allowed in row.items():
        assert (line in help_for({role}).splitlines()) is allowed, (action, role)


def test_a_unit_handler_sees_the_units_commands_only() -> None:
    text = help_for({Role.HANDLER})
    for word in ("签收", "退回 <文号>", "回复 <文号>", "协办意见", "再回复", "查询", "待办", "取消"):
        assert word in text
    for word in (
        "交办 <",
        "通过 <",
        "同意 <",
        "审定清单",
        "督办 <",
        "添加单位",
        "立卷 <",
        "统一回复",
        "表扬 <",
        "回访 <",
    ):
        assert word not in text, word
    leader = help_for({Role.LEADER})
    assert "审定清单" in leader and "批示" in leader and "表扬" in leader
    assert "签收 <" not in leader and "添加单位" not in leader and "督办 <" not in leader
    assert "添加单位" in help_for({Role.ADMIN}) and "添加单位" not in help_for({Role.DISPATCHER})
    assert help_for(set()).count("\n") == 3  # 查询, 待办, 取消: what anyone may ask


def test_several_roles_see_the_union() -> None:
    both = help_for({Role.DISPATCHER, Role.SUPERVISOR}).splitlines()
    for role in (Role.DISPATCHER, Role.SUPERVISOR):
        assert set(help_for({role}).splitlines()[1:]) <= set(both)


@pytest.mark.parametrize("verb", list(Verb))
def test_every_button_has_a_routed_text_form_in_the_help(verb: Verb) -> None:
    word = TEXT_FORMS[verb]
    cmd = parse_command(f"{word} LY2026-000001 x")
    assert cmd is not None and WORDS[word] == cmd.name
    assert cmd.name == "cancel" or cmd.name in ROUTER.commands or cmd.name in ROUTER.plain_commands
    may = COMMAND_ROLES[cmd.name]
    for role in may or ROLES:
        assert word in help_for({role}), (verb, role)
