"""The report as a workbook (openpyxl, write-only: rows stream to disk) with native Excel charts.

Sheets: 汇总 (office-wide figures), 单位得分 (rank, score, grade, points per rule), 单位统计 (every
figure per unit, with a total row), 扣分明细 (one row per case or event behind a point, the
points after the caps: per unit they add up to the score), 分类统计 (category/level/source and
the repeated matters), 趋势 (month by month), 图表 (the charts), 评分规则 (the rules that were
applied). Definitions: docs/reports.md. No contact details and no message text are written;
titles of repeated matters only where ``Report.hot_subjects`` allows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.domain.scoring import CATALOGUE, RuleKind, describe
from bot.domain.statistics import Period, UnitStats
from bot.exports.files import cell_text, check_suffix, save_workbook
from bot.handlers.deps import Deps
from bot.reports.compute import build_report
from bot.reports.model import Breakdown, Report

SHEETS = ("汇总", "单位得分", "单位统计", "扣分明细", "分类统计", "趋势", "图表", "评分规则")
PERCENT = "0.0%"
DAYS = "0.0"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    width: float = 10
    number_format: str | None = None


#: 单位统计 / 汇总: (header, value of a UnitStats, number format)
STAT_FIELDS: tuple[tuple[str, Callable[[UnitStats], Any], str | None], ...] = (
    ("受理", lambda s: s.received, None),
    ("已交办", lambda s: s.assigned, None),
    ("已签收", lambda s: s.accepted, None),
    ("按时签收", lambda s: s.accepted_on_time, None),
    ("签收及时率", lambda s: s.accept_rate, PERCENT),
    ("退回", lambda s: s.returned, None),
    ("已办结", lambda s: s.finished, None),
    ("按期办结", lambda s: s.finished_on_time, None),
    ("超期办结", lambda s: s.finished_late, None),
    ("在办", lambda s: s.open, None),
    ("超期未办结", lambda s: s.open_overdue, None),
    ("超期件", lambda s: s.overdue, None),
    ("按期办结率", lambda s: s.on_time_rate, PERCENT),
    ("期内超期", lambda s: s.overdue_in_period, None),
    ("当前超期", lambda s: s.overdue_now, None),
    ("平均办结用时（工作日）", lambda s: s.avg_workdays, DAYS),
    ("已回访", lambda s: s.followed, None),
    ("已化解", lambda s: s.resolved, None),
    ("化解率", lambda s: s.resolution_rate, PERCENT),
    ("满意", lambda s: s.satisfied, None),
    ("基本满意", lambda s: s.basic, None),
    ("不满意", lambda s: s.dissatisfied, None),
    ("满意率", lambda s: s.satisfaction_rate, PERCENT),
    ("已答复", lambda s: s.replied, None),
    ("公开答复", lambda s: s.public, None),
    ("公开答复率", lambda s: s.public_rate, PERCENT),
    ("延期次数", lambda s: s.extensions, None),
    ("延期件", lambda s: s.extended_cases, None),
    ("阶段性报告次数", lambda s: s.interims, None),
    ("阶段性报告件", lambda s: s.interim_cases, None),
    ("重复反映件", lambda s: s.repeated, None),
    ("待审核超期", lambda s: s.stalled_review, None),
    ("待审定超期", lambda s: s.stalled_approval, None),
    ("待回复超期", lambda s: s.stalled_publish, None),
    ("未当日交办", lambda s: s.not_same_day, None),
    ("礼节性回复件", lambda s: s.courtesy, None),
    ("转办件", lambda s: s.transferred, None),
)
STAT_HEADERS = tuple(h for h, _, _ in STAT_FIELDS)
DETAIL_HEADERS = ("单位", "月份", "项目", "类别", "文号", "事件编号", "发生时间", "说明", "标准分值", "计分", "备注")


class _Writer:
    """Small helpers over a write-only sheet: bold headers, number formats, text never a formula."""

    def __init__(self, workbook: Any, title: str, widths: Sequence[float] = ()) -> None:
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.sheet = workbook.create_sheet(title)
        for i, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(i)].width = width
        self.rows = 0
        self.bold = Font(bold=True)
        self.big = Font(bold=True, size=14)

    def row(
        self, values: Sequence[Any], formats: Sequence[str | None] = (), *, bold: bool = False, big: bool = False
    ) -> int:
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for i, value in enumerate(values):
            value = cell_text(value)
            fmt = formats[i] if i < len(formats) else None
            if (isinstance(value, str) and value.startswith("=")) or fmt or bold or big:
                cell = WriteOnlyCell(self.sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # citizens' and units' text never becomes a formula
                if fmt:
                    cell.number_format = fmt
                if bold or big:
                    cell.font = self.big if big else self.bold
                cells.append(cell)
            else:
                cells.append(value)
        self.sheet.append(cells)
        self.rows += 1
        return self.rows

    def blank(self) -> None:
        self.sheet.append([])
        self.rows += 1


def _summary_sheet(wb: Any, report: Report, generated: str) -> None:
    w = _Writer(wb, "汇总", (24, 18, 60))
    w.row([f"{report.period.label}网民留言办理情况统计"], big=True)
    w.row(["统计期间", f"{report.period_text}（按留言时间，{report.tz.key}）"])
    w.row(["数据截至", report.as_of_text])
    w.row(["生成时间", generated])
    w.blank()
    w.row(["指标", "全部", "说明"], bold=True)
    o = report.office
    w.row(["上期受理", report.previous_received, report.period.previous().label])
    w.row(["未交办", report.unassigned.received, "本期收到、尚未交办承办单位"])
    for header, value, fmt in STAT_FIELDS:
        w.row([header, value(o), _NOTES.get(header, "")], [None, fmt])
    w.blank()
    w.row(["评分等级", "单位数"], bold=True)
    counts = report.grade_counts()
    for grade in ("合格", "基本合格", "不合格"):
        w.row([grade, counts.get(grade, 0)])


_NOTES = {
    "签收及时率": "按时签收 ÷（已签收 + 签收时限已过仍未签收）",
    "按期办结率": "按期办结 ÷（已办结 + 超期未办结）",
    "超期件": "超期办结 + 超期未办结（本期受理的留言）",
    "期内超期": "本期内任一时刻处于超期状态的留言（不论何时受理）",
    "当前超期": "统计时仍在办且已过到期时间的留言（不论何时受理）",
    "平均办结用时（工作日）": "交办次日起至提交办理情况之日的工作日数，按工作日历",
    "化解率": "已化解 ÷ 已回访",
    "满意率": "（满意 + 基本满意）÷ 已评价",
    "公开答复率": "公开答复 ÷ 已答复",
}


def _score_sheet(wb: Any, report: Report) -> None:
    """One row per unit. A quarter or a year: 得分 is the mean of the monthly scores (one column
    per month), the rule columns are the points of every month added up."""
    rules = [r for r in report.rules.rules if r.points > 0]
    months = [m for m, _ in report.units[0].monthly] if report.units and report.period.kind != "month" else []
    headers = [
        "排名",
        "单位",
        "月均得分" if months else "得分",
        "等级",
        "月均扣分" if months else "扣分合计",
        "月均加分" if months else "加分合计",
    ]
    headers += [f"{m.index}月得分" for m in months]
    headers += [("扣：" if r.kind is RuleKind.DEDUCTION else "加：") + r.label for r in rules]
    headers += ["受理", "按期办结率", "超期件", "当前超期"]
    w = _Writer(wb, "单位得分", [6, 20, 9, 9, 9, 9] + [8] * len(months) + [10] * len(rules) + [8, 11, 8, 9])
    w.sheet.freeze_panes = "C2"
    w.row(headers, bold=True)
    for u in report.units:
        values: list[Any] = [u.rank, u.name, u.score.score, u.score.grade, -u.score.deductions, u.score.bonuses]
        values += [score.score for _, score in u.monthly] if months else []
        for r in rules:
            line = u.score.line(r.key)
            values.append(line.points if line is not None else 0)
        values += [u.stats.received, u.stats.on_time_rate, u.stats.overdue, u.stats.overdue_now]
        formats: list[str | None] = [None for _ in values[:-3]]
        formats += [PERCENT, None, None]
        w.row(values, formats)


def _stats_sheet(wb: Any, report: Report) -> int:
    w = _Writer(wb, "单位统计", [6, 20] + [10] * len(STAT_FIELDS))
    w.sheet.freeze_panes = "C2"
    w.row(["排名", "单位", *STAT_HEADERS], bold=True)
    formats = [None, None] + [fmt for _, _, fmt in STAT_FIELDS]
    for u in report.units:
        w.row([u.rank, u.name] + [value(u.stats) for _, value, _ in STAT_FIELDS], formats)
    if report.unassigned.received:
        w.row(["", "（未交办）"] + [value(report.unassigned) for _, value, _ in STAT_FIELDS], formats)
    w.row(["", "合计"] + [value(report.office) for _, value, _ in STAT_FIELDS], formats, bold=True)
    return len(report.units)


def _detail_sheet(wb: Any, report: Report) -> int:
    w = _Writer(wb, "扣分明细", (20, 9, 16, 6, 18, 14, 17, 60, 9, 8, 10))
    w.sheet.freeze_panes = "A2"
    w.row(DETAIL_HEADERS, bold=True)
    tz = report.tz
    count = 0
    for u in report.units:
        for month, score in u.monthly:
            for line in score.lines:
                kind = "扣分" if line.rule.kind is RuleKind.DEDUCTION else "加分"
                for item in line.items:
                    occ = item.occurrence
                    at = occ.at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if occ.at is not None else ""
                    w.row(
                        [
                            u.name,
                            month.key,
                            line.rule.label,
                            kind,
                            occ.case_number or "",
                            ",".join(map(str, occ.event_ids)),
                            at,
                            occ.note,
                            item.nominal,
                            item.points,
                            "已达上限" if item.capped else "",
                        ]
                    )
                    count += 1
    return count


def _breakdown_rows(w: _Writer, title: str, rows: Sequence[Breakdown]) -> tuple[int, int]:
    """Returns the first and last data row (1-based) of the table."""
    w.row([title, "本期受理", "上期受理", "增减", "增减率", "按期办结率", "超期件", "化解率"], bold=True)
    first = w.rows + 1
    for b in rows:
        t = b.trend
        w.row(
            [b.key, b.received, b.previous, t.change, t.change_rate, b.on_time_rate, b.overdue, b.resolution_rate],
            [None, None, None, None, PERCENT, PERCENT, None, PERCENT],
        )
    return first, w.rows


def _categories_sheet(wb: Any, report: Report) -> tuple[int, int]:
    w = _Writer(wb, "分类统计", (22, 10, 10, 8, 9, 11, 8, 9))
    category_rows = _breakdown_rows(w, "所属类型", report.categories)
    w.blank()
    _breakdown_rows(w, "级别", report.levels)
    w.blank()
    _breakdown_rows(w, "来源平台", report.sources)
    w.blank()
    w.row(["重复反映事项（原件文号）", "本期件数", "上期件数", "所属类型", "事项"], bold=True)
    for s in report.hot_subjects:
        w.row([s.number, s.count, s.previous, s.category, s.title or "（不公开事项）"])
    return category_rows


def _trend_sheet(wb: Any, report: Report) -> None:
    w = _Writer(wb, "趋势", (10, 8, 8, 10, 8, 11))
    w.row(["月份", "受理", "已办结", "按期办结", "超期件", "按期办结率"], bold=True)
    for p in report.trend:
        w.row(
            [p.month.key, p.received, p.finished, p.finished_on_time, p.overdue, p.on_time_rate], [None] * 5 + [PERCENT]
        )


def _rules_sheet(wb: Any, report: Report) -> None:
    w = _Writer(wb, "评分规则", (18, 6, 12, 10, 70))
    r = report.rules
    w.row(["项目", "类别", "分值", "上限", "认定依据"], bold=True)
    for row in describe(r):
        w.row(list(row))
    w.blank()
    w.row(["基础分", f"{r.base:g}"])
    w.row(["扣分上限", f"{r.max_deduction:g}" if r.max_deduction else "不封顶"])
    w.row(["加分上限", f"{r.max_bonus:g}" if r.max_bonus else "不封顶"])
    w.row(["合格", f"≥ {r.pass_score:g} 分"])
    w.row(["基本合格", f"≥ {r.basic_score:g} 分"])
    w.row(["不合格", f"< {r.basic_score:g} 分"])
    w.row(["化解率加分条件", f"本期回访 ≥ {r.resolution_min_cases} 件且化解率 ≥ {r.resolution_threshold:.0%}"])
    w.row(["签收时限", f"交办后第 {report.accept_workdays} 个工作日下班前"])
    w.row(["计分顺序", "按上表顺序逐项、同项按发生时间计分；达到单项或总分上限后的各条计 0 分，仍列入明细"])
    w.row(
        [
            "计分期间",
            ("每月单独计分（上限按月计算）；季度、年度得分为各月得分的平均值（保留两位小数），各项扣分为期内各月合计"),
        ]
    )


def _charts_sheet(wb: Any, report: Report, units: int, categories: tuple[int, int]) -> int:
    from openpyxl.chart import BarChart, LineChart, Reference

    sheet = wb.create_sheet("图表")
    stats = wb["单位统计"]
    col = {h: i + 3 for i, h in enumerate(STAT_HEADERS)}  # columns A, B are rank and unit
    charts = 0

    def style(chart: Any, title: str, y_title: str | None = None) -> Any:
        chart.title = title
        chart.height, chart.width = 9, 18
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        if y_title:
            chart.y_axis.title = y_title
        return chart

    if units:
        names = Reference(stats, min_col=2, min_row=2, max_row=units + 1)
        rate = style(BarChart(), "按期办结率（按单位）")
        rate.add_data(Reference(stats, min_col=col["按期办结率"], min_row=1, max_row=units + 1), titles_from_data=True)
        rate.set_categories(names)
        rate.y_axis.number_format = "0%"
        rate.y_axis.scaling.min, rate.y_axis.scaling.max = 0, 1
        sheet.add_chart(rate, "A1")
        overdue = style(BarChart(), "超期件数（按单位）", "件")
        for header in ("超期件", "当前超期"):
            overdue.add_data(Reference(stats, min_col=col[header], min_row=1, max_row=units + 1), titles_from_data=True)
        overdue.set_categories(names)
        sheet.add_chart(overdue, "L1")
        charts += 2
    first, last = categories
    if last >= first:
        sheet_c = wb["分类统计"]
        cat = style(BarChart(), "分类统计（与上期比）", "件")
        cat.type = "bar"  # horizontal
        cat.add_data(Reference(sheet_c, min_col=2, max_col=3, min_row=first - 1, max_row=last), titles_from_data=True)
        cat.set_categories(Reference(sheet_c, min_col=1, min_row=first, max_row=last))
        sheet.add_chart(cat, "A20")
        charts += 1
    trend_sheet = wb["趋势"]
    n = len(report.trend)
    received = style(BarChart(), "月度趋势", "件")
    received.add_data(Reference(trend_sheet, min_col=2, min_row=1, max_row=n + 1), titles_from_data=True)
    received.set_categories(Reference(trend_sheet, min_col=1, min_row=2, max_row=n + 1))
    rate_line = LineChart()
    rate_line.add_data(Reference(trend_sheet, min_col=6, min_row=1, max_row=n + 1), titles_from_data=True)
    rate_line.y_axis.axId = 200
    rate_line.y_axis.title = "按期办结率"
    rate_line.y_axis.number_format = "0%"
    rate_line.y_axis.scaling.min, rate_line.y_axis.scaling.max = 0, 1
    rate_line.y_axis.crosses = "max"
    rate_line.y_axis.delete = False
    received += rate_line
    sheet.add_chart(received, "L20")
    return charts + 1


@dataclass(frozen=True)
class ReportFiles:
    report: Report
    xlsx: Path | None
    png: Path | None
    details: int  # rows in 扣分明细


def _yearly_sheet(wb: Any, report: Report) -> None:
    """年度考评 (seed 004): the year scored at once, its grade and the consequence, for the leaders."""
    w = _Writer(wb, "年度考评", (18, 10, 10, 10, 10, 10, 50))
    w.row([f"{report.period.label}网民留言办理工作量化积分考评"], big=True)
    w.row(["单位", "年度得分", "等次", "扣分合计", "加分合计", "各月平均", "处理"], bold=True)
    for u in sorted(report.units, key=lambda u: -(u.yearly.score if u.yearly else 0)):
        if u.yearly is None:
            continue
        y = u.yearly
        w.row([u.name, y.score, y.grade, -y.deductions, y.bonuses, u.score.score, u.consequence or "—"])


def write_report_xlsx(report: Report, path: Path, *, generated: datetime | None = None) -> int:
    """Write the workbook atomically; returns the number of 扣分明细 rows."""
    from openpyxl import Workbook

    check_suffix(path, (".xlsx",))
    wb = Workbook(write_only=True)
    made = (generated or report.as_of).astimezone(report.tz).strftime("%Y-%m-%d %H:%M")
    _summary_sheet(wb, report, made)
    _score_sheet(wb, report)
    units = _stats_sheet(wb, report)
    details = _detail_sheet(wb, report)
    categories = _categories_sheet(wb, report)
    _trend_sheet(wb, report)
    _charts_sheet(wb, report, units, categories)
    _rules_sheet(wb, report)
    if report.period.kind == "year":
        _yearly_sheet(wb, report)
    save_workbook(wb, path)
    return details


async def export_report(
    deps: Deps, period: Period, *, xlsx: Path | None = None, png: Path | None = None, now: datetime | None = None
) -> ReportFiles:
    """Build the report of ``period`` and write the workbook and/or the chart."""
    import asyncio

    if xlsx is not None:
        check_suffix(xlsx, (".xlsx",))
    if png is not None:
        check_suffix(png, (".png",))
    report = await build_report(deps, period, now=now)
    details = 0
    if xlsx is not None:
        details = await asyncio.to_thread(write_report_xlsx, report, xlsx, generated=deps.clock.now())
    if png is not None:
        from bot.reports.chart import write_png

        await asyncio.to_thread(write_png, report, png)
    return ReportFiles(report, xlsx, png, details)


__all__ = ["CATALOGUE", "DETAIL_HEADERS", "SHEETS", "STAT_HEADERS", "ReportFiles", "export_report", "write_report_xlsx"]
