"""统一回复 (seed 001 第十二条): which reply modes a case is offered and the public reply's text.

"留言有联系方式的，公开回复与个别回复并行"; the four kinds of message in ``NonPublicGround`` are
not replied to publicly ("尽量个别回复"). A 不属实 finding (第十条 属实程度) is the first of them,
unless the office publishes an explanatory note (seed 002: "留言失实的，及时在网站上解释说明").
Pure: the caller passes the case's facts and the office's setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot.domain.states import NonPublicGround, ReplyMode, Truthfulness


@dataclass(frozen=True)
class Offer:
    """What the dispatcher is offered: the modes in order (the first is the default) and the
    ground chosen in advance for not publishing (None: the dispatcher picks one)."""

    modes: tuple[ReplyMode, ...]
    preselected: NonPublicGround | None = None
    #: a public reply of a 不属实 case is an explanatory note (说明), not the unit's answer
    explanatory: bool = False


def offer(truthfulness: str | None, has_contact: bool, untrue_note: bool) -> Offer:
    """The reply modes for a case: 不属实 → not public (ground (1) preselected; an explanatory
    public note only when ``untrue_note``); a contact → both in parallel by default; else public."""
    if truthfulness == Truthfulness.FALSE.value:
        modes = (ReplyMode.INDIVIDUAL, ReplyMode.PUBLIC) if untrue_note else (ReplyMode.INDIVIDUAL,)
        return Offer(modes, NonPublicGround.UNTRUE, explanatory=untrue_note)
    if has_contact:
        return Offer((ReplyMode.BOTH, ReplyMode.PUBLIC, ReplyMode.INDIVIDUAL))
    return Offer((ReplyMode.PUBLIC, ReplyMode.INDIVIDUAL))


def refusal(mode: ReplyMode, truthfulness: str | None, has_contact: bool, untrue_note: bool) -> str | None:
    """Why ``mode`` may not be used for this case (a Chinese sentence), or None."""
    if mode is not ReplyMode.INDIVIDUAL and truthfulness == Truthfulness.FALSE.value and not untrue_note:
        return f"经核查留言内容不属实，依第十二条不予公开回复，请选择个别回复（理由：{NonPublicGround.UNTRUE.value}）。"
    if mode is ReplyMode.BOTH and not has_contact:
        return "此件没有联系方式，不能个别回复，请选择公开回复。"
    return None


def compose_public_reply(
    unit: str, title: str, reply: Mapping[str, str], on: date, *, explanatory: bool = False
) -> str:
    """The public reply "以承办单位名义" (第十二条) from the approved 办理情况: 表明态度, 工作过程 and
    核查情况 (网友反馈 notes the contact with the petitioner and stays internal), signed by the unit."""
    head = (
        f"网友您好！经核查，您反映的“{title}”与实际情况不符，现说明如下："
        if explanatory
        else f"网友您好！您反映的“{title}”收悉，现回复如下："
    )
    body = [reply.get(k, "").strip() for k in ("attitude", "process", "verification")]
    lines = [
        head,
        *(p for p in body if p),
        "感谢您对我们工作的关心和支持！",
        unit,
        f"{on.year}年{on.month}月{on.day}日",
    ]
    return "\n".join(lines)


#: who signs a 礼节性回复 (第九条: "由区委督查室、政府督查室礼节性回复")
COURTESY_SIGNER = "区委督查室、政府督查室"


def compose_courtesy_reply(title: str, text: str, on: date, signer: str = COURTESY_SIGNER) -> str:
    """The published 礼节性回复 (第九条, 建议类 and 咨询类), signed by the 督查室."""
    return "\n".join(
        [f"网友您好！您反映的“{title}”收悉。", text.strip(), "感谢您对我们工作的关心和支持！", signer,
         f"{on.year}年{on.month}月{on.day}日"]
    )  # fmt: skip
