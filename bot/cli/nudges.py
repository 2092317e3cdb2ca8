"""`liuyan nudges plan`: what the scheduler would send on a day."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot.cli.base import DAY, config_option, load, run_with_runtime


@click.group()
def nudges() -> None:
    """Reminders, overdue lists and escalation (督促协调)."""


@nudges.command("plan")
@config_option
@click.option(
    "--date",
    "day",
    type=DAY,
    required=True,
    help="the day to plan (local office date)",
)
def nudges_plan(config_path: Path, day: datetime) -> None:
    """Print the reminders and lists due on DATE, without sending anything."""
    config = load(config_path)

    async def body(rt: Any) -> list[tuple[datetime, str, str]]:
        async with rt.deps.sessions() as session:
            await rt.deps.calendar.refresh(session)
        return list(await rt.channels.jobs.plan(day.date()))

    rows = run_with_runtime(config, body)
    tz = config.office.hours().tz
    for at, who, line in rows:
        click.echo(f"{at.astimezone(tz):%H:%M}\t{who}\t{line}")
    click.echo(f"{day.date().isoformat()} 计划发送 {len(rows)} 条（仅预览，未发送任何消息）", err=True)
