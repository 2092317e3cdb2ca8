"""`liuyan case import` and `liuyan export archive|dossier`: spreadsheets in and out.

openpyxl and the use cases are imported only when a command runs.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.base import DAY, BadValue, cli_actor, config_option, friendly, load, run_with_runtime

T = TypeVar("T")


class _ProgressBar:
    """A click progress bar on stderr, opened when the first row reports the total; a workbook
    that declares no size (no ``<dimension>``) gets a count of the rows read instead."""

    EVERY = 500  # rows between two counts when nothing can be redrawn in place

    def __init__(self) -> None:
        self._bar: Any = None
        self._done = 0
        self._tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        if self._bar is None and total:
            self._bar = click.progressbar(length=total, label="导入", file=sys.stderr)
            self._bar.__enter__()
        if self._bar is not None:
            self._bar.update(done - self._done)
        elif self._tty:
            click.echo(f"\r已读取 {done} 行", nl=False, err=True)
        elif done % self.EVERY == 0:
            click.echo(f"已读取 {done} 行", err=True)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        elif self._tty and self._done:
            click.echo("", err=True)


def _echo_import_result(result: Any) -> None:
    if result.sheet:
        click.echo(f"读取工作表“{result.sheet}”，共 {result.rows} 行数据", err=True)
    for warning in result.warnings:
        click.echo(f"警告：{warning}", err=True)
    numbers = [r.number for r in result.imported]
    span = f"（{numbers[0]} 至 {numbers[-1]}）" if len(numbers) > 1 else (f"（{numbers[0]}）" if numbers else "")
    click.echo(f"新登记 {len(numbers)} 件{span}，已登记跳过 {len(result.skipped)} 件，失败 {len(result.errors)} 行")
    for error in result.errors:
        click.echo(f"第{error.row}行 {error.field}: {error.message}")
    if result.repeats:
        # on stderr like the warnings: stdout keeps its one summary line and the failed rows
        click.echo(f"提示：新登记的件中有 {len(result.repeats)} 件是重复反映（已与此前的留言关联）：", err=True)
        for r in result.repeats:
            click.echo(f"第{r.row}行 {r.number} 与 {r.duplicate_of} 反映同一事项", err=True)


@click.command("import")
@config_option
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--template",
    "template",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write an empty FILE.xlsx with the 16 columns to fill in, and import nothing",
)
@click.option(
    "--history", is_flag=True, help="past cases, closed or archived: no cards, no reminders, no new deadlines"
)
@friendly
def case_import(config_path: Path, file: Path | None, template: Path | None, history: bool) -> None:
    """Register cases from an .xlsx (columns: see docs/import.md). Good rows go in even when
    others fail; exit code 1 when any row failed. ``--template FILE`` writes an empty one;
    ``--history`` brings in past cases with their own dates and states, for statistics and the
    archive only."""
    from bot.handlers.excel_import import import_cases
    from bot.handlers.history_import import import_history

    if template is not None:
        from bot.exports.import_template import write_import_template

        path = write_import_template(template)
        click.echo(f"已写入导入模板 {path}（16 列，填好后用 liuyan case import {path.name} 导入）")
        return
    if file is None:
        raise BadValue("缺少要导入的文件：liuyan case import FILE.xlsx（或 --template FILE.xlsx 生成模板）")
    if not file.exists():
        raise BadValue(f"文件不存在：{file}")
    config = load(config_path)
    bar = _ProgressBar()
    use = import_history if history else import_cases
    try:
        result = run_with_runtime(config, lambda rt: use(rt.deps, file, cli_actor(), progress=bar))
    finally:
        bar.close()
    _echo_import_result(result)
    if not result.ok:
        raise click.exceptions.Exit(1)


@click.group("export")
def export() -> None:
    """Export the archive list and one-case dossiers."""


@export.command("archive")
@config_option
@click.option("--from", "start", required=True, type=DAY, help="first day (留言时间, local date)")
@click.option("--to", "end", required=True, type=DAY, help="last day, included")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx")
@click.option("--no-personal", is_flag=True, help="leave 联系方式 empty (for a file shared with a group)")
@friendly
def export_archive_cmd(config_path: Path, start: datetime, end: datetime, output: Path, no_personal: bool) -> None:
    """The 16 archive elements of every case received from --from to --to, as .xlsx."""
    from bot.exports.archive import export_archive

    config = load(config_path)
    done = run_with_runtime(
        config,
        lambda rt: export_archive(rt.deps, start.date(), end.date(), output, include_personal=not no_personal),
    )
    click.echo(f"已导出 {done.count} 件（{done.start} 至 {done.end}）到 {done.path}")


@export.command("dossier")
@config_option
@click.argument("number")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.xlsx, or FILE.html for a printable page",
)
@friendly
def export_dossier_cmd(config_path: Path, number: str, output: Path) -> None:
    """一工单一档案 of case NUMBER: the 16 elements, the workflow fields and the whole timeline."""
    from bot.exports.dossier import export_dossier

    config = load(config_path)
    path = run_with_runtime(config, lambda rt: export_dossier(rt.deps, number, output))
    click.echo(f"已导出 {number.strip().upper()} 的档案到 {path}")
