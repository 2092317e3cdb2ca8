"""``帮助``: the text commands, each shown only to the roles that may use it, and every button's text
form.

Who may use a command is not written here a second time: it is read from the checks themselves —
the workflow's transition table (``bot.domain.lifecycle.TRANSITIONS``, which docs/roles.md is
tested against) for the commands that move a case, and the role sets the other checks use
(notes, 督办, 批示, 表扬, corrections, the directory) for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.cards.payload import Verb
from bot.domain.corrections import RECLASSIFY_ROLES
from bot.domain.lifecycle import TRANSITIONS
from bot.domain.records import INSTRUCTION_ROLES, NOTES, RECORD_ROLES, SUPERVISE_ROLES
from bot.domain.routing import FORWARD_ROLES
from bot.domain.states import ROLE_LABELS, UNIT_ROLES, Action, Role
from bot.handlers.commendations import COMMEND_ROLES
from bot.handlers.directory import DIRECTORY_ROLES


def _moving(*actions: Action) -> frozenset[Role]:
    """The people who may take any row of ``actions`` (the bot itself is nobody's chat)."""
    return frozenset(r for t in TRANSITIONS if t.action in actions for r in t.roles) - {Role.SYSTEM}


#: command name (``WORDS`` values) → the roles that may use it; None: everyone
COMMAND_ROLES: dict[str, frozenset[Role] | None] = {
    "show": None,
    "todo": None,
    "help": None,
    "cancel": None,
    "accept": _moving(Action.ACCEPT),
    "return": _moving(Action.RETURN),
    "reply": _moving(Action.SUBMIT),
    "extend": _moving(Action.REQUEST_EXTENSION),
    "progress": _moving(Action.INTERIM_REPORT),
    "co_opinion": UNIT_ROLES,  # bot.domain.cohandling.opinion_unit
    "review_pass": _moving(Action.REVIEW_PASS, Action.REVIEW_PASS_FINAL),
    "review_reject": _moving(Action.REVIEW_REJECT),
    "approve_extension": _moving(Action.APPROVE_EXTENSION),
    "refuse_extension": _moving(Action.REFUSE_EXTENSION),
    "approve": _moving(Action.APPROVE),
    "leader_reject": _moving(Action.LEADER_REJECT),
    "batch_list": _moving(Action.APPROVE),
    "instruction": INSTRUCTION_ROLES,
    "commend": COMMEND_ROLES,
    "assign": _moving(Action.ASSIGN, Action.REASSIGN),
    "void": _moving(Action.VOID),
    "set_complex": RECLASSIFY_ROLES,
    "unset_complex": RECLASSIFY_ROLES,
    "set_urgent": RECLASSIFY_ROLES,
    "unset_urgent": RECLASSIFY_ROLES,
    "publish": _moving(Action.PUBLISH),
    "publish_public": _moving(Action.PUBLISH),
    "publish_individual": _moving(Action.PUBLISH),
    "publish_both": _moving(Action.PUBLISH),
    "follow_up": _moving(Action.FOLLOW_UP, Action.TRACK),
    "archive": _moving(Action.ARCHIVE),
    "report_number": RECORD_ROLES,
    "re_reply": _moving(Action.RE_REPLY),
    "close_tracking": _moving(Action.CLOSE_TRACKING),
    **{kind: roles for kind, (roles, _) in NOTES.items()},  # look_back, public_comment, explanation, …
    "route_transfer": _moving(Action.TRANSFER),
    "route_handle": _moving(Action.REROUTE),
    "route_courtesy": _moving(Action.REROUTE),
    "courtesy_reply": _moving(Action.COURTESY_REPLY),
    "forward": FORWARD_ROLES,
    "supervise_case": SUPERVISE_ROLES,
    "special_supervise": SUPERVISE_ROLES,
    "urge": SUPERVISE_ROLES,
    "supervise_unit": SUPERVISE_ROLES,
    "unit_add": DIRECTORY_ROLES,
    "member_add": DIRECTORY_ROLES,
    "unit_list": DIRECTORY_ROLES,
    "person_deactivate": DIRECTORY_ROLES,
}

#: (the commands a line explains, the line), in the order shown
LINES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("accept",), "签收 <文号>"),
    (("return",), "退回 <文号> <原因>"),
    (("reply",), "回复 <文号> <属实程度> 表明态度：… 工作过程：… 核查情况：… 网友反馈：…"),
    (("extend",), "延期 <文号> <理由> [天数]"),
    (("progress",), "进展 <文号> <阶段性情况> 回复建议：<内容>（延期件、复杂件须在交办后15个工作日内报送）"),
    (("co_opinion",), "协办意见 <文号> <内容>（协办单位；主办单位签收、退回、提交办理情况）"),
    (("re_reply",), "再回复 <文号> <内容>（跟踪件：承诺事项的解决情况，重新审核）"),
    (("explanation",), "说明 <文号> <内容>（对网友评论的说明；督办的答复）"),
    (("show",), "查询 <文号>"),
    (("todo",), "待办（我的待办件）"),
    (("review_pass", "review_reject"), "通过 <文号>（或 审核通过 <文号>）/ 退回修改 <文号> <意见>"),
    (("approve_extension", "refuse_extension"), "批准延期 <文号> [天数] / 不批准延期 <文号> <意见>"),
    (("look_back", "close_tracking"), "回头看 <文号> <情况> / 跟踪销号 <文号> <理由>"),
    (
        ("low_error", "info_adopted"),
        "低级错误 <文号> <意见>（退回修改并计低级错误扣分）/ 信息采用 <文号> <说明>（计信息获得采用加分）",
    ),
    (
        ("supervise_case", "special_supervise"),
        "督办 <文号> <明察暗访|电话询访|实地走访> <要求> [N个工作日] / 专项督办 <文号> <方式> <要求>"
        "（多次反映未解决或长时间未回复）",
    ),
    (("urge", "supervise_unit"), "催办 <单位> / 单位督办 <单位>（该单位的全部超期件）"),
    (("approve", "leader_reject"), "同意 <文号> [批示] / 驳回 <文号> <批示>"),
    (("instruction",), "批示 <文号> <内容>"),
    (
        ("batch_list",),
        "审定清单 [月份，如2026-11]（待审定的答复），再回复“审定全部”或“审定全部 除 <文号> <文号>”",
    ),
    (("commend",), "表扬 <文号> <理由>（计入单位月度加分）"),
    (("assign",), "交办 <文号> <单位> / 改派 <文号> <单位>（签收前或退回后）"),
    (("void",), "作废 <文号> <理由>（误登、重复登记；保留记录，不计入统计）"),
    (
        ("set_complex", "unset_complex", "set_urgent", "unset_urgent"),
        "设为复杂件 <文号> <理由> / 取消复杂件 <文号> <理由> / 设为急件 <文号> <理由> / 取消急件 <文号> <理由>"
        "（按交办时间重算办理时限）",
    ),
    (
        ("route_transfer", "route_handle", "route_courtesy"),
        "改为转办 <文号> <去向> <转办说明> / 改为办理 <文号> <理由> / 改为礼节性回复 <文号> <理由>（第九条按类型分流）",
    ),
    (("courtesy_reply",), "礼节性回复 <文号> <内容>（建议类、咨询类，公开后办结）"),
    (("forward",), "转阅 <文号> <单位或领导> [说明]（阅知，无须回复）"),
    (("public_comment",), "网友评论 <文号> <内容>（转承办单位说明）"),
    (("archive", "report_number"), "立卷 <文号>（16要素齐全方可立卷销号）/ 呈报文号 <文号> <呈报文号>"),
    (
        ("publish", "publish_public", "publish_individual", "publish_both"),
        "统一回复 <文号> 公开|并行 [告知方式] / 统一回复 <文号> 个别 <理由一至四> <告知方式>"
        "（告知方式：电话、短信、当面、平台私信、未能联系）；按钮上的文字也可：公开并个别回复（并行回复）、"
        "仅公开回复（公开回复）、不予公开（个别回复） <文号> …",
    ),
    (("follow_up",), "回访 <文号> <满意|基本满意|不满意> <已化解|未化解> <评价内容>"),
    (
        ("unit_add", "member_add", "unit_list", "person_deactivate"),
        "添加单位 <名称> / 添加成员 <单位> <姓名> <账号> [承办人|负责人] / 单位列表 / 停用人员 <姓名或账号>",
    ),
    (("cancel",), "取消（放弃当前操作）"),
)

#: every button's text form: the command word that does what the button does
TEXT_FORMS: dict[Verb, str] = {
    Verb.ACCEPT: "签收",
    Verb.RETURN: "退回",
    Verb.REPLY: "回复",
    Verb.TRUTH: "回复",  # the 属实程度 is the word after the 文号
    Verb.SUBMIT: "回复",  # one message is submitted as it is
    Verb.EDIT: "回复",  # send the whole reply again
    Verb.REVIEW_PASS: "通过",
    Verb.REVIEW_REJECT: "退回修改",
    Verb.APPROVE: "同意",
    Verb.LEADER_REJECT: "驳回",
    Verb.PUBLISH_PUBLIC: "公开回复",
    Verb.PUBLISH_INDIVIDUAL: "个别回复",
    Verb.GROUND: "个别回复",  # 个别回复 <文号> <理由一至四>
    Verb.PUBLISH_BOTH: "并行回复",
    Verb.TOLD: "统一回复",  # the 告知方式 is a word of the command
    Verb.PUBLISH_CONFIRM: "统一回复",  # answered “确认” after the preview
    Verb.BATCH_LIST: "审定清单",
    Verb.BATCH_APPROVE: "审定清单",  # then “审定全部”
    Verb.SATISFACTION: "回访",
    Verb.RESOLVED: "回访",
    Verb.EXT_APPROVE: "批准延期",
    Verb.EXT_REFUSE: "不批准延期",
    Verb.CANCEL: "取消",
    Verb.URGE: "催办",
    Verb.SUPERVISE: "单位督办",
    Verb.CO_OPINION: "协办意见",
    Verb.COURTESY: "礼节性回复",
}


def may_use(name: str, roles: Iterable[Role]) -> bool:
    allowed = COMMAND_ROLES[name]
    return allowed is None or bool(allowed & frozenset(roles))


def help_for(roles: Iterable[Role], *, hidden: frozenset[str] = frozenset()) -> str:
    """The 帮助 text for a person with ``roles``: only the lines of commands they may use here
    (``hidden``: commands this channel refuses whoever asks)."""
    mine = frozenset(roles) - {Role.SYSTEM}
    shown = [line for names, line in LINES if any(n not in hidden and may_use(n, mine) for n in names)]
    who = "、".join(ROLE_LABELS[r] for r in sorted(mine, key=list(Role).index)) or "未分配角色"
    return f"留言办理机器人 您（{who}）可用的指令：\n" + "\n".join(shown)


#: every command, for every role (docs, tests)
FULL_HELP = help_for(Role)
