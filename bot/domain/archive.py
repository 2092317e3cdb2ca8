"""The 16 archive elements of one case (一工单一档案; seed 004, the Anshun notice)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ArchiveElement:
    key: str  # field name in the case record / API JSON
    label: str  # the notice's Chinese name, used as spreadsheet header


#: In the notice's order. ``key`` names the field of the case JSON (``bot.handlers.read_models``).
ARCHIVE_ELEMENTS: tuple[ArchiveElement, ...] = (
    ArchiveElement("number", "留言文号"),
    ArchiveElement("level", "级别"),
    ArchiveElement("source", "留言来源平台"),
    ArchiveElement("petitioner", "反映人"),
    ArchiveElement("contact", "联系方式"),
    ArchiveElement("title", "留言标题"),
    ArchiveElement("content", "主要诉求"),
    ArchiveElement("received_at", "留言时间"),
    ArchiveElement("unit", "核办单位"),
    ArchiveElement("due_at", "到期时间"),
    ArchiveElement("category", "所属类型"),
    ArchiveElement("handling", "办理情况"),
    ArchiveElement("resolved", "是否化解"),
    ArchiveElement("evaluation", "评价内容"),
    ArchiveElement("followed_up_at", "回访时间"),
    ArchiveElement("report_number", "呈报文号"),
)

LABEL_TO_KEY: dict[str, str] = {e.label: e.key for e in ARCHIVE_ELEMENTS}

#: Elements that hold the petitioner's personal data: never in a group post, a log or a group export.
PERSONAL_KEYS: frozenset[str] = frozenset({"contact"})


def missing_elements(record: Mapping[str, object]) -> tuple[str, ...]:
    """Labels of the elements that are empty in ``record`` (``False`` counts as present)."""
    missing = []
    for element in ARCHIVE_ELEMENTS:
        value = record.get(element.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(element.label)
    return tuple(missing)
