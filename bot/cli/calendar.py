"""`liuyan calendar import|show|set`: the working-day calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.cli.base import cli_actor, config_option, friendly, load, run_with_runtime


@click.group()
def calendar() -> None:
    """Working-day calendar: import a year, show it, override single days."""


@calendar.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly
def calendar_import(config_path: Path, file: Path) -> None:
    """Import one year's State Council holiday arrangement (see docs/calendar.md). Open cases'
    deadlines are recomputed and their units told; running servers use it at once."""
    from bot.calendar.toml_file import load_year
    from bot.handlers.calendar_change import import_year

    config = load(config_path)
    spec = load_year(file)

    async def body(rt: Any) -> Any:
        return await import_year(rt.deps, spec, cli_actor())

    change = run_with_runtime(config, body)
    click.echo(
        f"{spec.year}年：已导入放假日（周一至周五）{len(spec.days_off)}天、调休上班日{len(spec.workdays)}天"
        + (f"（{spec.note}）" if spec.note else "")
    )
    _echo_moved(change, config.office.tz)


def _echo_moved(change: Any, tz: ZoneInfo) -> None:
    from bot.handlers.read_models import local_time_text

    if not change.moved:
        click.echo("没有在办件的期限因此变化")
        return
    click.echo(f"{len(change.moved)}件在办件的期限已重算，已通知承办单位：")
    for moved in change.moved:
        parts = ", ".join(
            f"{key} {local_time_text(a, tz) or '-'} -> {local_time_text(b, tz) or '-'}"
            for key, (a, b) in moved.moved.items()
        )
        click.echo(f"  {moved.number}：{parts}")


@calendar.command("show")
@config_option
@click.argument("year", type=click.IntRange(1900, 2200))
def calendar_show(config_path: Path, year: int) -> None:
    """Show a year's source, holidays, make-up working days and overrides."""
    config = load(config_path)

    async def body(rt: Any) -> Any:
        async with rt.deps.sessions() as session:
            return await rt.deps.calendar.refresh(session)

    cal = run_with_runtime(config, body)
    source = cal.source(year)
    warning = "" if cal.is_covered(year) else f"  (警告：{year}年国务院安排尚未导入)"
    click.echo(f"{year}年 日历来源：{source.label}（{source.value}）{warning}")
    spec = cal.spec(year)
    if spec is not None:
        mark = "（暂定 provisional）" if source.provisional else ""
        days = [f"{d.isoformat()} {spec.names.get(d, '')}".rstrip() for d in spec.days_off]
        click.echo(f"放假日{mark}（周一至周五，{len(days)}天）：" + ("、".join(days) or "-"))
        workdays = [d.isoformat() for d in sorted(spec.workdays)]
        click.echo(f"调休上班日（{len(workdays)}天）：" + ("、".join(workdays) or "-"))
    overrides = sorted((d, w) for d, w in cal.overrides.items() if d.year == year)
    if overrides:
        click.echo("单日调整：" + "、".join(f"{d.isoformat()}={'上班' if w else '放假'}" for d, w in overrides))
    count = cal.workdays_between(date(year, 1, 1) - timedelta(days=1), date(year, 12, 31))
    click.echo(f"全年工作日：{count}天")


@calendar.command("set")
@config_option
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["holiday", "workday", "clear"]))
@click.option("--note", default="", help="why (e.g. the notice)")
def calendar_set(config_path: Path, day: datetime, kind: str, note: str) -> None:
    """Override a single day (holiday or workday), or clear the override. Open cases' deadlines
    are recomputed and their units told; running servers use it at once."""
    from bot.handlers.calendar_change import override_day

    config = load(config_path)
    value = None if kind == "clear" else kind == "workday"

    async def body(rt: Any) -> Any:
        return await override_day(rt.deps, day.date(), value, note, cli_actor())

    change = run_with_runtime(config, body)
    click.echo(
        f"{day.date().isoformat()}：" + {"holiday": "设为放假", "workday": "设为上班", "clear": "已清除单日调整"}[kind]
    )
    _echo_moved(change, config.office.tz)
