"""SQLAlchemy models. Every time stamp is stored as UTC; the office time zone is applied at the edge."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.domain.states import OPEN_STATES, State

#: what migration 0010 makes on SQLite only, outside the models: the keyword index of
#: store/search.py (an FTS5 table, its shadow tables, the cases waiting to be indexed) and a
#: covering index of the cases with co-units (store/visible.py; PostgreSQL cannot put a JSON column
#: in a B-tree). Comparisons of the schema with the models leave them out (:func:`include_name`).
SQLITE_ONLY = frozenset(
    {
        "case_search",
        *(f"case_search_{s}" for s in ("data", "idx", "content", "docsize", "config")),
        "case_search_pending",
        "ix_cases_co_units_sqlite",
    }
)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: everything but :data:`SQLITE_ONLY`."""
    return name not in SQLITE_ONLY


class InboundStatus(StrEnum):
    """Where a stored platform event is (``inbound_events.status``)."""

    PENDING = "pending"  # to process (or being processed under a lease)
    DONE = "done"  # processed; its effects committed with this mark
    FAILED = "failed"  # given up after the last attempt


class OutboxStatus(StrEnum):
    """Where a queued message is (``outbox.status``)."""

    PENDING = "pending"  # to send (or being sent under a lease)
    SENT = "sent"
    DEAD = "dead"  # given up: a permanent error or the last attempt
    CANCELLED = "cancelled"  # withdrawn before it was sent (e.g. a card closed before delivery)


# Integer on SQLite so the key is the rowid alias (autoincrement), BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend (SQLite has no tz)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    code: Mapped[str | None] = mapped_column(String(50), unique=True)  # 简称: cases are routed by it
    wecom_chatid: Mapped[str | None] = mapped_column(String(64))
    dingtalk_conversation_id: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    dingtalk_userid: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class PersonRole(Base):
    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "role", "unit_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # only for handler / unit_leader; NULL for office-wide roles
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)


#: the open states, as SQL (the partial index and the queries must spell it the same way)
OPEN_VALUES: tuple[str, ...] = tuple(s.value for s in State if s in OPEN_STATES)  # in the enum's order
OPEN_PREDICATE = "state IN (" + ", ".join(f"'{v}'" for v in OPEN_VALUES) + ")"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        # the sweeps: open cases by deadline (grows with what is due, not with the table)
        # (and the board's overdue cases by unit from the index alone: unit_id is the third column)
        Index("ix_cases_state_due_at", "state", "due_at", "unit_id"),
        # open cases by deadline: a partial index, so PostgreSQL never estimates "open" and "due"
        # independently (bench/README.md, "Store: due-case query")
        Index(
            "ix_cases_open_due_at", "due_at", postgresql_where=text(OPEN_PREDICATE), sqlite_where=text(OPEN_PREDICATE)
        ),
        Index("ix_cases_contact_key", "contact_key"),
        Index("ix_cases_title_key", "title_key"),
        Index("ix_cases_source_ref", "source_ref"),
        Index("ix_cases_petitioner", "petitioner"),
        Index("ix_cases_category_received_at", "category", "received_at"),
        Index("ix_cases_received_at", "received_at"),
        Index("ix_cases_unit_id_state", "unit_id", "state"),
        Index("ix_cases_state_step_due_at", "state", "step_due_at"),
        # the desk's ledger: newest first within a state or a unit
        Index("ix_cases_state_id", "state", "id"),
        Index("ix_cases_unit_id_id", "unit_id", "id"),
        # the few cases that have a co-unit (store/visible.py reads a unit's co-handled cases here)
        Index(
            "ix_cases_with_co_units",
            "id",
            sqlite_where=text("CAST(co_unit_ids AS VARCHAR) != '[]'"),
            postgresql_where=text("CAST(co_unit_ids AS VARCHAR) != '[]'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 留言文号
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(24))
    # the 16 archive elements (plus the unit and reply fields below)
    level: Mapped[str] = mapped_column(String(16))  # 级别
    source: Mapped[str] = mapped_column(String(64))  # 留言来源平台
    source_ref: Mapped[str | None] = mapped_column(String(128))
    petitioner: Mapped[str | None] = mapped_column(String(100))  # 反映人
    contact: Mapped[str | None] = mapped_column(String(200))  # 联系方式 — personal data
    contact_key: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))  # 留言标题
    title_key: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)  # 主要诉求
    received_at: Mapped[datetime]  # 留言时间
    category: Mapped[str | None] = mapped_column(String(32))  # 所属类型
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # 核办单位
    co_unit_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime | None]  # 到期时间
    handling: Mapped[str | None] = mapped_column(Text)  # 办理情况
    resolved: Mapped[bool | None] = mapped_column(Boolean)  # 是否化解
    evaluation: Mapped[str | None] = mapped_column(Text)  # 评价内容
    followed_up_at: Mapped[datetime | None]  # 回访时间
    report_number: Mapped[str | None] = mapped_column(String(64))  # 呈报文号
    # workflow
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_leader: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_source: Mapped[str | None] = mapped_column(String(120))
    assigned_at: Mapped[datetime | None]
    return_deadline: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    truthfulness: Mapped[str | None] = mapped_column(String(8))  # 属实程度
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the four parts
    reply_mode: Mapped[str | None] = mapped_column(String(16))
    reply_ground: Mapped[str | None] = mapped_column(String(32))
    # 统一回复 (第十二条): the public text as published in the unit's name, and how the
    # petitioner was told in an 个别回复
    public_reply: Mapped[str | None] = mapped_column(Text)
    public_replied_at: Mapped[datetime | None]
    told_via: Mapped[str | None] = mapped_column(String(16))
    told_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]  # 审核通过 (the reply waits for a leader since)
    promised_at: Mapped[datetime | None]  # 跟踪: the unit promised a solution by then
    step_due_at: Mapped[datetime | None]  # the office's step on the reply is due (审核, 审定, 统一回复)
    satisfaction: Mapped[str | None] = mapped_column(String(8))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    interim_count: Mapped[int] = mapped_column(Integer, default=0)
    # routing by type (第九条): handle / courtesy / transfer, and a transfer's 去向, date and 说明
    route: Mapped[str] = mapped_column(String(16), default="handle", server_default="handle")
    transfer_to: Mapped[str | None] = mapped_column(String(100))
    transfer_note: Mapped[str | None] = mapped_column(Text)
    transferred_at: Mapped[datetime | None]
    # 当日交办 (第九条): assigned by this moment (office close), else counted as 未当日交办
    assign_due_at: Mapped[datetime | None]
    first_assigned_at: Mapped[datetime | None]
    # the latest 回复建议 of an interim report (第十条 "并提出回复建议")
    reply_proposal: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CaseEvent(Base):
    """The timeline: every transition and note, with who, when and what was said."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_action_case_id", "action", "case_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Counter(Base):
    """Named counters (case numbers per year); incremented with UPDATE … RETURNING."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class InboundEvent(Base):
    """A platform callback, stored under its dedupe key before it is answered."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("platform", "dedupe_key"),
        Index("ix_inbound_events_status_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=InboundStatus.PENDING.value)  # an InboundStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A message to deliver; written in the transaction that caused it, sent afterwards."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        # per-member pacing: how many messages went to this person in the last minute / hour
        Index("ix_outbox_platform_recipient_sent_at", "platform", "recipient", "sent_at"),
        # the claim: interactive lane first, then oldest
        Index("ix_outbox_status_lane_id", "status", "lane", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(24))  # a bot.ports.Channel
    recipient: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    # 0 = interactive (answers to a person's command or click), 1 = bulk (reminders, lists, notices)
    lane: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING.value)  # an OutboxStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # when the platform became unreachable for this message (connection refused, HTTP 5xx);
    # cleared once it is sent: /healthz and the outage alert read it
    unreachable_since: Mapped[datetime | None]


class Nudge(Base):
    """One row per reminder/notice/list sent: the unique key makes every nudge exactly-once."""

    __tablename__ = "nudges"
    __table_args__ = (UniqueConstraint("scope", "kind", "threshold", "day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(100))  # "case:123", "group:supervision", "person:7"
    kind: Mapped[str] = mapped_column(String(40))
    threshold: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class CalendarYear(Base):
    """A year's arrangement imported by an admin (the State Council notice)."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    holidays: Mapped[list[Any]] = mapped_column(JSON)  # ISO dates
    workdays: Mapped[list[Any]] = mapped_column(JSON)  # ISO dates
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(100), default="")


class CalendarOverride(Base):
    """A single-day admin override (True = working day)."""

    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class CardTask(Base):
    """A card sent to one recipient: its platform task id and the single-use update code."""

    __tablename__ = "card_tasks"
    __table_args__ = (Index("ix_card_tasks_case_id_closed", "case_id", "closed"),)
    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # assign / review / approve / publish / ...
    stage: Mapped[int] = mapped_column(Integer, default=0)  # case version the card was made for
    card: Mapped[dict[str, Any]] = mapped_column(JSON)  # the neutral card, to grey it out later
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)  # the send; cancelled if still pending
    response_code: Mapped[str | None] = mapped_column(String(256))
    code_used: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Dialogue(Base):
    """A person's pending conversation ("you pressed 退回, send the reason")."""

    __tablename__ = "dialogues"
    __table_args__ = (UniqueConstraint("platform", "user_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime]


class Lease(Base):
    """Leases for work only one process should do at a time (e.g. a sweep)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class Setting(Base):
    """Values the bot generates once and keeps (e.g. the detail-link secret): the same for every
    process that shares the database."""

    __tablename__ = "settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class SeenToken(Base):
    """One-time tokens seen within their validity window (e.g. a DingTalk callback's timestamp and
    sign): a second use is a replay. Rows past ``expires_at`` are pruned."""

    __tablename__ = "seen_tokens"
    __table_args__ = (UniqueConstraint("scope", "token"), Index("ix_seen_tokens_expires_at", "expires_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class SandboxMessage(Base):
    """One line of a chat in the sandbox (模拟工作台): what the bot delivered to a person or a group
    through the sandbox transport (``out``), or what a person typed there (``in``). A card keeps
    its task id; a card update replaces ``data`` (the greyed card) on the same row."""

    __tablename__ = "sandbox_messages"
    __table_args__ = (Index("ix_sandbox_messages_channel_recipient_id", "channel", "recipient", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # "user" (a person) or "group"
    recipient: Mapped[str] = mapped_column(String(64))  # the person's sandbox id, or the group's
    direction: Mapped[str] = mapped_column(String(4))  # "out" (from the bot) or "in" (typed)
    kind: Mapped[str] = mapped_column(String(16))  # text / markdown / card / image
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the card, or the image
    task_id: Mapped[str | None] = mapped_column(String(80), index=True)
    at: Mapped[datetime]  # the office clock when it was delivered
    updated_at: Mapped[datetime | None]


class DeskAccount(Base):
    """A local sign-in of the desk (办理台) for someone without a platform account, or an admin:
    a user name and an Argon2id password hash, linked to a person of the directory (whose roles
    and units decide what the desk shows)."""

    __tablename__ = "desk_accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class DeskSession(Base):
    """A signed-in browser: the cookie carries the signed random id, the row keeps only its
    SHA-256 (a copied database signs nobody in), the person, how they signed in and the CSRF token
    of their forms."""

    __tablename__ = "desk_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's id
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("desk_accounts.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(String(16))  # password / wecom / dingtalk
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DeskLoginFailure(Base):
    """A failed desk sign-in, counted per user name and per address to slow down guessing."""

    __tablename__ = "desk_login_failures"
    __table_args__ = (Index("ix_desk_login_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
