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
    "退回修改": "review_reject",
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


HELP = """留言办理机器人 可用指令：
签收 <文号>
退回 <文号> <原因>
回复 <文号> <属实程度> 表明态度：… 工作过程：… 核查情况：… 网友反馈：…
延期 <文号> <理由> [天数]
进展 <文号> <阶段性情况> 回复建议：<内容>（延期件、复杂件须在交办后15个工作日内报送）
协办单位：协办意见 <文号> <内容>（主办单位签收、退回、提交办理情况）
查询 <文号>
待办（我的待办件）
再回复 <文号> <内容>（跟踪件：承诺事项的解决情况，重新审核）/ 说明 <文号> <内容>（对网友评论的说明）
督查员：通过 <文号> / 退回修改 <文号> <意见>
督查员：回头看 <文号> <情况> / 跟踪销号 <文号> <理由>
督查员：低级错误 <文号> <意见>（退回修改并计低级错误扣分）/ 信息采用 <文号> <说明>（计信息获得采用加分）
督查员：督办 <文号> <明察暗访|电话询访|实地走访> <要求> [N个工作日] / 专项督办 <文号> <方式> <要求>（多次反映未解决或长时间未回复）
领导：同意 <文号> [批示] / 驳回 <文号> <批示> / 批示 <文号> <内容>
领导：审定清单 [月份，如2026-11]（待审定的答复），再回复“审定全部”或“审定全部 除 <文号> <文号>”
督查员、领导：表扬 <文号> <理由>（计入单位月度加分）
登记员：交办 <文号> <单位> / 改派 <文号> <单位>（签收前或退回后）
登记员：作废 <文号> <理由>（误登、重复登记；保留记录，不计入统计）
登记员、督查员（第九条按类型分流）：改为转办 <文号> <去向> <转办说明> / 改为办理 <文号> <理由> / 改为礼节性回复 <文号> <理由>
督查员：礼节性回复 <文号> <内容>（建议类、咨询类，统一回复后办结）/ 转阅 <文号> <单位或领导> [说明]（阅知，无须回复）
登记员、督查员：设为复杂件 <文号> <理由> / 取消复杂件 <文号> <理由> / 设为急件 <文号> <理由> / 取消急件 <文号> <理由>（按交办时间重算办理时限）
登记员：网友评论 <文号> <内容>（转承办单位说明）
登记员、管理员：立卷 <文号>（16要素齐全方可立卷销号）/ 呈报文号 <文号> <呈报文号>
登记员：统一回复 <文号> 公开|并行 [告知方式] / 统一回复 <文号> 个别 <理由一至四> <告知方式>（告知方式：电话、短信、当面、平台私信、未能联系）
管理员：添加单位 <名称> / 添加成员 <单位> <姓名> <账号> [承办人|负责人] / 单位列表 / 停用人员 <姓名或账号>
取消（放弃当前操作）"""

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
