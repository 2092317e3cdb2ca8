"""A generated October 2026 with known outcomes (the figures in tests/reports/ are worked out by hand
from it; see the docstring of tests/reports/test_reports.py), and the configs the report tests use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.statistics import Period
from bot.handlers.deps import Deps
from store import directory
from store.models import Case, CaseEvent
from tests.conftest import SHANGHAI

SCORING = """
[scoring]
resolution_min_cases = 2
rules = { overdue = { cap = 3 }, repeated = { points = 0.5 } }
"""
OCTOBER = Period.month(2026, 10)
CONTACT = "13912345678"
DONE: dict[str, Any] = {
    "handling": "【表明态度】属实。【工作过程】已处理完毕并回访。",
    "report_number": "呈报〔2026〕1号",
    "evaluation": "网友认可",
    "truthfulness": "属实",
}


def t(month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


@dataclass
class October:
    units: dict[str, int]
    ids: dict[str, int] = field(default_factory=dict)  # case label -> id
    events: dict[str, int] = field(default_factory=dict)  # event label -> id

    def number(self, label: str) -> str:
        return f"T-{label}"


async def october(deps: Deps) -> October:
    """The month (labels A… 区人社局, B… 区住建局, S… September, A7 unassigned, A8 November)."""
    async with deps.sessions() as session, session.begin():
        units = {u.name: u.id for u in await directory.list_units(session)}
        rsj, zjj = units["区人社局"], units["区住建局"]
        world = October(units)

        async def case(
            label: str,
            unit: int | None,
            received: datetime,
            state: str,
            category: str | None,
            level: str = "县（区）级",
            source: str = "人民网",
            **kw: Any,
        ) -> None:
            now = received
            row = Case(
                number=world.number(label),
                version=1,
                state=state,
                level=level,
                source=source,
                petitioner=f"反映人{label}",
                contact=CONTACT,
                title=f"{label}号留言：某事项",
                title_key=label,
                content=f"{label}的具体诉求",
                received_at=received,
                category=category,
                unit_id=unit,
                co_unit_ids=[],
                complex=False,
                urgent=False,
                needs_leader=False,
                created_at=now,
                updated_at=now,
                **{"extension_count": 0, "interim_count": 0, **kw},
            )
            session.add(row)
            await session.flush()
            world.ids[label] = row.id
            await event(label, "register", received, "register")
            if kw.get("assigned_at") is not None and label not in ("A6", "B1"):
                await event(label, "assign", kw["assigned_at"], "assign", unit_id=unit)

        async def event(label: str, name: str, at: datetime, action: str, **data: Any) -> None:
            row = CaseEvent(case_id=world.ids[label], at=at, action=action, actor_name="测试", data=data or None)
            session.add(row)
            await session.flush()
            world.events[f"{label}:{name}"] = row.id

        # --- 区人社局 ---
        await case(
            "A1",
            rsj,
            t(10, 9, 10),
            "closed",
            "欠薪欠资",
            assigned_at=t(10, 9, 10, 30),
            accepted_at=t(10, 9, 15),
            due_at=t(10, 15, 17, 30),
            submitted_at=t(10, 14, 16),
            approved_at=t(10, 15),
            replied_at=t(10, 16),
            reply_mode="public",
            followed_up_at=t(10, 20),
            resolved=True,
            satisfaction="满意",
            closed_at=t(10, 20),
            **DONE,
        )
        await case(
            "A2",
            rsj,
            t(10, 12),
            "replied",
            "欠薪欠资",
            level="市级",
            source="12345",
            assigned_at=t(10, 12, 9, 30),
            accepted_at=t(10, 14, 10),
            due_at=t(10, 19, 17, 30),
            submitted_at=t(10, 22, 10),
            replied_at=t(10, 23),
            reply_mode="individual",
        )
        await event("A2", "review_reject", t(10, 21, 10), "review_reject")
        # A5 first (September), so that A3 can point at it
        await case(
            "A5",
            rsj,
            t(9, 28, 10),
            "closed",
            "欠薪欠资",
            assigned_at=t(9, 28, 10, 30),
            accepted_at=t(9, 29),
            due_at=t(10, 10, 17, 30),
            submitted_at=t(10, 12, 10),
            replied_at=t(10, 15),
            reply_mode="individual",
            followed_up_at=t(10, 19),
            resolved=False,
            satisfaction="不满意",
            closed_at=t(10, 19),
            **{**DONE, "report_number": None},
        )
        await event("A5", "commendation", t(10, 1, 0, 0, 0), "commendation", unit_id=rsj)
        await case(
            "A3",
            rsj,
            t(10, 20),
            "assigned",
            "政策咨询",
            assigned_at=t(10, 20, 9, 10),
            due_at=t(10, 27, 17, 30),
            duplicate_of_id=world.ids["A5"],
        )
        await event("A3", "supervise", t(10, 30), "supervise")
        await event("A3", "supervise_november", t(11, 1, 0, 0, 0), "supervise")
        await case(
            "A4", rsj, t(10, 30, 16), "assigned", "欠薪欠资", assigned_at=t(10, 30, 16, 10), due_at=t(11, 6, 17, 30)
        )
        await case(
            "A6",
            rsj,
            t(10, 15),
            "submitted",
            "投诉举报",
            assigned_at=t(10, 16),
            accepted_at=t(10, 16, 10),
            due_at=t(10, 23, 17, 30),
            submitted_at=t(10, 23, 11),
        )
        await event("A6", "assign", t(10, 15, 9, 5), "assign", unit_id=rsj)
        await event("A6", "return", t(10, 15, 14), "return")
        await event("A6", "reassign", t(10, 16), "reassign", unit_id=rsj)
        await case("A7", None, t(10, 31, 23, 59, 59), "registered", None)
        await case(
            "A8", rsj, t(11, 1, 0, 0, 0), "assigned", "欠薪欠资", assigned_at=t(11, 1, 0, 10), due_at=t(11, 6, 17, 30)
        )
        # --- 区住建局 ---
        await case(
            "B1",
            zjj,
            t(10, 8),
            "closed",
            "问题房开",
            level="市级",
            source="12345",
            assigned_at=t(10, 9),
            accepted_at=t(10, 9, 10),
            due_at=t(10, 15, 17, 30),
            submitted_at=t(10, 13),
            replied_at=t(10, 14),
            reply_mode="public",
            followed_up_at=t(10, 16),
            resolved=True,
            satisfaction="基本满意",
            closed_at=t(10, 16),
            **DONE,
        )
        await event("B1", "assign", t(10, 8, 9, 30), "assign", unit_id=rsj)
        await event("B1", "return", t(10, 8, 15), "return")
        await event("B1", "reassign", t(10, 9), "reassign", unit_id=zjj)
        await event("B1", "commendation", t(10, 17, 10), "commendation", unit_id=zjj)
        await case(
            "B2",
            zjj,
            t(10, 10, 11),
            "accepted",
            "问题房开",
            level="市级",
            source="市长信箱",
            assigned_at=t(10, 10, 11, 30),
            accepted_at=t(10, 10, 12),
            due_at=t(11, 5, 17, 30),
            extension_count=1,
            interim_count=2,
            duplicate_of_id=world.ids["B1"],
        )
        await case(
            "B3",
            zjj,
            t(10, 21),
            "accepted",
            "问题房开",
            level="市级",
            assigned_at=t(10, 21, 9, 10),
            accepted_at=t(10, 21, 9, 20),
            due_at=t(10, 28, 17, 30),
            submitted_at=t(10, 26),
            duplicate_of_id=world.ids["B1"],
        )
        await event("B3", "leader_reject", t(10, 27, 15), "leader_reject")
        await case(
            "B4",
            zjj,
            t(10, 22, 10),
            "closed",
            "城市管理",
            level="省级",
            assigned_at=t(10, 22, 10, 10),
            accepted_at=t(10, 22, 11),
            due_at=t(10, 29, 17, 30),
            submitted_at=t(10, 28),
            replied_at=t(10, 29),
            reply_mode="public",
            followed_up_at=t(10, 30),
            resolved=True,
            satisfaction="满意",
            closed_at=t(10, 30),
            **DONE,
        )
        # --- September ---
        await case("S1", None, t(9, 30, 23, 59, 59), "registered", "城市管理")
        await case(
            "S2",
            zjj,
            t(9, 30),
            "submitted",
            "问题房开",
            assigned_at=t(9, 30, 9, 30),
            accepted_at=t(10, 9),
            due_at=t(10, 13, 17, 30),
            submitted_at=t(10, 13, 17),
        )
    return world


CHAT = (
    SCORING
    + """
[wecom]
enabled = true
supervision_chatid = "chat-supervision"
supervision_webhook_key = "hook-key"
"""
)
