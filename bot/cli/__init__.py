"""The `liuyan` command line (also `python -m bot`)."""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Config, ConfigError, load_config
from bot.domain.lifecycle import Actor, WorkflowError
from bot.domain.states import Role, State
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


def _load(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"{config_path}: {exc}") from exc


def _friendly(func: Callable[..., T]) -> Callable[..., T]:
    """Turn our errors into one readable line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        from bot.calendar.toml_file import CalendarFileError
        from bot.handlers.directory import DirectoryError
        from bot.handlers.intake import InputError

        try:
            return func(*args, **kwargs)
        except (InputError, DirectoryError) as exc:
            raise click.ClickException(f"{exc.field}: {exc.message}") from exc
        except WorkflowError as exc:
            raise click.ClickException(exc.message) from exc
        except CalendarFileError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def run_with_runtime(config: Config, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the database (creating and migrating it when new), run ``body(runtime)``, close."""
    from bot.app import Runtime

    async def main() -> T:
        runtime = await Runtime.start(config)
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


@click.group()
@click.version_option(package_name="liuyan")
def main() -> None:
    """留言办理 bot — citizens' online messages in WeCom and DingTalk."""
    setup_logging("WARNING")


@main.command()
@config_option
def serve(config_path: Path) -> None:
    """Run the server: HTTP callbacks, the intake API and the scheduler."""
    from bot.app import serve as serve_app

    config = _load(config_path)
    setup_logging(config.logging.level)
    try:
        asyncio.run(serve_app(config))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config.server.host}:{config.server.port}: {exc.strerror}"
        ) from exc


# --- db --------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path) -> None:
    """Create or migrate the database to the newest schema."""
    from store import db as store_db

    config = _load(config_path)

    async def go() -> tuple[str | None, str | None]:
        engine = store_db.create_engine(store_db.resolve_url(config.database.url, config.base_dir))
        try:
            await store_db.upgrade(engine)
            return await store_db.revision_status(engine)
        finally:
            await engine.dispose()

    current, head = asyncio.run(go())
    click.echo(f"database at revision {current} (newest {head})")


# --- cases -----------------------------------------------------------------------------------


@main.group()
def case() -> None:
    """Register, list, show, assign and import cases."""


@case.command("add")
@config_option
@click.option("--title", required=True, help="留言标题")
@click.option("--content", required=True, help="主要诉求")
@click.option("--unit", help="承办单位 (assigns at once)")
@click.option("--level", help="级别: 省级/市级/县（区）级")
@click.option("--source", help="留言来源平台")
@click.option("--source-ref", help="the source platform's own reference")
@click.option("--petitioner", help="反映人")
@click.option("--contact", help="联系方式")
@click.option("--category", help="所属类型")
@click.option("--received-at", help="留言时间, ISO 8601")
@click.option("--complex", "complex_", is_flag=True, help="复杂件 (15 working days)")
@click.option("--urgent", is_flag=True, help="急事急办")
@_friendly
def case_add(config_path: Path, complex_: bool, **fields: Any) -> None:
    """Register a case (and assign it when --unit is given)."""
    from bot.handlers.intake import register_case, validate_new_case

    config = _load(config_path)
    data = {k: v for k, v in fields.items() if v is not None}
    data["complex"] = complex_

    async def body(rt: Any) -> Any:
        new = validate_new_case(
            data, now=rt.deps.clock.now(), tz=config.office.hours().tz, categories=config.cases.categories
        )
        return await register_case(rt.deps, new, cli_actor())

    result = run_with_runtime(config, body)
    verb = "registered" if result.created else "already registered"
    click.echo(f"{result.case.number} {verb}, state {result.case.state}")


@case.command("list")
@config_option
@click.option("--state", type=click.Choice([s.value for s in State]))
@click.option("--unit", help="unit name")
@click.option("--overdue", is_flag=True, help="only open cases past their deadline")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@_friendly
def case_list(config_path: Path, state: str | None, unit: str | None, overdue: bool, limit: int) -> None:
    """List cases (文号, state, unit, due date, title)."""
    from bot.handlers.read_models import local_time_text
    from store import repo

    config = _load(config_path)

    async def body(rt: Any) -> list[tuple[Any, str]]:
        async with rt.deps.sessions() as session:
            unit_id = None
            if unit:
                found = await repo.unit_by_name(session, unit)
                if found is None:
                    raise click.ClickException(f"unit: 未知单位“{unit}”")
                unit_id = found.id
            f = repo.CaseFilter(
                state=state, unit_id=unit_id, overdue_at=rt.deps.clock.now() if overdue else None, limit=limit
            )
            cases = await repo.list_cases(session, f)
            names = await repo.unit_names(session, [c.unit_id for c in cases if c.unit_id])
            return [(c, names.get(c.unit_id, "") if c.unit_id else "") for c in cases]

    rows = run_with_runtime(config, body)
    tz = config.office.hours().tz
    for c, unit_name in rows:
        due = local_time_text(c.due_at, tz) or "-"
        click.echo(f"{c.number}\t{State(c.state).label}\t{unit_name or '-'}\t{due}\t{c.title}")
    click.echo(f"({len(rows)} cases)", err=True)


@case.command("show")
@config_option
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@_friendly
def case_show(config_path: Path, number: str, as_json: bool) -> None:
    """Show one case with its whole timeline."""
    from bot.handlers.read_models import case_json
    from bot.handlers.workflow import CaseNotFound
    from store import repo

    config = _load(config_path)

    async def body(rt: Any) -> dict[str, Any]:
        async with rt.deps.sessions() as session:
            found = await repo.case_by_number(session, number)
            if found is None:
                raise CaseNotFound(number)
            return await case_json(session, found, tz=config.office.hours().tz)

    data = run_with_runtime(config, body)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(render_case_text(data))


def render_case_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['number']}  {data['title']}",
        f"状态：{data['state_label']} ({data['state']})",
        f"级别：{data['level']}    来源：{data['source']}    类型：{data['category'] or '-'}",
        f"承办单位：{data['unit'] or '-'}    到期：{data['due_at'] or '-'}  ({data['calendar_source'] or '-'})",
        f"反映人：{data['petitioner'] or '-'}    联系方式：{data.get('contact') or '-'}",
    ]
    if data.get("duplicate_of"):
        lines.append(f"重复反映：关联 {data['duplicate_of']}")
    lines += ["", "主要诉求：", data["content"], "", "办理记录："]
    for e in data.get("timeline", []):
        comment = f" — {e['comment']}" if e["comment"] else ""
        lines.append(f"  {e['at']}  {e['label']}  {e['actor']}{comment}")
    return "\n".join(lines)


@case.command("assign")
@config_option
@click.argument("number")
@click.argument("unit")
@_friendly
def case_assign(config_path: Path, number: str, unit: str) -> None:
    """交办 a registered case, or 改派 a returned one, to UNIT."""
    from bot.handlers.intake import assign_case

    config = _load(config_path)
    found = run_with_runtime(config, lambda rt: assign_case(rt.deps, number, unit, cli_actor()))
    click.echo(f"{found.number} assigned to {unit}, state {found.state}")


# --- units and people ------------------------------------------------------------------------


@main.group()
def unit() -> None:
    """Configure undertaking units and their members."""


@unit.command("add")
@config_option
@click.argument("name")
@click.option("--code", help="short code")
@click.option("--wecom-chatid", help="WeCom appchat id of the unit's group")
@click.option("--dingtalk-conversation", help="DingTalk openConversationId of the unit's group")
@_friendly
def unit_add(
    config_path: Path, name: str, code: str | None, wecom_chatid: str | None, dingtalk_conversation: str | None
) -> None:
    """Add (or update) a unit."""
    from bot.handlers.directory import ensure_unit

    config = _load(config_path)

    async def body(rt: Any) -> bool:
        async with rt.deps.sessions() as session, session.begin():
            _, created = await ensure_unit(
                session,
                name,
                now=rt.deps.clock.now(),
                code=code,
                wecom_chatid=wecom_chatid,
                dingtalk_conversation_id=dingtalk_conversation,
            )
            return created

    created = run_with_runtime(config, body)
    click.echo(f"unit {name} {'added' if created else 'updated'}")


@unit.command("list")
@config_option
def unit_list(config_path: Path) -> None:
    """List units with their handlers and leaders."""
    from bot.handlers.directory import unit_summaries

    config = _load(config_path)

    async def body(rt: Any) -> list[Any]:
        async with rt.deps.sessions() as session:
            return await unit_summaries(session)

    for s in run_with_runtime(config, body):
        handlers = "、".join(p.name for p in s.handlers) or "-"
        leaders = "、".join(p.name for p in s.leaders) or "-"
        click.echo(f"{s.unit.name}\t承办人：{handlers}\t负责人：{leaders}")


def _member_options(func: Callable[..., Any]) -> Callable[..., Any]:
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
@_friendly
def unit_member(
    config_path: Path,
    unit_name: str,
    name: str,
    role: str,
    remove: bool,
    wecom_userid: str | None,
    dingtalk_userid: str | None,
) -> None:
    """Make NAME a handler (or unit leader) of UNIT_NAME, or --remove it."""
    from bot.handlers.directory import DirectoryError, ensure_person, grant
    from store import repo

    config = _load(config_path)

    async def body(rt: Any) -> bool:
        async with rt.deps.sessions() as session, session.begin():
            person, _ = await ensure_person(
                session, name, now=rt.deps.clock.now(), wecom_userid=wecom_userid, dingtalk_userid=dingtalk_userid
            )
            if remove:
                found = await repo.unit_by_name(session, unit_name)
                if found is None:
                    raise DirectoryError("unit", f"未知单位“{unit_name}”")
                return await repo.revoke_role(session, person.id, Role(role), found.id)
            return await grant(session, person, Role(role), unit_name)

    changed = run_with_runtime(config, body)
    verb = ("removed" if remove else "granted") if changed else "unchanged"
    click.echo(f"{name}: {role} of {unit_name} {verb}")


@main.group()
def person() -> None:
    """Configure office-wide people: dispatchers, supervisors, leaders, admins."""


@person.command("add")
@config_option
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(["dispatcher", "supervisor", "leader", "admin"])
)
@_member_options
@_friendly
def person_add(
    config_path: Path, name: str, roles: tuple[str, ...], wecom_userid: str | None, dingtalk_userid: str | None
) -> None:
    """Add a person with office-wide roles."""
    from bot.handlers.directory import ensure_person, grant

    config = _load(config_path)

    async def body(rt: Any) -> None:
        async with rt.deps.sessions() as session, session.begin():
            p, _ = await ensure_person(
                session, name, now=rt.deps.clock.now(), wecom_userid=wecom_userid, dingtalk_userid=dingtalk_userid
            )
            for role in roles:
                await grant(session, p, Role(role), None)

    run_with_runtime(config, body)
    click.echo(f"{name}: {', '.join(roles)}")


@person.command("list")
@config_option
def person_list(config_path: Path) -> None:
    """List people, their platform ids and roles."""
    from sqlalchemy import select

    from store import repo
    from store.models import Person

    config = _load(config_path)

    async def body(rt: Any) -> list[tuple[Any, list[tuple[str, int | None]], dict[int, str]]]:
        async with rt.deps.sessions() as session:
            people = list((await session.execute(select(Person).order_by(Person.id))).scalars())
            result = []
            for p in people:
                roles = await repo.roles_of(session, p.id)
                names = await repo.unit_names(session, [u for _, u in roles if u])
                result.append((p, roles, names))
            return result

    for p, roles, names in run_with_runtime(config, body):
        role_text = ", ".join(f"{r}@{names.get(u, u)}" if u else r for r, u in roles)
        click.echo(f"{p.name}\twecom={p.wecom_userid or '-'}\tdingtalk={p.dingtalk_userid or '-'}\t{role_text}")


# --- calendar --------------------------------------------------------------------------------


@main.group()
def calendar() -> None:
    """Working-day calendar: import a year, show it, override single days."""


@calendar.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_friendly
def calendar_import(config_path: Path, file: Path) -> None:
    """Import one year's State Council holiday arrangement (see docs/calendar.md)."""
    from bot.calendar.service import save_year
    from bot.calendar.toml_file import parse_year

    config = _load(config_path)
    spec = parse_year(file.read_text(encoding="utf-8"))

    async def body(rt: Any) -> None:
        async with rt.deps.sessions() as session, session.begin():
            await save_year(session, spec, by=cli_actor().name, now=rt.deps.clock.now())

    run_with_runtime(config, body)
    click.echo(
        f"{spec.year}: {len(spec.holidays)} holidays, {len(spec.workdays)} make-up workdays imported"
        + (f" ({spec.note})" if spec.note else "")
    )


@calendar.command("show")
@config_option
@click.argument("year", type=click.IntRange(1900, 2200))
def calendar_show(config_path: Path, year: int) -> None:
    """Show a year's source, holidays, make-up working days and overrides."""
    config = _load(config_path)

    async def body(rt: Any) -> Any:
        async with rt.deps.sessions() as session:
            return await rt.deps.calendar.refresh(session)

    cal = run_with_runtime(config, body)
    source = cal.source(year)
    warning = "" if cal.is_covered(year) else f"  (警告：{year}年国务院安排尚未导入)"
    click.echo(f"{year}: source {source.value}（{source.label}）{warning}")
    spec = cal.spec(year)
    if spec is not None:
        mark = "（暂定 provisional）" if source.provisional else ""
        days = [f"{d.isoformat()} {spec.names.get(d, '')}".rstrip() for d in sorted(spec.holidays) if d.weekday() < 5]
        click.echo(f"holidays{mark}: " + ", ".join(days))
        click.echo("make-up workdays: " + ", ".join(d.isoformat() for d in sorted(spec.workdays)))
    overrides = sorted((d, w) for d, w in cal.overrides.items() if d.year == year)
    if overrides:
        click.echo("overrides: " + ", ".join(f"{d.isoformat()}={'workday' if w else 'holiday'}" for d, w in overrides))
    count = cal.workdays_between(date(year, 1, 1) - timedelta(days=1), date(year, 12, 31))
    click.echo(f"working days: {count}")


@calendar.command("set")
@config_option
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["holiday", "workday", "clear"]))
@click.option("--note", default="", help="why (e.g. the notice)")
def calendar_set(config_path: Path, day: datetime, kind: str, note: str) -> None:
    """Override a single day (holiday or workday), or clear the override."""
    from bot.calendar.service import set_override

    config = _load(config_path)
    value = None if kind == "clear" else kind == "workday"

    async def body(rt: Any) -> None:
        async with rt.deps.sessions() as session, session.begin():
            await set_override(session, day.date(), value, note=note, now=rt.deps.clock.now())

    run_with_runtime(config, body)
    click.echo(f"{day.date().isoformat()}: {kind}")


# --- nudges ----------------------------------------------------------------------------------


@main.group()
def nudges() -> None:
    """Reminders, overdue lists and escalation (督促协调)."""


@nudges.command("plan")
@config_option
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="the day to plan (local office date)",
)
def nudges_plan(config_path: Path, day: datetime) -> None:
    """Print the reminders and lists due on DATE, without sending anything."""
    config = _load(config_path)

    async def body(rt: Any) -> list[tuple[datetime, str, str]]:
        async with rt.deps.sessions() as session:
            await rt.deps.calendar.refresh(session)
        return await rt.channels.jobs.plan(day.date())

    rows = run_with_runtime(config, body)
    tz = config.office.hours().tz
    for at, who, line in rows:
        click.echo(f"{at.astimezone(tz):%H:%M}\t{who}\t{line}")
    click.echo(f"({len(rows)} planned on {day.date().isoformat()}; nothing was sent)", err=True)


# --- wecom ------------------------------------------------------------------------------------


@main.group()
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

    config = _load(config_path)
    if not config.wecom.enabled:
        raise click.ClickException("[wecom] enabled is false in the configuration")
    if len(set(members)) < 2:
        raise click.ClickException("--member: a group needs at least two members")

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
        raise click.ClickException(f"WeCom refused: errcode {exc.errcode} ({exc.errmsg})") from exc
    click.echo(chatid)


# Commands defined in their own modules register themselves on the groups above.
from bot.cli import (  # noqa: E402
    io_commands,  # noqa: F401
    report_commands,  # noqa: F401
)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
