"""`case import` names the sheet it read (or looked in), reports 重复反映, counts rows read in a
workbook without <dimension>, and `--template` writes the 16 columns (issue 14)."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.domain.archive import ARCHIVE_ELEMENTS
from bot.domain.lifecycle import Actor
from bot.handlers.deps import Deps
from bot.handlers.excel_import import ImportFileError, import_cases, match_header
from tests.conftest import BASE_CONFIG


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace("[api]", '[database]\nurl = "sqlite+aiosqlite:///liuyan.db"\n\n[api]', 1), encoding="utf-8"
    )
    return str(path)


def two_sheets(path: Path, rows: list[list[object]], *, header: bool = True) -> Path:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "说明"
    first.append(["本表用于登记网民留言"])
    data = workbook.create_sheet("数据")
    if header:
        data.append(["留言标题", "主要诉求", "反映人", "联系方式", "留言时间"])
    for r in rows:
        data.append(r)
    workbook.active = 0
    workbook.save(path)
    return path


ROW = ["小区路灯不亮", "某小区路灯坏了一个月", "赵六", "13800138000", datetime(2026, 10, 30, 8, 15)]


async def test_data_on_a_second_sheet_is_found_and_named(deps: Deps, tmp_path: Path) -> None:
    path = two_sheets(tmp_path / "in.xlsx", [ROW, [*ROW[:4], datetime(2026, 10, 31, 9, 0)]])
    result = await import_cases(deps, path, Actor.system())
    assert result.ok and len(result.imported) == 2 and result.sheet == "数据"
    assert any("说明" in w and "数据" in w for w in result.warnings)
    # the second row repeats the first (same person, same subject): reported as 重复反映
    assert [(r.row, r.duplicate_of) for r in result.repeats] == [(3, result.imported[0].number)]


async def test_no_header_anywhere_names_the_sheets(deps: Deps, tmp_path: Path) -> None:
    path = two_sheets(tmp_path / "in.xlsx", [["甲", "乙"]], header=False)
    with pytest.raises(ImportFileError, match="工作表“说明”.*未找到表头行.*数据"):
        await import_cases(deps, path, Actor.system())


def _without_dimension(path: Path) -> Path:
    out = path.with_name("nodim.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"<dimension[^>]*/>", b"", data)
            dst.writestr(item, data)
    return out


async def test_progress_without_dimension(deps: Deps, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["留言标题", "主要诉求", "留言时间"])
    for i in range(3):
        sheet.append([f"标题{i}", f"内容{i}", datetime(2026, 10, 30, 8, i)])
    workbook.save(tmp_path / "in.xlsx")
    path = _without_dimension(tmp_path / "in.xlsx")
    assert b"<dimension" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    seen: list[tuple[int, int | None]] = []
    result = await import_cases(deps, path, Actor.system(), progress=lambda d, t: seen.append((d, t)))
    assert result.ok and len(result.imported) == 3
    assert [d for d, _ in seen] == [1, 2, 3]


def test_progress_counts_rows_when_the_size_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.imports_exports import _ProgressBar

    bar = _ProgressBar()
    for done in range(1, 1001):
        bar(done, None)
    bar.close()
    err = capsys.readouterr().err
    assert "已读取 500 行" in err and "已读取 1000 行" in err


def test_cli_template_sheet_name_and_repeats(config_file: str, tmp_path: Path) -> None:
    template = tmp_path / "模板.xlsx"
    code, out, _ = cli("case", "import", "--template", str(template), "-c", config_file)
    assert code == 0 and "模板" in out
    sheet = openpyxl.load_workbook(template).active
    headers = [c.value for c in sheet[1]]
    assert len(headers) == 16 and [match_header(h) for h in headers] == [e.label for e in ARCHIVE_ELEMENTS]
    assert sheet.max_row == 1  # empty

    path = two_sheets(tmp_path / "in.xlsx", [ROW, [*ROW[:4], datetime(2026, 10, 31, 9, 0)]])
    code, out, err = cli("case", "import", str(path), "-c", config_file)
    assert code == 0, out + err
    assert "读取工作表“数据”" in err and "重复反映" in err
    code, out, err = cli("case", "import", "-c", config_file)
    assert code == 2 and "--template" in err
