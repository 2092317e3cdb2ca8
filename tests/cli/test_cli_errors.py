"""Every CLI failure an office meets on its first day is one readable line (Chinese first) and a
non-zero exit: files in other encodings, an unsupported database, PostgreSQL down, dates and
periods out of range, usage mistakes (issue 14)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import BASE_CONFIG

SQLITE = '[database]\nurl = "sqlite+aiosqlite:///db/liuyan.db"\n\n'


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def invoke(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def one_line(code: int, lines: list[str], *needles: str) -> str:
    assert code != 0, lines
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("错误："), line
    assert "Traceback" not in line and "Usage" not in line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def config(tmp_path: Path, text: str = SQLITE + BASE_CONFIG, encoding: str = "utf-8") -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_config_with_a_bom_is_read(tmp_path: Path, encoding: str) -> None:
    code, lines = invoke("case", "list", "-c", str(config(tmp_path, encoding=encoding)))
    assert code == 0, lines


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_config_in_gbk_is_refused_by_name(tmp_path: Path, encoding: str) -> None:
    path = config(tmp_path, encoding=encoding)
    one_line(*invoke("case", "list", "-c", str(path)), str(path), "GBK", "UTF-8")


def test_calendar_file_encodings(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    text = 'year = 2027\nnotice = "测试通知"\n\n[[holiday]]\nname = "元旦"\nfrom = 2027-01-01\nto = 2027-01-01\n'
    utf16 = tmp_path / "2027-utf16.toml"
    utf16.write_bytes(text.encode("utf-16"))
    code, lines = invoke("calendar", "import", str(utf16), "-c", str(cfg))
    assert code == 0, lines
    gbk = tmp_path / "2027-gbk.toml"
    gbk.write_bytes(text.encode("gbk"))
    one_line(*invoke("calendar", "import", str(gbk), "-c", str(cfg)), "2027-gbk.toml", "GBK")


def test_unsupported_database_names_the_backends(tmp_path: Path) -> None:
    path = config(tmp_path, '[database]\nurl = "mysql://root@localhost/liuyan"\n' + BASE_CONFIG)
    one_line(*invoke("case", "list", "-c", str(path)), "mysql", "sqlite+aiosqlite", "postgresql+asyncpg")


@pytest.mark.parametrize("command", [["case", "list"], ["db", "upgrade"], ["serve"], ["report", "monthly"]])
def test_postgresql_down_names_the_database(tmp_path: Path, command: list[str]) -> None:
    port = _closed_port()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/liuyan"
    serveable = BASE_CONFIG.replace('token = "test-token"', 'token = "test-token-long-enough-for-serve"')
    path = config(tmp_path, f'[database]\nurl = "{url}"\n\n[server]\nport = 0\n' + serveable)
    line = one_line(*invoke(*command, "-c", str(path)), "数据库", f"127.0.0.1:{port}")
    assert "监听" not in line and "listen" not in line


def test_dates_and_periods_out_of_range(tmp_path: Path) -> None:
    cfg = str(config(tmp_path))
    out = str(tmp_path / "a.xlsx")
    one_line(
        *invoke("export", "archive", "--from", "2026-01-01", "--to", "9999-12-31", "-o", out, "-c", cfg), "超出范围"
    )
    one_line(*invoke("export", "archive", "--from", "2026-02-30", "--to", "2026-03-01", "-o", out, "-c", cfg), "--from")
    code, lines = invoke("report", "monthly", "--month", "2026-13", "-c", cfg)
    assert code == 2
    one_line(code, lines, "--month", "2026-13")


def test_usage_mistakes_are_one_line(tmp_path: Path) -> None:
    cfg = str(config(tmp_path))
    one_line(*invoke("case", "list", "--bogus", "-c", cfg), "--bogus")
    one_line(*invoke("case", "frobnicate"), "frobnicate")
    one_line(*invoke("case", "show", "-c", cfg), "NUMBER")


def test_real_process_prints_one_line_on_stderr(tmp_path: Path) -> None:
    path = config(tmp_path, '[database]\nurl = "mysql://root@localhost/liuyan"\n' + BASE_CONFIG)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "case", "list", "-c", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "mysql" in result.stderr, result.stderr


def test_bad_spreadsheet_is_one_line(tmp_path: Path) -> None:
    cfg = str(config(tmp_path))
    bad = tmp_path / "cases.xlsx"
    bad.write_bytes(b"this is not a workbook")
    one_line(*invoke("case", "import", str(bad), "-c", cfg), "cases.xlsx")


def test_a_group_alone_shows_its_help() -> None:
    result = CliRunner().invoke(main, ["case"])
    assert "错误" not in result.output and "Commands:" in result.output and "list" in result.output


def test_deeply_nested_config_is_one_line(tmp_path: Path) -> None:
    path = config(tmp_path, "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    one_line(*invoke("case", "list", "-c", str(path)), "嵌套层数过深")
