"""The root `liuyan` group and what every command group shares: the ``-c`` option, loading the
configuration, turning our errors into one readable line, and running a body with a runtime."""

from __future__ import annotations

import asyncio
import functools
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Config, ConfigError, load_config
from bot.domain.errors import UserError
from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import Role
from bot.runtime.log_setup import setup_logging

T = TypeVar("T")


def cli_actor() -> Actor:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "cli"
    return Actor(name=f"命令行({user})", roles=frozenset({Role.DISPATCHER, Role.ADMIN}))


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-c",
        "--config",
        "config_path",
        envvar="LIUYAN_CONFIG",
        default="config.toml",
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="configuration file (TOML)",
    )(func)


def load(config_path: Path) -> Config:
    """The configuration, or one line naming the file and the problem."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"{config_path}: {exc}") from exc


def user_error_line(exc: UserError) -> str:
    """The one line a refused command prints: the input at fault first, when that helps."""
    if exc.field and exc.field != "file" and not isinstance(exc, WorkflowError):
        return f"{exc.field}: {exc.message}"
    return exc.message


def friendly(func: Callable[..., T]) -> Callable[..., T]:
    """Turn our errors into one readable line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise click.ClickException(user_error_line(exc)) from exc

    return wrapper


def run_with_runtime(config: Config, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the database (creating and migrating it when new), run ``body(runtime)``, close."""
    from bot.app import Runtime

    async def run() -> T:
        runtime = await Runtime.start(config)
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


@click.group()
@click.version_option(package_name="liuyan")
def main() -> None:
    """留言办理 bot — citizens' online messages in WeCom and DingTalk."""
    setup_logging("WARNING")
