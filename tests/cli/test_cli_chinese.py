"""The command line speaks Chinese to people: state names, counts, local times, units on the
交办/改派 lines, repeats reported (issue 14). Codes stay English for scripts."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import BASE_CONFIG


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace("[api]", '[database]\nurl = "sqlite+aiosqlite:///liuyan.db"\n\n[api]', 1), encoding="utf-8"
    )
    return str(path)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def add(cfg: str, title: str, *extra: str) -> tuple[str, str]:
    code, out = cli("case", "add", "--title", title, "--content", f"{title}，请处理", *extra, "-c", cfg)
    assert code == 0, out
    return out.split()[0], out


def test_add_list_show_in_chinese(cfg: str) -> None:
    first, out = add(cfg, "小区路灯不亮", "--unit", "区住建局")
    assert "已登记，状态：已交办（assigned）" in out and "registered, state" not in out
    second, _ = add(cfg, "公交线路太少")
    third, _ = add(cfg, "菜市场噪音扰民")
    _, out = add(cfg, "小区路灯不亮", "--unit", "区住建局")
    assert f"重复反映：与 {first} 反映的是同一事项" in out

    code, out = cli("case", "list", "--limit", "2", "-c", cfg)
    lines = out.splitlines()
    assert code == 0 and lines[1].startswith(third) and "共 4 件，显示前 2 件" in out  # newest first
    code, out = cli("case", "list", "--oldest-first", "--limit", "1", "-c", cfg)
    assert out.splitlines()[0].startswith(first)
    for state in ("已登记", "registered"):
        code, out = cli("case", "list", "--state", state, "-c", cfg)
        assert code == 0 and second in out and third in out and first not in out and "共 2 件" in out
    code, out = cli("case", "list", "--state", "不存在", "-c", cfg)
    assert code == 2 and "已交办（assigned）" in out and "Usage" not in out

    code, out = cli("case", "assign", second, "区人社局", "-c", cfg)
    assert code == 0 and "已交办给 区人社局，状态：已交办（assigned）" in out
    code, out = cli("case", "show", second, "-c", cfg)
    assert code == 0 and "交办 → 区人社局" in out
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", out)  # no ISO times: local "2026-12-03 18:29"
    assert re.search(r"  \d{4}-\d\d-\d\d \d\d:\d\d  登记", out)


#: what may stay English in `unit` / `person` output: role codes and the ids people typed
_CODES = r"handler|unit_leader|dispatcher|supervisor|leader|admin"
_IDS = r"chenls|d-chen|liudc|JYJ|chat-jyj|ding-zhangsan|zhangsan|limei|wangkz|zhaozj|qiandj|sundc|zhousj|wugl"


def test_unit_and_person_output_is_chinese(cfg: str) -> None:
    outputs = []
    for args in (
        ("unit", "add", "区教育局", "--code", "JYJ", "--wecom-chatid", "chat-jyj"),
        ("unit", "add", "区教育局"),
        ("unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--dingtalk", "d-chen", "--role", "unit_leader"),
        ("unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--role", "unit_leader"),
        ("unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--role", "unit_leader", "--remove"),
        ("unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--role", "unit_leader", "--remove"),
        ("unit", "list"),
        ("person", "add", "刘督查", "--role", "supervisor", "--role", "leader", "--wecom", "liudc"),
        ("person", "deactivate", "liudc"),
        ("person", "deactivate", "刘督查"),
        ("person", "list"),
        ("person", "activate", "刘督查"),
        ("person", "activate", "liudc"),
    ):
        code, out = cli(*args, "-c", cfg)
        assert code == 0, (args, out)
        outputs.append(out)
        leftover = re.sub(rf"(?<![A-Za-z_-])({_CODES}|{_IDS})(?![A-Za-z_-])", "", out)
        assert not re.search(r"[A-Za-z]{2,}", leftover), (args, out)
    assert outputs[0].strip() == "单位 区教育局 已添加" and outputs[1].strip() == "单位 区教育局 已更新"
    assert outputs[2].strip() == "陈老师：已设为区教育局的单位负责人(unit_leader)"
    assert outputs[3].strip() == "陈老师：无变化，仍是区教育局的单位负责人(unit_leader)"
    assert outputs[4].strip() == "陈老师：已撤销区教育局的单位负责人(unit_leader)"
    assert outputs[5].strip() == "陈老师：无变化，仍不是区教育局的单位负责人(unit_leader)"
    assert outputs[7].strip() == "刘督查：督查员(supervisor)、领导(leader)"
    assert outputs[8].strip().endswith("：已停用") and outputs[9].strip().endswith("：无变化，已是停用状态")
    assert "刘督查\t企业微信：liudc\t钉钉：-\t角色：领导(leader)、督查员(supervisor)\t已停用" in outputs[10]
    assert outputs[11].strip().endswith("：已启用") and outputs[12].strip().endswith("：无变化，已是启用状态")


def test_calendar_import_counts_what_show_lists(cfg: str) -> None:
    from bot.calendar.toml_file import load_year

    packaged = Path(__file__).resolve().parents[2] / "bot" / "data" / "calendar-2026.toml"
    spec = load_year(packaged)
    code, out = cli("calendar", "import", str(packaged), "-c", cfg)
    assert code == 0, out
    m = re.search(r"放假日（周一至周五）(\d+)天、调休上班日(\d+)天", out)
    assert m is not None, out
    code, shown = cli("calendar", "show", "2026", "-c", cfg)
    line = next(x for x in shown.splitlines() if x.startswith("放假日"))
    listed = line.split("：", 1)[1].split("、")
    assert int(m.group(1)) == len(listed) == len(set(listed)) and f"{len(listed)}天" in line
    assert len(spec.holidays) > len(listed)  # the weekend days inside the ranges are not counted
    assert all(date.fromisoformat(x.split()[0]).weekday() < 5 for x in listed)
    workdays = next(x for x in shown.splitlines() if x.startswith("调休上班日")).split("：", 1)[1].split("、")
    assert int(m.group(2)) == len(workdays)
    assert not re.search(r"[A-Za-z]{3,}", out.replace(cfg, ""))
