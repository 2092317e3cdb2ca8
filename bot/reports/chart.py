"""The report as one PNG for chat: per-unit on-time rate and overdue counts, the category
breakdown against the previous period, and the monthly trend.

matplotlib's object API on the Agg canvas (no pyplot, no global backend switch, safe in a worker
thread). Chinese labels need a CJK font: the first one matplotlib knows from a list of common
ones, else the first that fontconfig reports for ``:lang=zh``; without any, the chart is drawn
with ASCII labels (units as their rank ``#1``, categories as ``C1``…) rather than boxes.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

from bot.reports.model import Report

log = logging.getLogger(__name__)

MAX_UNITS = 20  # units in the per-unit panels (those with the most cases, in ranking order)
MAX_CATEGORIES = 10
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
    "Sarasa Gothic SC", "AR PL UMing CN", "AR PL UKai CN", "Droid Sans Fallback",
)  # fmt: skip


@functools.cache
def cjk_font() -> str | None:
    """The family name of a font that can draw Chinese, or None."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        path = line.split(":")[0].strip()
        if not path:
            continue
        try:
            font_manager.fontManager.addfont(path)
            return str(font_manager.FontProperties(fname=path).get_name())
        except Exception:  # an unreadable font file: try the next one
            log.debug("cannot use font %s", path, exc_info=True)
    return None


def _texts(chinese: bool) -> dict[str, str]:
    if chinese:
        return {
            "rate": "按期办结率（按单位）",
            "overdue": "超期件数（按单位）",
            "period": "本期受理超期",
            "now": "当前超期",
            "cat": "分类统计（与上期比）",
            "this": "本期",
            "prev": "上期",
            "trend": "月度趋势",
            "received": "受理件数",
            "on_time": "按期办结率",
        }
    return {
        "rate": "On-time rate by unit",
        "overdue": "Overdue cases by unit",
        "period": "overdue (cohort)",
        "now": "overdue now",
        "cat": "Categories vs previous period",
        "this": "this period",
        "prev": "previous",
        "trend": "Monthly trend",
        "received": "received",
        "on_time": "on-time rate",
    }


def render_png(report: Report, *, dpi: int = 100) -> bytes:
    """The four panels as PNG bytes (about 1200×900 px at the default dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    family = cjk_font()
    chinese = family is not None
    t = _texts(chinese)
    rc: dict[str, Any] = {
        "font.family": [family, "sans-serif"] if family else ["sans-serif"],
        "axes.unicode_minus": False,
    }
    import matplotlib

    with matplotlib.rc_context(rc), warnings.catch_warnings():
        # a glyph the font lacks draws as a box; that must never fail a report
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
        fig = Figure(figsize=(12, 9), dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        fig.suptitle(f"{report.period.label}  {report.period_text}" if chinese else report.period.key, fontsize=14)
        axes = fig.subplots(2, 2)

        busiest = sorted(report.units, key=lambda u: (-u.stats.received, u.rank))[:MAX_UNITS]
        units = sorted(busiest, key=lambda u: (u.rank, u.name))
        labels = [u.name if chinese else f"#{u.rank}" for u in units]
        x = list(range(len(units)))

        ax = axes[0][0]
        rates = [(u.stats.on_time_rate or 0.0) for u in units]
        bars = ax.bar(x, rates, color="#4C78A8")
        ax.bar_label(
            bars,
            labels=["—" if u.stats.on_time_rate is None else f"{u.stats.on_time_rate:.0%}" for u in units],
            fontsize=8,
        )
        ax.set_title(t["rate"])
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)

        ax = axes[0][1]
        width = 0.4
        ax.bar([i - width / 2 for i in x], [u.stats.overdue for u in units], width, label=t["period"], color="#E45756")
        ax.bar([i + width / 2 for i in x], [u.stats.overdue_now for u in units], width, label=t["now"], color="#F58518")
        ax.set_title(t["overdue"])
        ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8)

        ax = axes[1][0]
        cats = [b for b in report.categories if b.received or b.previous][:MAX_CATEGORIES][::-1]
        y = list(range(len(cats)))
        ax.barh([i + 0.2 for i in y], [b.received for b in cats], 0.4, label=t["this"], color="#4C78A8")
        ax.barh([i - 0.2 for i in y], [b.previous for b in cats], 0.4, label=t["prev"], color="#B7C9E2")
        n = len(cats)
        ax.set_yticks(y, [b.key if chinese else f"C{n - i}" for i, b in enumerate(cats)], fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(t["cat"])
        if cats:
            ax.legend(fontsize=8, loc="lower right")

        ax = axes[1][1]
        months = [f"{p.month.year % 100:02d}-{p.month.index:02d}" for p in report.trend]
        m = list(range(len(months)))
        ax.bar(m, [p.received for p in report.trend], color="#B7C9E2", label=t["received"])
        ax.set_xticks(m, months, rotation=45, fontsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(t["trend"])
        twin = ax.twinx()
        points = [(i, p.on_time_rate) for i, p in enumerate(report.trend) if p.on_time_rate is not None]
        twin.plot([i for i, _ in points], [r for _, r in points], marker="o", color="#54A24B", label=t["on_time"])
        twin.set_ylim(0, 1.05)
        twin.yaxis.set_major_formatter(PercentFormatter(1.0))
        handles = ax.get_legend_handles_labels()
        extra = twin.get_legend_handles_labels()
        ax.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize=8, loc="upper left")

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def write_png(report: Report, path: Path) -> Path:
    """Render and write atomically (a failed write leaves no half file); ExportError on failure."""
    from bot.exports.files import write_atomically

    return write_atomically(path, render_png(report))
