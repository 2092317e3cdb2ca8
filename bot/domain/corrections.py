"""Corrections of a registered case's facts (issue 13): who may correct which field, and how the
change is told on the timeline. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.lifecycle import MAX_REASON, MIN_REASON, Actor, WorkflowError, check_text
from bot.domain.states import Note, Role, State, parse_level

#: field → (label, maximum length); the names are the JSON and CLI names (``report_number``)
EDITABLE: dict[str, tuple[str, int]] = {
    "title": ("留言标题", 200),
    "category": ("所属类型", 32),
    "level": ("级别", 16),
    "contact": ("联系方式", 200),
    "petitioner": ("反映人", 100),
    "report_number": ("呈报文号", 64),
}
#: personal data: the timeline says it was corrected, never the values
PRIVATE = frozenset({"contact", "petitioner"})
EDIT_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})
#: a voided or archived case is a closed record
LOCKED = frozenset({State.VOIDED, State.ARCHIVED})
EDIT = Note.EDIT  # the timeline entry


def check_edit(
    state: State,
    actor: Actor,
    current: Mapping[str, str | None],
    wanted: Mapping[str, object],
    categories: list[str],
) -> dict[str, str | None]:
    """The fields that change, cleaned; WorkflowError when refused or when nothing changes."""
    if not actor.roles & EDIT_ROLES:
        raise WorkflowError("forbidden", "您没有“更正”的权限（仅限登记员、管理员）。")
    if state in LOCKED:
        raise WorkflowError("wrong_state", f"此件当前状态为“{state.label}”，不能更正。")
    changed: dict[str, str | None] = {}
    for name, raw in wanted.items():
        if name not in EDITABLE:
            raise WorkflowError("bad_input", f"不能更正的字段：{name}", field=name)
        label, limit = EDITABLE[name]
        if raw is not None and not isinstance(raw, str):
            raise WorkflowError("bad_input", f"{label}应为文字。", field=name)
        value = (raw or "").strip() or None
        if value is not None and len(value) > limit:
            raise WorkflowError("too_long", f"{label}过长（最多{limit}字）。", field=name)
        if name in ("title", "level") and value is None:
            raise WorkflowError("missing_input", f"{label}不能为空。", field=name)
        if name == "level" and value is not None:
            try:
                value = parse_level(value).value
            except ValueError as exc:
                raise WorkflowError("bad_input", str(exc), field=name) from exc
        if name == "category" and value is not None and categories and value not in categories:
            raise WorkflowError("bad_input", f"未知类型“{value}”（可选：{'、'.join(categories)}）。", field=name)
        if value != current.get(name):
            changed[name] = value
    if not changed:
        raise WorkflowError("no_change", "没有需要更正的内容（与现有内容相同）。")
    return changed


def describe(changed: Mapping[str, str | None], current: Mapping[str, str | None]) -> str:
    """ "留言标题：旧 → 新；联系方式：已更正" (personal data never shown)."""
    parts = []
    for name, value in changed.items():
        label = EDITABLE[name][0]
        if name in PRIVATE:
            parts.append(f"{label}：已更正")
        else:
            parts.append(f"{label}：{current.get(name) or '（空）'} → {value or '（空）'}")
    return "更正 " + "；".join(parts)


# --- 复杂件 / 急件 after registration ---------------------------------------------------------------

RECLASSIFY_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
RECLASSIFY = Note.RECLASSIFY  # the timeline entry
#: the unit still works on the case: its deadline is recomputed
RECOMPUTE_STATES = frozenset({State.ASSIGNED, State.ACCEPTED, State.EXTENSION_REQUESTED})
_DONE_STATES = frozenset({State.CLOSED, State.ARCHIVED, State.VOIDED})


def check_reclassify(
    state: State,
    actor: Actor,
    now_flags: tuple[bool, bool],
    wanted: tuple[bool | None, bool | None],
    reason: str,
) -> tuple[bool, bool]:
    """(complex, urgent) after the change; WorkflowError when refused or nothing changes."""
    if not actor.roles & RECLASSIFY_ROLES:
        raise WorkflowError("forbidden", "您没有调整复杂件、急件的权限（仅限登记员、督查员、管理员）。")
    if state in _DONE_STATES:
        raise WorkflowError("wrong_state", f"此件当前状态为“{state.label}”，不能调整。")
    check_text(reason, field_name="reason", label="理由", min_len=MIN_REASON, max_len=MAX_REASON)
    after = (
        now_flags[0] if wanted[0] is None else wanted[0],
        now_flags[1] if wanted[1] is None else wanted[1],
    )
    if after == now_flags:
        raise WorkflowError("no_change", "此件已是该类别，无须调整。")
    return after


def reclassify_label(before: tuple[bool, bool], after: tuple[bool, bool]) -> str:
    """ "设为复杂件" / "取消急件" …"""
    words = []
    for i, name in enumerate(("复杂件", "急件")):
        if before[i] != after[i]:
            words.append(("设为" if after[i] else "取消") + name)
    return "、".join(words)
