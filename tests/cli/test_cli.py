"""The `liuyan` command line, run in-process with click's CliRunner on a temporary SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.cli import run


def test_case_lifecycle_commands(config_file: Path) -> None:
    code, out = run(
        config_file,
        "case",
        "add",
        "--title",
        "小区路灯不亮",
        "--content",
        "某小区路灯坏了一个月",
        "--unit",
        "区住建局",
        "--contact",
        "13800138000",
        "--petitioner",
        "赵六",
    )
    assert code == 0, out
    assert "LY" in out and "assigned" in out
    number = out.split()[0]
    assert (config_file.parent / "db" / "liuyan.db").exists()  # relative to the config file

    code, out = run(config_file, "case", "list")
    assert code == 0 and number in out and "区住建局" in out
    code, out = run(config_file, "case", "list", "--state", "returned")
    assert code == 0 and number not in out
    code, out = run(config_file, "case", "list", "--overdue")
    assert code == 0 and number not in out

    code, out = run(config_file, "case", "show", number)
    assert code == 0 and "办理记录" in out and "交办" in out
    code, out = run(config_file, "case", "show", number, "--json")
    assert json.loads(out)["state"] == "assigned"


def test_assign_from_cli(config_file: Path) -> None:
    code, out = run(config_file, "case", "add", "--title", "建议增设公交线路", "--content", "希望增加一条公交线路")
    assert code == 0 and "registered" in out
    number = out.split()[0]
    code, out = run(config_file, "case", "assign", number, "区住建局")
    assert code == 0 and "assigned" in out
    code, out = run(config_file, "case", "assign", number, "区住建局")
    assert code != 0 and "已由" in out and "交办" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["case", "add", "--title", "", "--content", "x"], "title"),
        (["case", "add", "--title", "t", "--content", "x", "--unit", "不存在的局"], "unit"),
        (["case", "add", "--title", "t", "--content", "x", "--level", "乡级"], "level"),
        (["case", "show", "LY2026-999999"], "LY2026-999999"),
        (["case", "assign", "LY2026-999999", "区住建局"], "LY2026-999999"),
    ],
)
def test_errors_are_one_readable_line(config_file: Path, args: list[str], needle: str) -> None:
    code, out = run(config_file, *args)
    assert code != 0
    assert needle in out
    assert "Traceback" not in out


def test_units_and_people(config_file: Path) -> None:
    code, out = run(config_file, "unit", "add", "区教育局", "--code", "JYJ")
    assert code == 0 and out.strip() == "单位 区教育局 已添加"
    code, out = run(config_file, "unit", "member", "区教育局", "陈老师", "--wecom", "chenls")
    assert code == 0 and out.strip() == "陈老师：已设为区教育局的承办人(handler)"
    code, out = run(config_file, "unit", "member", "区教育局", "陈老师", "--wecom", "chenls")
    assert out.strip() == "陈老师：无变化，仍是区教育局的承办人(handler)"
    code, out = run(config_file, "unit", "list")
    assert "区教育局" in out and "陈老师" in out
    code, out = run(config_file, "person", "add", "刘督查", "--role", "supervisor", "--wecom", "liudc")
    assert code == 0
    code, out = run(config_file, "person", "list")
    assert "liudc" in out and "督查员(supervisor)" in out
    code, out = run(config_file, "unit", "member", "不存在的局", "某人")
    assert code != 0 and "不存在的局" in out
    code, out = run(config_file, "unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--remove")
    assert code == 0 and out.strip() == "陈老师：已撤销区教育局的承办人(handler)"


def test_calendar_commands(config_file: Path, tmp_path: Path) -> None:
    code, out = run(config_file, "calendar", "show", "2027")
    assert code == 0 and "provisional" in out and "警告" in out
    # before any import, 2027's statutory holidays apply, provisionally (issue 13)
    assert "2027-01-01 元旦" in out and "2027-02-05 春节" in out and "2027-02-08 春节" in out
    year_file = tmp_path / "2027.toml"
    year_file.write_text(
        'year = 2027\nnotice = "测试通知"\n\n[[holiday]]\nname = "元旦"\nfrom = 2027-01-01\nto = 2027-01-01\n',
        encoding="utf-8",
    )
    code, out = run(config_file, "calendar", "import", str(year_file))
    assert code == 0, out
    code, out = run(config_file, "calendar", "show", "2027")
    assert "imported" in out and "2027-01-01" in out
    code, out = run(config_file, "calendar", "set", "2027-01-04", "holiday")
    assert code == 0
    code, out = run(config_file, "calendar", "show", "2027")
    assert "2027-01-04=放假" in out
    bad = tmp_path / "bad.toml"
    bad.write_text("year = 2027\n[[holiday]]\nname = 'x'\nfrom = 2027-02-30\n", encoding="utf-8")
    code, out = run(config_file, "calendar", "import", str(bad))
    assert code != 0 and "Traceback" not in out


def test_bad_config_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = 'eighty'\n", encoding="utf-8")
    code, out = run(path, "case", "list")
    assert code != 0 and "server.port" in out
    code, out = run(tmp_path / "missing.toml", "case", "list")
    assert code != 0 and "cannot read" in out


def test_db_upgrade(config_file: Path) -> None:
    code, out = run(config_file, "db", "upgrade")
    assert code == 0 and "数据库结构版本" in out and "已是最新" in out


def test_python_dash_m_bot() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "serve" in result.stdout


def test_nudges_plan_sends_nothing(config_file: Path) -> None:
    from datetime import date

    from bot.calendar.package_data import package_calendar
    from bot.domain.nudges import workday_before

    code, out = run(
        config_file, "case", "add", "--title", "小区路灯不亮", "--content", "某小区路灯坏了一个月", "--unit", "区人社局"
    )
    assert code == 0
    number = out.split()[0]
    code, out = run(config_file, "case", "show", number, "--json")
    due = date.fromisoformat(json.loads(out)["due_at"][:10])
    day_before = workday_before(package_calendar(), due, 1)
    code, out = run(config_file, "nudges", "plan", "--date", day_before.isoformat())
    assert code == 0, out
    assert number in out and "张三" in out and "未发送任何消息" in out


def test_person_list_lines(config_file: Path) -> None:
    assert run(config_file, "unit", "add", "区教育局")[0] == 0
    assert (
        run(config_file, "unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--role", "unit_leader")[0] == 0
    )
    assert (
        run(config_file, "person", "add", "陈老师", "--role", "admin", "--wecom", "chenls", "--dingtalk", "ding-chen")[
            0
        ]
        == 0
    )
    assert run(config_file, "person", "add", "刘督查", "--role", "supervisor", "--role", "leader")[0] == 0
    code, out = run(config_file, "person", "list")
    assert code == 0, out
    assert out.splitlines()[-2:] == [
        "陈老师\t企业微信：chenls\t钉钉：ding-chen\t角色：管理员(admin)、区教育局单位负责人(unit_leader)",
        "刘督查\t企业微信：-\t钉钉：-\t角色：领导(leader)、督查员(supervisor)",
    ]


def _cli_imports() -> dict[str, list[tuple[str, list[str]]]]:
    """module name → [(imported module, names)] for every module of bot/cli (also lazy imports)."""
    import ast

    import bot.cli

    found: dict[str, list[tuple[str, list[str]]]] = {}
    for path in sorted(Path(bot.cli.__file__).parent.glob("*.py")):
        name = "bot.cli" if path.stem == "__init__" else f"bot.cli.{path.stem}"
        imports: list[tuple[str, list[str]]] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imports.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                imports += [(a.name, []) for a in node.names]
        found[name] = imports
    return found


def test_cli_modules_form_no_circle_and_share_only_public_names() -> None:
    modules = _cli_imports()
    assert len(modules) >= 10  # one module per command group, plus base and the assembly
    for name, imports in modules.items():
        for module, names in imports:
            assert not module.startswith("sqlalchemy"), f"{name} imports {module}: SQL belongs in store/"
            if module.startswith("bot.cli") and name != "bot.cli":
                assert module != "bot.cli", f"{name} imports the assembly (an import circle)"
                assert not [n for n in names if n.startswith("_")], f"{name} imports private names of {module}"
            if name != "bot.cli" and module == "bot.cli":
                raise AssertionError(f"{name} imports bot.cli")
    # base is the bottom: it imports no other command module
    assert not [m for m, _ in modules["bot.cli.base"] if m.startswith("bot.cli")]
    group_modules = [n for n in modules if n not in ("bot.cli", "bot.cli.base")]
    for name in group_modules:
        others = [m for m, _ in modules[name] if m.startswith("bot.cli") and m != "bot.cli.base"]
        assert not others, f"{name} imports {others}: command modules depend only on bot.cli.base"


def test_case_set_report_number_and_archive(config_file: Path) -> None:
    code, out = run(config_file, "case", "add", "--title", "路灯不亮", "--content", "小区路灯坏了一个月没人修。")
    assert code == 0, out
    number = out.split()[0]
    code, out = run(config_file, "case", "archive", number)
    assert code != 0 and "不能立卷" in out
    code, out = run(config_file, "case", "set", number, "--report-number", "区信字〔2026〕7号")
    assert code == 0 and "区信字〔2026〕7号" in out
    code, out = run(config_file, "case", "show", number, "--json")
    assert json.loads(out)["report_number"] == "区信字〔2026〕7号"
    code, out = run(config_file, "archive", "check")
    assert code == 0 and number in out
