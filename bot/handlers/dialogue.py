"""The chat dialogue machine ("you pressed 退回, please send the reason").

One pending dialogue per (platform, user), stored with an expiry (store/dialogues.py), so it
survives a restart and works with several processes. ``EDGES`` is the transition table and the
chat router moves every dialogue with ``next_step``; ``dialogue.mmd`` beside this file draws the
table and a test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from store import dialogues
from store.db import Session

#: how long the bot waits for the next message of a dialogue
TTL = timedelta(minutes=30)


class Step(StrEnum):
    IDLE = "idle"
    RETURN_REASON = "return_reason"
    REPLY_TRUTH = "reply_truth"
    REPLY_ATTITUDE = "reply_attitude"
    REPLY_PROCESS = "reply_process"
    REPLY_VERIFICATION = "reply_verification"
    REPLY_FEEDBACK = "reply_feedback"
    REPLY_PREVIEW = "reply_preview"
    REVIEW_COMMENT = "review_comment"
    LEADER_COMMENT = "leader_comment"
    REFUSAL_COMMENT = "refusal_comment"
    GROUND = "ground"
    TOLD_VIA = "told_via"
    PUBLISH_CONFIRM = "publish_confirm"
    BATCH_APPROVAL = "batch_approval"
    FOLLOWUP_RESOLVED = "followup_resolved"
    FOLLOWUP_EVALUATION = "followup_evaluation"
    CO_OPINION = "co_opinion"
    COURTESY_TEXT = "courtesy_text"


#: (from, input) → to. Inputs: "btn:<verb>" (a button, or the text or command that stands for it)
#: and "text" (the answer the step waits for; a message with several labelled reply parts takes
#: several "text" edges at once). Every step also goes back to idle on "cancel" and "timeout", and
#: a button that starts a dialogue (an edge from idle) starts it from any step, replacing the
#: dialogue in progress (both drawn once in the diagram's header). A refused answer does not move.
EDGES: dict[tuple[Step, str], Step] = {
    (Step.IDLE, "btn:ret"): Step.RETURN_REASON,
    (Step.RETURN_REASON, "text"): Step.IDLE,
    (Step.IDLE, "btn:rep"): Step.REPLY_TRUTH,
    (Step.REPLY_TRUTH, "btn:tru"): Step.REPLY_ATTITUDE,
    (Step.IDLE, "btn:tru"): Step.REPLY_ATTITUDE,
    (Step.REPLY_ATTITUDE, "text"): Step.REPLY_PROCESS,
    (Step.REPLY_PROCESS, "text"): Step.REPLY_VERIFICATION,
    (Step.REPLY_VERIFICATION, "text"): Step.REPLY_FEEDBACK,
    (Step.REPLY_FEEDBACK, "text"): Step.REPLY_PREVIEW,
    (Step.REPLY_PREVIEW, "btn:sub"): Step.IDLE,
    (Step.REPLY_PREVIEW, "btn:edt"): Step.REPLY_ATTITUDE,
    (Step.IDLE, "btn:rvr"): Step.REVIEW_COMMENT,
    (Step.REVIEW_COMMENT, "text"): Step.IDLE,
    (Step.IDLE, "btn:ldr"): Step.LEADER_COMMENT,
    (Step.LEADER_COMMENT, "text"): Step.IDLE,
    (Step.IDLE, "btn:exr"): Step.REFUSAL_COMMENT,
    (Step.REFUSAL_COMMENT, "text"): Step.IDLE,
    (Step.IDLE, "btn:pbp"): Step.PUBLISH_CONFIRM,
    (Step.IDLE, "btn:pbb"): Step.TOLD_VIA,
    (Step.IDLE, "btn:pbi"): Step.GROUND,
    (Step.GROUND, "btn:grd"): Step.TOLD_VIA,
    (Step.TOLD_VIA, "btn:tld"): Step.PUBLISH_CONFIRM,
    (Step.TOLD_VIA, "text"): Step.PUBLISH_CONFIRM,
    (Step.PUBLISH_CONFIRM, "btn:pbc"): Step.IDLE,
    (Step.IDLE, "btn:bls"): Step.BATCH_APPROVAL,
    (Step.BATCH_APPROVAL, "btn:bap"): Step.IDLE,
    (Step.IDLE, "btn:sat"): Step.FOLLOWUP_RESOLVED,
    (Step.FOLLOWUP_RESOLVED, "btn:res"): Step.FOLLOWUP_EVALUATION,
    (Step.FOLLOWUP_EVALUATION, "text"): Step.IDLE,
    (Step.IDLE, "btn:coo"): Step.CO_OPINION,
    (Step.CO_OPINION, "text"): Step.IDLE,
    (Step.IDLE, "btn:ctr"): Step.COURTESY_TEXT,
    (Step.COURTESY_TEXT, "text"): Step.IDLE,
}

#: the reply part each reply step asks for (第十条), in the order the "text" edges visit them
REPLY_PART: dict[Step, str] = {
    Step.REPLY_ATTITUDE: "attitude",
    Step.REPLY_PROCESS: "process",
    Step.REPLY_VERIFICATION: "verification",
    Step.REPLY_FEEDBACK: "feedback",
}

#: what the bot says when a step starts (the prompt for the next message)
PROMPTS: dict[Step, str] = {
    Step.RETURN_REASON: "请回复退回原因（须说明为何不属于本单位职责），发送“取消”放弃。",
    Step.REPLY_ATTITUDE: (
        "请发送【表明态度】（对网友反映问题的态度）。\n"
        "也可以一条消息发送全部四部分：表明态度：… 工作过程：… 核查情况：… 网友反馈：…"
    ),
    Step.REPLY_PROCESS: "请发送【工作过程】（采取的措施、步骤和效果；暂不能解决的，说明计划和时限）。",
    Step.REPLY_VERIFICATION: "请发送【核查情况】（如何核实：电话回访、实地核查等）。",
    Step.REPLY_FEEDBACK: "请发送【网友反馈】（与网友联系情况及网友意见）。",
    Step.REVIEW_COMMENT: "请回复退回修改的意见，发送“取消”放弃。",
    Step.LEADER_COMMENT: "请回复驳回的批示意见，发送“取消”放弃。",
    Step.REFUSAL_COMMENT: "请回复不批准延期的意见，发送“取消”放弃。",
    Step.TOLD_VIA: "请选择告知网友的方式（或回复：电话/短信/当面/平台私信/未能联系），发送“取消”放弃。",
    Step.FOLLOWUP_EVALUATION: "请回复网友的评价内容（回访记录），发送“取消”放弃。",
    Step.CO_OPINION: "请回复本单位的协办意见（核查情况、办理建议等），发送“取消”放弃。",
    Step.COURTESY_TEXT: "请回复礼节性回复的内容（以督查室名义：感谢网友，说明建议或咨询的去向），发送“取消”放弃。",
}


class DialogueError(Exception):
    pass


def button(verb: str) -> str:
    """The dialogue input of a button (``Verb`` values are strings)."""
    return f"btn:{verb}"


def next_step(current: Step, event: str) -> Step:
    """The step after ``event`` in step ``current``; DialogueError when the step does not take it."""
    if event in ("cancel", "timeout"):
        return Step.IDLE
    to = EDGES.get((current, event)) or EDGES.get((Step.IDLE, event))
    if to is None:
        raise DialogueError(f"{current} does not take {event}")
    return to


def takes(current: Step, event: str) -> bool:
    """Whether step ``current`` itself has an edge for ``event`` (not counting a fresh start)."""
    return (current, event) in EDGES


@dataclass
class Pending:
    step: Step
    number: str
    data: dict[str, Any]
    expires_at: datetime


async def load(session: Session, platform: str, user: str, now: datetime) -> Pending | None:
    """The person's pending dialogue, or None (an expired one is removed: the "timeout" edge)."""
    row = await dialogues.live(session, platform, user, now)
    if row is None:
        return None
    return Pending(Step(row.kind), str(row.data.get("number", "")), dict(row.data), row.expires_at)


async def save(
    session: Session,
    platform: str,
    user: str,
    step: Step,
    number: str,
    case_id: int | None,
    data: dict[str, Any],
    now: datetime,
) -> Pending | None:
    """Store ``step`` as the person's dialogue (idle removes it); returns what is now pending."""
    if step is Step.IDLE:
        await clear(session, platform, user)
        return None
    payload = {**data, "number": number}
    await dialogues.put(session, platform, user, kind=step.value, case_id=case_id, data=payload, expires_at=now + TTL)
    return Pending(step, number, payload, now + TTL)


async def clear(session: Session, platform: str, user: str) -> None:
    await dialogues.drop(session, platform, user)
