"""Registering a case (登记) and assigning it (交办): from the API, the CLI, Excel or chat."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.archive import ANONYMOUS_CONTACT, has_contact
from bot.domain.deadlines import same_day_deadline
from bot.domain.duplicates import normalise_contact, normalise_title, same_petitioner, similar_titles
from bot.domain.errors import UserError
from bot.domain.lifecycle import Actor, AssignInput, TransferInput, WorkflowError, assign_action
from bot.domain.routing import route_for
from bot.domain.states import Action, Level, Note, Route, State, parse_level
from bot.handlers.deps import CaseChange, Deps
from bot.handlers.workflow import apply_in_session
from store import directory, repo
from store.cases import add_case
from store.db import ConstraintError, Session
from store.models import Case

log = logging.getLogger(__name__)

FIELDS = {
    "title",
    "content",
    "unit",
    "level",
    "source",
    "source_ref",
    "petitioner",
    "contact",
    "category",
    "received_at",
    "complex",
    "urgent",
    "co_units",
    "report_number",
}
LIMITS = {
    "title": 200,
    "content": 20000,
    "unit": 100,
    "source": 64,
    "source_ref": 128,
    "petitioner": 100,
    "contact": 200,
    "category": 32,
    "report_number": 64,
}


#: most co-units one case may name (duplicates are merged first)
MAX_CO_UNITS = 20


class InputError(UserError):
    """Bad intake input; ``field`` names the offending field, ``code`` (optional) says what kind
    of problem it is for a program (``wrong_type``, ``too_many`` …)."""

    def __init__(self, field: str, message: str, *, code: str = "") -> None:
        super().__init__(code, message, field=field)


@dataclass(frozen=True)
class NewCase:
    title: str
    content: str
    received_at: datetime
    level: str = Level.COUNTY.value
    source: str = "其他"
    source_ref: str | None = None
    petitioner: str | None = None
    contact: str | None = None
    category: str | None = None
    unit: str | None = None
    co_units: tuple[str, ...] = ()
    complex: bool = False
    urgent: bool = False
    report_number: str | None = None


def _text(data: Mapping[str, Any], name: str, *, required: bool = False, strict: bool = False) -> str | None:
    """A text field; ``strict`` (JSON): it must be a string, not a number that reads like one."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(name, "必填")
        return None
    if strict and not isinstance(value, str):
        raise InputError(name, "应为文本（JSON 字符串）", code="wrong_type")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(name, "应为文本")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(name, "应为文本", code="not_a_number")  # never stored as "nan"
    text = str(value).strip()
    if "\x00" in text:
        raise InputError(name, "含有非法字符")
    if len(text) > LIMITS.get(name, 20000):
        raise InputError(name, f"过长（{len(text)}字，最多{LIMITS[name]}字）")
    return text


def _bool(data: Mapping[str, Any], name: str, *, strict: bool = False) -> bool:
    value = data.get(name, False)
    if isinstance(value, bool):
        return value
    if strict and value is not None:
        raise InputError(name, "应为 true 或 false", code="wrong_type")
    if isinstance(value, str) and value.strip().lower() in {"是", "true", "1", "yes", "y"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"否", "false", "0", "no", "n", ""}:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InputError(name, "应为 true/false（是/否）")


def parse_time(value: Any, tz: ZoneInfo, name: str = "received_at") -> datetime:
    """ISO 8601 text or a datetime; a time without zone is office local time."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(name, f"时间格式不对：{value!r}（例：2026-11-02T09:30:00+08:00）") from exc
    else:
        raise InputError(name, "应为 ISO 8601 时间文本")
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    return result


def validate_new_case(
    data: Mapping[str, Any], *, now: datetime, tz: ZoneInfo, categories: list[str], strict: bool = False
) -> NewCase:
    """Check an intake body; raises InputError naming the first bad field. ``strict`` (the JSON
    API): every field has its JSON type — text is a string, flags are true/false; spreadsheet
    rows (not strict) may carry numbers in text columns and 是/否 in flag columns."""
    if not isinstance(data, Mapping):
        raise InputError("body", "应为 JSON 对象")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InputError(unknown[0], "未知字段")

    def text_field(name: str, *, required: bool = False) -> str | None:
        return _text(data, name, required=required, strict=strict)

    title = text_field("title", required=True)
    content = text_field("content", required=True)
    assert title is not None and content is not None
    level_text = text_field("level")
    try:
        level = parse_level(level_text).value if level_text else Level.COUNTY.value
    except ValueError as exc:
        raise InputError("level", str(exc)) from exc
    category = text_field("category")
    if category is not None and categories and category not in categories:
        raise InputError("category", f"未知类型“{category}”（可选：{'、'.join(categories)}）")
    received_at = parse_time(data["received_at"], tz) if data.get("received_at") else now
    if received_at > now + timedelta(minutes=5):
        raise InputError("received_at", "留言时间不能晚于当前时间")
    co_units = data.get("co_units") or []
    if not isinstance(co_units, list) or not all(isinstance(u, str) and u.strip() for u in co_units):
        raise InputError("co_units", "应为单位名称列表")
    co_units = list(dict.fromkeys(u.strip() for u in co_units))  # each unit once, in order
    if len(co_units) > MAX_CO_UNITS:
        raise InputError("co_units", f"协办单位过多（{len(co_units)} 个，最多 {MAX_CO_UNITS} 个）", code="too_many")
    return NewCase(
        title=title,
        content=content,
        received_at=received_at,
        level=level,
        source=text_field("source") or "其他",
        source_ref=text_field("source_ref"),
        petitioner=text_field("petitioner"),
        contact=text_field("contact"),
        category=category,
        unit=text_field("unit"),
        co_units=tuple(co_units),
        complex=_bool(data, "complex", strict=strict),
        urgent=_bool(data, "urgent", strict=strict),
        report_number=text_field("report_number"),
    )


@dataclass(frozen=True)
class Registered:
    case: Case
    created: bool


async def _find_duplicate(deps: Deps, session: Session, new: NewCase) -> Case | None:
    window = deps.config.cases.duplicate_window_days
    if window <= 0:
        return None
    candidates = await repo.duplicate_candidates(
        session,
        since=new.received_at - timedelta(days=window),
        contact_key=normalise_contact(new.contact) or None,
        petitioner=new.petitioner,
        source_ref=new.source_ref,
        title_key=normalise_title(new.title),
        category=new.category,
    )
    for earlier in candidates:
        if (
            (new.source_ref and earlier.source_ref == new.source_ref)
            or same_petitioner(new.petitioner, new.contact, earlier.petitioner, earlier.contact)
            or similar_titles(new.title, earlier.title)
        ):
            # link to the first case of the chain, so repeats of repeats point at one original
            if earlier.duplicate_of_id is not None:
                return await repo.case_by_id(session, earlier.duplicate_of_id) or earlier
            return earlier
    return None


async def possible_duplicate(deps: Deps, new: NewCase) -> Case | None:
    """The earlier case that registering ``new`` would link it to as a repeat (重复反映), if any:
    the same rule as registration, asked before (the desk warns, the dispatcher confirms)."""
    async with deps.read_sessions() as session:
        if new.source_ref:
            same = await repo.case_by_source_ref(session, new.source, new.source_ref)
            if same is not None:
                return same
        return await _find_duplicate(deps, session, new)


async def _register(deps: Deps, session: Session, new: NewCase, actor: Actor) -> Case:
    now = deps.clock.now()
    cfg = deps.config
    # 第九条: the category's route (a unit named at registration means it is handled by that unit)
    routing = route_for(new.category, cfg.routing.routes, cfg.routing.transfers(), unit_named=bool(new.unit))
    handled = routing.route is Route.HANDLE
    default = cfg.cases.default_unit.get(new.category) if new.category and handled else None
    unit_name = new.unit or default
    unit = None
    if unit_name:
        unit = await directory.unit_by_name(session, unit_name)
        if unit is None:
            raise InputError("unit", f"未知承办单位“{unit_name}”")
    co_ids: list[int] = []
    for name in new.co_units:
        co = await directory.unit_by_name(session, name)
        if co is None:
            raise InputError("co_units", f"未知协办单位“{name}”")
        if unit is None or co.id != unit.id:
            co_ids.append(co.id)
    local_year = now.astimezone(cfg.office.hours().tz).year
    number = await repo.next_case_number(session, cfg.office.case_number_prefix.upper(), local_year)
    duplicate = await _find_duplicate(deps, session, new)
    case = Case(
        number=number,
        version=1,
        state=State.REGISTERED.value,
        level=new.level,
        source=new.source,
        source_ref=new.source_ref,
        petitioner=new.petitioner,
        contact=new.contact if has_contact(new.contact) else ANONYMOUS_CONTACT,
        contact_key=normalise_contact(new.contact) or None,
        title=new.title,
        title_key=normalise_title(new.title)[:200],
        content=new.content,
        received_at=new.received_at,
        category=new.category,
        co_unit_ids=co_ids,
        complex=new.complex,
        urgent=new.urgent,
        needs_leader=cfg.needs_leader(new.level, new.category),
        report_number=new.report_number,
        duplicate_of_id=duplicate.id if duplicate else None,
        extension_count=0,
        interim_count=0,
        route=routing.route.value,
        assign_due_at=same_day_deadline(now, deps.calendar.current, cfg.office.hours()) if handled else None,
        created_at=now,
        updated_at=now,
    )
    await add_case(session, case)
    data: dict[str, Any] = {"source": new.source, "auto_assign": unit is not None, "route": routing.route.value}
    if duplicate is not None:
        data["duplicate_of"] = duplicate.number
    await repo.add_event(
        session,
        case.id,
        now,
        Note.REGISTER,
        actor,
        to_state=State.REGISTERED.value,
        comment="重复反映，关联" + duplicate.number if duplicate else None,
        data=data,
    )
    await deps.notifier.case_changed(
        session, CaseChange(case=case, action=Note.REGISTER, actor=actor, at=now, to_state=State.REGISTERED, data=data)
    )
    if unit is not None:
        await apply_in_session(deps, session, case, Action.ASSIGN, actor, AssignInput(unit_id=unit.id))
    elif routing.route is Route.TRANSFER:  # 转办 at once, by the rule of 第九条
        transfer = TransferInput(routing.destination, routing.note)
        await apply_in_session(deps, session, case, Action.TRANSFER, Actor.system(), transfer)
    return case


async def register_case(deps: Deps, new: NewCase, actor: Actor) -> Registered:
    """Register (and, when the unit is known, assign) a case. Idempotent on (source, source_ref):
    the same message twice returns the existing case, even when two requests race."""
    if new.source_ref:
        async with deps.sessions() as session:
            existing = await repo.case_by_source_ref(session, new.source, new.source_ref)
            if existing is not None:
                return Registered(existing, created=False)
    try:
        async with deps.sessions() as session, session.begin():
            case = await _register(deps, session, new, actor)
        log.info("registered case %s state=%s", case.number, case.state)
        return Registered(case, created=True)
    except ConstraintError:
        if not new.source_ref:
            raise
        async with deps.sessions() as session:
            existing = await repo.case_by_source_ref(session, new.source, new.source_ref)
        if existing is None:
            raise
        return Registered(existing, created=False)


async def assign_case(deps: Deps, number: str, unit_name: str, actor: Actor) -> Case:
    """交办 a registered case, or 改派 one that is returned or not yet signed for, to ``unit_name``."""
    async with deps.sessions() as session, session.begin():
        case = await repo.case_by_number(session, number)
        if case is None:
            from bot.handlers.workflow import CaseNotFound

            raise CaseNotFound(number)
        unit = await directory.unit_by_name(session, unit_name)
        if unit is None:
            raise WorkflowError("unknown_unit", f"未知承办单位“{unit_name}”。", field="unit")
        action = assign_action(State(case.state), case.unit_id, unit.id)
        return await apply_in_session(deps, session, case, action, actor, AssignInput(unit_id=unit.id))
