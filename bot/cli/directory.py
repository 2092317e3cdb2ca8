"""`liuyan unit …` and `liuyan person …`: the undertaking units and the people of the office."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.base import config_option, friendly, load, run_with_runtime
from bot.config import Config
from bot.domain.states import Role

T = TypeVar("T")


def _write(config_path: Path, work: Callable[[Any, datetime], Awaitable[T]]) -> T:
    """``work(session, now)`` in one transaction on the configured database."""
    config = load(config_path)

    async def body(rt: Any) -> T:
        async with rt.deps.sessions() as session, session.begin():
            return await work(session, rt.deps.clock.now())

    return run_with_runtime(config, body)


def _read(config: Config, query: Callable[[Any], Awaitable[T]]) -> T:
    """``query(session)`` on a read session of the configured database."""

    async def body(rt: Any) -> T:
        async with rt.deps.read_sessions() as session:
            return await query(session)

    return run_with_runtime(config, body)


async def _person(
    session: Any,
    now: datetime,
    name: str,
    wecom_userid: str | None,
    dingtalk_userid: str | None,
    rename: bool,
    new: bool,
) -> Any:
    """The person NAME with these ids (found, renamed or added; see ``ensure_person``)."""
    from bot.handlers.directory import ensure_person

    person, _ = await ensure_person(
        session, name, now=now, wecom_userid=wecom_userid, dingtalk_userid=dingtalk_userid, rename=rename, new=new
    )
    return person


def role_text(code: str) -> str:
    """``承办人(handler)``: the Chinese name, with the code a script (and --role) uses."""
    return f"{Role(code).label}({code})"


@click.group()
def unit() -> None:
    """Configure undertaking units and their members."""


@unit.command("add")
@config_option
@click.argument("name")
@click.option("--code", help="short code")
@click.option("--wecom-chatid", help="WeCom appchat id of the unit's group")
@click.option("--dingtalk-conversation", help="DingTalk openConversationId of the unit's group")
@friendly
def unit_add(
    config_path: Path, name: str, code: str | None, wecom_chatid: str | None, dingtalk_conversation: str | None
) -> None:
    """Add (or update) a unit."""
    from bot.handlers.directory import ensure_unit

    async def work(session: Any, now: datetime) -> bool:
        _, created = await ensure_unit(
            session, name, now=now, code=code, wecom_chatid=wecom_chatid, dingtalk_conversation_id=dingtalk_conversation
        )
        return created

    created = _write(config_path, work)
    click.echo(f"单位 {name} {'已添加' if created else '已更新'}")


@unit.command("list")
@config_option
def unit_list(config_path: Path) -> None:
    """List units with their code, group chats and members (role, platform ids)."""
    from bot.handlers.directory import member_text, unit_summaries
    from bot.handlers.messaging import enabled_platforms

    config = load(config_path)
    for s in _read(config, unit_summaries):
        handlers = "、".join(p.name for p in s.handlers) or "-"
        leaders = "、".join(p.name for p in s.leaders) or "-"
        members = "、".join(member_text(p, role) for p, role in s.members) or "-"
        groups = "/".join(g for g in (s.unit.wecom_chatid, s.unit.dingtalk_conversation_id) if g) or "-"
        warning = "" if s.reachable(enabled_platforms(config)) else "\t警告：无可接收消息的承办人"
        click.echo(
            f"{s.unit.name}\t承办人：{handlers}\t负责人：{leaders}\t简称：{s.unit.code or '-'}"
            f"\t群：{groups}\t成员：{members}{warning}"
        )


def _member_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--new", "new", is_flag=True, help="another person of the same name as someone listed")(func)
    func = click.option("--rename", is_flag=True, help="give the person these ids identify the new NAME")(func)
    func = click.option("--dingtalk", "dingtalk_userid", help="DingTalk userId (staffId)")(func)
    func = click.option("--wecom", "wecom_userid", help="WeCom UserID")(func)
    return func


@unit.command("member")
@config_option
@click.argument("unit_name")
@click.argument("name")
@click.option("--role", type=click.Choice(["handler", "unit_leader"]), default="handler", show_default=True)
@click.option("--remove", is_flag=True, help="remove the role instead of granting it")
@_member_options
@friendly
def unit_member(
    config_path: Path,
    unit_name: str,
    name: str,
    role: str,
    remove: bool,
    wecom_userid: str | None,
    dingtalk_userid: str | None,
    rename: bool,
    new: bool,
) -> None:
    """Make NAME a handler (or unit leader) of UNIT_NAME, or --remove it."""
    from bot.handlers.directory import DirectoryError, grant
    from store import directory

    async def work(session: Any, now: datetime) -> bool:
        person = await _person(session, now, name, wecom_userid, dingtalk_userid, rename, new and not remove)
        if remove:
            found = await directory.unit_by_name(session, unit_name)
            if found is None:
                raise DirectoryError("unit", f"未知单位“{unit_name}”")
            return await directory.revoke_role(session, person.id, Role(role), found.id)
        return await grant(session, person, Role(role), unit_name)

    changed = _write(config_path, work)
    verb = ("已撤销" if remove else "已设为") if changed else "无变化，仍" + ("不是" if remove else "是")
    click.echo(f"{name}：{verb}{unit_name}的{role_text(role)}")


@click.group()
def person() -> None:
    """Configure office-wide people: dispatchers, supervisors, leaders, admins."""


@person.command("add")
@config_option
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(["dispatcher", "supervisor", "leader", "admin"])
)
@_member_options
@friendly
def person_add(
    config_path: Path,
    name: str,
    roles: tuple[str, ...],
    wecom_userid: str | None,
    dingtalk_userid: str | None,
    rename: bool,
    new: bool,
) -> None:
    """Add a person with office-wide roles (or give roles to the person these ids identify).

    An id that belongs to someone of another name is refused (--rename renames them); a name
    that matches someone with other ids is refused (--new adds another person of that name)."""
    from bot.handlers.directory import grant

    async def work(session: Any, now: datetime) -> None:
        person = await _person(session, now, name, wecom_userid, dingtalk_userid, rename, new)
        for role in roles:
            await grant(session, person, Role(role), None)

    _write(config_path, work)
    click.echo(f"{name}：{'、'.join(role_text(r) for r in roles)}")


@person.command("list")
@config_option
def person_list(config_path: Path) -> None:
    """List people, their platform ids and roles."""
    from store import listings

    for p in _read(load(config_path), listings.people_with_roles):
        roles = "、".join(
            f"{unit_name}{role_text(role)}" if unit_name else role_text(role) for role, unit_name in p.roles
        )
        inactive = "" if p.active else "\t已停用"
        click.echo(
            f"{p.name}\t企业微信：{p.wecom_userid or '-'}\t钉钉：{p.dingtalk_userid or '-'}\t角色：{roles or '-'}{inactive}"
        )


def _set_active(config_path: Path, who: str, active: bool) -> None:
    from bot.handlers.directory import describe_person, set_active

    async def work(session: Any, now: datetime) -> tuple[str, bool]:
        person, changed = await set_active(session, who, active)
        return describe_person(person), changed

    text, changed = _write(config_path, work)
    state = "启用" if active else "停用"
    click.echo(f"{text}：{'已' + state if changed else '无变化，已是' + state + '状态'}")


@person.command("deactivate")
@config_option
@click.argument("who")
@friendly
def person_deactivate(config_path: Path, who: str) -> None:
    """Deactivate a person (by name or platform id): no more cards or reminders, no actions.
    Their roles and past records stay."""
    _set_active(config_path, who, False)


@person.command("activate")
@config_option
@click.argument("who")
@friendly
def person_activate(config_path: Path, who: str) -> None:
    """Activate a deactivated person again (by name or platform id)."""
    _set_active(config_path, who, True)
