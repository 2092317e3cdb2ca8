"""统一回复 (seed 001 第十二条): the modes offered, the refusals, the public text."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.lifecycle import Actor, CaseFacts, PublishInput, WorkflowError, decide
from bot.domain.publication import compose_public_reply, offer, refusal
from bot.domain.states import Action, NonPublicGround, ReplyMode, Role, State, TellMethod

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
QIAN = Actor("钱登记", frozenset({Role.DISPATCHER}))


def test_the_four_grounds_are_worded_as_article_12() -> None:
    assert [g.value for g in NonPublicGround] == [
        "经核查留言内容不属实或与承办单位回复严重不符",
        "留言人提出明显不合理诉求",
        "会引起争议或不良影响",
        "因不可抗力导致留言诉求短期内得不到解决",
    ]


def test_offer() -> None:
    assert offer("属实", True, False).modes[0] is ReplyMode.BOTH
    assert offer("部分属实", False, False).modes == (ReplyMode.PUBLIC, ReplyMode.INDIVIDUAL)
    untrue = offer("不属实", True, False)
    assert untrue.modes == (ReplyMode.INDIVIDUAL,) and untrue.preselected is NonPublicGround.UNTRUE
    note = offer("不属实", True, True)
    assert note.modes == (ReplyMode.INDIVIDUAL, ReplyMode.PUBLIC) and note.explanatory


def test_refusal() -> None:
    assert refusal(ReplyMode.PUBLIC, "不属实", True, False)
    assert refusal(ReplyMode.BOTH, "不属实", True, False)
    assert refusal(ReplyMode.PUBLIC, "不属实", True, True) is None
    assert refusal(ReplyMode.BOTH, "属实", False, False)
    assert refusal(ReplyMode.INDIVIDUAL, "不属实", False, False) is None


@pytest.mark.parametrize(
    ("facts", "data", "code"),
    [
        (
            CaseFacts(State.APPROVED, truthfulness="不属实", has_contact=True),
            PublishInput(ReplyMode.PUBLIC),
            "not_publishable",
        ),
        (CaseFacts(State.APPROVED, truthfulness="属实"), PublishInput(ReplyMode.BOTH), "not_publishable"),
        (
            CaseFacts(State.APPROVED, has_contact=True),
            PublishInput(ReplyMode.BOTH, NonPublicGround.UNREASONABLE),
            "bad_input",
        ),
    ],
)
def test_domain_refuses(facts: CaseFacts, data: PublishInput, code: str) -> None:
    with pytest.raises(WorkflowError) as exc:
        decide(facts, Action.PUBLISH, QIAN, data, NOW)
    assert exc.value.code == code


def test_domain_records_text_and_how_told() -> None:
    facts = CaseFacts(State.APPROVED, truthfulness="不属实", has_contact=True, untrue_note=True)
    d = decide(facts, Action.PUBLISH, QIAN, PublishInput(ReplyMode.PUBLIC, public_text="说明"), NOW)
    assert d.data["public_text"] == "说明"
    facts = CaseFacts(State.APPROVED, truthfulness="属实", has_contact=True)
    d = decide(facts, Action.PUBLISH, QIAN, PublishInput(ReplyMode.BOTH, told_via=TellMethod.SMS), NOW)
    assert d.data["mode"] == "both" and d.data["told_via"] == "短信"


def test_compose_in_the_units_name() -> None:
    reply = {"attitude": "感谢留言。", "process": "已整改。", "verification": "实地核查。", "feedback": "网友电话138"}
    text = compose_public_reply("区人社局", "欠薪", reply, date(2026, 11, 2))
    assert text.splitlines()[-2:] == ["区人社局", "2026年11月2日"]
    assert "已整改。" in text and "138" not in text and "“欠薪”" in text
    assert "不符" in compose_public_reply("区人社局", "欠薪", reply, date(2026, 11, 2), explanatory=True)


def test_every_reply_goes_before_a_leader_by_default() -> None:
    from bot.config import Config

    cfg = Config()
    assert all(cfg.needs_leader(level, None) for level in ("省级", "市级", "县（区）级"))
