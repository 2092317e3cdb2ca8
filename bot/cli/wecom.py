"""`liuyan wecom create-group`: WeCom set-up helpers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.base import config_option, load


@click.group()
def wecom() -> None:
    """WeCom set-up helpers."""


@wecom.command("create-group")
@config_option
@click.argument("name")
@click.option("--member", "members", multiple=True, required=True, help="UserID (at least two)")
@click.option("--owner", help="UserID of the group owner")
def wecom_create_group(config_path: Path, name: str, members: tuple[str, ...], owner: str | None) -> None:
    """Create an app group chat (e.g. the supervision group) and print its chatid for
    `[wecom] supervision_chatid` (the app's visible range must be the root department)."""
    import aiohttp

    from bot.platforms.wecom.client import WeComAPIError, WeComClient

    config = load(config_path)
    if not config.wecom.enabled:
        raise click.ClickException("配置中 [wecom] enabled 为 false，请先启用企业微信")
    if len(set(members)) < 2:
        raise click.ClickException("--member：群聊至少需要两名成员")

    async def go() -> str:
        async with aiohttp.ClientSession() as http:
            client = WeComClient(
                http,
                api_base=config.wecom.api_base,
                corp_id=config.wecom.corp_id,
                secret=config.wecom.secret,
                agent_id=config.wecom.agent_id,
            )
            return await client.appchat_create(name, owner, members)

    try:
        chatid = asyncio.run(go())
    except WeComAPIError as exc:
        raise click.ClickException(f"企业微信拒绝了请求：errcode {exc.errcode}（{exc.errmsg}）") from exc
    click.echo(chatid)
