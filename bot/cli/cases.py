"""`liuyan case add|list|show|assign|archive|set` (``case import`` lives in ``bot.cli.imports_exports``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.cli.base import cli_actor, config_option, friendly, load, run_with_runtime
from bot.domain.states import State


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
@friendly
def case_list(config_path: Path, state: str | None, unit: str | None, overdue: bool, limit: int) -> None:
    """List cases (文号, state, unit, due date, title)."""
    from bot.handlers.read_models import local_time_text
    from store import listings, repo

    config = load(config_path)

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
            return await listings.cases_with_unit_names(session, f)

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
@friendly
def case_show(config_path: Path, number: str, as_json: bool) -> None:
    """Show one case with its whole timeline."""
    from bot.handlers.read_models import case_json
    from bot.handlers.workflow import CaseNotFound
    from store import repo

    config = load(config_path)

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
@friendly
def case_assign(config_path: Path, number: str, unit: str) -> None:
    """交办 a registered case, or 改派 a returned one, to UNIT."""
    from bot.handlers.intake import assign_case

    config = load(config_path)
    found = run_with_runtime(config, lambda rt: assign_case(rt.deps, number, unit, cli_actor()))
    click.echo(f"{found.number} assigned to {unit}, state {found.state}")


@case.command("archive")
@config_option
@click.argument("number")
@friendly
def case_archive(config_path: Path, number: str) -> None:
    """立卷 / 销号 a closed case; refused with the missing elements when the 16 are not complete."""
    from bot.handlers.records import archive_case

    config = load(config_path)
    found = run_with_runtime(config, lambda rt: archive_case(rt.deps, number, cli_actor()))
    click.echo(f"{found.number} archived, state {found.state}")


@case.command("set")
@config_option
@click.argument("number")
@click.option("--report-number", help="呈报文号")
@friendly
def case_set(config_path: Path, number: str, report_number: str | None) -> None:
    """Fill in fields of a case after registration (--report-number: 呈报文号)."""
    config = load(config_path)
    if report_number is None:
        raise click.ClickException("nothing to set (e.g. --report-number …)")
    set_report_number_cli(config, number, report_number)


def set_report_number_cli(config: Any, number: str, value: str) -> None:
    from bot.handlers.records import set_report_number

    found = run_with_runtime(config, lambda rt: set_report_number(rt.deps, number, cli_actor(), value))
    click.echo(f"{found.number} 呈报文号 {found.report_number}")
