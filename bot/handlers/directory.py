"""Units, people and their roles (admin use cases; CLI, chat and the config bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.domain.errors import UserError
from bot.domain.states import UNIT_ROLES, Role
from bot.handlers.deps import Deps
from store import directory
from store.db import Session
from store.models import Person, Unit


class DirectoryError(UserError):
    """A directory change that cannot be made (unknown unit, duplicate id …)."""

    def __init__(self, field: str, message: str, code: str = "directory") -> None:
        super().__init__(code, message, field=field)


async def ensure_unit(
    session: Session,
    name: str,
    *,
    now: datetime,
    code: str | None = None,
    wecom_chatid: str | None = None,
    dingtalk_conversation_id: str | None = None,
) -> tuple[Unit, bool]:
    name = name.strip()
    if not name or len(name) > 100:
        raise DirectoryError("name", "单位名称须为1至100字")
    unit = await directory.unit_named(session, name)
    created = unit is None
    if unit is None:
        unit = directory.add_unit(session, name, now=now)
    if code is not None:
        unit.code = code
    if wecom_chatid is not None:
        unit.wecom_chatid = wecom_chatid
    if dingtalk_conversation_id is not None:
        unit.dingtalk_conversation_id = dingtalk_conversation_id
    await session.flush()
    return unit, created


async def ensure_person(
    session: Session,
    name: str,
    *,
    now: datetime,
    wecom_userid: str | None = None,
    dingtalk_userid: str | None = None,
) -> tuple[Person, bool]:
    """Find a person by a platform id (or by name when no id is given) or create them."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DirectoryError("name", "姓名须为1至100字")
    person = None
    if wecom_userid:
        person = await directory.person_by_platform(session, "wecom", wecom_userid)
    if person is None and dingtalk_userid:
        person = await directory.person_by_platform(session, "dingtalk", dingtalk_userid)
    if person is None and not wecom_userid and not dingtalk_userid:
        same_name = await directory.person_by_name(session, name)
        if len(same_name) > 1:
            raise DirectoryError("name", f"有多位“{name}”，请用平台账号区分")
        person = same_name[0] if same_name else None
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


async def bootstrap_from_config(deps: Deps) -> None:
    """Create the units and people named in the configuration file (idempotent, additive)."""
    cfg: Config = deps.config
    now = deps.clock.now()
    async with deps.sessions() as session, session.begin():
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
                session, p.name, now=now, wecom_userid=p.wecom_userid, dingtalk_userid=p.dingtalk_userid
            )
            for role in p.roles:
                if role in UNIT_ROLES:
                    for unit_name in p.units:
                        await grant(session, person, role, unit_name)
                else:
                    await grant(session, person, role, None)


@dataclass(frozen=True)
class UnitSummary:
    unit: Unit
    handlers: list[Person]
    leaders: list[Person]


async def unit_summaries(session: Session) -> list[UnitSummary]:
    result = []
    for unit in await directory.list_units(session):
        result.append(
            UnitSummary(
                unit,
                await directory.people_with_role(session, Role.HANDLER, unit.id),
                await directory.people_with_role(session, Role.UNIT_LEADER, unit.id),
            )
        )
    return result
