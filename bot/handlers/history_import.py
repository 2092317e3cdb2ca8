"""Past cases from a spreadsheet (``liuyan case import --history``): brought in with their own
dates and final states (办结 closed / 归档 archived) for the statistics, the scoring and the
archive — never into the live workflow. No cards, no messages, no nudges (the cases are not
open), no deadlines computed (到期时间 is taken from the file when it is there).

The sheet is read like the normal import (docs/import.md, same header rules); the columns the
normal import ignores are used here, plus the history columns of ``HISTORY_EXTRA``. Rows are
idempotent on 留言文号 (kept as the case's number when given) and on (留言来源平台, 来源编号).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.archive import ARCHIVE_ELEMENTS
from bot.domain.duplicates import normalise_contact, normalise_title
from bot.domain.lifecycle import Actor
from bot.domain.states import Note, State
from bot.handlers.deps import Deps
from bot.handlers.excel_import import (
    EXTRA_COLUMNS,
    Header,
    ImportFileError,
    ImportResult,
    Progress,
    RowCase,
    RowError,
    Sheet,
    cell_value,
    find_header,
    is_blank,
    open_sheet,
    parse_cell_time,
)
from bot.handlers.intake import InputError, validate_new_case
from store import directory, repo
from store import history as rows
from store.models import Case

#: history columns beyond the 16 elements: header → field
HISTORY_EXTRA: dict[str, str] = {
    "交办时间": "assigned_at",
    "签收时间": "accepted_at",
    "回复时间": "replied_at",
    "办结时间": "closed_at",
    "归档时间": "archived_at",
    "状态": "state",
}
COLUMNS: dict[str, str | None] = {**{e.label: e.key for e in ARCHIVE_ELEMENTS}, **EXTRA_COLUMNS, **HISTORY_EXTRA}
TIMES = ("due_at", "followed_up_at", "assigned_at", "accepted_at", "replied_at", "closed_at", "archived_at")
#: fields of the history only (the rest goes through the intake's validation)
HISTORY_FIELDS = frozenset({*TIMES, "number", "handling", "resolved", "evaluation", "state"})
LABELS: dict[str, str] = {f: label for label, f in COLUMNS.items() if f is not None}
STATES = {
    "办结": State.CLOSED,
    "已办结": State.CLOSED,
    "closed": State.CLOSED,
    "归档": State.ARCHIVED,
    "已归档": State.ARCHIVED,
    "archived": State.ARCHIVED,
}
EVENT = Note.HISTORY_IMPORT


def _state(value: Any, archived_at: datetime | None) -> State:
    if value is None:
        return State.ARCHIVED if archived_at else State.CLOSED
    state = STATES.get(str(value).strip().lower())
    if state is None:
        raise InputError("state", f"未知状态“{value}”（可选：办结、归档）")
    return state


def _resolved(value: Any) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in {"是", "已化解", "true", "1", "yes"}:
        return True
    if text in {"否", "未化解", "false", "0", "no"}:
        return False
    raise InputError("resolved", f"应为 是/否，实际为“{value}”")


def history_values(data: Mapping[str, Any], tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The history columns of one row as case values (times aware, state decided)."""
    values: dict[str, Any] = {}
    for key in TIMES:
        if data.get(key) is not None:
            try:
                when = parse_cell_time(data[key], tz)
            except InputError as exc:
                raise InputError(key, exc.message) from exc
            if when > now:
                raise InputError(key, "不能晚于当前时间")
            values[key] = when
    for key in ("handling", "evaluation"):
        if data.get(key) is not None:
            values[key] = str(data[key]).strip()
    values["resolved"] = _resolved(data.get("resolved"))
    values["state"] = _state(data.get("state"), values.get("archived_at"))
    return values


def _number(data: Mapping[str, Any]) -> str | None:
    value = data.get("number")
    if value is None:
        return None
    number = str(value).strip().upper()
    if not number or len(number) > 32:
        raise InputError("number", "留言文号须为1至32字")
    return number


async def import_history_row(deps: Deps, data: dict[str, Any], actor: Actor, where: str) -> tuple[Case, bool]:
    """One past case, in its own transaction; returns (case, created)."""
    cfg = deps.config
    tz = cfg.office.hours().tz
    now = deps.clock.now()
    intake = {k: v for k, v in data.items() if k not in HISTORY_FIELDS}
    if intake.get("received_at") is None:
        raise InputError("received_at", "历史件须填留言时间")
    new = validate_new_case(intake, now=now, tz=tz, categories=cfg.cases.categories)
    past = history_values(data, tz, now)
    number = _number(data)
    async with deps.sessions() as session, session.begin():
        existing = await repo.case_by_number(session, number) if number else None
        if existing is None and new.source_ref:
            existing = await repo.case_by_source_ref(session, new.source, new.source_ref)
        if existing is not None and number and existing.number == number and not _same_message(existing, new):
            raise InputError("number", f"留言文号 {number} 已被另一件留言使用（{existing.title}）")
        if existing is not None:
            return existing, False
        unit_id = None
        if new.unit:
            unit = await directory.unit_by_name(session, new.unit)
            if unit is None:
                raise InputError("unit", f"未知单位“{new.unit}”")
            unit_id = unit.id
        year = new.received_at.astimezone(tz).year
        prefix = cfg.office.case_number_prefix.upper()
        if number is None:
            number = await repo.next_case_number(session, prefix, year)
        else:
            await _keep_counter_ahead(session, prefix, number)
        state: State = past.pop("state")
        closed_at = past.get("closed_at") or past.get("followed_up_at") or past.get("replied_at") or new.received_at
        case = Case(
            number=number,
            version=1,
            state=state.value,
            level=new.level,
            source=new.source,
            source_ref=new.source_ref,
            petitioner=new.petitioner,
            contact=new.contact,
            contact_key=normalise_contact(new.contact) or None,
            title=new.title,
            title_key=normalise_title(new.title)[:200],
            content=new.content,
            received_at=new.received_at,
            category=new.category,
            unit_id=unit_id,
            co_unit_ids=[],
            complex=new.complex,
            urgent=new.urgent,
            needs_leader=cfg.needs_leader(new.level, new.category),
            report_number=new.report_number,
            extension_count=0,
            interim_count=0,
            created_at=now,
            updated_at=now,
            **{**past, "closed_at": closed_at},
        )
        await rows.add_past_case(session, case)
        # the audit trail says what this is: no transition happened in the bot
        await repo.add_event(
            session,
            case.id,
            now,
            EVENT,
            actor,
            to_state=state.value,
            comment=f"历史数据导入（{where}）",
            data={"source_file": where},
        )
        return case, True


def _same_message(case: Case, new: Any) -> bool:
    return bool(case.title == new.title and case.received_at == new.received_at)


async def _keep_counter_ahead(session: Any, prefix: str, number: str) -> None:
    """A kept 留言文号 of the bot's own form: new numbers of that year must come after it."""
    match = re.fullmatch(rf"{re.escape(prefix)}(\d{{4}})-(\d{{6}})", number)
    if match:
        await rows.raise_counter(session, f"case:{match.group(1)}", int(match.group(2)))


def _label(field: str | None) -> str:
    return LABELS.get(field or "", field or "行")


async def _rows(
    deps: Deps, sheet: Sheet, header: Header, actor: Actor, name: str, result: ImportResult, progress: Progress | None
) -> None:
    tz = deps.config.office.hours().tz
    total = sheet.total_rows - header.row if sheet.total_rows else None
    for done, (row, values) in enumerate(sheet.rows, start=1):
        if not is_blank(values):
            data: dict[str, Any] = {}
            for column in header.columns:
                if column.field is None or column.index >= len(values):
                    continue
                value = cell_value(values[column.index])
                if value is not None:
                    data[column.field] = value
            try:
                if data.get("received_at") is not None:
                    data["received_at"] = parse_cell_time(data["received_at"], tz)
                case, created = await import_history_row(deps, data, actor, f"{name} 第{row}行")
            except InputError as exc:
                result.errors.append(RowError(row, _label(exc.field), exc.message))
            else:
                (result.imported if created else result.skipped).append(RowCase(row, case.number))
        if progress is not None:
            progress(done, max(total, done) if total is not None else None)


async def import_history(deps: Deps, path: Path, actor: Actor, *, progress: Progress | None = None) -> ImportResult:
    """Import every row of ``path`` as a past case; bad rows are listed, the others go in."""
    sheet = open_sheet(path)
    try:
        header = find_header(sheet.rows, sheet.name, COLUMNS)
        result = ImportResult(warnings=list(header.warnings))
        try:
            await _rows(deps, sheet, header, actor, Path(path).name, result, progress)
        except ImportFileError as exc:
            result.errors.append(RowError(exc.row or 0, "文件", str(exc)))
    finally:
        sheet.close()
    return result
