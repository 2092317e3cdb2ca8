"""`liuyan db`: database migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.base import config_option, load


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path) -> None:
    """Create or migrate the database to the newest schema."""
    from store import db as store_db

    config = load(config_path)

    async def go() -> tuple[str | None, str | None]:
        engine = store_db.create_engine(store_db.resolve_url(config.database.url, config.base_dir))
        try:
            await store_db.check_reachable(engine)
            await store_db.upgrade(engine)
            return await store_db.revision_status(engine)
        finally:
            await engine.dispose()

    current, head = asyncio.run(go())
    state = "已是最新" if current == head else "不是最新"
    click.echo(f"数据库结构版本 {current}（最新 {head}，{state}）")
