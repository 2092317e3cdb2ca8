"""`liuyan db`: migrations, backup and restore."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from bot.cli.base import config_option, load


@click.group()
def db() -> None:
    """Database migrations, backup and restore."""


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


def _sqlite_database(config_path: Path, verb: str) -> Path:
    """The SQLite file of the configuration; for PostgreSQL one line naming its own tools."""
    from store import db as store_db
    from store.backup import postgres_command, sqlite_file

    config = load(config_path)
    url = store_db.resolve_url(config.database.url, config.base_dir)
    path = sqlite_file(url)
    if path is None:
        tool = postgres_command(url, verb)
        raise click.ClickException(
            f"PostgreSQL 数据库请用它自己的工具{('备份' if verb == 'backup' else '恢复')}：{tool}（见 README“备份与恢复”）"
        )
    return path


@db.command("backup")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(config_path: Path, file: Path) -> None:
    """Write a consistent copy of the SQLite database to FILE — also while `liuyan serve` runs
    (SQLite's online backup API)."""
    from store.backup import backup_sqlite

    database = _sqlite_database(config_path, "backup")
    info = backup_sqlite(database, file)
    click.echo(f"已备份到 {info.path}：{info.summary()}")


@db.command("restore")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def db_restore(config_path: Path, file: Path, yes: bool) -> None:
    """Replace the SQLite database by the backup FILE (refused while `liuyan serve` runs; the
    current database is kept beside it as <name>.before-restore-<time>)."""
    from datetime import datetime

    from store.backup import describe, restore_sqlite

    database = _sqlite_database(config_path, "restore")
    info = describe(file)
    if not yes:
        click.confirm(f"用 {file}（{info.summary()}）替换数据库 {database}？", abort=True, err=True)
    restored, saved = restore_sqlite(file, database, now=datetime.now())
    click.echo(f"已恢复 {database}：{restored.summary()}")
    if saved is not None:
        click.echo(f"恢复前的数据库已另存为 {saved}")
    click.echo("下次启动 liuyan serve 时会自动升级到最新结构")
