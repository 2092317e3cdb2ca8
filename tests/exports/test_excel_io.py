"""Spreadsheet import, archive export and the one-case dossier: use cases on SQLite and PostgreSQL,
the `liuyan case import` / `liuyan export` commands on SQLite."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.clock import ManualClock
from bot.domain.archive import ARCHIVE_ELEMENTS
from bot.domain.lifecycle import Actor, CommentInput, NoInput, RejectInput, ReplyInput
from bot.domain.states import Action, Truthfulness
from bot.exports.archive import archive_rows, export_archive
from bot.exports.dossier import export_dossier, load_dossier
from bot.exports.files import ExportError
from bot.handlers.deps import Deps
from bot.handlers.excel_import import ImportFileError, import_cases, match_header, parse_cell_time
from bot.handlers.intake import InputError, NewCase, register_case
from bot.handlers.read_models import archive_record, archive_row
from bot.handlers.workflow import CaseNotFound, add_note, perform
from store import directory, repo
from tests.conftest import BASE_CONFIG, SHANGHAI
from tests.fakes.xlsx import write_xlsx

LABELS = [e.label for e in ARCHIVE_ELEMENTS]
HEADER = [
    "留言文号",
    "级别",
    "留言来源平台",
    "反映人",
    "联系方式",
    "留言标题",
    "主要诉求",
    "留言时间",
    "核办单位",
    "所属类型",
    "来源编号",
    "是否复杂件",
    "是否急件",
]


def row(
    title: str | None = "小区路灯不亮",
    *,
    level: str = "县（区）级",
    unit: str | None = "区住建局",
    received: Any = datetime(2026, 10, 30, 8, 15),
    ref: str | None = None,
    contact: Any = "13800138000",
    category: str | None = None,
    complex_: Any = None,
    petitioner: str = "赵六",
) -> list[Any]:
    return [
        "",
        level,
        "12345热线",
        petitioner,
        contact,
        title,
        f"{title}，请尽快处理。",
        received,
        unit,
        category,
        ref,
        complex_,
        None,
    ]


MIXED = [
    HEADER,
    row("某公司拖欠工资三个月", level="市级", unit="区人社局", ref="R-1", category="欠薪欠资"),  # 2 good
    row("路面塌陷", level="乡级", ref="R-2"),  # 3 bad level
    row(None, ref="R-3"),  # 4 missing title
    row("噪音扰民", unit="区不存在局", ref="R-4"),  # 5 unknown unit
    row("未来的留言", received=datetime(2026, 11, 5, 9, 0), ref="R-5"),  # 6 future date
    row("长" * 201, ref="R-6"),  # 7 overlong title
    row("楼道堆放杂物", received="2026/10/29 16:40", unit=None, ref="R-7", complex_="是"),  # 8 good
    [None] * len(HEADER),  # 9 blank: ignored
    row("供暖不热", received="2026年10月28日 9时5分", contact=13900139000, petitioner="钱七"),  # 10 good, no 来源编号
]
EXPECTED_ERRORS = [(3, "级别"), (4, "留言标题"), (5, "核办单位"), (6, "留言时间"), (7, "留言标题")]


async def all_cases(deps: Deps) -> list[Any]:
    async with deps.sessions() as session:
        return await repo.list_cases(session, repo.CaseFilter(limit=1000))


# --- import (both databases) -------------------------------------------------------------------


async def test_import_mixed_rows_good_in_bad_reported(deps: Deps, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", MIXED)
    seen: list[tuple[int, int | None]] = []
    result = await import_cases(deps, path, Actor.system(), progress=lambda done, total: seen.append((done, total)))

    assert [(e.row, e.field) for e in result.errors] == EXPECTED_ERRORS
    assert all(e.message for e in result.errors)
    assert "未知级别" in result.errors[0].message and "区不存在局" in result.errors[2].message
    assert [r.row for r in result.imported] == [2, 8, 10] and not result.skipped and not result.ok
    assert seen[-1] == (9, 9) and len(seen) == 9  # every data row reported, blank one included

    cases = {c.title: c for c in await all_cases(deps)}
    assert set(cases) == {"某公司拖欠工资三个月", "楼道堆放杂物", "供暖不热"}
    wage, clutter, heating = cases["某公司拖欠工资三个月"], cases["楼道堆放杂物"], cases["供暖不热"]
    assert wage.state == "assigned" and wage.level == "市级" and wage.source_ref == "R-1"
    assert wage.received_at == datetime(2026, 10, 30, 8, 15, tzinfo=SHANGHAI)
    assert clutter.state == "registered" and clutter.complex and clutter.unit_id is None
    assert clutter.received_at == datetime(2026, 10, 29, 16, 40, tzinfo=SHANGHAI)
    assert heating.received_at == datetime(2026, 10, 28, 9, 5, tzinfo=SHANGHAI)
    assert heating.contact == "13900139000" and heating.source_ref is None
    # failed rows used no case numbers
    assert sorted(c.number for c in cases.values()) == ["LY2026-000001", "LY2026-000002", "LY2026-000003"]


async def test_reimport_creates_no_duplicates(deps: Deps, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", MIXED)
    first = await import_cases(deps, path, Actor.system())
    again = await import_cases(deps, path, Actor.system())
    assert not again.imported
    assert again.skipped == first.imported  # same rows, same 文号, rows without 来源编号 included
    assert [(e.row, e.field) for e in again.errors] == EXPECTED_ERRORS
    assert len(await all_cases(deps)) == 3


async def test_excel_date_cells_and_serials(deps: Deps, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["留言标题", "主要诉求", "留言时间", "来源编号"])
    sheet.append(["日期时间格", "内容一", datetime(2026, 10, 20, 14, 30), "D-1"])
    sheet.append(["日期格", "内容二", date(2026, 10, 21), "D-2"])
    sheet.cell(3, 3).number_format = "yyyy-mm-dd"
    sheet.append(["序列号", "内容三", 46317.75, "D-3"])  # 2026-10-22 18:00 as a plain number
    sheet.append(["带时区", "内容四", "2026-10-23T10:00:00+00:00", "D-4"])
    workbook.save(tmp_path / "dates.xlsx")
    result = await import_cases(deps, tmp_path / "dates.xlsx", Actor.system())
    assert result.ok and len(result.imported) == 4
    got = {c.title: c.received_at for c in await all_cases(deps)}
    assert got == {
        "日期时间格": datetime(2026, 10, 20, 14, 30, tzinfo=SHANGHAI),
        "日期格": datetime(2026, 10, 21, 0, 0, tzinfo=SHANGHAI),
        "序列号": datetime(2026, 10, 22, 18, 0, tzinfo=SHANGHAI),
        "带时区": datetime(2026, 10, 23, 18, 0, tzinfo=SHANGHAI),
    }


async def test_header_tolerance_and_unknown_columns_warned_once(deps: Deps, tmp_path: Path) -> None:
    rows = [
        ["2026年10月网民留言登记表"],  # a title line above the header row
        [" 留言标题 ", "主要诉求（必填）", "留言时间(北京时间)", "承办单位", "备注", "附件", "到期时间"],
        ["井盖缺失", "路口井盖缺失", "2026-10-30 10:00", "区住建局", "急", "无", "2026-11-06"],
        ["路灯不亮", "小区路灯不亮", "2026-10-30 11:00", "区住建局", "", "无", "2026-11-06"],
    ]
    result = await import_cases(deps, write_xlsx(tmp_path / "h.xlsx", rows), Actor.system())
    assert result.ok and [r.row for r in result.imported] == [3, 4]
    assert result.warnings == [
        "未知列“备注”（第E列）已忽略",
        "未知列“附件”（第F列）已忽略",
        "“到期时间”列由系统生成，导入新件时忽略",
    ]
    assert {c.state for c in await all_cases(deps)} == {"assigned"}


async def test_missing_required_column_is_a_file_error(deps: Deps, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "m.xlsx", [["留言标题", "留言时间"], ["标题", "2026-10-30"]])
    with pytest.raises(ImportFileError, match="缺少必填列：主要诉求"):
        await import_cases(deps, path, Actor.system())
    assert await all_cases(deps) == []


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("broken.xlsx", b"this is not a spreadsheet", "不是有效的 .xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        ("cases.csv", "留言标题,主要诉求\n".encode(), ".xlsx"),
    ],
)
async def test_corrupt_and_wrong_files_refused(
    deps: Deps, tmp_path: Path, name: str, content: bytes, needle: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=needle):
        await import_cases(deps, path, Actor.system())


async def test_zip_that_is_not_a_workbook_refused(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ImportFileError):
        await import_cases(deps, path, Actor.system())


async def test_damage_found_midway_keeps_good_rows(deps: Deps, tmp_path: Path) -> None:
    rows = [["留言标题", "主要诉求", "留言时间", "来源编号"]]
    rows += [[f"第{i}个问题", f"内容{i}", "2026-10-01 10:00", f"M-{i}"] for i in range(2, 12)]
    good = write_xlsx(tmp_path / "ok.xlsx", rows)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(damaged, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # cut the sheet off inside row 7
                data = data[: data.index(b'<row r="7"')] + b'<row r="7"><c r="A7" t="inlineStr"><is><t>oops'
            zout.writestr(item, data)
    result = await import_cases(deps, damaged, Actor.system())
    assert [r.row for r in result.imported] == [2, 3, 4, 5, 6]
    assert [(e.row, e.field) for e in result.errors] == [(7, "文件")] and "损坏" in result.errors[0].message
    assert len(await all_cases(deps)) == 5


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([["留言标题", "主要诉求", "留言标题（副）"], ["a", "b", "c"]], "“留言标题”列重复（第A列和第C列）"),
        ([[f"说明{i}"] for i in range(12)] + [["留言标题", "主要诉求"]], "未找到表头行"),
        ([], "未找到表头行"),
    ],
)
async def test_unusable_header_rows(deps: Deps, tmp_path: Path, rows: list[list[str]], needle: str) -> None:
    with pytest.raises(ImportFileError, match=needle):
        await import_cases(deps, write_xlsx(tmp_path / "h.xlsx", rows), Actor.system())


# --- import (pure pieces) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "label"),
    [
        (" 留言标题 ", "留言标题"),
        ("核办单位（主办）", "核办单位"),
        ("*主要诉求", "主要诉求"),
        ("留言\u3000时间", "留言时间"),
        ("来源编号", "来源编号"),
        ("备注", None),
        (None, None),
    ],
)
def test_match_header(cell: Any, label: str | None) -> None:
    assert match_header(cell) == label


@pytest.mark.parametrize("text", ["2026-13-01", "昨天", "2026/02/30 10:00"])
def test_bad_date_text(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_cell_time(text, SHANGHAI)
    assert info.value.field == "received_at"


# --- export (both databases) -------------------------------------------------------------------


async def register(deps: Deps, title: str, received: datetime, **kw: Any) -> str:
    new = NewCase(
        title=title,
        content=f"{title}的具体情况",
        received_at=received,
        unit=kw.pop("unit", "区住建局"),
        petitioner=kw.pop("petitioner", "赵六"),
        contact=kw.pop("contact", "13800138000"),
        **kw,
    )
    return (await register_case(deps, new, Actor.system())).case.number


async def october_cases(deps: Deps) -> dict[str, str]:
    return {
        "before": await register(deps, "九月最后一分钟", datetime(2026, 9, 30, 23, 59, tzinfo=SHANGHAI)),
        "first": await register(deps, "十月第一天", datetime(2026, 10, 1, 0, 0, tzinfo=SHANGHAI)),
        "formula": await register(
            deps,
            '=HYPERLINK("http://x","点我")',
            datetime(2026, 10, 15, 9, 0, tzinfo=SHANGHAI),
            petitioner="孙八",
            contact="13700137000",
        ),
        "last": await register(
            deps,
            "十月最后一晚",
            datetime(2026, 10, 31, 23, 30, tzinfo=SHANGHAI),
            petitioner="周九",
            contact="13600136000",
        ),
        "after": await register(deps, "十一月", datetime(2026, 11, 1, 0, 10, tzinfo=SHANGHAI), petitioner="吴十"),
    }


async def test_export_archive_headers_rows_and_notes(deps: Deps, tmp_path: Path) -> None:
    numbers = await october_cases(deps)
    done = await export_archive(deps, date(2026, 10, 1), date(2026, 10, 31), tmp_path / "a.xlsx")
    assert done.count == 3
    workbook = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert workbook.sheetnames == ["留言档案", "要素检查", "说明"]
    sheet = workbook["留言档案"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == LABELS
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert sheet.column_dimensions["G"].width > sheet.column_dimensions["B"].width  # 主要诉求 wider than 级别
    assert [r[0] for r in rows[1:]] == [numbers["first"], numbers["formula"], numbers["last"]]
    async with deps.sessions() as session:
        for values in rows[1:]:
            case = await repo.case_by_number(session, values[0])
            assert case is not None
            expected = archive_row(await archive_record(session, case, deps.config.office.tz))
            # date elements are Excel date-times now (issue 14): compare them as the sheet shows them
            shown = [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in values]
            assert [v if v is not None else None for v in shown] == [e if e != "" else None for e in expected]
    formula_cell = sheet.cell(3, LABELS.index("留言标题") + 1)
    assert formula_cell.data_type == "s" and formula_cell.value.startswith("=HYPERLINK")
    notes = dict(workbook["说明"].iter_rows(values_only=True))
    assert "2026-10-01 至 2026-10-31" in notes["统计期间"] and notes["件数"] == "3"
    assert notes["生成时间"] == "2026-11-02 09:00"


async def test_export_archive_dates_are_excel_dates_in_office_time(deps: Deps, tmp_path: Path) -> None:
    numbers = await october_cases(deps)
    await export_archive(deps, date(2026, 10, 1), date(2026, 10, 31), tmp_path / "a.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx")["留言档案"]
    column = LABELS.index("留言时间") + 1
    rows = {sheet.cell(r, 1).value: sheet.cell(r, column) for r in range(2, sheet.max_row + 1)}
    last = rows[numbers["last"]]  # 2026-10-31 23:30 in Shanghai is 15:30 UTC: the office's day and hour
    assert last.is_date and last.value == datetime(2026, 10, 31, 23, 30)
    assert last.number_format == "yyyy-mm-dd hh:mm"
    due = sheet.cell(2, LABELS.index("到期时间") + 1)
    assert due.value is None or due.is_date


async def test_export_no_personal_blanks_contact(deps: Deps, tmp_path: Path) -> None:
    await october_cases(deps)
    await export_archive(deps, date(2026, 10, 1), date(2026, 10, 31), tmp_path / "p.xlsx", include_personal=False)
    rows = list(openpyxl.load_workbook(tmp_path / "p.xlsx")["留言档案"].iter_rows(min_row=2, values_only=True))
    contact, petitioner = LABELS.index("联系方式"), LABELS.index("反映人")
    assert len(rows) == 3 and all(r[contact] in (None, "") for r in rows)
    assert [r[petitioner] for r in rows] == ["赵六", "孙八", "周九"]
    assert b"1370013" not in (tmp_path / "p.xlsx").read_bytes()  # not hidden somewhere else either


async def test_export_streams_in_batches(deps: Deps) -> None:
    for i in range(5):
        await register(
            deps,
            f"第{i}件不同的事",
            datetime(2026, 10, 10 + i, 9, 0, tzinfo=SHANGHAI),
            petitioner=f"人{i}",
            contact=f"1380013800{i}",
        )
    sizes = [len(b) async for b in archive_rows(deps, date(2026, 10, 1), date(2026, 10, 31), batch_size=2)]
    assert sizes == [2, 2, 1]


async def test_export_refuses_bad_period_and_type(deps: Deps, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="晚于"):
        await export_archive(deps, date(2026, 10, 31), date(2026, 10, 1), tmp_path / "a.xlsx")
    with pytest.raises(ExportError, match=".xlsx"):
        await export_archive(deps, date(2026, 10, 1), date(2026, 10, 31), tmp_path / "a.csv")
    assert not list(tmp_path.glob("a.*")) and not list(tmp_path.glob(".a.*"))


async def test_empty_period_exports_header_only(deps: Deps, tmp_path: Path) -> None:
    done = await export_archive(deps, date(2025, 1, 1), date(2025, 12, 31), tmp_path / "e.xlsx")
    assert done.count == 0
    rows = list(openpyxl.load_workbook(tmp_path / "e.xlsx")["留言档案"].iter_rows(values_only=True))
    assert rows == [tuple(LABELS)]


# --- dossier (both databases) ------------------------------------------------------------------

REPLY = ReplyInput(
    Truthfulness.TRUE,
    attitude="反映问题属实，我局高度重视。",
    process="已责令该公司于11月10日前结清全部欠薪，并对负责人进行约谈，公司已书面承诺。",
    verification="11月3日派员到公司实地核查工资台账。",
    feedback="已电话联系网友，网友表示认可。",
)


async def handled_case(deps: Deps, clock: ManualClock) -> str:
    number = await register(
        deps,
        "某公司拖欠工资<b>三个月</b>",
        datetime(2026, 11, 1, 20, 0, tzinfo=SHANGHAI),
        unit="区人社局",
        level="省级",
        category="欠薪欠资",
        petitioner="李四",
    )
    async with deps.sessions() as session:
        people = {
            u: await directory.actor_for(session, p)
            for u in ("zhangsan", "sundc", "zhousj")
            if (p := await directory.person_by_platform(session, "wecom", u)) is not None
        }
    await perform(deps, number, Action.ACCEPT, people["zhangsan"], NoInput())
    clock.advance(days=1)
    await perform(deps, number, Action.SUBMIT, people["zhangsan"], REPLY)
    await perform(deps, number, Action.REVIEW_PASS, people["sundc"], CommentInput("事实清楚"))
    await perform(deps, number, Action.LEADER_REJECT, people["zhousj"], RejectInput("请补充后续跟踪措施"))
    await add_note(deps, number, people["zhousj"], "instruction", "务必在月底前办结 & 回访")
    return number


async def test_dossier_html_has_everything_escaped(deps: Deps, clock: ManualClock, tmp_path: Path) -> None:
    number = await handled_case(deps, clock)
    path = await export_dossier(deps, number, tmp_path / "d.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "@page" in page and "A4" in page
    assert "<b>三个月" not in page and "&lt;b&gt;三个月&lt;/b&gt;" in page
    assert "务必在月底前办结 &amp; 回访" in page
    for label in LABELS + ["属实程度", "表明态度", "工作过程", "核查情况", "网友反馈", "领导批示"]:
        assert f"<th>{label}</th>" in page
    for said in ("事实清楚", "请补充后续跟踪措施", "实地核查工资台账", "13800138000"):
        assert said in page
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing fetched


async def test_dossier_timeline_and_workflow(deps: Deps, clock: ManualClock, tmp_path: Path) -> None:
    number = await handled_case(deps, clock)
    dossier = await load_dossier(deps, number.lower())
    assert [e.step for e in dossier.timeline] == [
        "登记",
        "交办",
        "签收",
        "提交办理情况",
        "审核通过",
        "领导驳回",
        "批示",
    ]
    assert [e.actor for e in dossier.timeline][2:] == ["张三", "张三", "孙督查", "周书记", "周书记"]
    assert dossier.timeline[1].said == "承办单位：区人社局" and dossier.timeline[1].states == "已登记 → 已交办"
    assert dossier.timeline[0].at == "2026-11-02 09:00" and dossier.timeline[3].at == "2026-11-03 09:00"
    fields = dict(dossier.workflow)
    assert fields["属实程度"] == "属实" and fields["核查情况"] == REPLY.verification
    assert "周书记：请补充后续跟踪措施" in fields["领导批示"] and "务必在月底前办结" in fields["领导批示"]
    assert "事实清楚" not in fields["领导批示"]  # a supervisor's review comment is no 批示
    assert [label for label, _ in dossier.elements] == LABELS

    await export_dossier(deps, number, tmp_path / "d.xlsx")
    workbook = openpyxl.load_workbook(tmp_path / "d.xlsx")
    assert workbook.sheetnames == ["档案", "办理记录"]
    record = {r[0]: r[1] for r in workbook["档案"].iter_rows(values_only=True) if r and r[0]}
    assert record["留言文号"] == number and record["联系方式"] == "13800138000" and record["属实程度"] == "属实"
    timeline = list(workbook["办理记录"].iter_rows(values_only=True))
    assert timeline[0] == ("时间", "环节", "办理人", "内容", "状态变化")
    assert [r[1] for r in timeline[1:]] == [e.step for e in dossier.timeline]
    assert any("请补充后续跟踪措施" in (r[3] or "") for r in timeline)


async def test_dossier_errors(deps: Deps, tmp_path: Path) -> None:
    with pytest.raises(CaseNotFound):
        await export_dossier(deps, "LY2026-999999", tmp_path / "x.xlsx")
    with pytest.raises(ExportError):
        await export_dossier(deps, "LY2026-999999", tmp_path / "x.pdf")


# --- the command line (SQLite) -----------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, sqlite_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG.replace("[api]", f'[database]\nurl = "{sqlite_url}"\n\n[api]', 1), encoding="utf-8")
    return path


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not a reported error
    return result.exit_code, result.stdout, result.stderr


def recent(days: int) -> str:
    # the CLI runs on the real clock: rows must lie in its past
    return (datetime.now(SHANGHAI) - timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


def test_cli_import_reports_bad_rows_and_exit_code(config_file: Path, tmp_path: Path) -> None:
    rows = [
        HEADER,
        row("路灯不亮", received=recent(3), ref="C-1"),
        row("井盖缺失", level="乡级", received=recent(2)),
        row("占道经营", received=recent(1), ref="C-3"),
        row("", received=recent(1), ref="C-4"),
    ]
    path = write_xlsx(tmp_path / "in.xlsx", rows)
    code, out, err = cli("case", "import", str(path), "-c", str(config_file))
    assert code == 1, out + err
    lines = out.splitlines()
    assert lines[0].startswith("新登记 2 件") and "失败 2 行" in lines[0]
    assert lines[1:] == ["第3行 级别: 未知级别：乡级（可选：省级、市级、县（区）级）", "第5行 留言标题: 必填"]
    assert "Traceback" not in out + err

    code, out, err = cli("case", "import", str(path), "-c", str(config_file))
    assert code == 1 and out.startswith("新登记 0 件，已登记跳过 2 件，失败 2 行")

    good = write_xlsx(tmp_path / "good.xlsx", [HEADER, row("楼道堆放杂物", received=recent(1), ref="C-9")])
    code, out, err = cli("case", "import", str(good), "-c", str(config_file))
    assert code == 0 and out.startswith("新登记 1 件") and "失败 0 行" in out

    code, out, err = cli("case", "list", "-c", str(config_file))
    assert code == 0 and len(out.splitlines()) == 3


def test_cli_import_file_errors(config_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"garbage")
    code, out, err = cli("case", "import", str(bad), "-c", str(config_file))
    assert code == 1 and "不是有效的 .xlsx" in err and "Traceback" not in out + err
    missing = write_xlsx(tmp_path / "m.xlsx", [["留言标题"], ["x"]])
    code, out, err = cli("case", "import", str(missing), "-c", str(config_file))
    assert code == 1 and "缺少必填列：主要诉求" in err
    code, out, err = cli("case", "import", str(tmp_path / "nope.xlsx"), "-c", str(config_file))
    assert code == 2  # click: the file does not exist


def test_cli_export_archive_and_dossier(config_file: Path, tmp_path: Path) -> None:
    rows = [HEADER, row("路灯不亮", received=recent(3), ref="E-1", contact="13800138000")]
    code, out, err = cli("case", "import", str(write_xlsx(tmp_path / "in.xlsx", rows)), "-c", str(config_file))
    assert code == 0, out + err
    start, end = recent(10)[:10], recent(0)[:10]

    out_path = tmp_path / "archive.xlsx"
    code, out, err = cli("export", "archive", "--from", start, "--to", end, "-o", str(out_path), "-c", str(config_file))
    assert code == 0, out + err
    assert out.startswith("已导出 1 件") and out_path.exists()
    sheet = openpyxl.load_workbook(out_path)["留言档案"]
    assert [c.value for c in sheet[1]] == LABELS and sheet.cell(2, 5).value == "13800138000"
    number = sheet.cell(2, 1).value

    code, out, err = cli(
        "export", "archive", "--from", start, "--to", end, "-o", str(out_path), "--no-personal", "-c", str(config_file)
    )
    assert code == 0 and openpyxl.load_workbook(out_path)["留言档案"].cell(2, 5).value in (None, "")

    code, out, err = cli("export", "archive", "--from", end, "--to", start, "-o", str(out_path), "-c", str(config_file))
    assert code == 1 and "晚于" in err and len(err.strip().splitlines()) == 1

    code, out, err = cli("export", "dossier", number, "-o", str(tmp_path / "d.html"), "-c", str(config_file))
    assert code == 0 and number in out
    assert "办理记录" in (tmp_path / "d.html").read_text(encoding="utf-8")
    code, out, err = cli("export", "dossier", number, "-o", str(tmp_path / "d.xlsx"), "-c", str(config_file))
    assert code == 0 and (tmp_path / "d.xlsx").exists()
    code, out, err = cli("export", "dossier", "LY2000-000001", "-o", str(tmp_path / "x.xlsx"), "-c", str(config_file))
    assert code == 1 and "LY2000-000001" in err and "Traceback" not in out + err
