"""Filling an archive element after registration (立卷, seed 001 第十五条; the 16 elements of seed
004): who may and what is accepted. Pure."""

from __future__ import annotations

from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import ROLE_LABELS, Role, State

#: who keeps the files: the dispatcher (登记员) and the admin, as for 立卷 itself
RECORD_ROLES: frozenset[Role] = frozenset({Role.DISPATCHER, Role.ADMIN})
MAX_REPORT_NUMBER = 64  # the column's width


def check_report_number(actor: Actor, value: str) -> str:
    """The 呈报文号 to record, stripped; WorkflowError when the actor may not or the value is bad."""
    if not actor.roles & RECORD_ROLES:
        who = "、".join(ROLE_LABELS[r] for r in sorted(RECORD_ROLES, key=str))
        raise WorkflowError("forbidden", f"您没有填写呈报文号的权限（仅限{who}）。")
    text = " ".join((value or "").split())
    if not text:
        raise WorkflowError(
            "missing_input", "请写明呈报文号，例如：呈报文号 LY2026-000001 区信字〔2026〕12号。", field="report_number"
        )
    if len(text) > MAX_REPORT_NUMBER:
        raise WorkflowError("too_long", f"呈报文号过长（最多{MAX_REPORT_NUMBER}字）。", field="report_number")
    return text


#: timeline notes after the reply: kind → (who may write it, its label)
NOTES: dict[str, tuple[frozenset[Role], str]] = {
    "look_back": (frozenset({Role.SUPERVISOR}), "回头看"),  # seed 002
    "public_comment": (frozenset({Role.DISPATCHER, Role.ADMIN}), "网友评论"),  # seed 002 网民评论
    "explanation": (frozenset({Role.HANDLER, Role.UNIT_LEADER}), "说明"),  # the unit on a 网友评论
    "info_adopted": (frozenset({Role.SUPERVISOR}), "信息获得采用"),  # seed 004 bonus
    "low_error": (frozenset({Role.SUPERVISOR}), "低级错误"),  # seed 004 deduction
}


def check_note(actor: Actor, kind: str, text: str) -> str:
    """The note's text, stripped; WorkflowError when the actor may not write it or it is empty."""
    roles, label = NOTES[kind]
    if not actor.roles & roles:
        who = "、".join(ROLE_LABELS[r] for r in sorted(roles, key=str))
        raise WorkflowError("forbidden", f"您没有记录“{label}”的权限（仅限{who}）。")
    body = (text or "").strip()
    if len(body) < 4:
        raise WorkflowError("missing_input", f"请写明{label}的具体内容。", field="comment")
    if len(body) > 1000:
        raise WorkflowError("too_long", f"{label}过长（最多1000字）。", field="comment")
    return body


#: who may 督办 a case or 催办/督办 a unit (第十三条: the 督查室)
SUPERVISE_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR})
#: who may write a 批示 (第十一条: the leaders)
INSTRUCTION_ROLES: frozenset[Role] = frozenset({Role.LEADER})

#: 督办 methods named in seed 001 第十三条
SUPERVISION_METHODS: tuple[str, ...] = ("明察暗访", "电话询访", "实地走访")
_NOT_SUPERVISABLE = frozenset({State.REGISTERED, State.CLOSED, State.ARCHIVED})


def check_supervision(actor: Actor, state: State, method: str, text: str, special: bool, eligible: bool) -> str:
    """A supervisor's 督办 of an open case (第十三条); ``special`` (专项督办) needs ``eligible``: an
    earlier report of the same matter not resolved, or a case past its limit. Returns the
    instruction, stripped; WorkflowError otherwise."""
    word = "专项督办" if special else "督办"
    if not actor.roles & SUPERVISE_ROLES:
        who = "、".join(ROLE_LABELS[r] for r in sorted(SUPERVISE_ROLES, key=str))
        raise WorkflowError("forbidden", f"您没有{word}的权限（仅限{who}）。")
    if state in _NOT_SUPERVISABLE:
        raise WorkflowError("wrong_state", f"此件当前状态为“{state.label}”，不能{word}（仅限在办件）。")
    if method not in SUPERVISION_METHODS:
        raise WorkflowError("missing_input", f"请写明督办方式：{'、'.join(SUPERVISION_METHODS)}之一。", field="method")
    if special and not eligible:
        raise WorkflowError("not_special", "专项督办用于网民多次反映未得到解决的问题或长时间未回复的留言，此件不符合。")
    body = (text or "").strip()
    if len(body) < 4:
        raise WorkflowError("missing_input", f"请写明{word}要求。", field="comment")
    if len(body) > 1000:
        raise WorkflowError("too_long", f"{word}要求过长（最多1000字）。", field="comment")
    return body
