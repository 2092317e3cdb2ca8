"""The 100-point score of an undertaking unit (design.md "Reports and scoring"; docs/reports.md).

Pure domain code. The report layer finds the *occurrences* — one per case or event that a rule
counts (an overdue case, a reply sent back, a commendation…) — and this module turns them into
points: each occurrence is worth the rule's points until the rule's cap, then the unit's total
deduction or bonus cap, is reached; whatever no longer counts stays listed with 0 points, so that
every point lost or won is traceable to the case and event behind it and the detail adds up to
the score exactly. Points are kept in hundredths (integers) so that sums never drift.

Order of allocation (it decides which items a cap cuts off): rules in ``CATALOGUE`` order, and
within a rule by time, then 文号, then event id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "CATALOGUE",
    "GRADES",
    "Occurrence",
    "Rule",
    "RuleInfo",
    "RuleKind",
    "ScoreItem",
    "ScoreLine",
    "ScoringRules",
    "UnitScore",
    "average",
    "describe",
    "resolution_bonus",
    "score_unit",
]


class RuleKind(StrEnum):
    DEDUCTION = "deduction"
    BONUS = "bonus"


@dataclass(frozen=True)
class RuleInfo:
    """A rule the report layer knows how to detect, with its default points and cap."""

    key: str
    label: str
    kind: RuleKind
    per: str  # what one occurrence is: 件 (a case), 次 (an event), 项 (a rate reached)
    basis: str  # how it is detected (Chinese, shown in the workbook's 评分规则 sheet)
    points: float
    cap: float  # 0 = no cap for this rule


#: Every rule, in allocation order. The defaults are the example configuration's.
CATALOGUE: tuple[RuleInfo, ...] = (
    RuleInfo(
        "overdue",
        "超期办理",
        RuleKind.DEDUCTION,
        "件",
        "到期时间在本期内、到期时未提交办理情况（或提交后被退回重办）的留言件",
        2,
        20,
    ),
    RuleInfo(
        "late_acceptance",
        "签收不及时",
        RuleKind.DEDUCTION,
        "件",
        "签收时限（交办后第N个工作日下班前）在本期内届满、届满时仍未签收的留言件",
        1,
        10,
    ),
    RuleInfo(
        "invalid_return",
        "无正当理由退回",
        RuleKind.DEDUCTION,
        "次",
        "退回后又改派回本单位（改派在本期内）的退回",
        2,
        10,
    ),
    RuleInfo("review_rejected", "答复被审核退回", RuleKind.DEDUCTION, "次", "本期内督查室审核退回修改", 1, 10),
    RuleInfo("leader_rejected", "答复被领导驳回", RuleKind.DEDUCTION, "次", "本期内领导审定驳回", 2, 10),
    RuleInfo(
        "supervised", "被督办", RuleKind.DEDUCTION, "次", "本期内发出的督办（督查员督办或超期自动督办通知）", 1, 10
    ),
    RuleInfo(
        "co_overdue",
        "协办逾期",
        RuleKind.DEDUCTION,
        "次",
        "协办单位到协办时限仍未报送协办意见（时限在本期内届满）",
        1,
        10,
    ),
    RuleInfo("unresolved", "未化解", RuleKind.DEDUCTION, "件", "本期内回访、回访结论为未化解的留言件", 1, 10),
    RuleInfo("dissatisfied", "群众不满意", RuleKind.DEDUCTION, "件", "本期内回访、评价为不满意的留言件", 2, 20),
    RuleInfo(
        "archive_incomplete",
        "档案要素不全",
        RuleKind.DEDUCTION,
        "件",
        "本期内办结（回访）而十六要素仍有缺项的留言件",
        1,
        10,
    ),
    RuleInfo(
        "repeated", "同一事项重复反映", RuleKind.DEDUCTION, "件", "本期内收到的、关联到本单位原办件的重复留言", 0, 0
    ),
    RuleInfo(
        "low_error", "低级错误", RuleKind.DEDUCTION, "次", "本期内督查室审核退回时认定的低级错误（格式、文字等）", 1, 10
    ),
    RuleInfo(
        "high_resolution", "化解率高", RuleKind.BONUS, "项", "本期回访件数不少于规定件数且化解率达到规定比例", 2, 0
    ),
    RuleInfo("commendation", "督查表扬", RuleKind.BONUS, "次", "本期内督查员或领导录入的表扬", 2, 6),
    RuleInfo("info_adopted", "信息获得采用", RuleKind.BONUS, "次", "本期内督查员录入的信息获得采用", 2, 6),
)
_INFO: dict[str, RuleInfo] = {r.key: r for r in CATALOGUE}
_ORDER: dict[str, int] = {r.key: i for i, r in enumerate(CATALOGUE)}

#: Grade labels, best first; the last one has no threshold.
GRADES = ("合格", "基本合格", "不合格")


def _cents(points: float) -> int:
    return round(points * 100)


def _points(cents: int) -> float:
    return cents / 100


@dataclass(frozen=True)
class Rule:
    """A configured rule: ``points`` per occurrence (>= 0), at most ``cap`` in total (0 = no cap)."""

    key: str
    points: float
    cap: float = 0

    def __post_init__(self) -> None:
        if self.key not in _INFO:
            raise ValueError(f"unknown scoring rule {self.key!r}")
        if self.points < 0 or self.cap < 0:
            raise ValueError(f"scoring rule {self.key}: points and cap must be >= 0")

    @property
    def info(self) -> RuleInfo:
        return _INFO[self.key]

    @property
    def label(self) -> str:
        return self.info.label

    @property
    def kind(self) -> RuleKind:
        return self.info.kind

    @property
    def sign(self) -> int:
        return -1 if self.kind is RuleKind.DEDUCTION else 1


@dataclass(frozen=True)
class ScoringRules:
    """Everything the score depends on; built from ``[scoring]`` of the configuration."""

    rules: tuple[Rule, ...] = tuple(Rule(r.key, r.points, r.cap) for r in CATALOGUE)
    base: float = 100
    max_deduction: float = 100  # 0 = no cap
    max_bonus: float = 10  # 0 = no cap
    pass_score: float = 90  # 合格 from this score up
    basic_score: float = 75  # 基本合格 from this score up; below it 不合格
    resolution_threshold: float = 0.9  # 化解率 for the high_resolution bonus
    resolution_min_cases: int = 5  # … and at least this many follow-ups in the period

    def __post_init__(self) -> None:
        if self.basic_score > self.pass_score:
            raise ValueError("basic_score (基本合格) must not be above pass_score (合格)")
        if not 0 < self.resolution_threshold <= 1:
            raise ValueError("resolution_threshold must be in (0, 1]")
        keys = [r.key for r in self.rules]
        if len(set(keys)) != len(keys):
            raise ValueError("a scoring rule is configured twice")

    def rule(self, key: str) -> Rule | None:
        for r in self.rules:
            if r.key == key:
                return r
        return None

    def enabled(self, key: str) -> bool:
        r = self.rule(key)
        return r is not None and r.points > 0

    def grade(self, score: float) -> str:
        if score >= self.pass_score:
            return GRADES[0]
        if score >= self.basic_score:
            return GRADES[1]
        return GRADES[2]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One thing a rule counts: the case (文号) and the event ids behind it, when, and a note
    (no personal data, no message text: notes go into group-visible reports)."""

    rule: str
    case_number: str | None = None
    event_ids: tuple[int, ...] = ()
    at: datetime | None = None
    note: str = ""

    def sort_key(self) -> tuple[int, float, str, tuple[int, ...]]:
        ts = self.at.timestamp() if self.at is not None else float("-inf")
        return (_ORDER.get(self.rule, len(_ORDER)), ts, self.case_number or "", self.event_ids)


@dataclass(frozen=True, slots=True)
class ScoreItem:
    """An occurrence with the points it is worth (``nominal``, >= 0) and the points it actually
    counts after the caps (``points``: negative for a deduction, positive for a bonus)."""

    occurrence: Occurrence
    nominal: float
    points: float

    @property
    def capped(self) -> bool:
        return abs(self.points) < self.nominal


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """All occurrences of one rule for one unit."""

    rule: Rule
    items: tuple[ScoreItem, ...]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def nominal(self) -> float:
        return _points(sum(_cents(i.nominal) for i in self.items))

    @property
    def points(self) -> float:
        """Signed points that count (deductions negative)."""
        return _points(sum(_cents(i.points) for i in self.items))

    @property
    def capped(self) -> bool:
        return any(i.capped for i in self.items)


@dataclass(frozen=True)
class UnitScore:
    base: float
    lines: tuple[ScoreLine, ...]
    deductions: float  # points lost (>= 0)
    bonuses: float  # points won (>= 0)
    score: float
    grade: str

    def line(self, key: str) -> ScoreLine | None:
        for line in self.lines:
            if line.rule.key == key:
                return line
        return None

    @property
    def items(self) -> list[ScoreItem]:
        return [item for line in self.lines for item in line.items]

    def deduction_lines(self) -> list[ScoreLine]:
        return [ln for ln in self.lines if ln.rule.kind is RuleKind.DEDUCTION and ln.items]

    def bonus_lines(self) -> list[ScoreLine]:
        return [ln for ln in self.lines if ln.rule.kind is RuleKind.BONUS and ln.items]


@dataclass
class _Budget:
    left: int | None  # hundredths; None = no cap

    def allows(self, cents: int) -> int:
        return cents if self.left is None else min(cents, self.left)

    def spend(self, cents: int) -> None:
        if self.left is not None:
            self.left -= cents


def score_unit(rules: ScoringRules, occurrences: Iterable[Occurrence]) -> UnitScore:
    """Base score minus deductions plus bonuses, each rule and each total within its cap.

    Occurrences of rules that are not configured or have 0 points are ignored (the rule is
    switched off). Raises ValueError for an occurrence of an unknown rule.
    """
    by_rule: dict[str, list[Occurrence]] = {}
    for occ in occurrences:
        if occ.rule not in _INFO:
            raise ValueError(f"unknown scoring rule {occ.rule!r}")
        by_rule.setdefault(occ.rule, []).append(occ)
    totals = {
        RuleKind.DEDUCTION: _Budget(_cents(rules.max_deduction) or None),
        RuleKind.BONUS: _Budget(_cents(rules.max_bonus) or None),
    }
    lines: list[ScoreLine] = []
    for info in CATALOGUE:
        rule = rules.rule(info.key)
        found = by_rule.get(info.key)
        if rule is None or rule.points <= 0 or not found:
            continue
        own, total = _Budget(_cents(rule.cap) or None), totals[rule.kind]
        nominal, sign = _cents(rule.points), rule.sign
        items = []
        for occ in sorted(found, key=Occurrence.sort_key):
            counted = total.allows(own.allows(nominal))
            own.spend(counted)
            total.spend(counted)
            items.append(ScoreItem(occ, _points(nominal), _points(sign * counted)))
        lines.append(ScoreLine(rule, tuple(items)))
    deductions = -sum(_cents(ln.points) for ln in lines if ln.rule.kind is RuleKind.DEDUCTION)
    bonuses = sum(_cents(ln.points) for ln in lines if ln.rule.kind is RuleKind.BONUS)
    score = _points(_cents(rules.base) - deductions + bonuses)
    return UnitScore(
        base=rules.base,
        lines=tuple(lines),
        deductions=_points(deductions),
        bonuses=_points(bonuses),
        score=score,
        grade=rules.grade(score),
    )


def average(rules: ScoringRules, months: Sequence[UnitScore]) -> UnitScore:
    """The score of a quarter or a year: the mean of its months' scores, each month scored with
    its own caps (a year's faults would otherwise exhaust one month's caps). ``deductions`` and
    ``bonuses`` are monthly means too; the lines hold every month's items, so a rule's line
    shows the points it cost over the whole period. Means are rounded to 0.01 point."""
    if not months:
        return score_unit(rules, [])
    if len(months) == 1:
        return months[0]
    items: dict[str, list[ScoreItem]] = {}
    found: dict[str, Rule] = {}
    for month in months:
        for line in month.lines:
            items.setdefault(line.rule.key, []).extend(line.items)
            found[line.rule.key] = line.rule
    lines = tuple(ScoreLine(found[r.key], tuple(items[r.key])) for r in CATALOGUE if r.key in items)

    def mean(values: Iterable[float]) -> float:
        return _points(round(sum(_cents(v) for v in values) / len(months)))

    score = mean(m.score for m in months)
    return UnitScore(
        base=rules.base,
        lines=lines,
        deductions=mean(m.deductions for m in months),
        bonuses=mean(m.bonuses for m in months),
        score=score,
        grade=rules.grade(score),
    )


def resolution_bonus(rules: ScoringRules, followed: int, resolved: int) -> Occurrence | None:
    """The ``high_resolution`` occurrence when the unit's follow-ups of the period reach the
    configured count and 化解率; None otherwise (or when the rule is off)."""
    if not rules.enabled("high_resolution") or followed < max(1, rules.resolution_min_cases):
        return None
    if resolved < rules.resolution_threshold * followed - 1e-9:
        return None
    return Occurrence(
        "high_resolution",
        note=f"本期回访{followed}件，化解{resolved}件，化解率{resolved / followed:.1%}"
        f"（≥{rules.resolution_threshold:.0%}）",
    )


def describe(rules: ScoringRules) -> list[tuple[str, str, str, str, str]]:
    """(rule, kind, per-occurrence points, cap, basis) rows for the workbook's rule sheet."""
    rows = []
    for info in CATALOGUE:
        rule = rules.rule(info.key)
        points = rule.points if rule is not None else 0
        cap = rule.cap if rule is not None else 0
        kind = "扣分" if info.kind is RuleKind.DEDUCTION else "加分"
        per = f"{_fmt(points)}分/{info.per}" if points > 0 else "不计分"
        rows.append((info.label, kind, per, f"{_fmt(cap)}分" if cap > 0 else "不封顶", info.basis))
    return rows


def _fmt(value: float) -> str:
    return f"{value:g}"
