"""The `liuyan` command line run in-process (click's CliRunner)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args[:2], "-c", str(config), *args[2:]] if len(args) >= 2 else [*args])
    return result.exit_code, result.output
