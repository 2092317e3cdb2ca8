"""Case states, actions and roles — the vocabulary of the workflow (design.md "The workflow")."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Case states; the values are the lower-case names used in JSON (design.md Interfaces)."""

    REGISTERED = "registered"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    REPLIED = "replied"
    CLOSED = "closed"
    ARCHIVED = "archived"
    EXTENSION_REQUESTED = "extension_requested"
    VOIDED = "voided"  # 作废: a mistaken or duplicate registration, kept but counted nowhere
    TRACKING = "tracking"  # 跟踪: followed up 未化解 or 不满意, a promise is being kept
    TRANSFERRED = "transferred"  # 已转办 (第九条: 转政法部门办理, 转区纪检委阅处): closed to handling

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[State, str] = {
    State.REGISTERED: "已登记",
    State.ASSIGNED: "已交办",
    State.ACCEPTED: "办理中",
    State.RETURNED: "已退回",
    State.SUBMITTED: "待审核",
    State.REVIEWED: "待审定",
    State.APPROVED: "待回复",
    State.REPLIED: "待回访",
    State.CLOSED: "已办结",
    State.ARCHIVED: "已归档",
    State.EXTENSION_REQUESTED: "延期申请中",
    State.VOIDED: "已作废",
    State.TRACKING: "跟踪中",
    State.TRANSFERRED: "已转办",
}

#: States in which the undertaking unit still owes work (deadline clock running).
OPEN_STATES: frozenset[State] = frozenset({State.ASSIGNED, State.ACCEPTED, State.EXTENSION_REQUESTED})
#: States after which nothing but archiving can happen.
FINAL_STATES: frozenset[State] = frozenset({State.CLOSED, State.ARCHIVED})


class Role(StrEnum):
    """Who acts (design.md "People"). SYSTEM is the bot itself (API intake, auto-assignment)."""

    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    UNIT_LEADER = "unit_leader"
    SUPERVISOR = "supervisor"
    LEADER = "leader"
    ADMIN = "admin"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.DISPATCHER: "登记员",
    Role.HANDLER: "承办人",
    Role.UNIT_LEADER: "单位负责人",
    Role.SUPERVISOR: "督查员",
    Role.LEADER: "领导",
    Role.ADMIN: "管理员",
    Role.SYSTEM: "系统",
}

#: Roles that act on behalf of an undertaking unit; they must belong to the case's unit.
UNIT_ROLES: frozenset[Role] = frozenset({Role.HANDLER, Role.UNIT_LEADER})


class Action(StrEnum):
    """Every transition of the case lifecycle, named by what the person does."""

    ASSIGN = "assign"  # 交办
    REASSIGN = "reassign"  # 改派
    ACCEPT = "accept"  # 签收
    RETURN = "return"  # 退回
    SUBMIT = "submit"  # 提交办理情况
    REVIEW_PASS = "review_pass"  # 审核通过 (leader approval needed next)
    REVIEW_PASS_FINAL = "review_pass_final"  # 审核通过 (no leader approval configured)
    REVIEW_REJECT = "review_reject"  # 审核驳回
    APPROVE = "approve"  # 领导同意
    LEADER_REJECT = "leader_reject"  # 领导驳回 (批示)
    PUBLISH = "publish"  # 统一回复
    FOLLOW_UP = "follow_up"  # 回访
    ARCHIVE = "archive"  # 立卷
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    APPROVE_EXTENSION = "approve_extension"  # 批准延期
    REFUSE_EXTENSION = "refuse_extension"  # 不批准延期
    INTERIM_REPORT = "interim_report"  # 阶段性报告
    VOID = "void"  # 作废 (mistaken or duplicate registration)
    TRACK = "track"  # 回访未化解或不满意: 跟踪 until the promise is kept
    RE_REPLY = "re_reply"  # 再回复 by the unit (reviewed again)
    CLOSE_TRACKING = "close_tracking"  # 督查室 ends the tracking with a reason
    TRANSFER = "transfer"  # 转办 (第九条): to the 政法部门, the 区纪检委 …, not handled here
    REROUTE = "reroute"  # 改为办理 / 改为礼节性回复 (the route of a case changed, with a reason)
    COURTESY_REPLY = "courtesy_reply"  # 礼节性回复 by the 督查室 (第九条: 建议类, 咨询类)

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.ASSIGN: "交办",
    Action.REASSIGN: "改派",
    Action.ACCEPT: "签收",
    Action.RETURN: "退回",
    Action.SUBMIT: "提交办理情况",
    Action.REVIEW_PASS: "审核通过",
    Action.REVIEW_PASS_FINAL: "审核通过",
    Action.REVIEW_REJECT: "审核退回修改",
    Action.APPROVE: "领导同意",
    Action.LEADER_REJECT: "领导驳回",
    Action.PUBLISH: "统一回复",
    Action.FOLLOW_UP: "回访",
    Action.ARCHIVE: "立卷归档",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.APPROVE_EXTENSION: "批准延期",
    Action.REFUSE_EXTENSION: "不批准延期",
    Action.INTERIM_REPORT: "阶段性报告",
    Action.VOID: "作废",
    Action.TRACK: "转入跟踪",
    Action.RE_REPLY: "再回复",
    Action.CLOSE_TRACKING: "跟踪销号",
    Action.TRANSFER: "转办",
    Action.REROUTE: "改变办理方式",
    Action.COURTESY_REPLY: "礼节性回复",
}


class Note(StrEnum):
    """Timeline entries that are not transitions (the timeline's other kinds are the Actions)."""

    REGISTER = "register"  # 登记
    NOTE = "note"  # 备注
    INSTRUCTION = "instruction"  # 批示
    URGE = "urge"  # 催办
    SUPERVISE = "supervise"  # 督办
    DUPLICATE = "duplicate"  # 重复件关联
    COMMENDATION = "commendation"  # 表扬
    DEADLINE_RECOMPUTED = "deadline_recomputed"  # 期限重算 (the calendar changed)
    HISTORY_IMPORT = "history_import"  # 历史数据导入
    CO_OPINION = "co_opinion"  # 协办意见
    CO_OVERDUE = "co_overdue"  # 协办逾期
    EDIT = "edit"  # 更正
    RECLASSIFY = "reclassify"  # 调整类别
    REPORT_NUMBER = "report_number"  # 呈报文号
    LOOK_BACK = "look_back"  # 回头看
    PUBLIC_COMMENT = "public_comment"  # 网友评论
    EXPLANATION = "explanation"  # 单位说明
    INFO_ADOPTED = "info_adopted"  # 信息获得采用
    LOW_ERROR = "low_error"  # 低级错误
    FORWARD = "forward"  # 转阅: sent to a unit or a leader for reference (阅知), no reply owed

    @property
    def label(self) -> str:
        return NOTE_LABELS[self]


NOTE_LABELS: dict[Note, str] = {
    Note.REGISTER: "登记",
    Note.NOTE: "备注",
    Note.INSTRUCTION: "批示",
    Note.URGE: "催办",
    Note.SUPERVISE: "督办",
    Note.DUPLICATE: "重复件关联",
    Note.COMMENDATION: "表扬",
    Note.DEADLINE_RECOMPUTED: "期限重算",
    Note.HISTORY_IMPORT: "历史数据导入",
    Note.CO_OPINION: "协办意见",
    Note.CO_OVERDUE: "协办逾期",
    Note.EDIT: "更正",
    Note.RECLASSIFY: "调整类别",
    Note.REPORT_NUMBER: "呈报文号",
    Note.LOOK_BACK: "回头看",
    Note.PUBLIC_COMMENT: "网友评论",
    Note.EXPLANATION: "单位说明",
    Note.INFO_ADOPTED: "信息获得采用",
    Note.LOW_ERROR: "低级错误",
    Note.FORWARD: "转阅",
}

#: What a timeline entry can be: a transition or a note.
TimelineKind = Action | Note


def timeline_label(kind: str) -> str:
    """The Chinese label of a stored timeline kind (the raw value when it is unknown)."""
    for vocabulary in (Action, Note):
        if kind in vocabulary._value2member_map_:
            return vocabulary(kind).label
    return kind


class Route(StrEnum):
    """How a case is dealt with (seed 001 第九条 登记交办), chosen by category and changeable by the
    office with a reason."""

    HANDLE = "handle"  # 交办承办单位办理 (信访类: the full workflow)
    COURTESY = "courtesy"  # 督查室礼节性回复，视情转有关单位、领导阅知 (建议类, 咨询类)
    TRANSFER = "transfer"  # 转办 (涉法涉诉类 → 政法部门; 党风廉政 → 区纪检委阅处，不再专门办理)

    @property
    def label(self) -> str:
        return ROUTE_LABELS[self]


ROUTE_LABELS: dict[Route, str] = {
    Route.HANDLE: "交办办理",
    Route.COURTESY: "礼节性回复",
    Route.TRANSFER: "转办",
}


class Truthfulness(StrEnum):
    """属实程度 (第十条: 表明态度)."""

    TRUE = "属实"
    MOSTLY = "基本属实"
    PARTLY = "部分属实"
    FALSE = "不属实"


class ReplyMode(StrEnum):
    PUBLIC = "public"  # 公开回复
    INDIVIDUAL = "individual"  # 个别回复 (not published: needs a ground)
    BOTH = "both"  # 公开回复与个别回复并行 (第十二条: "留言有联系方式的")

    @property
    def label(self) -> str:
        return REPLY_MODE_LABELS[self]


REPLY_MODE_LABELS: dict[ReplyMode, str] = {
    ReplyMode.PUBLIC: "公开回复",
    ReplyMode.INDIVIDUAL: "个别回复（不予公开）",
    ReplyMode.BOTH: "公开回复与个别回复并行",
}
#: modes in which the reply is published (counted in the public reply rate)
PUBLIC_MODES: frozenset[str] = frozenset({ReplyMode.PUBLIC.value, ReplyMode.BOTH.value})


class NonPublicGround(StrEnum):
    """The four kinds of message not replied to publicly (seed 001 第十二条: "以下4类留言不予公开
    回复，尽量个别回复"), in the clause's order and words."""

    UNTRUE = "经核查留言内容不属实或与承办单位回复严重不符"
    UNREASONABLE = "留言人提出明显不合理诉求"
    CONTROVERSIAL = "会引起争议或不良影响"
    FORCE_MAJEURE = "因不可抗力导致留言诉求短期内得不到解决"


class TellMethod(StrEnum):
    """How the petitioner was told in an 个别回复."""

    PHONE = "电话"
    SMS = "短信"
    IN_PERSON = "当面"
    MESSAGE = "平台私信"
    UNREACHABLE = "未能联系"


class Satisfaction(StrEnum):
    SATISFIED = "满意"
    BASICALLY = "基本满意"
    DISSATISFIED = "不满意"


class Level(StrEnum):
    """级别 of the message (16 elements)."""

    PROVINCE = "省级"
    CITY = "市级"
    COUNTY = "县（区）级"


LEVEL_ALIASES: dict[str, Level] = {
    "省级": Level.PROVINCE,
    "省": Level.PROVINCE,
    "province": Level.PROVINCE,
    "市级": Level.CITY,
    "市": Level.CITY,
    "city": Level.CITY,
    "县级": Level.COUNTY,
    "区级": Level.COUNTY,
    "县（区）级": Level.COUNTY,
    "县(区)级": Level.COUNTY,
    "县〈区〉级": Level.COUNTY,
    "county": Level.COUNTY,
}


def parse_level(text: str) -> Level:
    """Map the usual spellings of 级别 to a Level; ValueError when unknown."""
    key = text.strip()
    if key in LEVEL_ALIASES:
        return LEVEL_ALIASES[key]
    if key.lower() in LEVEL_ALIASES:
        return LEVEL_ALIASES[key.lower()]
    raise ValueError(f"未知级别：{text}（可选：省级、市级、县（区）级）")
