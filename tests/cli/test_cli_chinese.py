"""The command line speaks Chinese to people: state names, counts, local times, units on the
交办/改派 lines, repeats reported (issue 14). Codes stay English for scripts."""

from __future__ import annotations

import re
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
