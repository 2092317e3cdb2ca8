"""`liuyan case void` (issue 13): a mistaken or duplicate registration is kept but listed nowhere."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.cli import run


def test_void_from_cli(config_file: Path) -> None:
    code, out = run(config_file, "case", "add", "--title", "建议增设公交线路", "--content", "希望增加一条公交线路")
    number = out.split()[0]
    code, out = run(config_file, "case", "void", number)
    assert code != 0 and "--reason" in out
    code, out = run(config_file, "case", "void", number, "--reason", "与LY2026-000001重复登记")
    assert code == 0 and "voided" in out
    code, out = run(config_file, "case", "show", number, "--json")
    data = json.loads(out)
    assert data["state"] == "voided" and data["timeline"][-1]["comment"] == "与LY2026-000001重复登记"
    code, out = run(config_file, "case", "list")
    assert number not in out  # kept, but not listed …
    code, out = run(config_file, "case", "list", "--state", "voided")
    assert number in out  # … unless asked for
    code, out = run(config_file, "case", "void", number, "--reason", "再次作废一次试试")
    assert code != 0 and "作废" in out  # already done: says who and when


def test_set_from_cli(config_file: Path) -> None:
    code, out = run(config_file, "case", "add", "--title", "建议增设公交线路", "--content", "希望增加一条公交线路")
    number = out.split()[0]
    code, out = run(
        config_file, "case", "set", number, "--title", "建议增设12路公交线路", "--report-number", "原信〔2026〕3号"
    )
    assert code == 0 and "已更正" in out
    code, out = run(config_file, "case", "show", number, "--json")
    data = json.loads(out)
    assert data["title"] == "建议增设12路公交线路" and data["report_number"] == "原信〔2026〕3号"
    assert (
        data["timeline"][-1]["action"] == "edit"
        and "建议增设公交线路 → 建议增设12路公交线路" in (data["timeline"][-1]["comment"])
    )
    code, out = run(config_file, "case", "set", number, "--level", "乡级")
    assert code != 0 and "级别" in out
    code, out = run(config_file, "case", "set", number)
    assert code != 0


def test_set_complex_from_cli(config_file: Path) -> None:
    code, out = run(
        config_file, "case", "add", "--title", "小区路灯不亮", "--content", "路灯坏了一个月", "--unit", "区住建局"
    )
    number = out.split()[0]
    code, out = run(config_file, "case", "set", number, "--complex")
    assert code != 0 and "--reason" in out
    code, out = run(config_file, "case", "set", number, "--complex", "--reason", "涉及多个部门，情况复杂")
    assert code == 0 and "设为复杂件" in out
    code, out = run(config_file, "case", "show", number, "--json")
    data = json.loads(out)
    assert data["complex"] is True and data["timeline"][-1]["action"] == "reclassify"


def test_route_from_cli(config_file: Path) -> None:
    """`liuyan case route` (第九条): 改为转办 / 改为办理 / 改为礼节性回复 with a reason."""
    code, out = run(
        config_file, "case", "add", "--title", "不服判决要求再审", "--content", "对判决不服", "--category", "涉法涉诉"
    )
    number = out.split()[0]
    code, out = run(config_file, "case", "show", number, "--json")
    data = json.loads(out)
    assert (data["state"], data["transfer_to"]) == ("transferred", "政法部门")  # 第九条 at registration
    code, out = run(config_file, "case", "route", number, "--to", "办理")
    assert code != 0 and "--reason" in out
    code, out = run(config_file, "case", "route", number, "--to", "elsewhere", "--reason", "写明理由四字")
    assert code != 0 and "未知办理方式" in out
    code, out = run(config_file, "case", "route", number, "--to", "handle", "--reason", "未进入诉讼程序")
    assert code == 0 and "已改为交办办理" in out
    code, out = run(
        config_file, "case", "route", number, "--to", "transfer", "--reason", "当事人已起诉", "--destination", "区法院"
    )
    assert code == 0 and "转区法院" in out
    data = json.loads(run(config_file, "case", "show", number, "--json")[1])
    assert (data["state"], data["transfer_to"], data["transfer_note"]) == ("transferred", "区法院", "当事人已起诉")
    assert [e["action"] for e in data["timeline"]][-3:] == ["transfer", "reroute", "transfer"]
    code, out = run(config_file, "case", "show", number)
    assert "办理方式：转办（第九条）" in out and "转办：转区法院" in out and "当事人已起诉" in out
