"""The report chart draws Chinese with the packaged CJK font on any machine, without a single
warning, in regular weight, and says 本期无数据 in a panel without data (issue 14)."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.domain.statistics import Period
from bot.reports import chart
from bot.reports.compute import build_report
from tests.conftest import make_deps
from tests.fakes.october import OCTOBER, SCORING, october

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def deps(sqlite_url: str, clock: ManualClock) -> Any:
    deps, engine = await make_deps(sqlite_url, clock, SCORING)
    yield deps
    await engine.dispose()


def _same_file(a: Any, b: Any) -> bool:
    return Path(str(a)).resolve() == Path(str(b)).resolve()


def _texts(fig: Any) -> list[Any]:
    return [t for t in fig.findobj(match=lambda a: a.__class__.__name__ in ("Text", "Annotation")) if t.get_text()]


def test_the_packaged_font_is_registered_by_path() -> None:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = chart.cjk_font_file()
    assert path is not None and Path(path).is_file(), "pylopdf-fonts-zh-cn is a dependency"
    assert "pylopdf_fonts_zh_cn" in path and path.endswith("NotoSansSC-Regular.otf")
    family = chart.cjk_font()
    assert family == "Noto Sans SC"
    assert any(_same_file(f.fname, path) for f in font_manager.fontManager.ttflist)
    assert _same_file(
        font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False), path
    )
    font = FT2Font(path)
    for char in "区人社局区住建局区信访局按期办结率超期件数本期无数据欠薪欠资月度趋势":
        assert font.get_char_index(ord(char)) != 0, char


async def test_chinese_chart_without_warnings_from_the_cjk_font(
    deps: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    await october(deps)
    report = await build_report(deps, OCTOBER)
    path = chart.cjk_font_file()
    assert path is not None
    with caplog.at_level(logging.DEBUG, logger="matplotlib"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.DEBUG, logger="bot.reports.chart"):
            png = chart.render_png(report)
            fig = chart.build_figure(report)
    assert [str(w.message) for w in caught] == []
    noisy = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == []
    assert not [r for r in caplog.records if "findfont" in r.getMessage() and "Failed" in r.getMessage()]
    assert png.startswith(PNG_MAGIC) and 20_000 < len(png) < 2_000_000
    (tmp_path / "chart.png").write_bytes(png)
    print(f"chart: {tmp_path / 'chart.png'}")

    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(path)
    texts = _texts(fig)
    shown = "".join(t.get_text() for t in texts)
    for name in ("区人社局", "区住建局", "按期办结率（按单位）", "分类统计（与上期比）"):
        assert name in shown, name
    for text in texts:
        prop = text.get_fontproperties()
        # every label resolves to the CJK file, in regular weight, and that file has its glyphs
        assert _same_file(font_manager.findfont(prop), path), text.get_text()
        assert prop.get_weight() in ("normal", 400), (text.get_text(), prop.get_weight())
        for char in text.get_text():
            if not char.isspace():
                assert font.get_char_index(ord(char)) != 0, (text.get_text(), char)


async def test_panels_without_data_say_so(deps: Any, tmp_path: Path) -> None:
    report = await build_report(deps, Period.month(2026, 10))  # nothing received at all
    fig = chart.build_figure(report)
    axes = fig.get_axes()
    empty = [ax for ax in axes if any(t.get_text() == chart.NO_DATA for t in ax.texts)]
    assert len(empty) == 4
    for ax in empty:
        (note,) = [t for t in ax.texts if t.get_text() == chart.NO_DATA]
        assert note.get_position() == (0.5, 0.5) and note.get_transform() == ax.transAxes
        assert (note.get_ha(), note.get_va()) == ("center", "center")
        assert len(ax.patches) == 0 and len(ax.lines) == 0  # no bars, no empty frame with ticks
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = chart.render_png(report)
    buffer.write(png)
    assert png.startswith(PNG_MAGIC)
    (tmp_path / "chart-empty.png").write_bytes(png)
    print(f"chart without data: {tmp_path / 'chart-empty.png'}")


async def test_without_any_cjk_font_ascii_labels(deps: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await october(deps)
    report = await build_report(deps, OCTOBER)
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    fig = chart.build_figure(report)
    shown = "".join(t.get_text() for t in _texts(fig))
    assert "区人社局" not in shown and "#1" in shown
    assert chart.render_png(report).startswith(PNG_MAGIC)
