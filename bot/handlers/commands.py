"""Text commands — the same words on every platform (design.md "Chat commands")."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: command word → canonical name
WORDS: dict[str, str] = {
    "签收": "accept",
    "退回": "return",
    "回复": "reply",
    "延期": "extend",
    "进展": "progress",
    "协办意见": "co_opinion",
    "查询": "show",
    "待办": "todo",
    "帮助": "help",
    "通过": "review_pass",
    "审核通过": "review_pass",
    "退回修改": "review_reject",
    "批准延期": "approve_extension",
    "不批准延期": "refuse_extension",
    "同意": "approve",
    "驳回": "leader_reject",
    "批示": "instruction",
    "表扬": "commend",
    "交办": "assign",
    "改派": "assign",
    "作废": "void",
    "改为转办": "route_transfer",
    "改为办理": "route_handle",
    "改为礼节性回复": "route_courtesy",
    "礼节性回复": "courtesy_reply",
    "转阅": "forward",
    "设为复杂件": "set_complex",
    "取消复杂件": "unset_complex",
    "设为急件": "set_urgent",
    "取消急件": "unset_urgent",
    "添加单位": "unit_add",
    "添加成员": "member_add",
    "单位列表": "unit_list",
    "停用人员": "person_deactivate",
    "统一回复": "publish",
    "公开回复": "publish_public",
    "个别回复": "publish_individual",
    "并行回复": "publish_both",
    "仅公开回复": "publish_public",  # the buttons' own words
    "不予公开": "publish_individual",
    "公开并个别回复": "publish_both",
    "回访": "follow_up",
    "审定清单": "batch_list",
    "立卷": "archive",
    "呈报文号": "report_number",
    "再回复": "re_reply",
    "跟踪销号": "close_tracking",
    "回头看": "look_back",
    "网友评论": "public_comment",
    "说明": "explanation",
    "督办": "supervise_case",
    "专项督办": "special_supervise",
    "催办": "urge",
    "单位督办": "supervise_unit",
    "信息采用": "info_adopted",
    "低级错误": "low_error",
    "取消": "cancel",
}
#: commands that need a case number
NEEDS_NUMBER = {
    "accept",
    "return",
    "reply",
    "extend",
    "progress",
    "co_opinion",
    "show",
    "review_pass",
    "review_reject",
    "approve",
    "leader_reject",
    "instruction",
    "assign",
    "commend",
    "void",
    "route_transfer",
    "route_handle",
    "route_courtesy",
    "courtesy_reply",
    "forward",
    "set_complex",
    "unset_complex",
    "set_urgent",
    "unset_urgent",
    "publish",
    "publish_public",
    "publish_individual",
    "publish_both",
    "follow_up",
    "approve_extension",
    "refuse_extension",
    "archive",
    "report_number",
    "re_reply",
    "close_tracking",
    "look_back",
    "public_comment",
    "explanation",
    "supervise_case",
    "special_supervise",
    "info_adopted",
    "low_error",
}
_NUMBER = re.compile(r"^[A-Za-z]{0,8}\d{4}-\d{6}$")
MAX_TEXT = 4000


@dataclass(frozen=True)
class Command:
    name: str
    number: str = ""
    rest: str = ""


def parse_command(text: str) -> Command | None:
    """``签收 LY2026-000001`` → Command("accept", "LY2026-000001"); None when not a command."""
    stripped = text.strip()
    if not stripped:
        return None
    head, _, tail = stripped.partition(" ")
    if head not in WORDS:
        # also accept a full-width space or no space before the number: "签收LY2026-000001"
        for word in sorted(WORDS, key=len, reverse=True):
            if stripped.startswith(word):
                head, tail = word, stripped[len(word) :]
                break
        else:
            return None
    name = WORDS[head]
    tail = tail.replace("\u3000", " ").strip()
    if name not in NEEDS_NUMBER:
        return Command(name, rest=tail)
    number, _, rest = tail.partition(" ")
    number = number.strip().upper()
    if not _NUMBER.match(number):
        return Command(name, number="", rest=tail)
    return Command(name, number=number, rest=rest.strip())


_PART_LABELS = {"表明态度": "attitude", "工作过程": "process", "核查情况": "verification", "网友反馈": "feedback"}
_PART_RE = re.compile(r"(表明态度|工作过程|核查情况|网友反馈)\s*[：:]")


def split_reply(text: str) -> dict[str, str]:
    """Find the labelled parts "表明态度：… 工作过程：… 核查情况：… 网友反馈：…" in one message."""
    marks = list(_PART_RE.finditer(text))
    parts: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        parts[_PART_LABELS[m.group(1)]] = text[m.end() : end].strip()
    return parts
