"""`liuyan serve`: the long-running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.api_token import refusal
from bot.cli.base import config_option, load
from bot.runtime.log_setup import setup_logging


@click.command()
@config_option
def serve(config_path: Path) -> None:
    """Run the server: HTTP callbacks, the intake API and the scheduler."""
    from bot.app import ListenError
    from bot.app import serve as serve_app

    config = load(config_path)
    weak = refusal(config.api.token)
    if weak is not None:  # before the database or the port is touched
        raise click.ClickException(f"{config_path}: {weak}")
    setup_logging(config.logging.level)
    from bot.config_check import ConfigProblems

    try:
        asyncio.run(serve_app(config))
    except ConfigProblems as exc:
        raise click.ClickException(
            "\n".join(f"{config_path}: {line}" for line in exc.lines) + "\n(liuyan config check)"
        ) from exc
    except ListenError as exc:
        raise click.ClickException(
            f"无法监听 {exc.host}:{exc.port}：{exc.detail}（端口被占用或无权限；cannot listen on {exc.host}:{exc.port}）"
        ) from exc
