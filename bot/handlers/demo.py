"""A small, realistic office for rehearsing (``liuyan demo``, the sandbox's 载入示例办公室): four
units, people of every role, and a dozen cases in every state of the workflow — registered and
moved along through the same use cases as chat and the API (intake, workflow), so every card and
notice they cause is queued for the people as it would be. Loading twice changes nothing: people
are found by name, cases by their source reference."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.errors import UserError
from bot.domain.lifecycle import (
    ActionInput,
    Actor,
    CommentInput,
    ExtensionRequest,
    FollowUpInput,
    NoInput,
    PublishInput,
    ReasonInput,
    ReplyInput,
)
from bot.domain.states import Action, ReplyMode, Role, Satisfaction, Truthfulness
from bot.handlers.deps import Deps
from bot.handlers.directory import DirectoryError, ensure_person, ensure_unit, grant
from bot.handlers.intake import NewCase, register_case
from bot.handlers.workflow import perform
from store import directory

log = logging.getLogger(__name__)

SOURCE = "模拟工作台示例"

UNITS = (("区人社局", "RSJ"), ("区住建局", "ZJJ"), ("区教育局", "JYJ"), ("区城管局", "CGJ"))

#: (name, wecom id or "", roles, unit): the names and ids of config.example.toml where they meet
PEOPLE: tuple[tuple[str, str, tuple[Role, ...], str | None], ...] = (
    ("钱登记", "qiandj", (Role.DISPATCHER,), None),
    ("孙督查", "sundc", (Role.SUPERVISOR,), None),
    ("周书记", "zhousj", (Role.LEADER,), None),
    ("吴管理", "", (Role.ADMIN,), None),
    ("张三", "zhangsan", (Role.HANDLER,), "区人社局"),
    ("王科长", "wangkz", (Role.UNIT_LEADER,), "区人社局"),
    ("赵住建", "", (Role.HANDLER,), "区住建局"),
    ("冯局长", "", (Role.UNIT_LEADER,), "区住建局"),
    ("陈老师", "", (Role.HANDLER,), "区教育局"),
    ("褚主任", "", (Role.UNIT_LEADER,), "区教育局"),
    ("卫城管", "", (Role.HANDLER,), "区城管局"),
    ("蒋队长", "", (Role.UNIT_LEADER,), "区城管局"),
)

REPLY = ReplyInput(
    Truthfulness.TRUE,
    attitude="反映的问题属实，我局高度重视，立即组织核查处理。",
    process="接件后当日约谈相关单位负责人，责令限期整改，并全程跟踪督促落实。",
    verification="经实地核查，问题已于本周整改到位，相关费用已退还。",
    feedback="已电话联系网友告知处理结果，网友表示认可。",
)

# what each case goes through after 登记: (role of the actor, action); "leader?" picks 审核通过
_ASSIGNED: list[str] = []
_ACCEPTED = ["accept"]
_SUBMITTED = ["accept", "submit"]
_REVIEWED = [*_SUBMITTED, "review"]
_APPROVED = [*_REVIEWED, "approve"]
_REPLIED = [*_APPROVED, "publish"]
_CLOSED = [*_REPLIED, "follow_up"]


@dataclass(frozen=True)
class DemoCase:
    ref: str
    title: str
    content: str
    unit: str | None
    category: str
    steps: Sequence[str]
    petitioner: str = "王先生"
    contact: str | None = "13800001234"
    urgent: bool = False


CASES = (
    DemoCase(
        "01",
        "小区门口道路破损多月无人修",
        "幸福路与建设路交叉口路面塌陷，雨天积水，老人孩子出行困难。",
        None,
        "城市管理",
        (),
    ),
    DemoCase(
        "02",
        "某建筑公司拖欠农民工工资",
        "我们在城南工地干了半年，工资至今未结清，共12人。",
        "区人社局",
        "欠薪欠资",
        _ASSIGNED,
    ),
    DemoCase(
        "03",
        "学校周边占道经营严重",
        "实验小学门口早晚摊贩占道，接送孩子很不安全。",
        "区城管局",
        "城市管理",
        _ASSIGNED,
        urgent=True,
    ),
    DemoCase(
        "04",
        "新房交付后墙体开裂",
        "锦绣花园3栋交房不到一年墙体多处开裂，开发商推诿。",
        "区住建局",
        "问题房开",
        _ACCEPTED,
    ),
    DemoCase("05", "幼儿园收费不透明", "阳光幼儿园额外收取兴趣班费用，没有公示。", "区教育局", "教育", ["return"]),
    DemoCase(
        "06", "社保转移手续办理缓慢", "从外地转入社保关系已两个月，仍未办结。", "区人社局", "政策咨询", _SUBMITTED
    ),
    DemoCase("07", "夜间施工噪音扰民", "地铁站工地每天夜里施工到凌晨两点。", "区住建局", "环境保护", _REVIEWED),
    DemoCase("08", "学区划分咨询", "想了解明年新建小区属于哪个学区。", "区教育局", "政策咨询", _APPROVED, contact=None),
    DemoCase("09", "失业金申领被拒", "符合条件却被告知材料不全，反复跑了三次。", "区人社局", "求助", _REPLIED),
    DemoCase("10", "路灯损坏多日不亮", "滨河路一段十几盏路灯不亮，夜间很黑。", "区城管局", "城市管理", _CLOSED),
    DemoCase(
        "11",
        "物业违规收取停车费",
        "小区物业擅自上调停车费，业主不知情。",
        "区住建局",
        "投诉举报",
        [*_CLOSED, "archive"],
    ),
    DemoCase("12", "校车线路调整建议", "建议增加城西片区校车站点。", "区教育局", "建议", ["accept", "extend"]),
    DemoCase("13", "重复登记的留言", "与前一件内容相同，登记有误。", None, "其他", ["void"]),
    DemoCase("14", "拆迁补偿款未到位", "旧城改造项目补偿款迟迟未发放。", "区住建局", "征地拆迁", [*_REPLIED, "track"]),
    # 第九条: 党风廉政 is transferred to the 区纪检委 at registration (not handled here)
    DemoCase("15", "反映工作人员违规收受礼品", "某窗口工作人员办事时收受群众购物卡。", None, "党风廉政", ()),
)


@dataclass
class DemoResult:
    units: int = 0
    people: int = 0
    cases: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"示例办公室已载入：新增单位 {self.units} 个、人员 {self.people} 位、留言 {self.cases} 件。"
        if self.skipped:
            text += "未载入：" + "；".join(self.skipped)
        return text


async def load_demo(deps: Deps) -> DemoResult:
    result = DemoResult()
    now = deps.clock.now()
    for name, code in UNITS:
        try:
            async with deps.sessions() as session, session.begin():
                _, created = await ensure_unit(session, name, code=code, now=now)
        except UserError:  # the code is taken by another unit: the name alone will do
            async with deps.sessions() as session, session.begin():
                _, created = await ensure_unit(session, name, now=now)
        result.units += created
    for name, wecom, roles, unit in PEOPLE:
        try:
            async with deps.sessions() as session, session.begin():
                person, created = await ensure_person(session, name, now=now, wecom_userid=wecom or None)
                for role in roles:
                    await grant(session, person, role, unit)
            result.people += created
        except DirectoryError as exc:
            result.skipped.append(f"{name}（{exc.message}）")
    actors = await _actors(deps)
    for case in CASES:
        try:
            result.cases += await _load_case(deps, case, actors)
        except UserError as exc:
            log.warning("demo case %s: %s", case.ref, exc.message)
            result.skipped.append(f"示例留言 {case.ref}（{exc.message}）")
    return result


async def _actors(deps: Deps) -> dict[str, Actor]:
    """The first active person of each office role, and of each unit's handlers, by name."""
    found: dict[str, Actor] = {}
    async with deps.sessions() as session:
        for name, _, _, _ in PEOPLE:
            for person in await directory.person_by_name(session, name):
                if person.active:
                    found[name] = await directory.actor_for(session, person)
                    break
    return found


def _handler_of(unit: str | None) -> str:
    return next(name for name, _, roles, u in PEOPLE if u == unit and Role.HANDLER in roles)


async def _load_case(deps: Deps, demo: DemoCase, actors: dict[str, Actor]) -> int:
    received = deps.clock.now() - timedelta(hours=2)
    new = NewCase(
        title=demo.title,
        content=demo.content,
        received_at=received,
        source=SOURCE,
        source_ref=f"demo-{demo.ref}",
        petitioner=demo.petitioner,
        contact=demo.contact,
        category=demo.category,
        unit=demo.unit,
        urgent=demo.urgent,
    )
    dispatcher = actors["钱登记"]
    registered = await register_case(deps, new, dispatcher)
    if not registered.created:
        return 0
    case = registered.case
    number = case.number
    handler = actors[_handler_of(demo.unit)] if demo.unit else dispatcher
    for step in demo.steps:
        if step == "approve" and not case.needs_leader:
            continue  # 审核通过 ended at 待回复 already (no leader's 审定 for this 级别 and type)
        action, actor, data = _step(step, case.needs_leader, handler, actors, demo.ref, deps.clock.now())
        case = await perform(deps, number, action, actor, data)
    return 1


def _step(
    step: str, needs_leader: bool, handler: Actor, actors: dict[str, Actor], ref: str, now: datetime
) -> tuple[Action, Actor, ActionInput]:
    dispatcher, supervisor, leader = actors["钱登记"], actors["孙督查"], actors["周书记"]
    if step == "accept":
        return Action.ACCEPT, handler, NoInput()
    if step == "return":
        return Action.RETURN, handler, ReasonInput("此事属于民办幼儿园监管，请改派市场监管部门。")
    if step == "submit":
        return Action.SUBMIT, handler, REPLY
    if step == "review":
        action = Action.REVIEW_PASS if needs_leader else Action.REVIEW_PASS_FINAL
        return action, supervisor, CommentInput("事实清楚，答复规范。")
    if step == "approve":
        return Action.APPROVE, leader, CommentInput("同意。")
    if step == "publish":
        return (
            Action.PUBLISH,
            dispatcher,
            PublishInput(ReplyMode.PUBLIC, report_number=f"区信字〔{now.year}〕{int(ref)}号"),
        )
    if step == "follow_up":
        return Action.FOLLOW_UP, dispatcher, FollowUpInput(True, Satisfaction.SATISFIED, "网友对处理结果满意。")
    if step == "track":
        return (
            Action.TRACK,
            dispatcher,
            FollowUpInput(False, Satisfaction.DISSATISFIED, "补偿款仍未到账。", promised_at=now + timedelta(days=14)),
        )
    if step == "archive":
        return Action.ARCHIVE, dispatcher, NoInput()
    if step == "extend":
        return Action.REQUEST_EXTENSION, handler, ExtensionRequest("涉及多个部门协调，需要更多时间。", 5)
    if step == "void":
        return Action.VOID, dispatcher, ReasonInput("重复登记")
    raise ValueError(step)


__all__ = ["CASES", "PEOPLE", "UNITS", "DemoResult", "load_demo"]
