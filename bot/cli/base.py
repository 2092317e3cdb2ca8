"""The root `liuyan` group and what every command group shares: the ``-c`` option, loading the
configuration, turning our errors into one readable line, and running a body with a runtime."""

from __future__ import annotations

import asyncio
import errno
import functools
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

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
        help="configuration file (TOML); default: $LIUYAN_CONFIG, else config.toml",
    )(func)


def load(config_path: Path) -> Config:
    """The configuration, or one line naming the file and the problem."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"配置文件 {config_path} 有误：{exc}") from exc


def all_problems(config_path: Path) -> tuple[Config | None, list[str]]:
    """The configuration (None when it cannot be read) and every problem ``serve`` refuses to
    start on, one line each — what ``config check`` prints and ``serve`` stops with."""

    from bot.config_check import startup_problems

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        if exc.config is None:
            return None, exc.lines
        config = exc.config
    return config, asyncio.run(startup_problems(config))


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


class BadValue(click.ClickException):
    """A bad option value found in the command body: exit code 2 like click's usage errors,
    but one line without the usage block."""

    exit_code = 2


class Day(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A local date ``YYYY-MM-DD`` between 1900 and 2999 (as a datetime at midnight): a far-off
    date would overflow the day arithmetic of exports and reports."""

    name = "YYYY-MM-DD"
    FIRST = datetime(1900, 1, 1)
    LAST = datetime(2999, 12, 31)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            day = datetime.strptime(str(value), "%Y-%m-%d")
        except ValueError:
            self.fail(f"{value!r} 不是日期，请写成 2026-12-31 的格式", param, ctx)
        if not self.FIRST <= day <= self.LAST:
            self.fail(f"日期 {value} 超出范围（{self.FIRST:%Y-%m-%d} 至 {self.LAST:%Y-%m-%d}）", param, ctx)
        return day


DAY = Day()


def describe_error(exc: BaseException) -> str | None:
    """One readable line (Chinese first, English detail after it) for the errors a person can
    cause or fix; None for a programming error."""
    from bot.calendar.toml_file import CalendarFileError
    from bot.config import ConfigError
    from bot.exports.files import ExportError
    from bot.handlers.directory import DirectoryError
    from bot.handlers.excel_import import ImportFileError
    from bot.handlers.intake import InputError
    from bot.platforms.wecom.crypto import WeComCryptoError
    from bot.textfile import TextFileError
    from store.backup import BackupError
    from store.db import DatabaseUnreachable

    if isinstance(exc, DatabaseUnreachable):
        return f"无法连接数据库 {exc.target}，请检查数据库是否已启动、[database] url 是否正确（database unreachable: {exc.detail}）"
    if isinstance(exc, (InputError, DirectoryError)):
        return f"{exc.field}: {exc.message}"
    if isinstance(exc, WorkflowError):
        return exc.message
    if isinstance(exc, ConfigError):
        return f"配置有误：{exc}"
    if isinstance(exc, (CalendarFileError, ExportError, ImportFileError, TextFileError, BackupError)):
        return " ".join(str(exc).split("\n"))
    if isinstance(exc, WeComCryptoError):
        return f"[wecom] 配置有误，请检查 token 和 encoding_aes_key（{exc}）"
    if isinstance(exc, OverflowError):
        return f"日期或数值超出可处理的范围（{exc}）"
    return None


def _usage_line(exc: click.UsageError) -> str:
    ctx = exc.ctx
    where = f"（用法：{ctx.command_path} --help）" if ctx is not None else ""
    if isinstance(exc, click.MissingParameter) and exc.param is not None and ctx is not None:
        return f"缺少参数 {exc.param.get_error_hint(ctx)}（{exc.format_message()}）{where}"
    if isinstance(exc, click.BadParameter) and exc.param is not None and ctx is not None:
        return f"参数 {exc.param.get_error_hint(ctx)} 无效：{exc.message}{where}"
    return f"命令行有误：{exc.format_message()}{where}"


class LiuyanGroup(click.Group):
    """The root group: every failure ends as one line on stderr and a non-zero exit — usage
    errors without click's usage block, our errors in Chinese, and an unexpected exception as
    its type and message (the traceback only with ``LIUYAN_DEBUG=1``)."""

    def main(  # type: ignore[override,unused-ignore]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # `liuyan` or `liuyan case` alone: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            _fail(_usage_line(exc), exc.exit_code)
        except click.ClickException as exc:
            _fail(" ".join(exc.format_message().splitlines()), exc.exit_code)
        except click.Abort:
            _fail("已取消（aborted）", 1)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # output piped into `head`: not an error
                sys.exit(0)
            _unexpected(exc)
        except Exception as exc:
            line = describe_error(exc)
            if line is None:
                _unexpected(exc)
            _fail(line, 1)
        sys.exit(rv if isinstance(rv, int) else 0)


def refuse(lines: Iterable[str], code: int = 1) -> NoReturn:
    """Several problems at once: each on its own line, then a non-zero exit."""
    for line in lines:
        click.echo(f"错误：{line}", err=True)
    sys.exit(code)


def _fail(line: str, code: int) -> NoReturn:
    click.echo(f"错误：{line}", err=True)
    sys.exit(code or 1)


def _unexpected(exc: BaseException) -> NoReturn:
    if os.environ.get("LIUYAN_DEBUG"):
        raise exc
    detail = " ".join(str(exc).split()) or "-"
    _fail(f"内部错误 {type(exc).__name__}：{detail}（设置 LIUYAN_DEBUG=1 可看到完整的出错位置）", 1)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from bot.version import version

    click.echo(f"liuyan {version()}")
    ctx.exit()


@click.group(cls=LiuyanGroup)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version (of a source checkout, or as installed) and exit.",
)
def main() -> None:
    """留言办理 bot — citizens' online messages in WeCom and DingTalk."""
    setup_logging("WARNING")
