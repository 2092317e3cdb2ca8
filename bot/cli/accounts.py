"""`liuyan account …`: local sign-ins of the desk (办理台) for admins and offices without WeCom
or DingTalk. The password is asked twice without echo, or read from stdin (``--password-stdin``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.base import config_option, friendly, load, run_with_runtime


@click.group()
def account() -> None:
    """Local accounts of the desk (办理台) at /desk/."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
    return value


@account.command("add")
@config_option
@click.argument("username")
@click.option("--person", required=True, help="the directory person (name or platform id) the account signs in as")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@friendly
def account_add(config_path: Path, username: str, person: str, password_stdin: bool) -> None:
    """Add a desk account USERNAME for PERSON (their roles decide what the desk shows)."""
    from bot.handlers.accounts import add_account

    config = load(config_path)
    password = _password(password_stdin)

    async def body(rt: Any) -> None:
        await add_account(rt.deps, username, person, password)

    run_with_runtime(config, body)
    click.echo(f"已开通办理台账号 {username}（{person}）")


@account.command("passwd")
@config_option
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@friendly
def account_passwd(config_path: Path, username: str, password_stdin: bool) -> None:
    """Set a new password (the account's open sessions end)."""
    from bot.handlers.accounts import change_password

    config = load(config_path)
    password = _password(password_stdin)

    async def body(rt: Any) -> None:
        await change_password(rt.deps, username, password)

    run_with_runtime(config, body)
    click.echo(f"已修改 {username} 的密码，其已登录的会话均已退出")


@account.command("disable")
@config_option
@click.argument("username")
@friendly
def account_disable(config_path: Path, username: str) -> None:
    """Disable an account (its sessions end; `account passwd` enables it again)."""
    from bot.handlers.accounts import set_active

    config = load(config_path)

    async def body(rt: Any) -> None:
        await set_active(rt.deps, username, False)

    run_with_runtime(config, body)
    click.echo(f"已停用办理台账号 {username}")
