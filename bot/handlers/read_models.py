"""Read models: a case as JSON, its archive record, its timeline — for the API, CLI and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.archive import ARCHIVE_ELEMENTS, COURTESY_NOT_APPLICABLE, is_blank
from bot.domain.states import Route, State, timeline_label
from store import directory, repo
from store.db import Session
from store.models import Case, CaseEvent


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def local_time_text(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def event_label(action: str) -> str:
    return timeline_label(action)


def event_json(event: CaseEvent, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "at": iso(event.at, tz),
        "action": event.action,
        "label": event_label(event.action),
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor_name,
        "comment": event.comment,
        "data": event.data,
    }


async def archive_record(session: Session, case: Case, tz: ZoneInfo) -> dict[str, Any]:
    """The 16 elements, keyed as in ``ARCHIVE_ELEMENTS`` (values as people read them)."""
    names = await directory.unit_names(session, [case.unit_id] if case.unit_id else [])
    record: dict[str, Any] = {
        "number": case.number,
        "level": case.level,
        "source": case.source,
        "petitioner": case.petitioner,
        "contact": case.contact,
        "title": case.title,
        "content": case.content,
        "received_at": local_time_text(case.received_at, tz) or None,
        "unit": names.get(case.unit_id) if case.unit_id else None,
        "due_at": local_time_text(case.due_at, tz) or None,
        "category": case.category,
        "handling": case.handling,
        "resolved": None if case.resolved is None else ("是" if case.resolved else "否"),
        "evaluation": case.evaluation,
        "followed_up_at": local_time_text(case.followed_up_at, tz) or None,
        "report_number": case.report_number,
    }
    if case.route == Route.COURTESY.value:  # 第九条: no unit, deadline or 回访 to record
        record.update({k: v for k, v in COURTESY_NOT_APPLICABLE.items() if is_blank(record.get(k))})
    return record


def archive_row(record: dict[str, Any], *, include_personal: bool = True) -> list[Any]:
    return [(record.get(e.key) if include_personal or e.key != "contact" else "") for e in ARCHIVE_ELEMENTS]


async def case_json(
    session: Session,
    case: Case,
    *,
    include_contact: bool = True,
    with_timeline: bool = True,
    tz: ZoneInfo,
) -> dict[str, Any]:
    unit_ids = [case.unit_id] if case.unit_id else []
    unit_ids += [int(u) for u in case.co_unit_ids or []]
    names = await directory.unit_names(session, unit_ids)
    duplicate_of = None
    if case.duplicate_of_id:
        original = await repo.case_by_id(session, case.duplicate_of_id)
        duplicate_of = original.number if original else None
    data: dict[str, Any] = {
        "number": case.number,
        "state": case.state,
        "state_label": State(case.state).label,
        "version": case.version,
        "title": case.title,
        "content": case.content,
        "level": case.level,
        "source": case.source,
        "source_ref": case.source_ref,
        "petitioner": case.petitioner,
        "category": case.category,
        "received_at": iso(case.received_at, tz),
        "unit": names.get(case.unit_id) if case.unit_id else None,
        "co_units": [names[int(u)] for u in case.co_unit_ids or [] if int(u) in names],
        "complex": case.complex,
        "urgent": case.urgent,
        "needs_leader": case.needs_leader,
        "assigned_at": iso(case.assigned_at, tz),
        "due_at": iso(case.due_at, tz),
        "return_deadline": iso(case.return_deadline, tz),
        "calendar_source": case.calendar_source,
        "truthfulness": case.truthfulness,
        "reply": case.reply,
        "reply_mode": case.reply_mode,
        "reply_ground": case.reply_ground,
        "public_reply": case.public_reply,
        "public_replied_at": iso(case.public_replied_at, tz),
        "told_via": case.told_via,
        "told_at": iso(case.told_at, tz),
        "resolved": case.resolved,
        "satisfaction": case.satisfaction,
        "evaluation": case.evaluation,
        "followed_up_at": iso(case.followed_up_at, tz),
        "report_number": case.report_number,
        "duplicate_of": duplicate_of,
        "repeated": case.duplicate_of_id is not None,
        "created_at": iso(case.created_at, tz),
        # 第九条: how the case is dealt with, and a transfer's 去向, date and 转办说明
        "route": case.route,
        "route_label": Route(case.route).label,
        "transfer_to": case.transfer_to,
        "transfer_note": case.transfer_note,
        "transferred_at": iso(case.transferred_at, tz),
        "reply_proposal": case.reply_proposal,  # 回复建议 of the latest interim report (第十条)
    }
    if include_contact:
        data["contact"] = case.contact
    if with_timeline:
        data["timeline"] = [event_json(e, tz) for e in await repo.timeline(session, case.id)]
    return data
