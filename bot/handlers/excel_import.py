"""Register cases from a spreadsheet (.xlsx) whose header row names the 16 archive elements.

The column reference is docs/import.md. Every row is its own transaction (``register_case``): a
bad row is reported with its row number and reason and the good rows still go in; a row is never
half-imported. Rows are idempotent on (留言来源平台, 来源编号), and a row without 来源编号 is
recognised by its exact content, so importing the same file twice registers nothing new.

The workbook is streamed (openpyxl read-only mode), so a file of many thousand rows is never
held in memory as a whole. Times without a zone are office local time (``[office] timezone``).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO, Final, NamedTuple
from zoneinfo import ZoneInfo

from bot.domain.archive import ARCHIVE_ELEMENTS
from bot.domain.duplicates import normalise_title
from bot.domain.errors import UserError
from bot.domain.lifecycle import Actor, WorkflowError
from bot.handlers.deps import Deps
from bot.handlers.intake import InputError, NewCase, parse_time, register_case, validate_new_case
from store import repo
from store.models import Case

#: Archive elements the bot fills in itself: accepted in the file (e.g. a re-imported export) but ignored.
IGNORED_KEYS = frozenset({"number", "due_at", "handling", "resolved", "evaluation", "followed_up_at"})
#: Columns beyond the 16 elements: header → intake field.
EXTRA_COLUMNS: dict[str, str] = {"来源编号": "source_ref", "是否复杂件": "complex", "是否急件": "urgent"}
#: Other names offices use for a column: alias → canonical header.
ALIASES: dict[str, str] = {"承办单位": "核办单位"}
#: Canonical header → intake field (``None``: known but ignored).
COLUMNS: dict[str, str | None] = {
    **{e.label: (None if e.key in IGNORED_KEYS else e.key) for e in ARCHIVE_ELEMENTS},
    **EXTRA_COLUMNS,
}
REQUIRED = ("留言标题", "主要诉求")
#: Intake field → the header to name in an error message.
FIELD_LABELS: dict[str, str] = {f: label for label, f in COLUMNS.items() if f is not None}
HEADER_SEARCH_ROWS = 10  # a title line or two above the header row is common in office sheets

Progress = Callable[[int, int | None], None]
"""Called after each data row with (rows done, estimated total rows or None)."""


#: An xlsx is a zip; these bound what its parts may unpack to (docs/import.md). A workbook of
#: 100 000 cases is far below them; a "zip bomb" (a small file that unpacks to gigabytes) is not.
MAX_PART_BYTES: Final = 50 * 1024 * 1024
MAX_TOTAL_BYTES: Final = 200 * 1024 * 1024
MAX_PARTS: Final = 10_000


class ImportFileError(UserError):
    """The file as a whole cannot be imported (not an .xlsx, corrupt, no usable header row).
    ``row`` is where reading failed, when it failed after the start."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__("import_file", message, field="file")
        self.row = row


class RowCase(NamedTuple):
    row: int  # spreadsheet row number (1-based, as Excel shows it)
    number: str  # 留言文号


class Repeat(NamedTuple):
    """A newly registered row linked to an earlier case as 重复反映."""

    row: int
    number: str
    duplicate_of: str


class HeaderNotFound(ImportFileError):
    """No header row among the first rows of a sheet."""


class RowError(NamedTuple):
    row: int
    field: str  # the column header (Chinese), or "行" for the row as a whole
    message: str


@dataclass
class ImportResult:
    imported: list[RowCase] = field(default_factory=list)
    skipped: list[RowCase] = field(default_factory=list)  # already registered
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    sheet: str = ""  # the worksheet read

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows(self) -> int:
        return len(self.imported) + len(self.skipped) + len(self.errors)


@dataclass(frozen=True)
class Column:
    index: int  # 0-based position in the row
    header: str  # canonical header
    field: str | None


@dataclass(frozen=True)
class Header:
    row: int
    columns: tuple[Column, ...]
    warnings: tuple[str, ...]


# --- the header row ----------------------------------------------------------------------------


def normalise_header(value: object) -> str:
    """NFKC (full-width parentheses and spaces become ASCII), no whitespace, no '*' marks."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return re.sub(r"\s+", "", text).strip("*")


def match_header(value: object, columns: Mapping[str, str | None] = COLUMNS) -> str | None:
    """The canonical header a cell names — ``留言标题（必填）`` counts as 留言标题 — or None."""
    text = normalise_header(value)
    for candidate in (text, re.sub(r"\(.*\)$", "", text)):
        if candidate in columns:
            return candidate
        if candidate in ALIASES:
            return ALIASES[candidate]
    return None


def column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def parse_header(values: Sequence[Any], row: int, columns_: Mapping[str, str | None] = COLUMNS) -> Header:
    """Map the header cells to fields; unknown columns become warnings, a missing required column
    or a repeated column is an ImportFileError."""
    columns: list[Column] = []
    seen: dict[str, int] = {}
    warnings_: list[str] = []
    for index, value in enumerate(values):
        if value is None or not str(value).strip():
            continue
        header = match_header(value, columns_)
        if header is None:
            warnings_.append(f"未知列“{str(value).strip()}”（第{column_letter(index)}列）已忽略")
            continue
        if header in seen:
            raise ImportFileError(
                f"第{row}行表头中“{header}”列重复（第{column_letter(seen[header])}列和第{column_letter(index)}列）"
            )
        seen[header] = index
        columns.append(Column(index, header, columns_[header]))
    missing = [h for h in REQUIRED if h not in seen]
    if missing:
        raise ImportFileError(f"缺少必填列：{'、'.join(missing)}（表头在第{row}行）")
    return Header(row, tuple(columns), tuple(warnings_))


def find_header(
    rows: Iterator[tuple[int, Sequence[Any]]], sheet: str = "", columns: Mapping[str, str | None] = COLUMNS
) -> Header:
    """The first row (among the first few) that names at least one known column."""
    for row, values in rows:
        if any(match_header(v, columns) for v in values if v is not None):
            return parse_header(values, row, columns)
        if row >= HEADER_SEARCH_ROWS:
            break
    where = f"工作表“{sheet}”" if sheet else ""
    raise HeaderNotFound(f"{where}前{HEADER_SEARCH_ROWS}行中未找到表头行（应含“留言标题”“主要诉求”等列名）")


# --- cell values -------------------------------------------------------------------------------

_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})\s*秒?)?\s*分?)?$"
)
_EXCEL_SERIALS = (25569, 2958465)  # 1970-01-01 … 9999-12-31: other numbers are no dates


def cell_value(value: Any) -> Any:
    """Blank text is no value; a whole float (Excel stores numbers so) is an int."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def parse_cell_time(value: Any, tz: ZoneInfo) -> datetime:
    """留言时间 from an Excel date cell, a date serial number, or text such as ``2026-11-02 09:30``,
    ``2026/11/2``, ``2026年11月2日 9时30分`` or ISO 8601. Naive times are office local time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tz)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and _EXCEL_SERIALS[0] <= value <= _EXCEL_SERIALS[1]:
        from openpyxl.utils.datetime import from_excel

        naive: datetime = from_excel(value)
        return naive.replace(tzinfo=tz)
    if isinstance(value, str):
        match = _DATE_TEXT.match(value)
        if match:
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
            try:
                return datetime(y, mo, d, h, mi, s, tzinfo=tz)
            except ValueError as exc:
                raise InputError("received_at", f"日期不存在：{value}") from exc
        return parse_time(value, tz)
    raise InputError("received_at", f"应为日期时间（例：2026-11-02 09:30），实际为“{value}”")


def row_data(values: Sequence[Any], columns: Sequence[Column], tz: ZoneInfo) -> dict[str, Any]:
    """The intake body of one row (only non-empty cells of known, not ignored columns)."""
    data: dict[str, Any] = {}
    for column in columns:
        if column.field is None or column.index >= len(values):
            continue
        value = cell_value(values[column.index])
        if value is None:
            continue
        data[column.field] = parse_cell_time(value, tz) if column.field == "received_at" else value
    return data


def ignored_with_values(values: Sequence[Any], columns: Sequence[Column]) -> list[str]:
    return [
        c.header
        for c in columns
        if c.field is None and c.index < len(values) and cell_value(values[c.index]) is not None
    ]


def is_blank(values: Sequence[Any]) -> bool:
    return all(cell_value(v) is None for v in values)


# --- the workbook ------------------------------------------------------------------------------


@dataclass
class Sheet:
    rows: Iterator[tuple[int, Sequence[Any]]]  # (row number, cell values)
    total_rows: int | None  # as the file declares it (an estimate; None without <dimension>)
    close: Callable[[], None]
    name: str = ""  # the worksheet's title
    others: tuple[str, ...] = ()  # the workbook's other data sheets, in order


def open_sheet(path: Path, name: str | None = None) -> Sheet:
    """Open the worksheet ``name`` (default: the active one) for streaming; ImportFileError when
    that is impossible. The caller must call ``Sheet.close``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(f"{path.name}：不支持旧版 .xls 文件，请在 Excel 中“另存为” .xlsx 后再导入")
    if suffix not in (".xlsx", ".xlsm"):
        raise ImportFileError(f"{path.name}：只能导入 .xlsx 文件")
    try:
        handle = path.open("rb")
    except FileNotFoundError as exc:
        raise ImportFileError(f"{path}：文件不存在") from exc
    except OSError as exc:
        raise ImportFileError(f"{path}：无法打开（{exc.strerror or exc}）") from exc
    try:
        _check_unpacked_size(handle, path.name)
        workbook = _load(handle, path.name)
        if name is not None:
            sheet = workbook[name]
        else:
            sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
        if not hasattr(sheet, "iter_rows"):
            workbook.close()
            raise ImportFileError(f"{path.name}：第一个工作表不是数据表")
        others = tuple(ws.title for ws in workbook.worksheets if ws.title != sheet.title and hasattr(ws, "iter_rows"))
    except BaseException:
        handle.close()  # openpyxl leaves its archive open when reading fails
        raise
    total = sheet.max_row
    # The declared dimension is sometimes wrong (files written by other tools): read every row.
    sheet.reset_dimensions()
    source = sheet.iter_rows(values_only=True)

    def close() -> None:
        source.close()  # the row generator holds the sheet's zip member open
        workbook.close()
        handle.close()

    return Sheet(
        rows=_guarded(enumerate(source, start=1), path.name),
        total_rows=total,
        close=close,
        name=str(sheet.title),
        others=others,
    )


def _check_unpacked_size(handle: BinaryIO, name: str) -> None:
    """Refuse a workbook whose parts declare more than the limits, before openpyxl reads it.
    Python's zipfile never unpacks a part beyond its declared size (a part that lies is cut
    short and fails its CRC check), so the declared sizes bound the memory openpyxl can use."""
    try:
        with zipfile.ZipFile(handle) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(f"{name}：不是有效的 .xlsx 文件（文件已损坏或格式不符）") from exc
    finally:
        handle.seek(0)
    mb = 1024 * 1024
    if len(parts) > MAX_PARTS:
        raise ImportFileError(f"{name}：文件内部件过多（{len(parts)} 个，最多 {MAX_PARTS} 个），不导入")
    biggest = max(parts, key=lambda p: p.file_size, default=None)
    if biggest is not None and biggest.file_size > MAX_PART_BYTES:
        raise ImportFileError(
            f"{name}：文件中的 {_printable(biggest.filename[:80])} 解压后 {biggest.file_size // mb} MB，"
            f"超过每部分 {MAX_PART_BYTES // mb} MB 的上限，不导入"
        )
    total = sum(p.file_size for p in parts)
    if total > MAX_TOTAL_BYTES:
        raise ImportFileError(f"{name}：文件解压后共 {total // mb} MB，超过 {MAX_TOTAL_BYTES // mb} MB 的上限，不导入")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _load(handle: BinaryIO, name: str) -> Any:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; irrelevant for values.
            warnings.simplefilter("ignore")
            return load_workbook(handle, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile) as exc:
        raise ImportFileError(f"{name}：不是有效的 .xlsx 文件（文件已损坏或格式不符）") from exc
    except Exception as exc:  # openpyxl reports damaged parts with many exception types
        raise ImportFileError(f"{name}：文件已损坏，无法读取（{type(exc).__name__}）") from exc


def _guarded(rows: Iterator[tuple[int, Sequence[Any]]], name: str) -> Iterator[tuple[int, Sequence[Any]]]:
    """The sheet XML is parsed lazily: damage can show only while reading rows."""
    last = 0
    while True:
        try:
            item = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise ImportFileError(
                f"{name}：第{last + 1}行起文件损坏，无法读取（{type(exc).__name__}）", row=last + 1
            ) from exc
        last = item[0]
        yield item


# --- import ------------------------------------------------------------------------------------


async def find_same_message(deps: Deps, new: NewCase) -> Case | None:
    """A case registered from exactly this message (same source, time, title, content, petitioner).

    Rows with 来源编号 are idempotent in ``register_case``; this makes re-importing rows without
    one harmless too (the bot's own duplicate detection only links repeats, it does not skip them).
    """
    if new.source_ref:
        return None
    async with deps.sessions() as session:
        candidates = await repo.duplicate_candidates(
            session,
            since=new.received_at,
            contact_key=None,
            petitioner=None,
            title_key=normalise_title(new.title)[:200],
            category=None,
        )
    for case in candidates:
        if (
            case.received_at == new.received_at
            and case.source == new.source
            and case.title == new.title
            and case.content == new.content
            and case.petitioner == new.petitioner
        ):
            return case
    return None


def _label(field_name: str | None) -> str:
    if not field_name:
        return "行"
    return FIELD_LABELS.get(field_name, field_name)


async def import_row(deps: Deps, data: dict[str, Any], actor: Actor) -> tuple[Case, bool]:
    """Validate and register one row; returns (case, created). Raises InputError / WorkflowError."""
    cfg = deps.config
    new = validate_new_case(data, now=deps.clock.now(), tz=cfg.office.hours().tz, categories=cfg.cases.categories)
    existing = await find_same_message(deps, new)
    if existing is not None:
        return existing, False
    registered = await register_case(deps, new, actor)
    return registered.case, registered.created


async def _duplicate_number(deps: Deps, case: Case) -> str | None:
    if not case.duplicate_of_id:
        return None
    async with deps.sessions() as session:
        original = await repo.case_by_id(session, case.duplicate_of_id)
    return original.number if original else None


async def _import_rows(
    deps: Deps, sheet: Sheet, header: Header, actor: Actor, result: ImportResult, progress: Progress | None
) -> None:
    tz = deps.config.office.hours().tz
    total = sheet.total_rows - header.row if sheet.total_rows else None
    warned: set[str] = set()
    for done, (row, values) in enumerate(sheet.rows, start=1):
        if not is_blank(values):
            for name in ignored_with_values(values, header.columns):
                if name not in warned:
                    warned.add(name)
                    result.warnings.append(f"“{name}”列由系统生成，导入新件时忽略")
            try:
                case, created = await import_row(deps, row_data(values, header.columns, tz), actor)
            except (InputError, WorkflowError) as exc:
                result.errors.append(RowError(row, _label(exc.field), exc.message))
            else:
                (result.imported if created else result.skipped).append(RowCase(row, case.number))
                original = await _duplicate_number(deps, case) if created else None
                if original:
                    result.repeats.append(Repeat(row, case.number, original))
        if progress is not None:
            progress(done, max(total, done) if total is not None else None)


def _sheet_with_header(path: Path) -> tuple[Sheet, Header, list[str]]:
    """The active sheet when its header row is found, else the first other sheet that has one
    (data pasted onto a second sheet is common); ImportFileError naming the sheets otherwise."""
    sheet = open_sheet(path)
    active, others = sheet.name, sheet.others
    try:
        return sheet, find_header(sheet.rows, sheet.name), []
    except HeaderNotFound as exc:
        first_error: HeaderNotFound = exc
        sheet.close()
    except BaseException:
        sheet.close()
        raise
    for name in others:
        other = open_sheet(path, name)
        try:
            header = find_header(other.rows, other.name)
        except HeaderNotFound:
            other.close()
            continue
        except BaseException:
            other.close()
            raise
        return other, header, [f"工作表“{active}”中没有表头行，读取的是工作表“{other.name}”"]
    if others:
        raise HeaderNotFound(f"{first_error}；其他工作表（{'、'.join(others)}）中也没有")
    raise first_error


async def import_cases(deps: Deps, path: Path, actor: Actor, *, progress: Progress | None = None) -> ImportResult:
    """Import every row of the spreadsheet at ``path``; see the module docstring.

    Raises ImportFileError when the file cannot be read or its header row is unusable (nothing is
    imported then). Bad rows do not raise: they are in ``ImportResult.errors``; so is damage found
    after some rows went in (those rows stay registered).
    """
    sheet, header, notes = _sheet_with_header(path)
    try:
        result = ImportResult(warnings=[*notes, *header.warnings], sheet=sheet.name)
        try:
            await _import_rows(deps, sheet, header, actor, result, progress)
        except ImportFileError as exc:
            result.errors.append(RowError(exc.row or 0, "文件", str(exc)))
    finally:
        sheet.close()
    return result
