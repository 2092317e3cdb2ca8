"""Typed, versioned button payloads (aiogram's CallbackData idea).

A button key carries ``ly1|<verb>|<case number>|<stage>[|<arg>]``: the verb says what the button
does, the stage is the case version the card was made for (a click on an older card is stale),
and ``arg`` carries a choice (属实程度, a ground…). WeCom allows keys up to 1024 bytes
(spec §3.5); we keep far below and check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "ly1"
MAX_KEY_BYTES = 1024
_NUMBER = re.compile(r"^[A-Z0-9-]{4,32}$")
_ARG = re.compile(r"^[\w\u4e00-\u9fff（）()、-]{0,40}$")


class Verb(StrEnum):
    ACCEPT = "acc"  # 签收
    RETURN = "ret"  # 退回 (asks for the reason)
    REPLY = "rep"  # 填报办理结果 (starts the guided reply)
    TRUTH = "tru"  # 属实程度 choice (arg)
    SUBMIT = "sub"  # 提交 the previewed reply
    EDIT = "edt"  # 修改 the previewed reply
    REVIEW_PASS = "rvp"  # 审核通过
    REVIEW_REJECT = "rvr"  # 退回修改 (asks for the comment)
    APPROVE = "apv"  # 领导同意
    LEADER_REJECT = "ldr"  # 领导驳回 (asks for the 批示)
    PUBLISH_PUBLIC = "pbp"  # 公开回复 only (previews the text composed in the unit's name)
    PUBLISH_INDIVIDUAL = "pbi"  # 不予公开, 个别回复 (asks for the ground)
    GROUND = "grd"  # a non-public ground (arg)
    PUBLISH_BOTH = "pbb"  # 公开回复与个别回复并行 (asks how the petitioner was told)
    TOLD = "tld"  # how the petitioner was told (arg)
    PUBLISH_CONFIRM = "pbc"  # 确认回复: the previewed reply is published and recorded
    BATCH_LIST = "bls"  # 批量审定: the replies awaiting a leader's 审定, as one card (审定清单)
    BATCH_APPROVE = "bap"  # 审定全部 on the 批量审定 card
    SATISFACTION = "sat"  # 回访: satisfaction (arg)
    RESOLVED = "res"  # 回访: 是否化解 (arg y/n)
    EXT_APPROVE = "exa"  # 批准延期
    EXT_REFUSE = "exr"  # 不批准延期 (asks for the comment)
    CANCEL = "cnl"  # 取消 the current dialogue
    URGE = "urg"  # 催办 a unit's overdue cases (arg: unit id)
    SUPERVISE = "sup"  # 督办 notice to a unit (arg: unit id)
    CO_OPINION = "coo"  # 报送协办意见 (a co-unit; asks for the text)
    COURTESY = "ctr"  # 礼节性回复 by the 督查室 (第九条; asks for the text)


class PayloadError(ValueError):
    """A button key that is not ours, malformed, or from an unknown version."""


@dataclass(frozen=True)
class CardAction:
    verb: Verb
    number: str
    stage: int
    arg: str = ""

    def pack(self) -> str:
        if not _NUMBER.match(self.number):
            raise PayloadError(f"bad case number {self.number!r}")
        if not _ARG.match(self.arg):
            raise PayloadError(f"bad argument {self.arg!r}")
        parts = [PREFIX, self.verb.value, self.number, str(self.stage)]
        if self.arg:
            parts.append(self.arg)
        key = "|".join(parts)
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:  # pragma: no cover - bounded by the regexes
            raise PayloadError("button key too long")
        return key

    @classmethod
    def unpack(cls, key: str) -> CardAction:
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise PayloadError("button key too long")
        parts = key.split("|")
        if len(parts) not in (4, 5) or parts[0] != PREFIX:
            raise PayloadError("not a liuyan button")
        try:
            verb = Verb(parts[1])
            stage = int(parts[3])
        except ValueError as exc:
            raise PayloadError("malformed button") from exc
        arg = parts[4] if len(parts) == 5 else ""
        if not _NUMBER.match(parts[2]) or not _ARG.match(arg) or stage < 0:
            raise PayloadError("malformed button")
        return cls(verb, parts[2], stage, arg)
