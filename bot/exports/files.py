"""What every file the bot writes shares: one atomic write, spreadsheet cells that stay text,
and the file-name check. Reports (``bot.reports``) and exports use these."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.domain.errors import UserError

EXCEL_CELL_MAX = 32767  # characters Excel accepts in one cell


class ExportError(UserError):
    """The export cannot be written (bad period, unsupported file type, unwritable path)."""

    def __init__(self, message: str) -> None:
        super().__init__("export", message)


#: exports, dossiers and reports carry petitioners' names and contacts: owner only
PRIVATE_MODE = 0o600


def write_atomically(
    path: Path | str,
    content: bytes | str | Callable[[Path], object],
    *,
    encoding: str = "utf-8",
    mode: int = PRIVATE_MODE,
) -> Path:
    """Write ``content`` (bytes, text, or a callback that writes the file it is given) next to
    ``path``, flush it to disk, then rename it over ``path``: a reader sees the old file or the
    whole new one, and a failed write leaves neither half a file nor the temporary one behind.
    The file gets ``mode`` (default owner read/write only, whatever the umask, also when it
    replaces a more open file). An OS error becomes ExportError naming ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        # created with the mode from the start: no moment in which others may open it
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as file:
            if not callable(content):
                file.write(content.encode(encoding) if isinstance(content, str) else content)
        if callable(content):
            content(tmp)
        os.chmod(tmp, mode)  # a callback may have made the file anew
        with open(tmp, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"无法写入 {path}：{exc.strerror or exc}") from exc
        raise
    _fsync_directory(path.parent)
    return path


def _fsync_directory(directory: Path) -> None:
    # makes the rename itself durable; not possible (nor needed) on every platform
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_workbook(workbook: Any, path: Path) -> None:
    """An openpyxl workbook, written atomically."""
    write_atomically(path, workbook.save)


def check_suffix(path: Path, allowed: Sequence[str]) -> str:
    """The lower-case suffix of ``path`` when it is one of ``allowed``, else ExportError."""
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ExportError(f"{path.name}：文件名应以 {' 或 '.join(allowed)} 结尾")
    return suffix


def cell_text(value: Any) -> Any:
    """A value openpyxl can store: no control characters, not longer than Excel allows."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    return text if len(text) <= EXCEL_CELL_MAX else text[: EXCEL_CELL_MAX - 6] + "…（已截断）"


def as_text_cell(cell: Any) -> Any:
    """``cell`` kept as text: openpyxl would store "=…" as a formula, and citizens' text must
    never become one."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def value_text(value: Any) -> str:
    """A value as people read it in a file: "" for nothing, 是/否 for a flag."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)
