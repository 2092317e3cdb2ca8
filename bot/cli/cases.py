"""`liuyan case add|list|show|assign|void|route|archive|set` (``case import`` lives in ``bot.cli.imports_exports``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot.cli.base import BadValue, cli_actor, config_option, friendly, load, run_with_runtime
from bot.domain.states import STATE_LABELS, State

#: what --state accepts: the English key or the Chinese name people see (已交办, 办理中 …)
STATE_WORDS: dict[str, State] = {s.value: s for s in State} | {label: s for s, label in STATE_LABELS.items()}


def parse_state(text: str) -> State:
    found = STATE_WORDS.get(text.strip()) or STATE_WORDS.get(text.strip().lower())
    if found is None:
        names = "、".join(f"{label}（{s.value}）" for s, label in STATE_LABELS.items())
        raise BadValue(f"--state {text}：未知状态，可用：{names}")
    return found


def state_text(state: str) -> str:
    """``已交办（assigned）``: the name people know, the key scripts use."""
    return f"{State(state).label}（{state}）" if state in State._value2member_map_ else state


@click.group()
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
@friendly
def case_add(config_path: Path, complex_: bool, **fields: Any) -> None:
    """Register a case (and assign it when --unit is given)."""
    from bot.handlers.intake import register_case, validate_new_case

    config = load(config_path)
    data = {k: v for k, v in fields.items() if v is not None}
    data["complex"] = complex_

    from store import repo

    async def body(rt: Any) -> tuple[Any, str | None]:
        new = validate_new_case(
            data, now=rt.deps.clock.now(), tz=config.office.hours().tz, categories=config.cases.categories
        )
        result = await register_case(rt.deps, new, cli_actor())
        original = None
        if result.case.duplicate_of_id:
            async with rt.deps.sessions() as session:
                found = await repo.case_by_id(session, result.case.duplicate_of_id)
                original = found.number if found else None
        return result, original

    result, original = run_with_runtime(config, body)
    verb = "已登记" if result.created else "此前已登记（同一来源编号），未重复登记"
    click.echo(f"{result.case.number} {verb}，状态：{state_text(result.case.state)}")
    if original:
        click.echo(f"重复反映：与 {original} 反映的是同一事项，已关联")


@case.command("list")
@config_option
@click.option(
    "--state",
    metavar="STATE",
    help="状态：中文名（已交办、办理中、待审核 …）或英文键（assigned、accepted …）",
)
@click.option("--unit", help="unit name")
@click.option("--overdue", is_flag=True, help="only open cases past their deadline")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@click.option("--oldest-first", is_flag=True, help="oldest first (default: newest first)")
@friendly
def case_list(
    config_path: Path, state: str | None, unit: str | None, overdue: bool, limit: int, oldest_first: bool
) -> None:
    """List cases, newest first (文号, state, unit, due date, title)."""
    from bot.handlers.read_models import local_time_text
    from store import directory, listings, repo

    config = load(config_path)
    chosen = parse_state(state).value if state else None

    async def body(rt: Any) -> tuple[list[tuple[Any, str]], int]:
        async with rt.deps.read_sessions() as session:
            unit_id = None
            if unit:
                found = await directory.unit_by_name(session, unit)
                if found is None:
                    raise click.ClickException(f"unit: 未知单位“{unit}”")
                unit_id = found.id
            f = repo.CaseFilter(
                state=chosen,
                unit_id=unit_id,
                overdue_at=rt.deps.clock.now() if overdue else None,
                limit=limit,
                newest_first=not oldest_first,
            )
            return await listings.cases_with_unit_names(session, f), await repo.count_cases(session, f)

    rows, total = run_with_runtime(config, body)
    tz = config.office.hours().tz
    for c, unit_name in rows:
        due = local_time_text(c.due_at, tz) or "-"
        click.echo(f"{c.number}\t{State(c.state).label}\t{unit_name or '-'}\t{due}\t{c.title}")
    order = "最早的在前" if oldest_first else "最新的在前"
    click.echo(f"共 {total} 件，显示前 {len(rows)} 件（{order}；--limit 可调）", err=True)


@case.command("show")
@config_option
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@friendly
def case_show(config_path: Path, number: str, as_json: bool) -> None:
    """Show one case with its whole timeline."""
    from bot.handlers.read_models import case_json
    from bot.handlers.workflow import CaseNotFound
    from store import repo

    config = load(config_path)

    from store import directory

    async def body(rt: Any) -> tuple[dict[str, Any], dict[int, str]]:
        async with rt.deps.read_sessions() as session:
            found = await repo.case_by_number(session, number)
            if found is None:
                raise CaseNotFound(number)
            data = await case_json(session, found, tz=config.office.hours().tz)
            ids = [_event_unit(e) for e in data.get("timeline", [])]
            return data, await directory.unit_names(session, [i for i in ids if i is not None])

    data, units = run_with_runtime(config, body)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(render_case_text(data, units))


def _event_unit(event: dict[str, Any]) -> int | None:
    """The unit a 交办/改派 event names (its ``data.unit_id``)."""
    value = (event.get("data") or {}).get("unit_id")
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _local(iso_text: str | None) -> str:
    """``2026-11-02T09:30:00+08:00`` → ``2026-11-02 09:30`` (already in the office time zone)."""
    if not iso_text:
        return "-"
    return datetime.fromisoformat(iso_text).strftime("%Y-%m-%d %H:%M")


def _calendar_label(source: str) -> str:
    from bot.domain.workcalendar import CalendarSource

    return CalendarSource(source).label if source in CalendarSource._value2member_map_ else source


def render_case_text(data: dict[str, Any], units: dict[int, str] | None = None) -> str:
    units = units or {}
    source = data["calendar_source"]
    lines = [
        f"{data['number']}  {data['title']}",
        f"状态：{state_text(data['state'])}",
        f"级别：{data['level']}    来源：{data['source']}    类型：{data['category'] or '-'}",
        f"留言时间：{_local(data['received_at'])}    登记时间：{_local(data['created_at'])}",
        f"承办单位：{data['unit'] or '-'}    到期：{_local(data['due_at'])}"
        + (f"（按{_calendar_label(source)}计算）" if source else ""),
        f"反映人：{data['petitioner'] or '-'}    联系方式：{data.get('contact') or '-'}",
    ]
    if data.get("duplicate_of"):
        lines.append(f"重复反映：关联 {data['duplicate_of']}")
    if data.get("route") and data["route"] != "handle":
        lines.append(f"办理方式：{data['route_label']}（第九条）")
    if data.get("transfer_to"):
        lines.append(f"转办：转{data['transfer_to']}（{_local(data['transferred_at'])}）{data['transfer_note'] or ''}")
    if data.get("reply_proposal"):
        lines.append(f"回复建议：{data['reply_proposal']}")
    lines += ["", "主要诉求：", data["content"], "", "办理记录："]
    for e in data.get("timeline", []):
        unit_id = _event_unit(e)
        unit = f" → {units.get(unit_id, '单位#' + str(unit_id))}" if unit_id is not None else ""
        comment = f" — {e['comment']}" if e["comment"] else ""
        lines.append(f"  {_local(e['at'])}  {e['label']}{unit}  {e['actor']}{comment}")
    return "\n".join(lines)


@case.command("assign")
@config_option
@click.argument("number")
@click.argument("unit")
@friendly
def case_assign(config_path: Path, number: str, unit: str) -> None:
    """交办 a registered case, or 改派 one that is returned or not yet signed for, to UNIT."""
    from bot.handlers.intake import assign_case

    config = load(config_path)
    found = run_with_runtime(config, lambda rt: assign_case(rt.deps, number, unit, cli_actor()))
    click.echo(f"{found.number} 已交办给 {unit}，状态：{state_text(found.state)}")


@case.command("void")
@config_option
@click.argument("number")
@click.option("--reason", required=True, help="作废理由 (误登、重复登记 …)")
@friendly
def case_void(config_path: Path, number: str, reason: str) -> None:
    """作废 a mistaken or duplicate case: kept, counted in no statistic, score, reminder or list."""
    from bot.domain.lifecycle import ReasonInput
    from bot.domain.states import Action
    from bot.handlers.workflow import perform

    config = load(config_path)
    found = run_with_runtime(config, lambda rt: perform(rt.deps, number, Action.VOID, cli_actor(), ReasonInput(reason)))
    click.echo(f"{found.number} 已作废，状态：{state_text(found.state)}")


@case.command("route")
@config_option
@click.argument("number")
@click.option("--to", "route", required=True, help="handle 办理 | courtesy 礼节性回复 | transfer 转办 (第九条)")
@click.option("--reason", required=True, help="理由 (转办: 转办说明)")
@click.option("--destination", default="", help="转办去向 (default: [routing] transfer_to of the category)")
@friendly
def case_route(config_path: Path, number: str, route: str, reason: str, destination: str) -> None:
    """改为转办 / 改为办理 / 改为礼节性回复 (第九条 routing by type), with a reason, on the timeline."""
    from bot.domain.routing import parse_route
    from bot.handlers.routing import change_route

    try:
        wanted = parse_route(route)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from exc
    config = load(config_path)
    found = run_with_runtime(config, lambda rt: change_route(rt.deps, number, cli_actor(), wanted, reason, destination))
    where = f"（转{found.transfer_to}）" if found.transfer_to else ""
    click.echo(f"{found.number} 已改为{wanted.label}{where}，状态：{state_text(found.state)}")


@case.command("archive")
@config_option
@click.argument("number")
@friendly
def case_archive(config_path: Path, number: str) -> None:
    """立卷 / 销号 a closed case; refused with the missing elements when the 16 are not complete."""
    from bot.handlers.records import archive_case

    config = load(config_path)
    found = run_with_runtime(config, lambda rt: archive_case(rt.deps, number, cli_actor()))
    click.echo(f"{found.number} 已立卷，状态：{state_text(found.state)}")


@case.command("set")
@config_option
@click.argument("number")
@click.option("--title", help="留言标题")
@click.option("--category", help="所属类型")
@click.option("--level", help="级别: 省级/市级/县（区）级")
@click.option("--contact", help='联系方式 ("" clears it)')
@click.option("--petitioner", help='反映人 ("" clears it)')
@click.option("--report-number", help="呈报文号")
@click.option("--complex/--no-complex", "complex_", default=None, help="设为/取消 复杂件 (needs --reason)")
@click.option("--urgent/--no-urgent", default=None, help="设为/取消 急件 (needs --reason)")
@click.option("--reason", help="理由 of a --complex/--urgent change")
@friendly
def case_set(
    config_path: Path,
    number: str,
    complex_: bool | None,
    urgent: bool | None,
    reason: str | None,
    **fields: str | None,
) -> None:
    """更正 the facts of a case, or set/clear 复杂件/急件 (the deadline is recomputed from the
    assignment); each change is on its timeline."""
    from bot.handlers.corrections import reclassify, set_fields

    config = load(config_path)
    wanted = {k: v for k, v in fields.items() if v is not None}
    flags = complex_ is not None or urgent is not None
    if not wanted and not flags:
        raise click.UsageError(
            "give at least one of --title --category --level --contact --petitioner --report-number "
            "--complex/--no-complex --urgent/--no-urgent"
        )
    if flags and not reason:
        raise click.UsageError("--complex/--urgent need --reason")
    if wanted:
        found = run_with_runtime(config, lambda rt: set_fields(rt.deps, number, cli_actor(), wanted))
        shown = "、".join(f"{k} {wanted[k]}" if k == "report_number" else k for k in sorted(wanted))
        click.echo(f"{found.number} 已更正：{shown}")
    if flags:
        done = run_with_runtime(
            config, lambda rt: reclassify(rt.deps, number, cli_actor(), complex_, urgent, reason or "")
        )
        click.echo(f"{number} {done}")
