"""`liuyan report monthly|quarterly|yearly` and `liuyan archive check`.

The report code is imported only when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.base import DAY, BadValue, config_option, friendly, load, run_with_runtime

T = TypeVar("T")


def _outputs(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--dry-run",
        is_flag=True,
        help="print the messages --post would queue (recipients and text), queue nothing",
    )(func)
    func = click.option("--force", is_flag=True, help="with --post: post again although the period was posted")(func)
    func = click.option(
        "--post",
        is_flag=True,
        help="queue the summary for the supervision group and the unit leaders "
        "(sent by the running server; once per period, recorded only when a message was queued)",
    )(func)
    func = click.option(
        "--png", "png", type=click.Path(dir_okay=False, path_type=Path), help="also write the chart as FILE.png"
    )(func)
    func = click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the workbook FILE.xlsx"
    )(func)
    return config_option(func)


@click.group("report")
def report() -> None:
    """Statistics, scores and charts of a month, a quarter or a year (docs/reports.md)."""


def _default(kind: str, now: datetime) -> Any:
    from bot.domain.statistics import Period

    return Period.containing(now.date(), kind).previous()  # type: ignore[arg-type]


def _run(
    config_path: Path,
    text: str | None,
    kind: str,
    output: Path | None,
    png: Path | None,
    post: bool,
    force: bool = False,
    dry_run: bool = False,
) -> None:
    from bot.domain.statistics import parse_period
    from bot.reports.summary import pct, plan_monthly_summary, pts, queue_monthly_summary, summary_markdown
    from bot.reports.xlsx import export_report

    config = load(config_path)
    if text:
        option, word, example = {
            "month": ("--month", "月份", "2026-10"),
            "quarter": ("--quarter", "季度", "2026-Q3"),
            "year": ("--year", "年份", "2026"),
        }[kind]
        try:
            period = parse_period(text)
        except ValueError as exc:
            raise BadValue(f"{option} {text}：不是有效的{word}（例：{example}）") from exc
        if period.kind != kind:
            raise BadValue(f"{option} {text}：不是{word}（例：{example}）")
    else:
        period = None
    if force and not post:
        raise BadValue("--force 只能与 --post 一起使用（--force needs --post）")

    async def body(rt: Any) -> tuple[Any, int, Any]:
        now = rt.deps.clock.now()
        chosen = period or _default(kind, now.astimezone(config.office.hours().tz))
        files = await export_report(rt.deps, chosen, xlsx=output, png=png, now=now)
        queued, plan = 0, None
        if dry_run:
            plan = await plan_monthly_summary(rt.deps, chosen, now)
        elif post:
            async with rt.deps.sessions() as session, session.begin():
                queued = await queue_monthly_summary(rt.deps, session, chosen, now, force=force)
        return files, queued, plan

    files, queued, plan = run_with_runtime(config, body)
    r = files.report
    o = r.office
    click.echo(
        f"{r.period.label}（{r.period_text}，截至 {r.as_of_text}）：受理 {o.received} 件，"
        f"按期办结率 {pct(o.on_time_rate)}，当前超期 {sum(u.stats.overdue_now for u in r.units)} 件，"
        f"{len(r.units)} 个单位，平均得分 "
        f"{pts(round(sum(u.score.score for u in r.units) / len(r.units), 1)) if r.units else '—'}"
    )
    if files.xlsx is not None:
        click.echo(f"已写入 {files.xlsx}（扣分明细 {files.details} 条）")
    if files.png is not None:
        click.echo(f"已写入 {files.png}")
    if plan is not None:
        _echo_plan(plan)
    elif post:
        click.echo(
            f"已排队发送 {queued} 条消息（由运行中的 liuyan serve 发出）"
            if queued
            else "未排队任何消息：本期通报已发送过（要再发一次用 --post --force），"
            "或未配置督查群且没有可联系的单位负责人（本期仍记为未发送）"
        )
    if output is None and png is None and not post and plan is None:
        click.echo("")
        click.echo("\n\n".join(summary_markdown(r, limit_bytes=1 << 30)))


def _echo_plan(plan: Any) -> None:
    """What --post would queue, one block per message (the chart by its size only)."""
    platform_names = {"wecom": "企业微信", "dingtalk": "钉钉"}
    if not plan.messages:
        click.echo("试运行：不会发送任何消息（未配置督查群，也没有可联系的单位负责人）")
        return
    click.echo(f"试运行：--post 将排队 {len(plan.messages)} 条消息（本次未排队、未记录）")
    for m in plan.messages:
        where = f"{platform_names.get(m.platform, m.platform)} {m.channel}:{m.recipient}"
        click.echo(f"\n→ {m.who}（{where}）")
        if m.payload.get("type") == "image":
            click.echo(f"[图表 PNG，{len(m.payload['png_b64']) * 3 // 4 // 1024} KB]")
        else:
            click.echo(m.payload.get("text", ""))


@report.command("monthly")
@click.option("--month", "text", metavar="YYYY-MM", help="the month (default: last month)")
@_outputs
@friendly
def report_monthly(config_path: Path, text: str | None, **outputs: Any) -> None:
    """A month's report (--month 2026-10 -o 2026-10.xlsx --png 2026-10.png)."""
    _run(config_path, text, "month", **outputs)


@report.command("quarterly")
@click.option("--quarter", "text", metavar="YYYY-Qn", help="the quarter, e.g. 2026-Q3 (default: last quarter)")
@_outputs
@friendly
def report_quarterly(config_path: Path, text: str | None, **outputs: Any) -> None:
    """A quarter's report."""
    _run(config_path, text, "quarter", **outputs)


@report.command("yearly")
@click.option("--year", "text", metavar="YYYY", help="the year (default: last year)")
@_outputs
@friendly
def report_yearly(config_path: Path, text: str | None, **outputs: Any) -> None:
    """A year's report."""
    _run(config_path, text, "year", **outputs)


@click.group("archive")
def archive() -> None:
    """立卷归档: checks of the 16 archive elements."""


@archive.command("check")
@config_option
@click.option("--from", "start", type=DAY, help="first day (留言时间, local date; default: the first case)")
@click.option("--to", "end", type=DAY, help="last day, included (default: today)")
@click.option("--closed", "closed_only", is_flag=True, help="only cases already closed or archived")
@friendly
def archive_check(config_path: Path, start: datetime | None, end: datetime | None, closed_only: bool) -> None:
    """List the cases received from --from to --to that miss any of the 16 archive elements —
    what blocks each closed case from 立卷. Exit code 1 when a closed or archived case is
    incomplete (it cannot be, or should not have been, archived)."""
    from bot.domain.archive import ElementCheck
    from bot.reports.compute import incomplete_cases

    config = load(config_path)
    start = start or datetime(2000, 1, 1)
    end = end or datetime.now(config.office.hours().tz).replace(tzinfo=None)
    if start > end:
        raise click.ClickException(f"开始日期 {start.date()} 晚于结束日期 {end.date()}")

    async def body(rt: Any) -> list[ElementCheck]:
        return [c async for c in incomplete_cases(rt.deps, start.date(), end.date(), closed_only=closed_only)]

    found = run_with_runtime(config, body)
    for c in found:
        click.echo(f"{c.number}\t{c.state_label}\t缺少：{'、'.join(c.missing)}")
    ready = sum(c.ready for c in found)
    click.echo(f"要素不全 {len(found)} 件，其中已办结或已归档 {ready} 件（{start.date()} 至 {end.date()}）")
    if ready:
        raise click.exceptions.Exit(1)
