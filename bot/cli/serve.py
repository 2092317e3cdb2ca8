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
    from bot.app import serve as serve_app

    config = load(config_path)
    weak = refusal(config.api.token)
    if weak is not None:  # before the database or the port is touched
        raise click.ClickException(f"{config_path}: {weak}")
    setup_logging(config.logging.level)
    try:
        asyncio.run(serve_app(config))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config.server.host}:{config.server.port}: {exc.strerror}"
        ) from exc
