"""Pure pieces of the chat layer: button payloads, command parsing, the dialogue table, cards."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cards import builders as b
from bot.cards.models import Card
from bot.cards.payload import MAX_KEY_BYTES, CardAction, PayloadError, Verb
from bot.cards.wecom import template_card
from bot.domain.states import State
from bot.handlers.commands import parse_command, split_reply
from bot.handlers.dialogue import EDGES, DialogueError, Step, next_step, takes

VIEW = b.CaseView(
    number="LY2026-000001",
    title="某公司拖欠工资三个月" * 3,
    content="电话13800138000，公司拖欠工资。" * 20,
    level="县（区）级",
    source="人民网·地方领导留言板",
    category="欠薪欠资",
    unit="区人社局",
    state=State.ASSIGNED,
    stage=2,
    due_at=datetime(2026, 11, 9, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    days_left=5,
    tz=ZoneInfo("Asia/Shanghai"),
)


@pytest.mark.parametrize("verb", list(Verb))
def test_payload_round_trip(verb: Verb) -> None:
    action = CardAction(verb, "LY2026-000001", 7, "BASICALLY")
    key = action.pack()
    assert len(key.encode()) <= MAX_KEY_BYTES
    assert CardAction.unpack(key) == action


@pytest.mark.parametrize(
    "key",
    [
        "",
        "acc|LY2026-000001|1",
        "ly2|acc|LY2026-000001|1",
        "ly1|zzz|LY2026-000001|1",
        "ly1|acc|LY2026-000001|x",
        "ly1|acc|<script>|1",
        "ly1|acc|LY2026-000001|-1",
        "ly1|acc|LY2026-000001|1|a|b",
        "ly1|acc|LY2026-000001|1|" + "x" * 2000,
    ],
)
def test_payload_rejects_foreign_keys(key: str) -> None:
    with pytest.raises(PayloadError):
        CardAction.unpack(key)


@pytest.mark.parametrize(
    ("text", "name", "number", "rest"),
    [
        ("签收 LY2026-000001", "accept", "LY2026-000001", ""),
        ("签收ly2026-000001", "accept", "LY2026-000001", ""),
        ("退回 LY2026-000001 不属于我单位职责", "return", "LY2026-000001", "不属于我单位职责"),
        ("退回修改 LY2026-000001 请补充", "review_reject", "LY2026-000001", "请补充"),
        ("延期\u3000LY2026-000001 需要协调 5", "extend", "LY2026-000001", "需要协调 5"),
        ("待办", "todo", "", ""),
        ("帮助", "help", "", ""),
        ("签收", "accept", "", ""),
    ],
)
def test_commands(text: str, name: str, number: str, rest: str) -> None:
    cmd = parse_command(text)
    assert cmd is not None and (cmd.name, cmd.number, cmd.rest) == (name, number, rest)


def test_not_a_command() -> None:
    assert parse_command("今天天气不错") is None
    assert parse_command("") is None


def test_split_reply() -> None:
    parts = split_reply("表明态度：属实。工作过程: 已整改。核查情况：现场核查。网友反馈：满意。")
    assert parts == {"attitude": "属实。", "process": "已整改。", "verification": "现场核查。", "feedback": "满意。"}


def _diagram() -> set[tuple[str, str, str]]:
    text = (Path(__file__).parents[2] / "bot" / "handlers" / "dialogue.mmd").read_text(encoding="utf-8")
    edges = re.findall(r"^\s*(\w+)\s*-->\s*(\w+)\s*:\s*(\S+)", text, re.M)
    return {(src, event, dst) for src, dst, event in edges}


def test_dialogue_diagram_matches_table() -> None:
    """dialogue.mmd draws exactly the table ``next_step`` moves every dialogue by."""
    table = {(src.value, ev, dst.value) for (src, ev), dst in EDGES.items()}
    assert _diagram() == table
    for (src, ev), dst in EDGES.items():
        assert next_step(src, ev) is dst


def test_dialogue_steps() -> None:
    assert next_step(Step.IDLE, "btn:ret") is Step.RETURN_REASON
    assert next_step(Step.REPLY_PREVIEW, "cancel") is Step.IDLE
    with pytest.raises(DialogueError):
        next_step(Step.IDLE, "text")


def test_a_starting_button_replaces_the_dialogue_in_progress() -> None:
    assert next_step(Step.REPLY_PROCESS, "btn:ret") is Step.RETURN_REASON
    assert next_step(Step.GROUND, "btn:tru") is Step.REPLY_ATTITUDE
    assert not takes(Step.GROUND, "btn:tru")
    with pytest.raises(DialogueError):  # a button inside a dialogue does not start one
        next_step(Step.RETURN_REASON, "btn:sub")


def _chat_sources() -> str:
    folder = Path(__file__).parents[2] / "bot" / "handlers" / "chat"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py")))


def test_every_button_edge_is_taken_by_the_chat_code_and_no_other() -> None:
    """The chat modules move dialogues only with ``dlg.button(Verb.X)`` (and "text"): each such
    button is an edge of the table, and each button edge of the table is moved by some module."""
    used = {f"btn:{Verb[name].value}" for name in re.findall(r"dlg\.button\(Verb\.(\w+)\)", _chat_sources())}
    drawn = {ev for (_src, ev) in EDGES if ev.startswith("btn:")}
    assert used == drawn


def test_assignment_card_renders_within_wecom_limits() -> None:
    card = b.assignment_card(VIEW, "https://x/cases/LY2026-000001/view")
    body = template_card(card, "LY2026-000001-assign-abc")
    assert body["card_type"] == "button_interaction" and body["task_id"] == "LY2026-000001-assign-abc"
    assert len(body["main_title"]["title"]) <= 36 and len(body["sub_title_text"]) <= 160
    assert all(len(i["keyname"]) <= 5 and len(i["value"]) <= 30 for i in body["horizontal_content_list"])
    assert [x["text"] for x in body["button_list"]] == ["签收", "退回"]
    assert "13800138000" not in str(body)  # phone numbers in the excerpt are masked
    assert "剩5个工作日" in str(body)


def test_closed_card_keeps_content_and_greys_buttons() -> None:
    card = b.closed(b.review_card(VIEW, None), "已审核通过（孙督查 11-02 10:00）")
    body = template_card(Card.from_dict(card.to_dict()))
    assert body["replace_text"].startswith("已审核通过") and "task_id" not in body


@pytest.mark.parametrize(
    "days,text", [(3, "剩3个工作日"), (0, "今日到期"), (-2, "已超期2个工作日"), (None, "11-09 17:30")]
)
def test_due_text(days: int | None, text: str) -> None:
    view = b.CaseView(**{**VIEW.__dict__, "days_left": days})
    assert text in b.due_text(view)
