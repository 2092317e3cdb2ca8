"""Directory upkeep by an administrator: 添加单位, 添加成员, 单位列表, 停用人员."""

from __future__ import annotations

from bot.domain.states import Role
from bot.handlers.chat.router import Router
from bot.handlers.chat.turn import Turn
from bot.handlers.directory import (
    DIRECTORY_ROLES,
    HTTP_MODE_REFUSAL,
    DirectoryError,
    describe_person,
    ensure_person,
    ensure_unit,
    grant,
    member_text,
    refuses_directory,
    set_active,
    unit_summaries,
)
from bot.handlers.messaging import enabled_platforms

on = Router()


async def _admin_only(t: Turn) -> bool:
    if not t.actor.roles & DIRECTORY_ROLES:
        await t.say("只有管理员可以配置单位和成员。")
        return False
    if refuses_directory(t.event):
        await t.say(HTTP_MODE_REFUSAL)
        return False
    return True


@on.command("单位列表", case=False)
async def unit_list(t: Turn, rest: str) -> None:
    if not await _admin_only(t):
        return
    summaries = await unit_summaries(t.session)
    platforms = enabled_platforms(t.deps.config)
    lines = [
        f"{s.unit.name}（简称 {s.unit.code or '-'}）：承办人 {'、'.join(p.name for p in s.handlers) or '-'}；"
        f"负责人 {'、'.join(p.name for p in s.leaders) or '-'}"
        + (f"\n  成员：{'、'.join(member_text(p, r) for p, r in s.members)}" if s.members else "")
        + ("" if s.reachable(platforms) else "\n  ⚠ 没有可接收消息的承办人")
        for s in summaries
    ]
    await t.say("\n".join(lines) or "还没有单位。")


@on.command("添加单位", case=False)
async def unit_add(t: Turn, rest: str) -> None:
    if not await _admin_only(t):
        return
    try:
        _, created = await ensure_unit(t.session, rest, now=t.now)
    except DirectoryError as exc:
        await t.say(f"{exc.message}。")
        return
    await t.say(f"单位“{rest.strip()}”{'已添加' if created else '已存在'}。")


@on.command("添加成员", case=False)
async def member_add(t: Turn, rest: str) -> None:
    if not await _admin_only(t):
        return
    parts = rest.split()
    if len(parts) not in (3, 4):
        await t.say("格式：添加成员 <单位> <姓名> <账号> [承办人|负责人]")
        return
    unit_name, name, account = parts[:3]
    role = Role.UNIT_LEADER if len(parts) == 4 and parts[3] == "负责人" else Role.HANDLER
    wecom = account if t.event.platform == "wecom" else None
    ding = account if t.event.platform == "dingtalk" else None
    try:
        person, _ = await ensure_person(t.session, name, now=t.now, wecom_userid=wecom, dingtalk_userid=ding)
        changed = await grant(t.session, person, role, unit_name)
    except DirectoryError as exc:
        await t.say(f"{exc.message}。")
        return
    await t.say(f"{name}（{account}）{'已设为' if changed else '已是'}{unit_name}{role.label}。")


@on.command("停用人员", case=False)
async def person_deactivate(t: Turn, rest: str) -> None:
    if not await _admin_only(t):
        return
    if not rest.strip():
        await t.say("格式：停用人员 <姓名或账号>")
        return
    try:
        person, changed = await set_active(t.session, rest, False)
    except DirectoryError as exc:
        await t.say(f"{exc.message}。")
        return
    await t.say(f"{describe_person(person)}{'已停用' if changed else '原已停用'}，不再接收卡片和提醒。")
