"""An empty spreadsheet to start an import from: the 16 archive elements as the header row
(docs/import.md), required columns marked, the columns the bot fills itself marked as such."""

from __future__ import annotations

from pathlib import Path

from bot.domain.archive import ARCHIVE_ELEMENTS
from bot.exports.files import ExportError, write_atomically
from bot.handlers.excel_import import COLUMNS, EXTRA_COLUMNS, REQUIRED

NOTES: dict[str, str] = {
    "留言标题": "必填",
    "主要诉求": "必填",
    "留言时间": "如 2026-11-02 09:30，或 Excel 日期；不填为导入时间（办公地时间）",
    "级别": "省级 / 市级 / 县（区）级；不填为县（区）级",
    "核办单位": "填了即交办（须是已登记的单位名称）",
    "所属类型": "须是配置 [cases] categories 中的类型",
}


def header_cells() -> list[str]:
    """The 16 headers, in the notice's order, with a mark the import understands and strips."""
    cells = []
    for e in ARCHIVE_ELEMENTS:
        if e.label in REQUIRED:
            cells.append(f"{e.label}（必填）")
        elif COLUMNS[e.label] is None:
            cells.append(f"{e.label}（系统生成，留空）")
        else:
            cells.append(e.label)
    return cells


def write_import_template(path: Path) -> Path:
    """Write the template (.xlsx) atomically; ExportError for another file type or a bad path."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"{path.name}：模板只能写成 .xlsx 文件")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "留言登记"
    sheet.append(header_cells())
    for index, cell in enumerate(sheet[1], start=1):
        cell.font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = 28 if index == 7 else 16
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("说明")
    notes.append(["列名", "说明"])
    for e in ARCHIVE_ELEMENTS:
        text = NOTES.get(e.label) or ("由系统生成，导入时忽略" if COLUMNS[e.label] is None else "可选")
        notes.append([e.label, text])
    for header in EXTRA_COLUMNS:
        notes.append([header, "可选的附加列（见 docs/import.md）"])
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 60
    return write_atomically(path, workbook.save)
