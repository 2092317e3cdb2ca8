"""`liuyan config check` and `liuyan db seed`: is the configuration whole, and apply its directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli.base import config_option, friendly, run_with_runtime


@click.group("config")
def config_group() -> None:
    """The configuration file."""


@config_group.command("check")
@config_option
def config_check(config_path: Path) -> None:
    """Check the whole configuration: units and people fit together, ids are unique, the units
    named by [cases] default_unit exist, enabled platforms have their secrets. One line per
    problem; exit code 1 when there is any."""
    from bot.cli.base import all_problems

    config, lines = all_problems(config_path)
    for line in lines:
        click.echo(f"{config_path}: {line}")
    if lines or config is None:
        raise SystemExit(1)
    click.echo(f"{config_path}: OK（{len(config.units)} 个单位，{len(config.people)} 位人员）")


@click.command("seed")
@config_option
@friendly
def db_seed(config_path: Path) -> None:
    """Apply the config's [[units]] and [[people]] now, even when the file has not changed since
    they were last applied (additive: nothing is removed)."""
    from bot.cli.base import load
    from bot.handlers.directory import bootstrap_from_config

    config = load(config_path)

    async def body(rt: Any) -> None:
        await bootstrap_from_config(rt.deps, force=True)

    run_with_runtime(config, body)
    click.echo(f"已按 {config_path} 写入 {len(config.units)} 个单位、{len(config.people)} 位人员（只增不删）")
