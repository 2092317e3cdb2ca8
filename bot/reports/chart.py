"""The report as one PNG for chat: per-unit on-time rate and overdue counts, the category
breakdown against the previous period, and the monthly trend.

matplotlib's object API on the Agg canvas (no pyplot, no global backend switch, safe in a worker
thread). Chinese labels need a CJK font, and most servers have none: the package depends on
``pylopdf-fonts-zh-cn`` (Noto Sans SC Regular, SIL OFL 1.1), whose file is registered with
matplotlib's font manager by path, so the chart looks the same on every machine. Only if that
package is missing is a system font looked up (fontconfig, ``:lang=zh``); without any, the chart
is drawn with ASCII labels (units as their rank ``#1``, categories as ``C1``…) rather than boxes.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.reports.model import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

MAX_UNITS = 20  # units in the per-unit panels (those with the most cases, in ranking order)
MAX_CATEGORIES = 10
NO_DATA = "本期无数据"
NO_DATA_ASCII = "no data"


def _packaged_font() -> str | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = pylopdf_fonts_zh_cn.sans_path()
    return str(path) if path.is_file() else None


def _system_font() -> str | None:
    """A regular-weight Chinese font file that fontconfig knows, or None."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "file", "style"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = []
    for line in out.splitlines():
        path, _, style = line.partition(":")
        if path.strip():
            # a regular face first: a bold one makes every label bold
            files.append((0 if "Regular" in style or "Book" in style else 1, path.strip()))
    return min(files)[1] if files else None


@functools.cache
def cjk_font_file() -> str | None:
    """The file of the CJK font the chart uses, registered with matplotlib, or None."""
    from matplotlib import font_manager

    for path in (_packaged_font(), _system_font()):
        if path is None:
            continue
        try:
            font_manager.fontManager.addfont(path)
            return path
        except Exception:  # an unreadable font file: try the next one
            log.debug("cannot use font %s", path, exc_info=True)
    return None


@functools.cache
def cjk_font() -> str | None:
    """The family name of the registered CJK font, or None."""
    path = cjk_font_file()
    if path is None:
        return None
    from matplotlib import font_manager

    return str(font_manager.FontProperties(fname=path).get_name())


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


def _no_data(ax: Any, text: str) -> None:
    """Say so in the middle of the panel instead of drawing an empty frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=14, color="#8c959f")


def render_png(report: Report, *, dpi: int = 100) -> bytes:
    """The four panels as PNG bytes (about 1200×900 px at the default dpi)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = build_figure(report, dpi=dpi)
        buffer = io.BytesIO()
        with _style():
            fig.savefig(buffer, format="png", dpi=dpi)
    for w in caught:
        # a glyph the font lacks draws as a box; that must never fail a report, but it is logged
        if issubclass(w.category, UserWarning) and "missing from" in str(w.message):
            log.warning("chart: %s", w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return buffer.getvalue()


def _style() -> Any:
    import matplotlib

    family = cjk_font()
    return matplotlib.rc_context(
        {
            # the CJK font first, DejaVu (bundled with matplotlib) for any glyph it lacks; one
            # regular face only, so nothing asks for a bold one (findfont would warn and fall back)
            "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
            "font.weight": "normal",
            "axes.titleweight": "normal",
            "figure.titleweight": "normal",
            "axes.unicode_minus": False,
        }
    )


def build_figure(report: Report, *, dpi: int = 100) -> Figure:
    """The four panels; a panel without data says so (本期无数据) instead of an empty frame."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    chinese = cjk_font() is not None
    t = _texts(chinese)
    no_data = NO_DATA if chinese else NO_DATA_ASCII
    with _style():
        fig = Figure(figsize=(12, 9), dpi=dpi, layout="constrained")
        FigureCanvasAgg(fig)
        fig.suptitle(f"{report.period.label}  {report.period_text}" if chinese else report.period.key, fontsize=16)
        axes = fig.subplots(2, 2)

        busiest = sorted(report.units, key=lambda u: (-u.stats.received, u.rank))[:MAX_UNITS]
        units = sorted(busiest, key=lambda u: (u.rank, u.name))
        labels = [u.name if chinese else f"#{u.rank}" for u in units]
        x = list(range(len(units)))

        ax = axes[0][0]
        ax.set_title(t["rate"], fontsize=13)
        if any(u.stats.on_time_rate is not None for u in units):
            rates = [(u.stats.on_time_rate or 0.0) for u in units]
            bars = ax.bar(x, rates, color="#4C78A8")
            ax.bar_label(
                bars,
                labels=["—" if u.stats.on_time_rate is None else f"{u.stats.on_time_rate:.0%}" for u in units],
                fontsize=8,
            )
            ax.set_ylim(0, 1.05)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
        else:
            _no_data(ax, no_data)

        ax = axes[0][1]
        ax.set_title(t["overdue"], fontsize=13)
        if any(u.stats.received or u.stats.overdue_now for u in units):
            width = 0.4
            period = [u.stats.overdue for u in units]
            now = [u.stats.overdue_now for u in units]
            ax.bar([i - width / 2 for i in x], period, width, label=t["period"], color="#E45756")
            ax.bar([i + width / 2 for i in x], now, width, label=t["now"], color="#F58518")
            ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=8)
            ax.set_ylim(0, max([*period, *now, 1]) * 1.1)  # no overdue case: 0 at the bottom, not mid-axis
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.legend(fontsize=8)
        else:
            _no_data(ax, no_data)

        ax = axes[1][0]
        ax.set_title(t["cat"], fontsize=13)
        cats = [b for b in report.categories if b.received or b.previous][:MAX_CATEGORIES][::-1]
        if cats:
            y = list(range(len(cats)))
            ax.barh([i + 0.2 for i in y], [b.received for b in cats], 0.4, label=t["this"], color="#4C78A8")
            ax.barh([i - 0.2 for i in y], [b.previous for b in cats], 0.4, label=t["prev"], color="#B7C9E2")
            n = len(cats)
            ax.set_yticks(y, [b.key if chinese else f"C{n - i}" for i, b in enumerate(cats)], fontsize=9)
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.legend(fontsize=8, loc="lower right")
        else:
            _no_data(ax, no_data)

        ax = axes[1][1]
        ax.set_title(t["trend"], fontsize=13)
        points = [(i, p.on_time_rate) for i, p in enumerate(report.trend) if p.on_time_rate is not None]
        if any(p.received for p in report.trend) or points:
            months = [f"{p.month.year % 100:02d}-{p.month.index:02d}" for p in report.trend]
            m = list(range(len(months)))
            ax.bar(m, [p.received for p in report.trend], color="#B7C9E2", label=t["received"])
            ax.set_xticks(m, months, rotation=45, fontsize=8)
            ax.set_ylim(0, max([p.received for p in report.trend] + [1]) * 1.1)
            ax.yaxis.get_major_locator().set_params(integer=True)
            twin = ax.twinx()
            twin.plot([i for i, _ in points], [r for _, r in points], marker="o", color="#54A24B", label=t["on_time"])
            twin.set_ylim(0, 1.05)
            twin.yaxis.set_major_formatter(PercentFormatter(1.0))
            handles = ax.get_legend_handles_labels()
            extra = twin.get_legend_handles_labels()
            ax.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize=8, loc="upper left")
        else:
            _no_data(ax, no_data)
    return fig


def write_png(report: Report, path: Path) -> Path:
    """Render and write atomically (a failed write leaves no half file); ExportError on failure."""
    from bot.exports.files import write_atomically

    return write_atomically(path, render_png(report))
