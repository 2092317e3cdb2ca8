"""`liuyan case import --history` (issue 13): past cases come in with their own dates and final
states for statistics, scoring and the archive — no cards, no messages, no nudges, no new
deadlines — while the normal import keeps assigning."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.domain.lifecycle import Actor
from bot.domain.states import Role
from bot.handlers.deps import Deps
from bot.handlers.history_import import import_history
from bot.handlers.messaging import Outbox
from bot.jobs import Jobs
from store import repo
from store.models import CaseEvent, Nudge, OutboxMessage
from tests.conftest import SHANGHAI
from tests.fakes.cli import run
from tests.fakes.xlsx import write_xlsx

HEADER = ["留言文号", "留言标题", "主要诉求", "留言时间", "核办单位", "所属类型", "到期时间", "办理情况", "是否化解",
          "回访时间", "办结时间", "状态", "来源编号"]  # fmt: skip
ADMIN = Actor(name="管理员", roles=frozenset({Role.ADMIN, Role.DISPATCHER}))


def year_of_history(path: Path, start: date, days: int = 365, every: int = 3) -> Path:
    rows: list[list[object]] = [HEADER]
    for i, offset in enumerate(range(0, days, every)):
        received = datetime.combine(start + timedelta(days=offset), datetime.min.time()).replace(hour=10)
        rows.append([
            f"LY{received.year}-{900000 + i:06d}" if i % 2 else None,
            f"历史留言{i}",
            f"第{i}件历史留言的内容",
            received,
            "区人社局" if i % 3 else "RSJ-不存在" if i == 3 else "区住建局",
            "欠薪欠资",
            received + timedelta(days=7),
            "已办理完毕，已答复网友。",
            "是" if i % 4 else "否",
            received + timedelta(days=12),
            received + timedelta(days=10),
            "归档" if i % 5 == 0 else "办结",
            f"H-{i}",
        ])  # fmt: skip
    return write_xlsx(path, rows)


async def test_history_goes_around_the_live_workflow(deps: Deps, tmp_path: Path) -> None:
    path = year_of_history(tmp_path / "history.xlsx", date(2025, 10, 15))
    result = await import_history(deps, path, ADMIN)
    assert [(e.row, e.field) for e in result.errors] == [(5, "核办单位")]  # the unknown unit, listed
    assert len(result.imported) == 121
    async with deps.sessions() as session:
        outbox = (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
        assert outbox == 0
        case = await repo.case_by_number(session, "LY2025-900001")
        assert case is not None
        assert case.state == "closed" and case.assigned_at is None and case.return_deadline is None
        assert case.received_at == datetime(2025, 10, 18, 10, 0, tzinfo=SHANGHAI)
        assert case.due_at == datetime(2025, 10, 25, 10, 0, tzinfo=SHANGHAI)  # from the file, not computed
        assert case.closed_at == datetime(2025, 10, 28, 10, 0, tzinfo=SHANGHAI) and case.resolved is True
        events = (await session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
        assert [e.action for e in events] == ["history_import"]
        archived = await repo.case_by_number(session, result.imported[0].number)
        assert archived is not None and archived.state == "archived"
    # the sweeps find nothing to remind of, the next morning or any other
    jobs = Jobs(deps, Outbox(deps.config))
    for day in (date(2026, 11, 3), date(2026, 11, 4)):
        # only the morning list of the supervision group, and it is empty
        assert [line for _, _, line in await jobs.plan(day)] == ["超期未办结清单（当前0件）"]
    await jobs.tick()
    async with deps.sessions() as session:
        claimed = (await session.execute(select(Nudge.scope))).scalars().all()
        assert not [scope for scope in claimed if scope.startswith("case:")]
    # importing the file again brings nothing new
    again = await import_history(deps, path, ADMIN)
    assert not again.imported and len(again.skipped) == 121 and len(again.errors) == 1


def test_cli_history_import_plans_no_reminders(config_file: Path, tmp_path: Path) -> None:
    from bot.calendar.package_data import package_calendar

    today = datetime.now(SHANGHAI).date()
    next_morning = package_calendar().next_workday(today, inclusive=False)
    code, before = run(config_file, "nudges", "plan", "--date", next_morning.isoformat())
    assert code == 0, before
    path = year_of_history(tmp_path / "history.xlsx", today - timedelta(days=380))
    result = CliRunner().invoke(main, ["case", "import", "-c", str(config_file), "--history", str(path)])
    assert result.exit_code == 1 and "新登记 121 件" in result.output and "第5行 核办单位" in result.output
    code, after = run(config_file, "nudges", "plan", "--date", next_morning.isoformat())
    assert code == 0 and after == before and "历史留言" not in after
    code, out = run(config_file, "case", "list")
    assert "历史留言1" in out
    # new live cases are numbered after the kept history numbers of this year
    code, out = run(config_file, "case", "add", "--title", "新件", "--content", "新的留言内容", "--unit", "区人社局")
    assert code == 0 and f"LY{today.year}-90" in out.split()[0]
