"""An xlsx is a zip: its parts are checked against their declared unpacked sizes before openpyxl
reads anything, so a small file that unpacks to gigabytes is one readable refusal."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from bot.handlers import excel_import
from bot.handlers.excel_import import MAX_PART_BYTES, MAX_TOTAL_BYTES, ImportFileError, open_sheet

MB = 1024 * 1024


def workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["留言标题", "主要诉求"])
    ws.append(["标题", "内容"])
    wb.save(path)
    return path


def with_parts(src: Path, dst: Path, parts: dict[str, int]) -> Path:
    """``src`` with extra (or replaced) parts of the given sizes, highly compressible."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for info in old.infolist():
            if info.filename not in parts:
                new.writestr(info, old.read(info))
        chunk = b"<si><t>a</t></si>" * (MB // 17)
        for name, size in parts.items():
            with new.open(name, "w", force_zip64=True) as part:
                left = size
                while left > 0:
                    part.write(chunk[:left])
                    left -= min(left, len(chunk))
    return dst


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl must not see this file")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def test_the_limits_are_the_documented_ones() -> None:
    assert (MAX_PART_BYTES, MAX_TOTAL_BYTES) == (50 * MB, 200 * MB)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    assert "50 MB" in doc and "200 MB" in doc


@pytest.mark.usefixtures("no_openpyxl")
def test_a_part_that_unpacks_too_big_is_refused(tmp_path: Path) -> None:
    path = with_parts(workbook(tmp_path / "a.xlsx"), tmp_path / "bomb.xlsx", {"xl/sharedStrings.xml": 51 * MB})
    assert path.stat().st_size < 2 * MB
    with pytest.raises(ImportFileError) as err:
        open_sheet(path)
    assert "bomb.xlsx" in str(err.value) and "\n" not in str(err.value) and "50 MB" in str(err.value)


@pytest.mark.usefixtures("no_openpyxl")
def test_parts_that_unpack_too_big_together_are_refused(tmp_path: Path) -> None:
    parts = {f"xl/media/image{i}.bin": 41 * MB for i in range(5)}
    path = with_parts(workbook(tmp_path / "a.xlsx"), tmp_path / "many.xlsx", parts)
    with pytest.raises(ImportFileError) as err:
        open_sheet(path)
    assert "200 MB" in str(err.value) and "\n" not in str(err.value)


def test_an_ordinary_workbook_still_opens(tmp_path: Path) -> None:
    sheet = open_sheet(workbook(tmp_path / "ok.xlsx"))
    try:
        assert [values for _, values in sheet.rows][1] == ("标题", "内容")
    finally:
        sheet.close()
    assert excel_import.MAX_PART_BYTES > 0
