"""一工单一档案: one case's dossier — the 16 archive elements, the workflow fields and the whole
timeline — as .xlsx or as a printable (A4) HTML page. Times are office local time."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.archive import ARCHIVE_ELEMENTS, missing_elements
from bot.domain.states import ReplyMode, State
from bot.exports.files import as_text_cell, cell_text, check_suffix, save_workbook, value_text, write_atomically
from bot.handlers.deps import Deps
from bot.handlers.read_models import archive_record, case_json, local_time_text
from bot.handlers.workflow import CaseNotFound
from bot.web.page_style import DOSSIER_CSS
from store import directory, repo

REPLY_PARTS = (
    ("attitude", "表明态度"),
    ("process", "工作过程"),
    ("verification", "核查情况"),
    ("feedback", "网友反馈"),
)
REPLY_MODES: dict[str, str] = {m.value: m.label for m in ReplyMode}
#: Timeline entries whose comment is a leader's instruction (批示).
INSTRUCTION_ACTIONS = frozenset({"instruction", "approve", "leader_reject"})


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


def _state_label(value: str | None) -> str:
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
    if data.get("proposal"):
        notes.append(f"回复建议：{data['proposal']}")
    if data.get("destination"):
        notes.append(f"转办去向：{data['destination']}")
    if data.get("days"):
        notes.append(f"期限：{data['days']}个工作日")
    if data.get("mode"):
        ground = f"（{data['ground']}）" if data.get("ground") else ""
        notes.append(REPLY_MODES.get(data["mode"], data["mode"]) + ground)
    if data.get("report_number"):
        notes.append(f"呈报文号：{data['report_number']}")
    if "resolved" in data:
        notes.append(f"是否化解：{value_text(data['resolved'])}")
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
        ("来源编号", value_text(data["source_ref"])),
        ("协办单位", "、".join(data["co_units"])),
        ("复杂件", value_text(data["complex"])),
        ("急件", value_text(data["urgent"])),
        ("需领导审定", value_text(data["needs_leader"])),
        ("交办时间", _local(data["assigned_at"])),
        ("退回期限", _local(data["return_deadline"])),
        ("期限依据", value_text(data["calendar_source"])),
        ("延期次数", str(extensions)),
        ("阶段性报告次数", str(interims)),
        ("回复建议", value_text(data.get("reply_proposal"))),
        ("办理方式", value_text(data.get("route_label"))),
        ("转办去向", value_text(data.get("transfer_to"))),
        ("转办时间", _local(data.get("transferred_at"))),
        ("转办说明", value_text(data.get("transfer_note"))),
        ("重复反映", f"关联 {data['duplicate_of']}" if data["duplicate_of"] else ""),
        ("属实程度", value_text(data["truthfulness"])),
        ("回复方式", REPLY_MODES.get(data["reply_mode"] or "", value_text(data["reply_mode"]))),
        ("不公开理由", value_text(data["reply_ground"])),
        ("公开回复", value_text(data.get("public_reply"))),
        ("公开回复时间", _local(data.get("public_replied_at"))),
        ("告知网友方式", value_text(data.get("told_via"))),
        ("告知时间", _local(data.get("told_at"))),
    ]
    fields += [(label, value_text(reply.get(key))) for key, label in REPLY_PARTS]
    fields += [("满意度", value_text(data["satisfaction"])), ("领导批示", _instructions(data["timeline"]))]
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
        units = await directory.unit_names(session, unit_ids)
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
        elements=[(el.label, value_text(record.get(el.key))) for el in ARCHIVE_ELEMENTS],
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
    sheet: Any = workbook.active
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
            as_text_cell(sheet.cell(sheet.max_row, 2)).alignment = wrap
        if section == "十六要素":
            sheet.append(["要素检查", dossier.check_text])
            sheet.cell(sheet.max_row, 1).font = bold
    sheet.append([])
    sheet.append(["生成时间", dossier.generated_at])
    _print_setup(sheet)
    _timeline_sheet(workbook, dossier, bold, wrap)
    save_workbook(workbook, path)


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
            as_text_cell(cell).alignment = wrap
    _print_setup(sheet, landscape=True, title_rows="1:1")


HTML_STYLE = DOSSIER_CSS  # bot/web/page_style.py: laid out for phones as well as for A4


def _e(value: Any) -> str:
    return html.escape(value_text(value), quote=True)


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


async def export_dossier(deps: Deps, number: str, path: Path | str) -> Path:
    """Write the dossier of case ``number`` to ``path``: printable HTML when it ends with .html,
    else .xlsx. Raises CaseNotFound for an unknown 文号, ExportError for another file type."""
    path = Path(path)
    suffix = check_suffix(path, (".xlsx", ".html"))
    dossier = await load_dossier(deps, number)
    if suffix == ".html":
        write_atomically(path, render_dossier_html(dossier))
    else:
        write_dossier_xlsx(dossier, path)
    return path
