"""The 16 archive elements of one case (一工单一档案; seed 004, the Anshun notice), and the one
rule for when an element is missing.

The rule has two forms that must agree: ``missing_elements`` on a case's record (Python) and the
SQL form over the case columns the reports use (``bot.reports.compute.missing_mask``); both take
the elements, which of them are text, and the blank characters from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.states import State


@dataclass(frozen=True)
class ArchiveElement:
    key: str  # field name in the case record / API JSON
    label: str  # the notice's Chinese name, used as spreadsheet header
    #: typed in by people (missing when empty or only blanks); else a value the bot records
    #: (a time, the unit, 是否化解), missing only when absent
    is_text: bool = True


#: In the notice's order. ``key`` names the field of the case JSON (``bot.handlers.read_models``).
ARCHIVE_ELEMENTS: tuple[ArchiveElement, ...] = (
    ArchiveElement("number", "留言文号"),
    ArchiveElement("level", "级别"),
    ArchiveElement("source", "留言来源平台"),
    ArchiveElement("petitioner", "反映人"),
    ArchiveElement("contact", "联系方式"),
    ArchiveElement("title", "留言标题"),
    ArchiveElement("content", "主要诉求"),
    ArchiveElement("received_at", "留言时间", is_text=False),
    ArchiveElement("unit", "核办单位", is_text=False),
    ArchiveElement("due_at", "到期时间", is_text=False),
    ArchiveElement("category", "所属类型"),
    ArchiveElement("handling", "办理情况"),
    ArchiveElement("resolved", "是否化解", is_text=False),
    ArchiveElement("evaluation", "评价内容"),
    ArchiveElement("followed_up_at", "回访时间", is_text=False),
    ArchiveElement("report_number", "呈报文号"),
)

LABEL_TO_KEY: dict[str, str] = {e.label: e.key for e in ARCHIVE_ELEMENTS}

#: 联系方式 of an anonymous message: recorded at registration, so the element is complete (an
#: anonymous message can be archived and costs its unit nothing), and no 个别回复 is offered.
ANONYMOUS_CONTACT = "匿名（未留联系方式）"


def has_contact(contact: str | None) -> bool:
    """Whether a 联系方式 was left (an 个别回复 is possible)."""
    return not is_blank(contact) and (contact or "").strip() != ANONYMOUS_CONTACT


#: Elements a 礼节性回复 case (seed 001 第九条: written by the 督查室, closed once published) does
#: not have: no unit handles it, no deadline runs, nobody follows it up. They are recorded as not
#: applicable, so the case can be 立卷 (both forms of the rule: here and ``missing_mask``).
COURTESY_NOT_APPLICABLE: dict[str, str] = {
    "unit": "区委督查室、政府督查室（礼节性回复）",
    "due_at": "不适用（礼节性回复）",
    "resolved": "不适用（礼节性回复，无须回访）",
    "evaluation": "不适用（礼节性回复，无须回访）",
    "followed_up_at": "不适用（礼节性回复，无须回访）",
}

#: Elements that hold the petitioner's personal data: never in a group post, a log or a group export.
PERSONAL_KEYS: frozenset[str] = frozenset({"contact"})

#: Characters that do not make a text element present: every character ``str.isspace`` accepts,
#: among them the full-width space (U+3000) and the no-break space pasted from web pages.
BLANKS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def is_blank(value: object) -> bool:
    """Absent, or text of blanks only (``False`` and ``0`` are present)."""
    return value is None or (isinstance(value, str) and not value.strip(BLANKS))


def missing_elements(record: Mapping[str, object]) -> tuple[str, ...]:
    """Labels of the elements that are empty in ``record``, in the notice's order."""
    return tuple(e.label for e in ARCHIVE_ELEMENTS if is_blank(record.get(e.key)))


@dataclass(frozen=True)
class ElementCheck:
    """要素检查 of one case: which of the 16 elements are missing, and whether it can be archived."""

    number: str
    state: str
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def ready(self) -> bool:
        """Closed or archived: the record should be complete (立卷)."""
        return self.state in (State.CLOSED.value, State.ARCHIVED.value)

    @property
    def state_label(self) -> str:
        return State(self.state).label if self.state in State._value2member_map_ else self.state

    @property
    def verdict(self) -> str:
        return "齐全" if not self.missing else "缺少：" + "、".join(self.missing)

    @property
    def archivable(self) -> str:
        """可立卷: only a closed case with all 16 elements (the lifecycle guard says the same)."""
        if self.state == State.ARCHIVED.value:
            return "已立卷" if not self.missing else "已立卷（要素不全）"
        if self.state != State.CLOSED.value:
            return "否（未办结）"
        return "是" if not self.missing else "否（要素不全）"
