"""`liuyan account add|passwd|disable`: desk sign-ins from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import load_config
from bot.handlers.accounts import check_password
from store import db
from store import desk as desk_store
from tests.conftest import BASE_CONFIG


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace("[api]", '[database]\nurl = "sqlite+aiosqlite:///liuyan.db"\n\n[api]', 1), encoding="utf-8"
    )
    return path


def run(config: Path, args: list[str], stdin: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args[:2], "-c", str(config), *args[2:]], input=stdin)
    return result.exit_code, result.output


def stored_hash(config: Path, username: str) -> tuple[str, bool] | None:
    async def read() -> tuple[str, bool] | None:
        cfg = load_config(config)
        engine = db.create_engine(db.resolve_url(cfg.database.url, cfg.base_dir))
        try:
            async with db.sessionmaker(engine)() as session:
                account = await desk_store.account_by_username(session, username)
                return (account.password_hash, account.active) if account else None
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_add_passwd_disable(config_file: Path) -> None:
    code, out = run(
        config_file, ["account", "add", "qian", "--person", "钱登记", "--password-stdin"], "a long password 1\n"
    )
    assert code == 0, out
    assert "已开通办理台账号 qian" in out
    found = stored_hash(config_file, "qian")
    assert found is not None and check_password(found[0], "a long password 1") and found[1]
    code, out = run(
        config_file, ["account", "add", "qian", "--person", "钱登记", "--password-stdin"], "another one 22\n"
    )
    assert code == 1 and "已存在" in out
    code, out = run(config_file, ["account", "passwd", "qian", "--password-stdin"], "a new password 3\n")
    assert code == 0 and "已修改" in out
    found = stored_hash(config_file, "qian")
    assert found is not None and check_password(found[0], "a new password 3")
    code, out = run(config_file, ["account", "disable", "qian"])
    assert code == 0 and (stored_hash(config_file, "qian") or ("", True))[1] is False


def test_refusals_are_one_line(config_file: Path) -> None:
    code, out = run(config_file, ["account", "add", "x", "--person", "钱登记", "--password-stdin"], "short\n")
    assert code == 1 and "密码至少 10 个字符" in out
    code, out = run(
        config_file, ["account", "add", "x", "--person", "查无此人", "--password-stdin"], "long enough pw\n"
    )
    assert code == 1 and "未找到" in out
    code, out = run(config_file, ["account", "passwd", "nobody", "--password-stdin"], "long enough pw\n")
    assert code == 1 and "没有用户名为" in out


def test_password_is_asked_twice_without_echo(config_file: Path) -> None:
    code, out = run(config_file, ["account", "add", "wu", "--person", "吴管理"], "long password 9\nlong password 9\n")
    assert code == 0, out
    assert "long password 9" not in out
