"""Configuration: one TOML file, validated by pydantic. ``config.example.toml`` documents every key.

The loaded ``Config`` is passed down explicitly (no global object).
"""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain.deadlines import DeadlineRules, OfficeHours
from bot.domain.nudges import NudgeRules
from bot.domain.routing import DEFAULT_ROUTES, DEFAULT_TRANSFERS
from bot.domain.scoring import CATALOGUE, Rule, ScoringRules
from bot.domain.states import Level, Role, Route
from bot.domain.steps import StepRules
from bot.domain.visibility import DEFAULT_SENSITIVE


class ConfigError(Exception):
    """A configuration problem, with the key path in the message. ``lines``: one per problem;
    ``config``: the parsed file when only the units and people do not fit together (so that
    ``config check`` and ``serve`` can still report every other problem with them)."""

    def __init__(self, message: str, *, lines: list[str] | None = None, config: Config | None = None) -> None:
        super().__init__(message)
        self.lines = lines if lines is not None else [message]
        self.config = config


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_kb: int = Field(64, ge=1, le=10240)
    link_secret: str = ""
    link_ttl_hours: int = Field(72, ge=1, le=24 * 30)


#: backend name → the async driver we ship; a URL naming no driver gets it
DATABASE_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


class DatabaseConfig(_Section):
    url: str = "sqlite+aiosqlite:///data/liuyan.db"
    echo: bool = False
    pool_size: int = Field(5, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        backend, _, driver = scheme.partition("+")
        backend = {"postgres": "postgresql"}.get(backend.lower(), backend.lower())
        expected = DATABASE_DRIVERS.get(backend)
        if not sep or expected is None or driver not in ("", expected):
            raise ValueError(
                f"不支持的数据库 {scheme or value!r}：只支持 SQLite（sqlite+aiosqlite:///文件路径）和 "
                "PostgreSQL（postgresql+asyncpg://用户:密码@主机:5432/库名）"
                "（supported backends: sqlite+aiosqlite, postgresql+asyncpg）"
            )
        return f"{backend}+{expected}://{rest}"


class ApiConfig(_Section):
    token: str = ""


class OfficeConfig(_Section):
    timezone: str = "Asia/Shanghai"
    open: time = time(8, 30)
    close: time = time(17, 30)
    case_number_prefix: str = Field("LY", pattern=r"^[A-Za-z]{0,8}$")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The office time zone: every time shown to people is in it."""
        return ZoneInfo(self.timezone)

    def hours(self) -> OfficeHours:
        return OfficeHours(open=self.open, close=self.close, tz=self.tz)


class DeadlineConfig(_Section):
    normal_days: int = Field(5, ge=1, le=60)
    complex_days: int = Field(15, ge=1, le=120)
    urgent_hours: int = Field(24, ge=1, le=240)
    return_days: int = Field(2, ge=0, le=10)
    interim_days: int = Field(15, ge=1, le=120)
    #: a co-unit (协办) sends its 协办意见 this many working days before the lead unit's deadline
    co_days_before: int = Field(2, ge=0, le=30)
    #: the office's steps on a reply, in working days (bot/domain/steps.py)
    review_days: int = Field(2, ge=1, le=60)  # 审核
    approval_days: int = Field(2, ge=1, le=60)  # 审定
    publish_days: int = Field(1, ge=1, le=60)  # 统一回复 after approval
    #: 跟踪: a follow-up 未化解 or 不满意 without a promised date gets this many working days
    tracking_days: int = Field(10, ge=1, le=120)
    #: 督办 (第十三条): the unit answers within this many working days unless the supervisor says
    supervise_days: int = Field(3, ge=1, le=60)

    def step_rules(self) -> StepRules:
        return StepRules(review_days=self.review_days, approval_days=self.approval_days, publish_days=self.publish_days)

    def rules(self) -> DeadlineRules:
        return DeadlineRules(
            normal_days=self.normal_days,
            complex_days=self.complex_days,
            urgent_hours=self.urgent_hours,
            return_days=self.return_days,
            interim_days=self.interim_days,
        )


class CalendarConfig(_Section):
    extra_holidays: list[date] = []
    extra_workdays: list[date] = []

    def overrides(self) -> dict[date, bool]:
        result = {d: False for d in self.extra_holidays}
        result.update({d: True for d in self.extra_workdays})
        return result


class CasesConfig(_Section):
    categories: list[str] = [
        "投诉举报",
        "求助",
        "征地拆迁",
        "欠薪欠资",
        "问题房开",
        "政策咨询",
        "建议",
        "涉法涉诉",
        "党风廉政",
        "城市管理",
        "教育",
        "医疗卫生",
        "交通出行",
        "环境保护",
        "其他",
    ]
    #: category → name of the unit a new case goes to when the intake names no unit
    default_unit: dict[str, str] = {}
    #: leader approval (审定) is needed for these levels or these categories; by default every
    #: reply goes before a leader (seed 000; seed 001 第四条、第十一条). Narrow it with e.g.
    #: leader_levels = ["省级"] (and leader_categories for some categories of other levels)
    leader_levels: list[str] = [level.value for level in Level]
    leader_categories: list[str] = []
    #: a new case is compared with cases registered within this many calendar days
    duplicate_window_days: int = Field(180, ge=0, le=3650)
    #: only supervisors, leaders, admins and the assigned units see these (docs/visibility.md)
    sensitive_categories: list[str] = list(DEFAULT_SENSITIVE)


class RoutingConfig(_Section):
    """[routing]: routing by type (seed 001 第九条 登记交办). ``handle`` = 交办承办单位办理 (the full
    workflow), ``courtesy`` = 督查室礼节性回复 (optionally 转阅 a unit or leader; closed once
    published), ``transfer`` = 转办 (recorded as 已转办 with 去向 and 转办说明, closed to handling).
    Categories not named are handled. A case registered with a unit named is handled by it."""

    routes: dict[str, Route] = dict(DEFAULT_ROUTES)
    #: category → 去向 of a transfer
    transfer_to: dict[str, str] = {c: d for c, (d, _) in DEFAULT_TRANSFERS.items()}
    #: category → 转办说明 recorded with an automatic transfer
    transfer_note: dict[str, str] = {c: n for c, (_, n) in DEFAULT_TRANSFERS.items()}

    def transfers(self) -> dict[str, tuple[str, str]]:
        return {c: (self.transfer_to.get(c, ""), self.transfer_note.get(c, "")) for c in self.routes}


class PublicationConfig(_Section):
    """[publication]: 统一回复 (seed 001 第十二条)."""

    #: a 不属实 case may get a public explanatory note (seed 002 "留言失实的，及时在网站上解释说明");
    #: otherwise it is never replied to publicly
    untrue_public_note: bool = False


class PersonConfig(_Section):
    name: str
    roles: list[Role]
    units: list[str] = []
    wecom_userid: str | None = None
    dingtalk_userid: str | None = None


class UnitConfig(_Section):
    name: str
    code: str | None = None
    wecom_chatid: str | None = None
    dingtalk_conversation_id: str | None = None


class WeComConfig(_Section):
    enabled: bool = False
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    supervision_chatid: str = ""
    supervision_webhook_key: str = ""


class DingTalkConfig(_Section):
    enabled: bool = False
    mode: Literal["stream", "http"] = "stream"
    client_id: str = ""
    client_secret: str = ""
    robot_code: str = ""
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    stream_endpoint: str = "https://api.dingtalk.com/v1.0/gateway/connections/open"
    supervision_conversation_id: str = ""
    supervision_webhook: str = ""
    supervision_webhook_secret: str = ""
    card_template_id: str = ""
    card_callback_route_key: str = "liuyan_card"
    callback_token: str = ""
    monthly_api_quota: int = Field(10_000, ge=0)


class SandboxConfig(_Section):
    """[sandbox]: the 模拟工作台 at /sandbox/ (a third transport: people's chats in the browser, a
    clock to advance). Off by default; refused next to WeCom or DingTalk unless
    ``allow_with_platforms`` (then the office clock is never moved)."""

    enabled: bool = False
    allow_with_platforms: bool = False


class NudgeConfig(_Section):
    enabled: bool = True
    due_days_before: list[int] = [1, 0]
    leader_on_due_day: bool = True
    unaccepted_handler_hours: int = Field(4, ge=1, le=240)
    unaccepted_leader_hours: int = Field(24, ge=1, le=480)
    return_window_warning: bool = True
    interim_days_before: list[int] = [1, 0]
    overdue_leader_days: int = Field(1, ge=1, le=60)
    overdue_notice_days: int = Field(3, ge=1, le=60)
    followup_after_days: int = Field(3, ge=1, le=60)
    urgent_remind_hours: int = Field(2, ge=1, le=48)
    stagger_minutes: int = Field(25, ge=1, le=25)
    overdue_list_time: time = time(9, 0)
    hide_title_categories: list[str] = ["党风廉政", "涉法涉诉"]
    tick_seconds: int = Field(60, ge=5, le=3600)

    def rules(self) -> NudgeRules:
        return NudgeRules(
            due_days_before=tuple(self.due_days_before),
            leader_on_due_day=self.leader_on_due_day,
            unaccepted_handler_hours=self.unaccepted_handler_hours,
            unaccepted_leader_hours=self.unaccepted_leader_hours,
            return_window_warning=self.return_window_warning,
            interim_days_before=tuple(self.interim_days_before),
            overdue_leader_days=self.overdue_leader_days,
            overdue_notice_days=self.overdue_notice_days,
            followup_after_days=self.followup_after_days,
            urgent_remind_hours=self.urgent_remind_hours,
            stagger_minutes=self.stagger_minutes,
        )


class ScoreRuleConfig(_Section):
    """One scoring rule: points per occurrence and the rule's cap (0 = no cap); unset keys keep
    the defaults of ``bot.domain.scoring.CATALOGUE``."""

    points: float | None = Field(None, ge=0, le=100)
    cap: float | None = Field(None, ge=0, le=1000)


class ScoringConfig(_Section):
    """[scoring]: the monthly score, its grades and the monthly summary post (docs/reports.md)."""

    base: float = Field(100, ge=0, le=1000)
    max_deduction: float = Field(100, ge=0, le=1000)  # 0 = no cap
    max_bonus: float = Field(10, ge=0, le=1000)  # 0 = no cap
    pass_score: float = Field(90, ge=0, le=1000)  # 合格
    basic_score: float = Field(75, ge=0, le=1000)  # 基本合格; below it 不合格
    accept_workdays: int = Field(1, ge=1, le=10)  # 签收时限, working days after assignment
    resolution_threshold: float = Field(0.9, gt=0, le=1)
    resolution_min_cases: int = Field(5, ge=1, le=100000)
    rules: dict[str, ScoreRuleConfig] = {}
    #: the consequence of a yearly grade (seed 004), recorded on the yearly report
    consequences: dict[str, str] = {
        "基本合格": "书面函告该单位主要负责人，提醒注意加强网民留言办理工作",
        "不合格": "约谈该单位，考评结果送呈主要领导",
    }
    summary_workday: int = Field(1, ge=0, le=10)  # post on the Nth working day; 0 = never
    summary_time: time = time(9, 0)

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, ScoreRuleConfig]) -> dict[str, ScoreRuleConfig]:
        known = [r.key for r in CATALOGUE]
        for key in value:
            if key not in known:
                raise ValueError(f"unknown rule {key!r} (known: {', '.join(known)})")
        return value

    @field_validator("basic_score")
    @classmethod
    def _grades_ordered(cls, value: float, info: object) -> float:
        if value > getattr(info, "data", {}).get("pass_score", 90):
            raise ValueError("basic_score (基本合格) must not be above pass_score (合格)")
        return value

    def scoring_rules(self) -> ScoringRules:
        rules = []
        for info in CATALOGUE:
            own = self.rules.get(info.key)
            points = own.points if own is not None and own.points is not None else info.points
            cap = own.cap if own is not None and own.cap is not None else info.cap
            rules.append(Rule(info.key, points, cap))
        return ScoringRules(
            rules=tuple(rules),
            base=self.base,
            max_deduction=self.max_deduction,
            max_bonus=self.max_bonus,
            pass_score=self.pass_score,
            basic_score=self.basic_score,
            resolution_threshold=self.resolution_threshold,
            resolution_min_cases=self.resolution_min_cases,
        )


class DeliveryConfig(_Section):
    #: warn the admins when a platform has been unreachable this long (messages wait for it)
    outage_alert_minutes: int = Field(default=10, ge=1)


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class DeskConfig(_Section):
    """The desk (办理台) at /desk/: sign-in, sessions and the sign-in limits."""

    enabled: bool = True
    session_hours: int = Field(12, ge=1, le=24 * 30)  # a signed-in browser stays signed in this long
    #: failed sign-ins allowed per user name (and 4× per address) within ``lockout_minutes``
    max_failures: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=24 * 60)
    #: sign in with WeCom (网页授权) / DingTalk (OAuth), when that platform is enabled
    wecom_login: bool = True
    dingtalk_login: bool = True
    wecom_oauth_url: str = "https://open.weixin.qq.com/connect/oauth2/authorize"
    dingtalk_oauth_url: str = "https://login.dingtalk.com/oauth2/auth"
    page_size: int = Field(50, ge=10, le=500)


class Config(_Section):
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    api: ApiConfig = ApiConfig()
    office: OfficeConfig = OfficeConfig()
    deadlines: DeadlineConfig = DeadlineConfig()
    calendar: CalendarConfig = CalendarConfig()
    cases: CasesConfig = CasesConfig()
    routing: RoutingConfig = RoutingConfig()
    publication: PublicationConfig = PublicationConfig()
    units: list[UnitConfig] = []
    people: list[PersonConfig] = []
    wecom: WeComConfig = WeComConfig()
    dingtalk: DingTalkConfig = DingTalkConfig()
    sandbox: SandboxConfig = SandboxConfig()
    nudges: NudgeConfig = NudgeConfig()
    scoring: ScoringConfig = ScoringConfig()
    logging: LoggingConfig = LoggingConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    desk: DeskConfig = DeskConfig()
    #: directory the config file is in; relative SQLite paths are resolved against it
    base_dir: Path = Path(".")

    def needs_leader(self, level: str | None, category: str | None) -> bool:
        return (level or "") in self.cases.leader_levels or (category or "") in self.cases.leader_categories


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{path}: {msg}")
    return lines


def parse_config(text: str, base_dir: Path = Path(".")) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"不是有效的 TOML（invalid TOML: {exc}）") from exc
    except RecursionError as exc:  # tomllib recurses per nesting level: a hostile file ends here
        raise ConfigError("不是有效的 TOML：嵌套层数过深（invalid TOML: nesting too deep）") from exc
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        lines = _describe(exc)
        raise ConfigError("; ".join(lines), lines=lines) from exc
    _check_references(config)
    return config


def load_config(path: str | Path) -> Config:
    from bot.textfile import TextFileError, read_text

    path = Path(path)
    try:
        text = read_text(path)
    except TextFileError as exc:
        raise ConfigError(str(exc)) from exc
    return parse_config(text, base_dir=path.resolve().parent)


def _check_references(config: Config) -> None:
    """Units and people must fit together for the file to be usable at all (``config check``
    reports these and the rest, one line each)."""
    from bot.config_check import reference_problems

    lines = reference_problems(config)
    if lines:
        raise ConfigError("; ".join(lines), lines=lines, config=config)
