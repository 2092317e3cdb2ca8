"""The archive list: the 16 elements of every case received in a period, as .xlsx.

``export_archive`` streams: cases are read in batches and written with openpyxl's write-only
workbook, so a year of cases never sits in memory. Dates and times are office local time
(``[office] timezone``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.archive import ARCHIVE_ELEMENTS, ElementCheck, missing_elements
from bot.exports.files import ExportError, as_text_cell, cell_text, check_suffix, save_workbook
from bot.handlers.deps import Deps
from bot.handlers.read_models import archive_record, archive_row, local_time_text
from store import repo
from store.models import Case

ARCHIVE_SHEET = "留言档案"
CHECK_SHEET = "要素检查"
CHECK_HEADERS = ("留言文号", "状态", "要素检查", "可立卷")
NOTE_SHEET = "说明"
BATCH_SIZE = 500
#: Elements written as Excel date-times (office local time; Excel cells have no time zone).
DATE_KEYS = ("received_at", "due_at", "followed_up_at")
DATE_FORMAT = "yyyy-mm-dd hh:mm"
_DATE_INDEXES = [i for i, e in enumerate(ARCHIVE_ELEMENTS) if e.key in DATE_KEYS]
#: Column widths (characters) of the archive sheet, by element key.
WIDTHS: dict[str, int] = {
    "number": 18,
    "level": 11,
    "source": 18,
    "petitioner": 10,
    "contact": 16,
    "title": 32,
    "content": 60,
    "received_at": 17,
    "unit": 18,
    "due_at": 17,
    "category": 11,
    "handling": 50,
    "resolved": 9,
    "evaluation": 30,
    "followed_up_at": 17,
    "report_number": 18,
}


@dataclass(frozen=True)
class ArchiveExport:
    path: Path
    start: date
    end: date
    count: int


def period_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in local time: both end dates included."""
    if start > end:
        raise ExportError(f"开始日期 {start} 晚于结束日期 {end}")
    return datetime.combine(start, time(), tz), datetime.combine(end + timedelta(days=1), time(), tz)


async def archive_rows(
    deps: Deps, start: date, end: date, *, include_personal: bool = True, batch_size: int = BATCH_SIZE
) -> AsyncIterator[list[list[Any]]]:
    """Archive rows of the cases received in [start, end], in 文号 order, one batch at a time
    (a fresh session per batch: nothing accumulates)."""
    async for batch in _archive_batches(deps, start, end, include_personal=include_personal, batch_size=batch_size):
        yield [row for row, _ in batch]


async def _archive_batches(
    deps: Deps, start: date, end: date, *, include_personal: bool, batch_size: int
) -> AsyncIterator[list[tuple[list[Any], ElementCheck]]]:
    tz = deps.config.office.hours().tz
    received_from, received_to = period_bounds(start, end, tz)
    offset = 0
    while True:
        async with deps.sessions() as session:
            f = repo.CaseFilter(received_from=received_from, received_to=received_to, limit=batch_size, offset=offset)
            cases = await repo.list_cases(session, f)
            batch = []
            for c in cases:
                record = await archive_record(session, c, tz)
                row = archive_row(record, include_personal=include_personal)
                for index in _DATE_INDEXES:
                    row[index] = local_datetime(getattr(c, ARCHIVE_ELEMENTS[index].key), tz)
                batch.append((row, ElementCheck(c.number, c.state, missing_elements(record))))
        if not batch:
            return
        yield batch
        offset += len(batch)


def local_datetime(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """An instant as the office's wall-clock time, without zone (what an Excel date cell holds),
    to the minute as the sheet shows it."""
    if value is None:
        return None
    return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


def _archive_sheet(workbook: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(ARCHIVE_SHEET)
    sheet.freeze_panes = "A2"
    for index, element in enumerate(ARCHIVE_ELEMENTS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(element.key, 14)
    bold, center = Font(bold=True), Alignment(horizontal="center", vertical="center")
    header = []
    for element in ARCHIVE_ELEMENTS:
        cell = WriteOnlyCell(sheet, value=element.label)
        cell.font, cell.alignment = bold, center
        header.append(cell)
    sheet.append(header)
    return sheet


def _check_sheet(workbook: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(CHECK_SHEET)
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCD", (18, 10, 60, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    header = []
    for label in CHECK_HEADERS:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    return sheet


def _append_row(sheet: Any, values: Sequence[Any]) -> None:
    from openpyxl.cell import WriteOnlyCell

    cells: list[Any] = []
    for value in values:
        if isinstance(value, datetime):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = DATE_FORMAT
            cells.append(cell)
            continue
        value = cell_text(value)
        if isinstance(value, str) and value.startswith("="):
            value = as_text_cell(WriteOnlyCell(sheet, value=value))
        cells.append(value)
    sheet.append(cells)


def _note_sheet(workbook: Any, rows: Sequence[tuple[str, str]]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(NOTE_SHEET)
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 70
    bold = Font(bold=True)
    for label, text in rows:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        sheet.append([cell, text])


async def export_archive(
    deps: Deps,
    start: date,
    end: date,
    path: Path | str,
    *,
    include_personal: bool = True,
    check_elements: bool = True,
) -> ArchiveExport:
    """Write the archive list of the cases received from ``start`` to ``end`` (local dates, both
    included) to an .xlsx: sheet 留言档案 has the 16 elements in the notice's order, sheet 要素检查
    (unless ``check_elements=False``) each case's missing elements and whether it can be archived
    (立卷), sheet 说明 the period, the counts and when it was made. ``include_personal=False``
    leaves 联系方式 empty (for a file that may be forwarded to a group)."""
    from openpyxl import Workbook

    path = Path(path)
    check_suffix(path, (".xlsx",))
    tz = deps.config.office.hours().tz
    period_bounds(start, end, tz)  # check the period before doing any work
    workbook = Workbook(write_only=True)
    sheet = _archive_sheet(workbook)
    checks = _check_sheet(workbook) if check_elements else None
    count = incomplete = closed_incomplete = 0
    async for batch in _archive_batches(deps, start, end, include_personal=include_personal, batch_size=BATCH_SIZE):
        for values, check in batch:
            _append_row(sheet, values)
            if checks is not None:
                checks.append([check.number, check.state_label, check.verdict, check.archivable])
            incomplete += not check.complete
            closed_incomplete += not check.complete and check.ready
        count += len(batch)
    made = local_time_text(deps.clock.now(), tz)
    notes = [
        ("统计期间", f"{start.isoformat()} 至 {end.isoformat()}（按留言时间，{tz.key}）"),
        ("时间", f"留言时间、到期时间、回访时间为 Excel 日期时间，均为办公地时间（{tz.key}）"),
        ("件数", str(count)),
        ("生成时间", made),
        (
            "联系方式",
            "已包含（个人信息，仅供承办和存档使用，不得转发到群）" if include_personal else "未导出（已留空）",
        ),
    ]
    if check_elements:
        notes.append(
            (
                "要素不全",
                (
                    f"{incomplete} 件，其中已办结或已立卷 {closed_incomplete} 件"
                    f"（见“{CHECK_SHEET}”表；十六要素不全的留言件不能立卷）"
                ),
            )
        )
    _note_sheet(workbook, notes)
    save_workbook(workbook, path)
    return ArchiveExport(path=path, start=start, end=end, count=count)


async def ledger_workbook(
    deps: Deps, case_ids: Sequence[int], *, personal: Callable[[Case], bool], batch_size: int = BATCH_SIZE
) -> bytes:
    """The archive sheet (16 elements, the same columns and cells as ``export_archive``) of the
    cases ``case_ids`` in that order, as .xlsx bytes: the desk's filtered ledger. 联系方式 only
    and 反映人 only where ``personal(case)`` (the viewer sees the petitioner)."""
    from io import BytesIO

    from openpyxl import Workbook

    from store.desk import cases_by_ids

    tz = deps.config.office.hours().tz
    workbook = Workbook(write_only=True)
    sheet = _archive_sheet(workbook)
    for start in range(0, len(case_ids), batch_size):
        async with deps.read_sessions() as session:
            for c in await cases_by_ids(session, list(case_ids[start : start + batch_size])):
                record = await archive_record(session, c, tz)
                full = personal(c)
                if not full:  # a co-unit gets the matter, not the person (docs/visibility.md)
                    record["petitioner"] = None
                row = archive_row(record, include_personal=full)
                for index in _DATE_INDEXES:
                    row[index] = local_datetime(getattr(c, ARCHIVE_ELEMENTS[index].key), tz)
                _append_row(sheet, row)
    _note_sheet(
        workbook,
        [
            ("件数", str(len(case_ids))),
            ("生成时间", local_time_text(deps.clock.now(), tz)),
            ("联系方式", "仅含导出人有权查看的（个人信息，仅供承办和存档使用，不得转发到群）"),
        ],
    )
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
