"""Spreadsheet and printable exports: the archive list (16 elements) and the one-case dossier.

``export_archive`` streams: cases are read in batches and written with openpyxl's write-only
workbook, so a year of cases never sits in memory. ``export_dossier`` writes 一工单一档案 for one
case — the 16 elements, the workflow fields and the whole timeline — as .xlsx or printable HTML.

Dates and times are office local time (Asia/Shanghai by default, ``[office] timezone``).
"""

from __future__ import annotations

import html
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.archive import ARCHIVE_ELEMENTS, missing_elements
from bot.handlers.deps import Deps
from bot.handlers.read_models import archive_record, archive_row, case_json, local_time_text
from bot.handlers.workflow import CaseNotFound
from bot.web.page_style import DOSSIER_CSS
from store import repo

ARCHIVE_SHEET = "留言档案"
CHECK_SHEET = "要素检查"
CHECK_HEADERS = ("留言文号", "状态", "要素检查", "可立卷")
NOTE_SHEET = "说明"
BATCH_SIZE = 500
EXCEL_CELL_MAX = 32767  # characters Excel accepts in one cell
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
REPLY_PARTS = (
    ("attitude", "表明态度"),
    ("process", "工作过程"),
    ("verification", "核查情况"),
    ("feedback", "网友反馈"),
)
REPLY_MODES = {"public": "公开回复", "individual": "个别回复"}
#: Timeline entries whose comment is a leader's instruction (批示).
INSTRUCTION_ACTIONS = frozenset({"instruction", "approve", "leader_reject"})


class ExportError(Exception):
    """The export cannot be written (bad period, unsupported file type, unwritable path)."""


# --- cells and files ---------------------------------------------------------------------------


def cell_text(value: Any) -> Any:
    """A value openpyxl can store: no control characters, not longer than Excel allows."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    return text if len(text) <= EXCEL_CELL_MAX else text[: EXCEL_CELL_MAX - 6] + "…（已截断）"


def _as_text_cell(cell: Any) -> Any:
    # openpyxl would store "=…" as a formula; citizens' text must never become one.
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def _save(workbook: Any, path: Path) -> None:
    """Write next to ``path`` and rename, so a failed export never leaves half a file behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        workbook.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"无法写入 {path}：{exc.strerror or exc}") from exc


def _check_suffix(path: Path, allowed: Sequence[str]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ExportError(f"{path.name}：文件名应以 {' 或 '.join(allowed)} 结尾")
    return suffix


# --- the archive list --------------------------------------------------------------------------


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


@dataclass(frozen=True)
class ElementCheck:
    """要素检查 of one case: which of the 16 elements are missing, and whether it can be archived."""

    number: str
    state: str
    missing: tuple[str, ...]

    @property
    def verdict(self) -> str:
        return "齐全" if not self.missing else "缺少：" + "、".join(self.missing)

    @property
    def archivable(self) -> str:
        """可立卷: only a closed case with all 16 elements (the lifecycle guard says the same)."""
        if self.state == "archived":
            return "已立卷" if not self.missing else "已立卷（要素不全）"
        if self.state != "closed":
            return "否（未办结）"
        return "是" if not self.missing else "否（要素不全）"


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
                batch.append(
                    (
                        archive_row(record, include_personal=include_personal),
                        ElementCheck(c.number, c.state, missing_elements(record)),
                    )
                )
        if not batch:
            return
        yield batch
        offset += len(batch)


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
        value = cell_text(value)
        if isinstance(value, str) and value.startswith("="):
            value = _as_text_cell(WriteOnlyCell(sheet, value=value))
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
    _check_suffix(path, (".xlsx",))
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
                checks.append([check.number, _state_label(check.state), check.verdict, check.archivable])
            incomplete += bool(check.missing)
            closed_incomplete += bool(check.missing) and check.state in ("closed", "archived")
        count += len(batch)
    made = local_time_text(deps.clock.now(), tz)
    notes = [
        ("统计期间", f"{start.isoformat()} 至 {end.isoformat()}（按留言时间，{tz.key}）"),
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
    _save(workbook, path)
    return ArchiveExport(path=path, start=start, end=end, count=count)


# --- the one-case dossier ----------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    step: str
    actor: str
    said: str
    states: str  # "已交办 → 办理中", or ""


@dataclass(frozen=True)
class Dossier:
    number: str
    title: str
    elements: list[tuple[str, str]]  # (label, value) — the 16 archive elements
    workflow: list[tuple[str, str]]  # (label, value) — 属实程度, reply, 批示 …
    timeline: list[TimelineEntry]
    generated_at: str
    missing: tuple[str, ...] = ()  # 要素检查: labels of the empty archive elements

    @property
    def check_text(self) -> str:
        if not self.missing:
            return "十六要素齐全"
        return "缺少：" + "、".join(self.missing) + "（要素不全的留言件不能立卷）"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _state_label(value: str | None) -> str:
    from bot.domain.states import State

    if value is None:
        return ""
    return State(value).label if value in State._value2member_map_ else value


def _said(event: dict[str, Any], units: dict[int, str]) -> str:
    """What was said at a step: the comment, plus what the step's data records."""
    parts = [event["comment"]] if event.get("comment") else []
    return "\n".join(parts + _data_notes(event.get("data") or {}, units))


def _data_notes(data: dict[str, Any], units: dict[int, str]) -> list[str]:
    notes = []
    if data.get("unit_id") in units:
        notes.append(f"承办单位：{units[data['unit_id']]}")
    if data.get("truthfulness"):
        notes.append(f"属实程度：{data['truthfulness']}")
        notes += [f"【{label}】{data[key]}" for key, label in REPLY_PARTS if data.get(key)]
    if data.get("days"):
        notes.append(f"期限：{data['days']}个工作日")
    if data.get("mode"):
        ground = f"（{data['ground']}）" if data.get("ground") else ""
        notes.append(REPLY_MODES.get(data["mode"], data["mode"]) + ground)
    if data.get("report_number"):
        notes.append(f"呈报文号：{data['report_number']}")
    if "resolved" in data:
        notes.append(f"是否化解：{_text(data['resolved'])}")
    if data.get("satisfaction"):
        notes.append(f"满意度：{data['satisfaction']}")
    return notes


def _instructions(timeline: list[dict[str, Any]]) -> str:
    lines = [
        f"{e['at'][:16].replace('T', ' ')} {e['actor']}：{e['comment']}"
        for e in timeline
        if e["action"] in INSTRUCTION_ACTIONS and e.get("comment")
    ]
    return "\n".join(lines)


def _workflow_fields(data: dict[str, Any], extensions: int, interims: int) -> list[tuple[str, str]]:
    reply = data.get("reply") or {}
    fields = [
        ("当前状态", data["state_label"]),
        ("来源编号", _text(data["source_ref"])),
        ("协办单位", "、".join(data["co_units"])),
        ("复杂件", _text(data["complex"])),
        ("急件", _text(data["urgent"])),
        ("需领导审定", _text(data["needs_leader"])),
        ("交办时间", _local(data["assigned_at"])),
        ("退回期限", _local(data["return_deadline"])),
        ("期限依据", _text(data["calendar_source"])),
        ("延期次数", str(extensions)),
        ("阶段性报告次数", str(interims)),
        ("重复反映", f"关联 {data['duplicate_of']}" if data["duplicate_of"] else ""),
        ("属实程度", _text(data["truthfulness"])),
        ("回复方式", REPLY_MODES.get(data["reply_mode"] or "", _text(data["reply_mode"]))),
        ("不公开理由", _text(data["reply_ground"])),
    ]
    fields += [(label, _text(reply.get(key))) for key, label in REPLY_PARTS]
    fields += [("满意度", _text(data["satisfaction"])), ("领导批示", _instructions(data["timeline"]))]
    return fields


def _local(iso_text: str | None) -> str:
    return iso_text[:16].replace("T", " ") if iso_text else ""


async def load_dossier(deps: Deps, number: str) -> Dossier:
    """Everything 一工单一档案 holds for the case ``number`` (CaseNotFound when there is none)."""
    tz = deps.config.office.hours().tz
    async with deps.sessions() as session:
        case = await repo.case_by_number(session, number)
        if case is None:
            raise CaseNotFound(number)
        record = await archive_record(session, case, tz)
        data = await case_json(session, case, tz=tz)
        unit_ids = [e["data"]["unit_id"] for e in data["timeline"] if (e.get("data") or {}).get("unit_id")]
        units = await repo.unit_names(session, unit_ids)
        extensions, interims = case.extension_count, case.interim_count
    timeline = [
        TimelineEntry(
            at=_local(e["at"]),
            step=e["label"],
            actor=e["actor"],
            said=_said(e, units),
            states=f"{_state_label(e['from'])} → {_state_label(e['to'])}"
            if e["from"] and e["to"]
            else _state_label(e["to"]),
        )
        for e in data["timeline"]
    ]
    return Dossier(
        number=data["number"],
        title=data["title"],
        elements=[(el.label, _text(record.get(el.key))) for el in ARCHIVE_ELEMENTS],
        workflow=_workflow_fields(data, extensions, interims),
        timeline=timeline,
        generated_at=local_time_text(deps.clock.now(), tz),
        missing=missing_elements(record),
    )


def write_dossier_xlsx(dossier: Dossier, path: Path) -> None:
    """Sheet 档案 (elements and workflow fields, label | value) and sheet 办理记录 (the timeline)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "档案"
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 90
    sheet.append([f"留言档案 {dossier.number}", ""])
    sheet["A1"].font = Font(bold=True, size=14)
    for section, rows in (("十六要素", dossier.elements), ("办理信息", dossier.workflow)):
        sheet.append([])
        sheet.append([section])
        sheet.cell(sheet.max_row, 1).font = bold
        for label, value in rows:
            sheet.append([label, cell_text(value)])
            sheet.cell(sheet.max_row, 1).font = bold
            _as_text_cell(sheet.cell(sheet.max_row, 2)).alignment = wrap
        if section == "十六要素":
            sheet.append(["要素检查", dossier.check_text])
            sheet.cell(sheet.max_row, 1).font = bold
    sheet.append([])
    sheet.append(["生成时间", dossier.generated_at])
    _print_setup(sheet)
    _timeline_sheet(workbook, dossier, bold, wrap)
    _save(workbook, path)


def _print_setup(sheet: Any, *, landscape: bool = False, title_rows: str | None = None) -> None:
    """A4, as wide as the page, for printing the dossier from Excel as well."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        sheet.print_title_rows = title_rows


def _timeline_sheet(workbook: Any, dossier: Dossier, bold: Any, wrap: Any) -> None:
    sheet = workbook.create_sheet("办理记录")
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDE", (17, 14, 16, 70, 22), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.append(["时间", "环节", "办理人", "内容", "状态变化"])
    for cell in sheet[1]:
        cell.font = bold
    for e in dossier.timeline:
        sheet.append([e.at, e.step, cell_text(e.actor), cell_text(e.said), e.states])
        for cell in sheet[sheet.max_row]:
            _as_text_cell(cell).alignment = wrap
    _print_setup(sheet, landscape=True, title_rows="1:1")


HTML_STYLE = DOSSIER_CSS  # bot/web/page_style.py: laid out for phones as well as for A4


def _e(value: Any) -> str:
    return html.escape(_text(value), quote=True)


def _fields_table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in rows)
    return f'<table class="fields"><tbody>{body}</tbody></table>'


def _timeline_table(entries: Sequence[TimelineEntry]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("时间", "环节", "办理人", "内容", "状态变化"))
    body = "".join(
        f"<tr><td>{_e(e.at)}</td><td>{_e(e.step)}</td><td>{_e(e.actor)}</td><td>{_e(e.said)}</td>"
        f"<td>{_e(e.states)}</td></tr>"
        for e in entries
    )
    return f'<table class="timeline"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_dossier_html(dossier: Dossier) -> str:
    """A self-contained, printable (A4) page; every value is HTML-escaped."""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>留言档案 {_e(dossier.number)}</title><style>{HTML_STYLE}</style></head><body>"
        '<p class="tools noprint"><button type="button" onclick="window.print()">打印</button></p>'
        f'<h1>留言办理档案</h1><p class="sub">{_e(dossier.number)}　{_e(dossier.title)}</p>'
        f"<h2>十六要素</h2>{_fields_table(dossier.elements)}"
        f'<p class="check">要素检查：{_e(dossier.check_text)}</p>'
        f"<h2>办理信息</h2>{_fields_table(dossier.workflow)}"
        f"<h2>办理记录</h2>{_timeline_table(dossier.timeline)}"
        f"<footer>生成时间：{_e(dossier.generated_at)}</footer>"
        "</body></html>\n"
    )


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"无法写入 {path}：{exc.strerror or exc}") from exc


async def export_dossier(deps: Deps, number: str, path: Path | str) -> Path:
    """Write the dossier of case ``number`` to ``path``: printable HTML when it ends with .html,
    else .xlsx. Raises CaseNotFound for an unknown 文号, ExportError for another file type."""
    path = Path(path)
    suffix = _check_suffix(path, (".xlsx", ".html"))
    dossier = await load_dossier(deps, number)
    if suffix == ".html":
        _write_text(path, render_dossier_html(dossier))
    else:
        write_dossier_xlsx(dossier, path)
    return path
