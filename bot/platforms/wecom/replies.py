"""Passive (synchronous) reply plaintexts and their encrypted envelope (spec §1.6, §4.1).

wechatpy's reply classes neither have ``update_button`` nor escape ``]]>`` inside CDATA
(spec §7.3), so these small XML strings are built here.
"""

from __future__ import annotations

import re
from typing import Final

from bot.platforms.wecom.crypto import WeComCrypto

__all__ = [
    "TEXT_LIMIT_BYTES",
    "cdata",
    "envelope",
    "text_reply",
    "truncate_utf8",
    "update_button_reply",
]

# spec §1.6: passive text Content ≤ 2048 bytes (truncated by WeCom beyond).
TEXT_LIMIT_BYTES: Final = 2048

# Characters XML 1.0 cannot carry at all; a receiver's parser would reject the whole reply.
_XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def truncate_utf8(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    # Dropping a partial trailing sequence ("ignore") keeps a character boundary.
    return data[:limit].decode("utf-8", errors="ignore")


def cdata(value: str) -> str:
    """Wrap in CDATA; ``]]>`` becomes ``]]]]><![CDATA[>`` and XML-illegal characters are dropped."""
    value = _XML_ILLEGAL.sub("", value)
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _head(to_user: str, corp_id: str, create_time: int, msg_type: str) -> str:
    # spec §1.6: ToUserName = member UserID, FromUserName = CorpID.
    return (
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(corp_id)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        f"<MsgType>{cdata(msg_type)}</MsgType>"
    )


def text_reply(to_user: str, corp_id: str, content: str, create_time: int) -> str:
    """Plaintext of a passive ``text`` reply; Content cut to 2048 bytes at a character boundary."""
    body = cdata(truncate_utf8(content, TEXT_LIMIT_BYTES))
    return f"<xml>{_head(to_user, corp_id, create_time, 'text')}<Content>{body}</Content></xml>"


def update_button_reply(to_user: str, corp_id: str, replace_name: str, create_time: int) -> str:
    """Plaintext of a passive ``update_button`` reply (spec §4.1): disables the clicked button.

    Best effort only — whether WeCom honours it for template_card_event is unverified (§4.3).
    """
    if not replace_name:
        raise ValueError("replace_name is required")
    return (
        f"<xml>{_head(to_user, corp_id, create_time, 'update_button')}"
        f"<Button><ReplaceName>{cdata(replace_name)}</ReplaceName></Button></xml>"
    )


def envelope(crypto: WeComCrypto, plaintext: str, nonce: str, timestamp: str | int) -> str:
    """Encrypt ``plaintext`` and wrap it in the signed reply envelope (spec §1.6)."""
    return crypto.encrypt_reply(plaintext, nonce, timestamp)
