"""The report workbook, the chart, the archive check sheet, the printable dossier and the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.clock import ManualClock
from bot.domain.statistics import Period
from bot.exports.archive import export_archive
from bot.exports.dossier import export_dossier
from bot.reports.chart import render_png
from bot.reports.compute import build_report
from bot.reports.xlsx import DETAIL_HEADERS, SHEETS, STAT_HEADERS, export_report
from tests.conftest import BASE_CONFIG, make_deps
from tests.fakes.october import CONTACT, OCTOBER, SCORING, october

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def world(sqlite_url: str, clock: ManualClock) -> Any:
    deps, engine = await make_deps(sqlite_url, clock, SCORING)
    scenario = await october(deps)
    yield deps, scenario
    await engine.dispose()


def rows(sheet: Any) -> list[tuple[Any, ...]]:
    return [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]


async def test_workbook_sheets_headers_and_figures(world: Any, tmp_path: Path) -> None:
    deps, scenario = world
    files = await export_report(deps, OCTOBER, xlsx=tmp_path / "r.xlsx")
    report = files.report
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert tuple(wb.sheetnames) == SHEETS

    summary = {r[0]: r[1] for r in rows(wb["汇总"])}
    assert summary["2026年10月网民留言办理情况统计"] is None
    assert summary["统计期间"].startswith("2026-10-01 至 2026-10-31") and summary["数据截至"] == "2026-11-02 09:00"
    assert summary["受理"] == 10 and summary["上期受理"] == 3 and summary["未交办"] == 1
    assert summary["按期办结率"] == pytest.approx(4 / 7) and summary["平均办结用时（工作日）"] == pytest.approx(4.8)
    assert (summary["合格"], summary["基本合格"], summary["不合格"]) == (2, 1, 0)

    scores = rows(wb["单位得分"])
    head = scores[0]
    assert head[:6] == ("排名", "单位", "得分", "等级", "扣分合计", "加分合计")
    assert "扣：超期办理" in head and "加：督查表扬" in head and "扣：同一事项重复反映" in head
    assert [r[:6] for r in scores[1:]] == [
        (1, "区信访局", 100, "合格", 0, 0),
        (2, "区住建局", 98, "合格", -6, 4),
        (3, "区人社局", 88.5, "基本合格", -13.5, 2),
    ]
    overdue = head.index("扣：超期办理")
    assert [r[overdue] for r in scores[1:]] == [0, -2, -3]
    assert wb["单位得分"].cell(3, head.index("按期办结率") + 1).number_format == "0.0%"

    stats = rows(wb["单位统计"])
    assert stats[0] == ("排名", "单位", *STAT_HEADERS)
    by_name = {r[1]: dict(zip(stats[0], r, strict=True)) for r in stats[1:]}
    assert set(by_name) == {"区信访局", "区住建局", "区人社局", "（未交办）", "合计"}
    assert by_name["区人社局"]["受理"] == 5 and by_name["区人社局"]["退回"] == 2
    assert by_name["区人社局"]["期内超期"] == 3 and by_name["区人社局"]["平均办结用时（工作日）"] == pytest.approx(
        17 / 3
    )
    assert by_name["区住建局"]["阶段性报告次数"] == 2 and by_name["合计"]["受理"] == 10
    assert by_name["区信访局"]["按期办结率"] is None  # no cases: empty cell, not 0 %

    detail = rows(wb["扣分明细"])
    assert detail[0] == DETAIL_HEADERS
    assert len(detail) - 1 == files.details == sum(len(u.score.items) for u in report.units) == 20
    for u in report.units:  # every point is in the detail, and they add up to the score
        assert 100 + sum(r[9] for r in detail[1:] if r[0] == u.name) == pytest.approx(u.score.score)
    assert {r[1] for r in detail[1:]} == {"2026-10"}
    capped = [r for r in detail if r[10] == "已达上限"]
    assert [(r[2], r[4], r[9]) for r in capped] == [("超期办理", "T-A2", -1), ("超期办理", "T-A3", 0)]
    reject = next(r for r in detail if r[2] == "答复被领导驳回")
    assert reject[4] == "T-B3" and reject[5] == str(scenario.events["B3:leader_reject"])
    assert reject[6] == "2026-10-27 15:00"

    cats = rows(wb["分类统计"])
    assert cats[0] == ("所属类型", "本期受理", "上期受理", "增减", "增减率", "按期办结率", "超期件", "化解率")
    assert cats[1][:4] == ("欠薪欠资", 3, 1, 2)
    assert ("级别", "本期受理", "上期受理", "增减", "增减率", "按期办结率", "超期件", "化解率") in cats
    subjects = cats[cats.index(next(r for r in cats if r[0] == "重复反映事项（原件文号）")) + 1 :]
    assert subjects == [
        ("T-B1", 3, 0, "问题房开", "B1号留言：某事项", None, None, None),
        ("T-A5", 1, 1, "欠薪欠资", "（不公开事项）", None, None, None),
    ]
    trend = rows(wb["趋势"])
    assert trend[0] == ("月份", "受理", "已办结", "按期办结", "超期件", "按期办结率") and len(trend) == 13
    assert trend[-1][:5] == ("2026-10", 10, 5, 4, 3)

    charts = wb["图表"]._charts
    assert len(charts) == 4
    titles = ["".join(r.t for p in c.title.tx.rich.p for r in (p.r or [])) for c in charts]
    assert titles == ["按期办结率（按单位）", "超期件数（按单位）", "分类统计（与上期比）", "月度趋势"]
    assert charts[0].series[0].cat.numRef.f == "'单位统计'!$B$2:$B$4"
    assert charts[0].series[0].val.numRef.f == "'单位统计'!$O$2:$O$4"  # 按期办结率
    assert [len(c.series) for c in charts] == [1, 2, 2, 1]
    rules = rows(wb["评分规则"])
    assert rules[0] == ("项目", "类别", "分值", "上限", "认定依据")
    assert rules[1][:4] == ("超期办理", "扣分", "2分/件", "3分")

    raw = (tmp_path / "r.xlsx").read_bytes()
    assert CONTACT.encode() not in raw


async def test_quarter_workbook_has_the_months(world: Any, tmp_path: Path) -> None:
    deps, _ = world
    await export_report(deps, Period.quarter(2026, 4), xlsx=tmp_path / "q.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "q.xlsx")
    scores = rows(wb["单位得分"])
    assert scores[0][:8] == ("排名", "单位", "月均得分", "等级", "月均扣分", "月均加分", "10月得分", "11月得分")
    assert scores[0][8] == "扣：超期办理"
    assert [r[:8] for r in scores[1:]] == [
        (1, "区信访局", 100, "合格", 0, 0, 100, 100),
        (2, "区住建局", 99, "合格", -3, 2, 98, 100),
        (3, "区人社局", 93.75, "合格", -7.25, 1, 88.5, 99),
    ]
    detail = rows(wb["扣分明细"])
    assert {r[1] for r in detail[1:]} == {"2026-10", "2026-11"}
    for row in scores[1:]:  # per unit and month, the detail adds up to that month's score
        for column, month in ((6, "2026-10"), (7, "2026-11")):
            points = sum(r[9] for r in detail[1:] if r[0] == row[1] and r[1] == month)
            assert 100 + points == pytest.approx(row[column])


async def test_empty_month_workbook_and_png(world: Any, tmp_path: Path) -> None:
    deps, _ = world
    files = await export_report(deps, Period.month(2025, 6), xlsx=tmp_path / "e.xlsx", png=tmp_path / "e.png")
    wb = openpyxl.load_workbook(tmp_path / "e.xlsx")
    assert tuple(wb.sheetnames) == SHEETS and files.details == 0
    assert rows(wb["扣分明细"]) == [DETAIL_HEADERS]
    assert len(wb["图表"]._charts) == 3  # no category chart without categories
    assert (tmp_path / "e.png").read_bytes().startswith(PNG_MAGIC)


async def test_png_with_and_without_a_chinese_font(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    deps, _ = world
    report = await build_report(deps, OCTOBER)
    png = render_png(report)
    assert png.startswith(PNG_MAGIC) and 20_000 < len(png) < 2_000_000
    import bot.reports.chart as chart

    monkeypatch.setattr(chart, "cjk_font", lambda: None)  # a server without CJK fonts: no failure
    assert render_png(report).startswith(PNG_MAGIC)


async def test_refuses_wrong_file_types(world: Any, tmp_path: Path) -> None:
    from bot.exports.files import ExportError

    deps, _ = world
    with pytest.raises(ExportError, match=".xlsx"):
        await export_report(deps, OCTOBER, xlsx=tmp_path / "r.csv")
    with pytest.raises(ExportError, match=".png"):
        await export_report(deps, OCTOBER, png=tmp_path / "r.jpg")


async def test_archive_export_has_the_element_check(world: Any, tmp_path: Path) -> None:
    deps, _ = world
    done = await export_archive(deps, date(2026, 10, 1), date(2026, 10, 31), tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert wb.sheetnames == ["留言档案", "要素检查", "说明"]
    check = rows(wb["要素检查"])
    assert check[0] == ("留言文号", "状态", "要素检查", "可立卷") and len(check) == done.count + 1 == 11
    found = {r[0]: r[1:] for r in check[1:]}
    assert found["T-A1"] == ("已办结", "齐全", "是")
    assert found["T-A3"] == ("已交办", "缺少：办理情况、是否化解、评价内容、回访时间、呈报文号", "否（未办结）")
    notes = dict(rows(wb["说明"]))
    assert notes["要素不全"].startswith("7 件，其中已办结或已立卷 0 件")
    september = await export_archive(deps, date(2026, 9, 1), date(2026, 9, 30), tmp_path / "s.xlsx")
    check = {r[0]: r[1:] for r in rows(openpyxl.load_workbook(tmp_path / "s.xlsx")["要素检查"])[1:]}
    assert september.count == 3 and check["T-A5"] == ("已办结", "缺少：呈报文号", "否（要素不全）")
    plain = await export_archive(deps, date(2026, 9, 1), date(2026, 9, 30), tmp_path / "p.xlsx", check_elements=False)
    assert plain.count == 3 and openpyxl.load_workbook(tmp_path / "p.xlsx").sheetnames == ["留言档案", "说明"]


async def test_printable_dossier(world: Any, tmp_path: Path) -> None:
    deps, _ = world
    page = (await export_dossier(deps, "T-A5", tmp_path / "d.html")).read_text(encoding="utf-8")
    assert "@page" in page and "size: A4" in page and "@media print" in page and ".noprint" in page
    assert "要素检查：缺少：呈报文号（要素不全的留言件不能立卷）" in page
    assert "http" not in page.replace("http-equiv", "")  # self-contained
    complete = (await export_dossier(deps, "T-A1", tmp_path / "c.html")).read_text(encoding="utf-8")
    assert "要素检查：十六要素齐全" in complete
    await export_dossier(deps, "T-A5", tmp_path / "d.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx")
    record = {r[0]: r[1] for r in rows(wb["档案"])}
    assert record["要素检查"].startswith("缺少：呈报文号")
    assert int(wb["档案"].page_setup.paperSize) == 9 and wb["办理记录"].print_title_rows == "$1:$1"


# --- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def config_file(world: Any, sqlite_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    text = BASE_CONFIG.replace("[api]", f'[database]\nurl = "{sqlite_url}"\n\n[api]', 1) + SCORING
    path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_cli_report_monthly(config_file: Path, tmp_path: Path) -> None:
    out_xlsx, out_png = tmp_path / "2026-10.xlsx", tmp_path / "2026-10.png"
    code, out = cli(
        "report", "monthly", "--month", "2026-10", "-o", str(out_xlsx), "--png", str(out_png), "-c", str(config_file)
    )
    assert code == 0, out
    assert out.startswith("2026年10月（2026-10-01 至 2026-10-31") and "受理 10 件" in out
    assert f"已写入 {out_xlsx}" in out and f"已写入 {out_png}" in out
    assert tuple(openpyxl.load_workbook(out_xlsx).sheetnames) == SHEETS
    assert out_png.read_bytes().startswith(PNG_MAGIC)

    code, out = cli("report", "monthly", "--month", "2026-10", "-c", str(config_file))
    assert code == 0 and "## 2026年10月网民留言办理情况通报" in out and "**单位排名**" in out
    code, out = cli("report", "quarterly", "--quarter", "2026-Q4", "-c", str(config_file))
    assert code == 0 and out.startswith("2026年第四季度") and "受理 11 件" in out
    code, out = cli("report", "yearly", "--year", "2026", "-o", str(tmp_path / "y.xlsx"), "-c", str(config_file))
    assert code == 0 and out.startswith("2026年度") and (tmp_path / "y.xlsx").exists()

    code, out = cli("report", "monthly", "--month", "2026-13", "-c", str(config_file))
    assert code == 2 and "2026-13" in out
    code, out = cli("report", "monthly", "--month", "2026-Q3", "-c", str(config_file))
    assert code == 2 and "不是月份" in out
    code, out = cli("report", "monthly", "--month", "2026-10", "-o", str(tmp_path / "r.csv"), "-c", str(config_file))
    assert code == 1 and ".xlsx" in out and "Traceback" not in out


def test_cli_archive_check(config_file: Path) -> None:
    code, out = cli(
        "archive", "check", "--from", "2026-09-01", "--to", "2026-09-30", "--closed", "-c", str(config_file)
    )
    assert code == 1, out  # a closed case is incomplete
    assert out.splitlines() == [
        "T-A5\t已办结\t缺少：呈报文号",
        "要素不全 1 件，其中已办结或已归档 1 件（2026-09-01 至 2026-09-30）",
    ]
    code, out = cli("archive", "check", "--from", "2026-10-01", "--to", "2026-10-31", "-c", str(config_file))
    assert code == 0 and "T-A3\t已交办\t缺少：办理情况" in out and "T-A1" not in out
    assert out.splitlines()[-1].startswith("要素不全 7 件，其中已办结或已归档 0 件")
    code, out = cli("archive", "check", "--from", "2026-10-31", "--to", "2026-10-01", "-c", str(config_file))
    assert code == 1 and "晚于" in out
