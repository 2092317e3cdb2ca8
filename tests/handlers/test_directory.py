"""The directory (issue 13): people are identified by their platform ids, unit codes are unique,
the config's units and people are applied once per change of the file, people can be
deactivated, and the whole configuration is checked at once (`config check`, `serve`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.clock import ManualClock
from bot.config_check import problems
from bot.domain.states import Role
from bot.handlers.deps import Deps
from bot.handlers.directory import (
    DirectoryError,
    bootstrap_from_config,
    ensure_person,
    ensure_unit,
    reachable,
)
from store import directory
from tests.conftest import BASE_CONFIG, make_config
from tests.fakes.cli import run


def test_an_id_of_someone_else_is_refused_and_shown(config_file: Path) -> None:
    assert run(config_file, "person", "add", "刘督查", "--role", "supervisor", "--wecom", "liudc")[0] == 0
    code, out = run(config_file, "person", "add", "王五", "--role", "leader", "--wecom", "liudc")
    assert code != 0 and "刘督查" in out and "liudc" in out and "--rename" in out
    code, out = run(config_file, "person", "list")
    assert "刘督查\t企业微信：liudc\t钉钉：-\t角色：督查员(supervisor)" in out and "王五" not in out
    code, out = run(config_file, "person", "add", "王五", "--role", "leader", "--wecom", "liudc", "--rename")
    assert code == 0, out
    code, out = run(config_file, "person", "list")
    assert "王五\t企业微信：liudc\t钉钉：-\t角色：领导(leader)、督查员(supervisor)" in out and "刘督查" not in out


def test_a_name_of_someone_else_is_refused_unless_new(config_file: Path) -> None:
    assert run(config_file, "person", "add", "刘督查", "--role", "supervisor", "--wecom", "liudc")[0] == 0
    # the same name without ids is the same person: a role is added, nobody is duplicated
    assert run(config_file, "person", "add", "刘督查", "--role", "leader")[0] == 0
    code, out = run(config_file, "person", "list")
    assert out.count("刘督查") == 1 and "领导(leader)、督查员(supervisor)" in out
    # the same name with another id is someone else: refused with the match shown
    code, out = run(config_file, "person", "add", "刘督查", "--role", "admin", "--wecom", "liudc2")
    assert code != 0 and "liudc" in out and "--new" in out
    code, out = run(config_file, "person", "add", "刘督查", "--role", "admin", "--wecom", "liudc2", "--new")
    assert code == 0, out
    code, out = run(config_file, "person", "list")
    assert out.count("刘督查") == 2
    # now the bare name is ambiguous
    code, out = run(config_file, "person", "add", "刘督查", "--role", "dispatcher")
    assert code != 0 and "liudc" in out and "liudc2" in out


def test_unit_codes_are_unique(config_file: Path) -> None:
    assert run(config_file, "unit", "add", "区教育局", "--code", "JYJ")[0] == 0
    code, out = run(config_file, "unit", "add", "区水务局", "--code", "JYJ")
    assert code != 0 and "区教育局" in out
    code, out = run(config_file, "unit", "add", "区水务局", "--code", "区人社局")
    assert code != 0 and "区人社局" in out
    code, out = run(config_file, "unit", "add", "JYJ")
    assert code != 0 and "区教育局" in out
    assert run(config_file, "unit", "add", "区教育局", "--code", "JYJ")[0] == 0  # its own code again


def test_config_is_not_reapplied_over_cli_changes(config_file: Path) -> None:
    code, out = run(config_file, "unit", "member", "区人社局", "张三", "--wecom", "zhangsan", "--remove")
    assert code == 0 and "已撤销区人社局的承办人(handler)" in out
    code, out = run(config_file, "unit", "list")  # any later command: the config is not applied again
    line = next(x for x in out.splitlines() if x.startswith("区人社局"))
    assert "张三" not in line.split("\t")[1]
    assert "区人社局承办人(handler)" not in next(
        x for x in run(config_file, "person", "list")[1].splitlines() if "张三" in x
    )
    # `db seed` applies the config now
    code, out = run(config_file, "db", "seed")
    assert code == 0, out
    assert "区人社局承办人(handler)" in next(
        x for x in run(config_file, "person", "list")[1].splitlines() if "张三" in x
    )
    # and so does a change of the file's [[units]] / [[people]]
    assert run(config_file, "unit", "member", "区人社局", "张三", "--wecom", "zhangsan", "--remove")[0] == 0
    config_file.write_text(config_file.read_text(encoding="utf-8") + '\n[[units]]\nname = "区水务局"\n', "utf-8")
    code, out = run(config_file, "person", "list")
    assert "区人社局承办人(handler)" in next(x for x in out.splitlines() if "张三" in x)


def test_lists_show_codes_roles_and_ids(config_file: Path) -> None:
    assert run(config_file, "unit", "add", "区教育局", "--code", "JYJ", "--wecom-chatid", "chat-jyj")[0] == 0
    assert run(config_file, "unit", "member", "区教育局", "陈老师", "--wecom", "chenls", "--dingtalk", "d-chen")[0] == 0
    _code, out = run(config_file, "unit", "list")
    line = next(x for x in out.splitlines() if x.startswith("区教育局"))
    assert "简称：JYJ" in line and "chat-jyj" in line and "陈老师(承办人，chenls/d-chen)" in line
    assert "警告" not in line
    line = next(x for x in out.splitlines() if x.startswith("区信访局"))
    assert "警告：无可接收消息的承办人" in line


def test_deactivate_a_person(config_file: Path) -> None:
    code, out = run(config_file, "person", "deactivate", "zhangsan")
    assert code == 0 and "张三" in out and out.strip().endswith("：已停用")
    code, out = run(config_file, "person", "list")
    assert next(x for x in out.splitlines() if x.startswith("张三")).endswith("\t已停用")
    code, out = run(config_file, "unit", "list")
    assert "张三(承办人，zhangsan/ding-zhangsan，已停用)" in out
    code, out = run(config_file, "person", "deactivate", "没有这个人")
    assert code != 0 and "没有这个人" in out
    code, out = run(config_file, "person", "activate", "张三")
    assert code == 0 and out.strip().endswith("：已启用")
    code, out = run(config_file, "person", "activate", "张三")
    assert code == 0 and out.strip().endswith("：无变化，已是启用状态")


# --- config check and serve ----------------------------------------------------------------------

BAD = """
[cases]
default_unit = { "欠薪欠资" = "区人社局", "教育" = "区教育局" }

[wecom]
enabled = true
corp_id = "ww1"

[[units]]
name = "区人社局"
code = "RSJ"
[[units]]
name = "区住建局"
code = "RSJ"

[[people]]
name = "张三"
roles = ["handler"]
units = ["区人社局"]
wecom_userid = "zhangsan"
[[people]]
name = "李四"
roles = ["handler"]
units = ["区人社局"]
wecom_userid = "zhangsan"
"""


def test_config_check_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any("duplicate unit code" in x for x in lines)
    assert any("zhangsan" in x and "张三、李四" in x for x in lines)
    # the units and people do not fit together: reported with every other problem, one line each
    assert any("cases.default_unit.教育" in x for x in lines) and any("wecom.secret" in x for x in lines)
    assert len(lines) == 7 and all(x.startswith(str(path)) for x in lines)


def test_config_check_default_units_and_secrets(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace(
            "[api]", '[database]\nurl = "sqlite+aiosqlite:///x.db"\n\n[wecom]\nenabled = true\n\n[api]', 1
        )
        .replace(
            'default_unit = { "欠薪欠资" = "区人社局" }',
            'default_unit = { "欠薪欠资" = "区人社局", "教育" = "区教育局" }',
        )
        .replace('token = "test-token"', 'token = "a-token-long-enough-for-serve-0123456789"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert "cases.default_unit.教育: 未知单位“区教育局”" in out
    assert "wecom.secret" in out and "wecom.corp_id" in out and "wecom.agent_id" in out
    assert "Traceback" not in out
    assert not (tmp_path / "x.db").exists()  # checking creates no database
    # serve refuses to start, one line per problem
    result = CliRunner().invoke(main, ["serve", "-c", str(path)])
    assert result.exit_code != 0 and "wecom.secret" in result.output and "Traceback" not in result.output


def test_default_unit_may_be_a_unit_added_by_cli(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        BASE_CONFIG.replace("[api]", '[database]\nurl = "sqlite+aiosqlite:///x.db"\n\n[api]', 1)
        .replace('default_unit = { "欠薪欠资" = "区人社局" }', 'default_unit = { "教育" = "JYJ" }')
        .replace('token = "test-token"', 'token = "a-token-long-enough-for-serve-0123456789"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    assert result.exit_code == 1 and "JYJ" in result.output
    assert CliRunner().invoke(main, ["unit", "add", "区教育局", "--code", "JYJ", "-c", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    assert result.exit_code == 0 and "OK" in result.output


def test_problems_of_a_good_config() -> None:
    assert problems(make_config("sqlite+aiosqlite://")) == []


# --- use cases, on SQLite and PostgreSQL -----------------------------------------------------------


async def test_bootstrap_once_per_change(deps: Deps, clock: ManualClock) -> None:
    async with deps.sessions() as session, session.begin():
        unit = await directory.unit_by_name(session, "区人社局")
        person = await directory.person_by_platform(session, "wecom", "zhangsan")
        assert unit is not None and person is not None
        assert await directory.revoke_role(session, person.id, Role.HANDLER, unit.id)
    assert await bootstrap_from_config(deps) is False  # unchanged config: the removal stands
    async with deps.sessions() as session:
        assert "张三" not in [p.name for p in await directory.people_with_role(session, Role.HANDLER, unit.id)]
    assert await bootstrap_from_config(deps, force=True) is True  # db seed
    async with deps.sessions() as session:
        assert "张三" in [p.name for p in await directory.people_with_role(session, Role.HANDLER, unit.id)]


async def test_a_changed_config_is_applied_once(deps: Deps) -> None:
    import asyncio

    from bot.config import UnitConfig

    deps.config.units.append(UnitConfig(name="区城管局"))
    applied = await asyncio.gather(*(bootstrap_from_config(deps) for _ in range(3)))
    assert sorted(applied) == [False, False, True]
    async with deps.sessions() as session:
        assert await directory.unit_by_name(session, "区城管局") is not None


async def test_ids_identify_people(deps: Deps) -> None:
    now = deps.clock.now()
    async with deps.sessions() as session, session.begin():
        with pytest.raises(DirectoryError) as exc:
            await ensure_person(session, "王五", now=now, wecom_userid="sundc")
        assert "孙督查" in exc.value.message
        with pytest.raises(DirectoryError) as exc:  # two ids of two people are not one person
            await ensure_person(session, "张三", now=now, wecom_userid="zhangsan", dingtalk_userid="ding-other")
        person, created = await ensure_person(session, "张三", now=now, dingtalk_userid="ding-zhangsan")
        assert not created and person.wecom_userid == "zhangsan"
        with pytest.raises(DirectoryError):
            await ensure_unit(session, "区教育局", now=now, code="区人社局")


async def test_reachable() -> None:
    from store.models import Person

    alive = Person(name="a", wecom_userid="a", dingtalk_userid=None, active=True)
    gone = Person(name="b", wecom_userid="b", dingtalk_userid=None, active=False)
    assert reachable([alive], ("wecom",)) and not reachable([alive], ("dingtalk",))
    assert not reachable([gone], ("wecom",)) and not reachable([], ())
    assert reachable([alive], ())


async def test_the_config_declares_people_by_their_ids(deps: Deps) -> None:
    """A configured person whose ids nobody has is someone new, even when the name is taken."""
    zhang = deps.config.people[0]
    assert zhang.name == "张三"
    zhang.wecom_userid, zhang.dingtalk_userid = "zhangsan2", None
    assert await bootstrap_from_config(deps) is True
    async with deps.sessions() as session:
        assert [p.wecom_userid for p in await directory.person_by_name(session, "张三")] == ["zhangsan", "zhangsan2"]


def test_serve_lists_every_problem_with_the_weak_token(tmp_path: Path) -> None:
    """One run shows everything to fix, one line each: the example API token and every problem
    `config check` finds — and `config check` reports the token too."""
    path = tmp_path / "config.toml"
    path.write_text(BAD + '\n[api]\ntoken = "change-me"\n', encoding="utf-8")
    check = CliRunner().invoke(main, ["config", "check", "-c", str(path)])
    serve = CliRunner().invoke(main, ["serve", "-c", str(path)])
    assert check.exit_code == 1 and serve.exit_code != 0
    lines = [x.removeprefix("错误：") for x in serve.output.splitlines() if x.strip()]
    assert lines == check.output.splitlines()
    assert all(x.startswith(f"{path}: ") for x in lines)
    assert "liuyan token generate" in lines[0]  # the token first
    for needle in ("duplicate unit code", "张三、李四", "cases.default_unit.教育", "wecom.secret", "wecom.agent_id"):
        assert sum(needle in x for x in lines) == 1, (needle, lines)
    assert len(lines) >= 7 and "Traceback" not in serve.output
    assert not list(tmp_path.glob("*.db")) and not (tmp_path / "data").exists()  # nothing created
