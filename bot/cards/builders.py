"""The cards and texts of each workflow step, in Chinese. Pure: they take a CaseView snapshot.

Cards go to one person (they may carry an excerpt of the message); nothing here ever puts the
petitioner's contact details on a card — that is only on the signed detail page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.cards.models import Button, Card
from bot.cards.payload import CardAction, Verb
from bot.domain.publication import offer
from bot.domain.states import NonPublicGround, ReplyMode, Satisfaction, State, TellMethod, Truthfulness
from bot.privacy import redact


@dataclass(frozen=True)
class CaseView:
    """What the cards show of a case."""

    number: str
    title: str
    content: str
    level: str
    source: str
    category: str | None
    unit: str | None
    state: State
    stage: int  # the case version the card is made for
    due_at: datetime | None
    days_left: int | None = None
    repeated_of: str | None = None
    handling: str | None = None
    truthfulness: str | None = None
    public: bool = True
    has_contact: bool = False  # a 联系方式 was given (never shown: it decides the reply modes)
    proposal: str | None = None  # 回复建议 of the latest interim report (第十条)
    #: the office time zone (``[office] timezone``): the card's times are shown in it
    tz: ZoneInfo = field(kw_only=True)


def short(text: str, limit: int) -> str:
    """At most ``limit`` characters, with an ellipsis when cut; line breaks become spaces; phone
    numbers and the like masked (cards show on lock screens; the detail page has the full text)."""
    flat = redact(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)] + "…"


def hm(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%m-%d %H:%M") if value else ""


def due_text(view: CaseView) -> str:
    if view.due_at is None:
        return "-"
    text = hm(view.due_at, view.tz)
    if view.days_left is None:
        return text
    if view.days_left < 0:
        return f"{text}（已超期{-view.days_left}个工作日）"
    if view.days_left == 0:
        return f"{text}（今日到期）"
    return f"{text}（剩{view.days_left}个工作日）"


def _btn(text: str, verb: Verb, view: CaseView, style: str = "default", arg: str = "") -> Button:
    return Button(text, CardAction(verb, view.number, view.stage, arg).pack(), style)  # type: ignore[arg-type]


def _base_fields(view: CaseView) -> list[tuple[str, str]]:
    return [
        ("文号", view.number),
        ("级别", view.level),
        ("来源", short(view.source, 30)),
        ("类型", view.category or "-"),
        ("到期", due_text(view)),
    ]


def assignment_card(view: CaseView, url: str | None) -> Card:
    desc = f"承办单位：{view.unit or '-'}"
    if view.repeated_of:
        desc += f" · 重复反映（关联{view.repeated_of}）"
    return Card(
        title=f"【交办】{short(view.title, 30)}",
        desc=desc,
        body="主要诉求：" + short(view.content, 120),
        fields=_base_fields(view),
        buttons=[_btn("签收", Verb.ACCEPT, view, "primary"), _btn("退回", Verb.RETURN, view, "danger")],
        url=url,
    )


def courtesy_card(view: CaseView, url: str | None) -> Card:
    """第九条: a 建议类 or 咨询类 message the 督查室 answers with a 礼节性回复."""
    return Card(
        title=f"【待礼节性回复】{short(view.title, 30)}",
        desc="按第九条由督查室礼节性回复，统一回复后即办结",
        body=(
            "主要诉求："
            + short(view.content, 100)
            + f"\n可转阅：转阅 {view.number} <单位或领导>；需承办单位办理的：改为办理 {view.number} <理由>"
        ),
        fields=_base_fields(view),
        buttons=[_btn("礼节性回复", Verb.COURTESY, view, "primary")],
        url=url,
    )


def handling_card(view: CaseView, url: str | None, note: str = "") -> Card:
    return Card(
        title=f"【办理中】{short(view.title, 30)}",
        desc=note or "办结后请填报办理情况（表明态度、工作过程、核查情况、网友反馈）",
        body="主要诉求：" + short(view.content, 120),
        fields=_base_fields(view),
        buttons=[_btn("填报办理结果", Verb.REPLY, view, "primary")],
        url=url,
    )


def truth_card(view: CaseView) -> Card:
    return Card(
        title=f"填报办理结果：{view.number}",
        desc="第一步：请选择属实程度",
        body=short(view.title, 60),
        buttons=[_btn(t.value, Verb.TRUTH, view, "default", t.name) for t in Truthfulness]
        + [_btn("取消", Verb.CANCEL, view)],
    )


def preview_card(view: CaseView, reply_text: str) -> Card:
    return Card(
        title=f"请确认办理情况：{view.number}",
        desc="确认无误请点“提交”，需要修改请点“修改”",
        body=short(reply_text, 160),
        buttons=[
            _btn("提交", Verb.SUBMIT, view, "primary"),
            _btn("修改", Verb.EDIT, view),
            _btn("取消", Verb.CANCEL, view),
        ],
    )


def _proposal_fields(view: CaseView) -> list[tuple[str, str]]:
    """回复建议 of the unit's interim report (第十条), beside the reply it led to."""
    return [("回复建议", short(view.proposal, 80))] if view.proposal else []


def review_card(view: CaseView, url: str | None) -> Card:
    return Card(
        title=f"【待审核】{short(view.title, 30)}",
        desc=f"承办单位：{view.unit or '-'} · 属实程度：{view.truthfulness or '-'}",
        body="办理情况：" + short(view.handling or "", 140),
        fields=_base_fields(view) + _proposal_fields(view),
        buttons=[
            _btn("审核通过", Verb.REVIEW_PASS, view, "primary"),
            _btn("退回修改", Verb.REVIEW_REJECT, view, "danger"),
        ],
        url=url,
    )


def approval_card(view: CaseView, url: str | None) -> Card:
    return Card(
        title=f"【待审定】{short(view.title, 30)}",
        desc=f"承办单位：{view.unit or '-'} · 督查室已审核",
        body="办理情况：" + short(view.handling or "", 140),
        fields=_base_fields(view) + _proposal_fields(view),
        buttons=[
            _btn("同意", Verb.APPROVE, view, "primary"),
            _btn("驳回", Verb.LEADER_REJECT, view, "danger"),
            _btn("批量审定", Verb.BATCH_LIST, view),
        ],
        url=url,
    )


def batch_card(first: CaseView, lines: list[str]) -> Card:
    """批量审定 (第十一条 "按月整理…报…领导审定"): the replies awaiting 审定, approved at once; the
    card is made for the first case's version (a change to it makes the card stale)."""
    return Card(
        title=f"【批量审定】待审定答复{len(lines)}件",
        desc="点“审定全部”同意以下全部答复；有例外请回复“审定全部 除 <文号> <文号>”",
        body=short("；".join(lines), 400),
        buttons=[_btn("审定全部", Verb.BATCH_APPROVE, first, "primary"), _btn("取消", Verb.CANCEL, first)],
    )


#: the publish card's button of each reply mode, by the offer (bot/domain/publication.py)
MODE_BUTTONS: dict[ReplyMode, tuple[str, Verb]] = {
    ReplyMode.BOTH: ("公开并个别回复", Verb.PUBLISH_BOTH),
    ReplyMode.PUBLIC: ("仅公开回复", Verb.PUBLISH_PUBLIC),
    ReplyMode.INDIVIDUAL: ("不予公开", Verb.PUBLISH_INDIVIDUAL),
}


def publish_card(view: CaseView, url: str | None, untrue_note: bool = False) -> Card:
    """统一回复 (第十二条): the modes the case is offered, the default first."""
    choice = offer(view.truthfulness, view.has_contact, untrue_note)
    if choice.preselected is not None:
        desc = "经核查不属实：依第十二条不予公开回复，请个别回复"
        if choice.explanatory:
            desc += "，或公开解释说明"
    elif ReplyMode.BOTH in choice.modes:
        desc = "答复已审定。有联系方式：公开回复与个别回复并行"
    else:
        desc = "答复已审定，请统一回复"
    buttons = []
    for i, mode in enumerate(choice.modes):
        text, verb = MODE_BUTTONS[mode]
        if mode is ReplyMode.PUBLIC and (choice.explanatory or ReplyMode.BOTH not in choice.modes):
            text = "公开解释说明" if choice.explanatory else "公开回复"
        buttons.append(_btn(text, verb, view, "primary" if i == 0 else "default"))
    return Card(
        title=f"【待回复】{short(view.title, 30)}",
        desc=desc,
        body="办理情况：" + short(view.handling or "", 140),
        fields=_base_fields(view),
        buttons=buttons,
        url=url,
    )


GROUND_KEYS: dict[str, NonPublicGround] = {g.name: g for g in NonPublicGround}
#: short labels (a WeCom button shows 10 characters); the card's body gives the clause's words
GROUND_BUTTONS: dict[NonPublicGround, str] = {
    NonPublicGround.UNTRUE: "一、不属实或不符",
    NonPublicGround.UNREASONABLE: "二、明显不合理诉求",
    NonPublicGround.CONTROVERSIAL: "三、引起争议",
    NonPublicGround.FORCE_MAJEURE: "四、不可抗力",
}
_ORDINALS = "一二三四"


def ground_card(view: CaseView) -> Card:
    preselected = offer(view.truthfulness, view.has_contact, False).preselected
    grounds = "\n".join(f"（{_ORDINALS[i]}）{g.value}" for i, g in enumerate(NonPublicGround))
    return Card(
        title=f"不予公开的理由：{view.number}",
        desc="第十二条：以下4类留言不予公开回复，尽量个别回复" + ("（已预选第一类）" if preselected else ""),
        body=grounds,
        buttons=[
            _btn(GROUND_BUTTONS[g], Verb.GROUND, view, "primary" if g is preselected else "default", g.name)
            for g in NonPublicGround
        ]
        + [_btn("取消", Verb.CANCEL, view)],
    )


TELL_KEYS: dict[str, TellMethod] = {m.name: m for m in TellMethod}


def told_card(view: CaseView) -> Card:
    return Card(
        title=f"个别回复：{view.number}",
        desc="请选择告知网友的方式（记录告知方式和时间）",
        body=short(view.title, 60),
        buttons=[_btn(m.value, Verb.TOLD, view, "default", m.name) for m in TellMethod]
        + [_btn("取消", Verb.CANCEL, view)],
    )


def publish_preview_card(view: CaseView, summary: str) -> Card:
    """What will be published and recorded, for the dispatcher's confirmation."""
    return Card(
        title=f"请确认统一回复：{view.number}",
        desc="确认无误请点“确认回复”",
        body=short(summary, 400),
        buttons=[_btn("确认回复", Verb.PUBLISH_CONFIRM, view, "primary"), _btn("取消", Verb.CANCEL, view)],
    )


SATISFACTION_KEYS: dict[str, Satisfaction] = {s.name: s for s in Satisfaction}


def followup_card(view: CaseView, url: str | None) -> Card:
    return Card(
        title=f"【待回访】{short(view.title, 30)}",
        desc="已回复网友，请回访并记录网友评价",
        body="办理情况：" + short(view.handling or "", 120),
        fields=_base_fields(view)[:4],
        buttons=[_btn(s.value, Verb.SATISFACTION, view, "default", s.name) for s in Satisfaction],
        url=url,
    )


def resolved_card(view: CaseView) -> Card:
    return Card(
        title=f"回访：{view.number}",
        desc="问题是否已化解？",
        body=short(view.title, 60),
        buttons=[
            _btn("已化解", Verb.RESOLVED, view, "primary", "y"),
            _btn("未化解", Verb.RESOLVED, view, "default", "n"),
            _btn("取消", Verb.CANCEL, view),
        ],
    )


def extension_card(view: CaseView, reason: str, days: int, url: str | None) -> Card:
    return Card(
        title=f"【延期申请】{short(view.title, 30)}",
        desc=f"{view.unit or '-'} 申请延期{days}个工作日",
        body="理由：" + short(reason, 140),
        fields=_base_fields(view),
        buttons=[
            _btn("批准延期", Verb.EXT_APPROVE, view, "primary", str(days)),
            _btn("不批准", Verb.EXT_REFUSE, view, "danger"),
        ],
        url=url,
    )


def closed(card: Card, text: str) -> Card:
    """The same card greyed out with ``text`` (e.g. "已签收（张三 11-02 09:30）")."""
    return Card(card.title, card.desc, card.body, card.fields, card.buttons, card.url, card.source, text[:20])
