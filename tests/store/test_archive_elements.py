"""The one "missing archive element" rule: its SQL form (the reports' ``missing_mask``) and its
Python form (``missing_elements`` on a case's record) agree, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.domain.archive import (
    ARCHIVE_ELEMENTS,
    BLANKS,
    COURTESY_NOT_APPLICABLE,
    ElementCheck,
    is_blank,
    missing_elements,
)
from bot.handlers.deps import Deps
from bot.handlers.read_models import archive_record
from bot.reports.compute import missing_labels
from store.dialect import dialect_name
from store.models import Case, Unit
from store.reports import missing_mask

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
COMPLETE: dict[str, Any] = {
    "level": "市级",
    "source": "人民网",
    "petitioner": "赵六",
    "contact": "13800138000",
    "title": "小区路灯不亮",
    "content": "某小区路灯坏了一个月",
    "received_at": NOW,
    "due_at": NOW,
    "category": "城乡建设",
    "handling": "已修复",
    "resolved": True,
    "evaluation": "满意",
    "followed_up_at": NOW,
    "report_number": "呈2026-1",
}
#: text that is blank, whatever the language of the keyboard that typed it
BLANK_TEXTS = ["", " ", "\u3000", " \t\u3000\r\n", "\xa0", "\u2003\u205f", "\x0b\x0c"]
#: text that is present, though it starts or ends with blanks
PRESENT_TEXTS = ["x", "\u3000办结\u3000", " 0 ", "\xa0-", "无"]


def crafted() -> list[dict[str, Any]]:
    """Every text element blank in every way (and present), every other element absent."""
    variants: list[dict[str, Any]] = [{}]
    nullable_text = ["petitioner", "contact", "category", "handling", "evaluation", "report_number"]
    required_text = ["level", "source", "title", "content"]
    for key in nullable_text + required_text:
        variants += [{key: value} for value in BLANK_TEXTS + PRESENT_TEXTS]
    for key in nullable_text:
        variants.append({key: None})
    for key in ("due_at", "followed_up_at", "resolved", "unit_id"):
        variants.append({key: None})
    variants.append({"resolved": False})  # 未化解 is an answer
    variants.append({key: None for key in nullable_text} | {"due_at": None, "unit_id": None, "resolved": None})
    variants.append({key: "\u3000" for key in required_text})
    # a 礼节性回复 (第九条): no unit, deadline or 回访 — recorded as not applicable, in both forms
    courtesy_gaps = {"due_at": None, "unit_id": None, "resolved": None, "followed_up_at": None}
    variants.append({"route": "courtesy", "evaluation": None} | courtesy_gaps)
    variants.append({"route": "courtesy", "evaluation": "\u3000", "report_number": None} | courtesy_gaps)
    variants.append({"route": "transfer"} | courtesy_gaps)
    return variants


async def test_sql_and_python_forms_agree(deps: Deps) -> None:
    tz = deps.config.office.hours().tz
    variants = crafted()
    async with deps.sessions() as session, session.begin():
        unit = Unit(name="要素测试局", created_at=NOW)
        session.add(unit)
        await session.flush()
        for i, variant in enumerate(variants):
            fields = COMPLETE | {"unit_id": unit.id} | variant
            session.add(
                Case(
                    number=f"LY2026-{i:06d}",
                    state="closed",
                    title_key=str(fields["title"])[:20],
                    created_at=NOW,
                    updated_at=NOW,
                    **fields,
                )
            )
        # a blank 文号 (an imported row gone wrong) is missing too
        session.add(
            Case(
                number="\u3000",
                state="closed",
                title_key="t",
                created_at=NOW,
                updated_at=NOW,
                unit_id=unit.id,
                **COMPLETE,
            )
        )

    async with deps.sessions() as session:
        mask = missing_mask(dialect_name(session)).label("missing")
        sql = {n: missing_labels(int(m)) for n, m in await session.execute(select(Case.number, mask))}
        cases = list((await session.execute(select(Case).order_by(Case.id))).scalars())
        python = {c.number: missing_elements(await archive_record(session, c, tz)) for c in cases}

    assert len(python) == len(variants) + 1
    assert sql == python
    # and both say what the rule says
    labels = {e.key: e.label for e in ARCHIVE_ELEMENTS}
    keys = {e.key: e.key for e in ARCHIVE_ELEMENTS} | {"unit": "unit_id"}  # record key → column
    for i, variant in enumerate(variants):
        waived = COURTESY_NOT_APPLICABLE if variant.get("route") == "courtesy" else {}
        expected = tuple(
            e.label
            for e in ARCHIVE_ELEMENTS
            if keys[e.key] in variant and is_blank(variant[keys[e.key]]) and e.key not in waived
        )
        assert python[f"LY2026-{i:06d}"] == expected, variant
    assert python["LY2026-000000"] == ()
    assert python["\u3000"] == (labels["number"],)


def test_the_rule() -> None:
    assert all(is_blank(c * 3) for c in BLANKS)
    assert not any(is_blank(text) for text in PRESENT_TEXTS)
    assert is_blank(None) and not is_blank(False) and not is_blank(0)
    record = {e.key: "有" for e in ARCHIVE_ELEMENTS} | {"contact": "\u3000", "resolved": False}
    assert missing_elements(record) == ("联系方式",)


def test_one_result_type() -> None:
    closed = ElementCheck("LY2026-000001", "closed", ("联系方式",))
    assert closed.ready and not closed.complete and closed.state_label == "已办结"
    assert closed.verdict == "缺少：联系方式" and closed.archivable == "否（要素不全）"
    assert ElementCheck("LY2026-000002", "archived", ()).archivable == "已立卷"
    assert ElementCheck("LY2026-000003", "accepted", ()).archivable == "否（未办结）"
    assert ElementCheck("LY2026-000004", "odd", ()).state_label == "odd"
