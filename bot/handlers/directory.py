"""Units, people and their roles (admin use cases; CLI, chat and the config bootstrap)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import Config
from bot.domain.errors import UserError
from bot.domain.states import UNIT_ROLES, Role
from bot.handlers.deps import Deps
from bot.handlers.messaging import address
from bot.ports import Inbound
from store import directory, settings
from store.db import Session
from store.models import Case, Person, Unit

#: who may change the directory from chat (添加单位, 添加成员, 单位列表, 停用人员)
DIRECTORY_ROLES: frozenset[Role] = frozenset({Role.ADMIN})
#: those commands by name (help.py's LINES): 帮助 leaves them out where they are refused
DIRECTORY_COMMANDS = frozenset({"unit_add", "member_add", "unit_list", "person_deactivate"})
#: DingTalk HTTP mode signs only a timestamp, not the sender or the text: a leaked header pair
#: could speak as anyone for an hour, so directory changes are not taken that way.
HTTP_MODE_REFUSAL = (
    "钉钉 HTTP 回调模式只对时间戳签名，无法确认发送人，为安全起见不受理管理命令。"
    "请改用钉钉 Stream 模式或企业微信，或在办理台“管理”页、服务器上的 liuyan 命令中配置。"
)


def refuses_directory(event: Inbound) -> bool:
    """DingTalk's HTTP mode cannot vouch for the sender (see HTTP_MODE_REFUSAL)."""
    return event.platform == "dingtalk" and event.extra.get("via") == "http"


class DirectoryError(UserError):
    """A directory change that cannot be made (unknown unit, duplicate id …)."""

    def __init__(self, field: str, message: str, code: str = "directory") -> None:
        super().__init__(code, message, field=field)


def describe_person(person: Person) -> str:
    """``刘督查（企业微信 liudc，钉钉 -）``: enough to tell two people of the same name apart."""
    state = "" if person.active else "，已停用"
    return f"{person.name}（企业微信 {person.wecom_userid or '-'}，钉钉 {person.dingtalk_userid or '-'}{state}）"


async def ensure_unit(
    session: Session,
    name: str,
    *,
    now: datetime,
    code: str | None = None,
    wecom_chatid: str | None = None,
    dingtalk_conversation_id: str | None = None,
) -> tuple[Unit, bool]:
    """Find the unit by its exact name or create it; a name or code that is another unit's name
    or code is refused (cases are routed by either)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DirectoryError("name", "单位名称须为1至100字")
    unit = await directory.unit_named(session, name)
    if unit is None:
        for other in await directory.units_named_or_coded(session, name):
            raise DirectoryError("name", f"“{name}”已是单位“{other.name}”的简称")
    if code is not None:
        code = code.strip()
        if len(code) > 50:
            raise DirectoryError("code", "简称最多50字")
        for other in await directory.units_named_or_coded(session, code) if code else []:
            if unit is None or other.id != unit.id:
                what = "名称" if other.name == code else "简称"
                raise DirectoryError("code", f"“{code}”已是单位“{other.name}”的{what}，简称不能重复")
    created = unit is None
    if unit is None:
        unit = directory.add_unit(session, name, now=now)
    if code is not None:
        unit.code = code or None
    if wecom_chatid is not None:
        unit.wecom_chatid = wecom_chatid
    if dingtalk_conversation_id is not None:
        unit.dingtalk_conversation_id = dingtalk_conversation_id
    await session.flush()
    return unit, created


def _contradicts(person: Person, wecom_userid: str | None, dingtalk_userid: str | None) -> bool:
    """True when ``person`` already has a different id on a platform given here."""
    return bool(
        (wecom_userid and person.wecom_userid and person.wecom_userid != wecom_userid)
        or (dingtalk_userid and person.dingtalk_userid and person.dingtalk_userid != dingtalk_userid)
    )


async def ensure_person(
    session: Session,
    name: str,
    *,
    now: datetime,
    wecom_userid: str | None = None,
    dingtalk_userid: str | None = None,
    rename: bool = False,
    new: bool = False,
    namesakes_are_others: bool = False,
) -> tuple[Person, bool]:
    """The person these platform ids (or, without ids, this name) identify, or a new one.

    Ids are unique and identify a person: an id that belongs to someone of another name is refused
    with that person shown, unless ``rename``. Names need not be unique: a name that matches a
    person whose ids differ from the given ones is refused with the match shown, unless ``new``
    (another person of the same name) or ``namesakes_are_others`` (then such a name is simply
    someone else: the config, which declares people by their ids). A person without ids of their
    own gets the given ones."""
    name = name.strip()
    wecom_userid = (wecom_userid or "").strip() or None
    dingtalk_userid = (dingtalk_userid or "").strip() or None
    if not name or len(name) > 100:
        raise DirectoryError("name", "姓名须为1至100字")
    by_wecom = await directory.person_by_platform(session, "wecom", wecom_userid) if wecom_userid else None
    by_ding = await directory.person_by_platform(session, "dingtalk", dingtalk_userid) if dingtalk_userid else None
    if by_wecom is not None and by_ding is not None and by_wecom.id != by_ding.id:
        raise DirectoryError(
            "wecom",
            f"企业微信账号 {wecom_userid} 属于{describe_person(by_wecom)}，"
            f"钉钉账号 {dingtalk_userid} 属于{describe_person(by_ding)}，不能合为一人",
        )
    person = by_wecom or by_ding
    if person is not None:
        if _contradicts(person, wecom_userid, dingtalk_userid):
            raise DirectoryError("wecom" if by_ding is None else "dingtalk", f"账号与{describe_person(person)}不符")
        if person.name != name and not rename:
            account = f"企业微信账号 {wecom_userid}" if by_wecom is not None else f"钉钉账号 {dingtalk_userid}"
            raise DirectoryError(
                "name", f"{account}已属于{describe_person(person)}；如确要把此人改名为“{name}”，请加 --rename"
            )
    elif not new:
        same = await directory.person_by_name(session, name)
        if len(same) > 1 and not (wecom_userid or dingtalk_userid):
            listed = "；".join(describe_person(p) for p in same)
            raise DirectoryError("name", f"有{len(same)}位“{name}”：{listed}。请用平台账号指明是哪一位")
        fitting = [p for p in same if not _contradicts(p, wecom_userid, dingtalk_userid)]
        if same and not fitting and not namesakes_are_others:
            listed = "；".join(describe_person(p) for p in same)
            raise DirectoryError("name", f"已有同名人员{listed}，账号与所给不同；如是另一位同名人员，请加 --new")
        if len(fitting) > 1:
            listed = "；".join(describe_person(p) for p in fitting)
            raise DirectoryError("name", f"有{len(fitting)}位“{name}”：{listed}。请用平台账号指明是哪一位")
        person = fitting[0] if fitting else None
    created = person is None
    if person is None:
        person = directory.add_person(session, name, now=now)
    person.name = name
    if wecom_userid:
        person.wecom_userid = wecom_userid
    if dingtalk_userid:
        person.dingtalk_userid = dingtalk_userid
    await session.flush()
    return person, created


async def find_person(session: Session, who: str) -> Person:
    """The one person named ``who`` or having it as a platform id; DirectoryError otherwise."""
    who = who.strip()
    found = await directory.people_by_name_or_id(session, who)
    by_id = [p for p in found if who in (p.wecom_userid, p.dingtalk_userid)]
    if by_id:
        found = by_id
    if not found:
        raise DirectoryError("person", f"未找到“{who}”（按姓名或平台账号）")
    if len(found) > 1:
        listed = "；".join(describe_person(p) for p in found)
        raise DirectoryError("person", f"有{len(found)}位“{who}”：{listed}。请用平台账号指明是哪一位")
    return found[0]


async def set_active(session: Session, who: str, active: bool) -> tuple[Person, bool]:
    """(De)activate a person: an inactive person gets no cards or reminders and cannot act.
    Returns the person and whether anything changed."""
    return await set_person_active(session, await find_person(session, who), active)


async def set_person_active(session: Session, person: Person, active: bool) -> tuple[Person, bool]:
    changed = person.active != active
    person.active = active
    await session.flush()
    return person, changed


async def grant(session: Session, person: Person, role: Role, unit_name: str | None) -> bool:
    unit_id = None
    if role in UNIT_ROLES:
        if not unit_name:
            raise DirectoryError("unit", f"{role.label}须指定所属单位")
        unit = await directory.unit_by_name(session, unit_name)
        if unit is None:
            raise DirectoryError("unit", f"未知单位“{unit_name}”")
        unit_id = unit.id
    return await directory.grant_role(session, person.id, role, unit_id)


#: the ``settings`` row holding the hash of the config's [[units]] and [[people]] last applied
DIRECTORY_HASH = "config_directory_hash"


def directory_hash(cfg: Config) -> str:
    sections = {
        "units": [u.model_dump(mode="json") for u in cfg.units],
        "people": [p.model_dump(mode="json") for p in cfg.people],
    }
    return hashlib.sha256(json.dumps(sections, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


async def bootstrap_from_config(deps: Deps, *, force: bool = False) -> bool:
    """Apply the config's ``[[units]]`` and ``[[people]]`` once per change of those sections (or
    always with ``force``: ``liuyan db seed``). Between changes the directory as changed by the
    CLI and chat wins; a changed config is applied additively (missing units, people and roles are
    created; a person found by a configured id takes the configured name). Returns whether applied.
    """
    cfg: Config = deps.config
    now = deps.clock.now()
    digest = directory_hash(cfg)
    async with deps.sessions() as session, session.begin():
        if force:
            await settings.put(session, DIRECTORY_HASH, digest, now)
        elif not await settings.claim_change(session, DIRECTORY_HASH, digest, now):
            return False
        for u in cfg.units:
            await ensure_unit(
                session,
                u.name,
                now=now,
                code=u.code,
                wecom_chatid=u.wecom_chatid,
                dingtalk_conversation_id=u.dingtalk_conversation_id,
            )
        for p in cfg.people:
            person, _ = await ensure_person(
                session,
                p.name,
                now=now,
                wecom_userid=p.wecom_userid,
                dingtalk_userid=p.dingtalk_userid,
                rename=True,
                namesakes_are_others=bool(p.wecom_userid or p.dingtalk_userid),
            )
            for role in p.roles:
                if role in UNIT_ROLES:
                    for unit_name in p.units:
                        await grant(session, person, role, unit_name)
                else:
                    await grant(session, person, role, None)
    return True


def reachable(people: Iterable[Person], platforms: Sequence[str]) -> bool:
    """Whether a card to ``people`` reaches anyone: an active person with an id on an enabled
    platform (with no platform enabled, any active person counts)."""
    for person in people:
        if not person.active:
            continue
        if not platforms or any(address(person, p) for p in platforms):
            return True
    return False


def unreachable_text(case: Case, unit_name: str | None) -> str:
    return (
        f"【无人接收】{case.number} 已交办给{unit_name or '-'}，但该单位没有可接收消息的承办人"
        "（未登记、已停用或没有已启用平台的账号），卡片和提醒无人收到。请管理员添加成员，或改派。"
    )


async def unreachable_audience(session: Session) -> list[Person]:
    """Who hears of an assignment nobody receives: the dispatchers and the admins."""
    people = await directory.people_with_role(session, Role.DISPATCHER)
    seen = {p.id for p in people}
    return people + [p for p in await directory.people_with_role(session, Role.ADMIN) if p.id not in seen]


@dataclass(frozen=True)
class UnitSummary:
    unit: Unit
    handlers: list[Person]
    leaders: list[Person]
    #: every member with their unit role, inactive ones included
    members: list[tuple[Person, Role]] = field(default_factory=list)

    def reachable(self, platforms: Sequence[str]) -> bool:
        return reachable(self.handlers, platforms)


async def unit_summaries(session: Session) -> list[UnitSummary]:
    result = []
    for unit in await directory.list_units(session):
        result.append(
            UnitSummary(
                unit,
                await directory.people_with_role(session, Role.HANDLER, unit.id),
                await directory.people_with_role(session, Role.UNIT_LEADER, unit.id),
                [(p, Role(r)) for p, r in await directory.members_of(session, unit.id)],
            )
        )
    return result


def member_text(person: Person, role: Role) -> str:
    ids = "/".join(i for i in (person.wecom_userid, person.dingtalk_userid) if i) or "无账号"
    return f"{person.name}({role.label}，{ids}{'，已停用' if not person.active else ''})"
