"""Build real encrypted WeCom callback requests, the way WeCom sends them (spec §1.2–§1.5).

This is an independent implementation of the WXBizMsgCrypt scheme on ``cryptography``
(it shares no code with ``bot.platforms.wecom.crypto`` or wechatpy), so tests that feed
its output to the bot cross-check both sides.

    cb = WeComCallbacks(TOKEN, AES_KEY, CORP_ID, agent_id=1000002, clock=fake.clock)
    req = cb.text("zhangsan", "签收 2024-001")
    resp = await http.post(req.path_qs("/wecom/callback"), data=req.body)
    req = cb.from_fields(fake.click("zhangsan", "case-1-r1", "accept:1"))
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["CallbackRequest", "WeComCallbacks", "cdata", "render_plaintext"]

# MsgIds above 2^53 occur (spec §2.1): start there so float handling would show.
_MSG_IDS = itertools.count(2**62 + 123_456_789)


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _render_value(tag: str, value: Any) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return f"<{tag}>{value}</{tag}>"
    if isinstance(value, Mapping):
        inner = "".join(_render_value(k, v) for k, v in value.items())
        return f"<{tag}>{inner}</{tag}>"
    return f"<{tag}>{cdata(str(value))}</{tag}>"


def render_plaintext(fields: Mapping[str, Any]) -> str:
    """Render callback fields as WeCom plaintext XML (ints bare, strings in CDATA).

    ``SelectedItems`` is a list of ``{"QuestionKey": str, "OptionIds": [str, ...]}`` and is
    rendered as in spec §2.2.
    """
    parts: list[str] = []
    for tag, value in fields.items():
        if tag == "SelectedItems":
            items = []
            for item in value:
                options = "".join(f"<OptionId>{cdata(o)}</OptionId>" for o in item["OptionIds"])
                items.append(
                    f"<SelectedItem><QuestionKey>{cdata(item['QuestionKey'])}</QuestionKey>"
                    f"<OptionIds>{options}</OptionIds></SelectedItem>"
                )
            parts.append(f"<SelectedItems>{''.join(items)}</SelectedItems>")
        else:
            parts.append(_render_value(tag, value))
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass(frozen=True)
class CallbackRequest:
    """One callback request: ``method``, decoded ``query`` params and the raw ``body``."""

    method: str
    query: dict[str, str]
    body: bytes = b""
    plaintext: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    def query_string(self) -> str:
        """Percent-encoded like WeCom does (``+`` → ``%2B``, ``/`` → ``%2F``, ``=`` → ``%3D``)."""
        return "&".join(f"{k}={quote(v, safe='')}" for k, v in self.query.items())

    def path_qs(self, path: str = "/wecom/callback") -> str:
        return f"{path}?{self.query_string()}"


class WeComCallbacks:
    """Encrypts and signs callback requests for one app."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        corp_id: str,
        *,
        agent_id: int = 1000002,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._clock = clock
        self._key = base64.b64decode(encoding_aes_key + "=")
        assert len(self._key) == 32

    # -- primitives -------------------------------------------------------------------------

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypt])).encode()).hexdigest()

    def encrypt(self, msg: str, *, receive_id: str | None = None, prefix: bytes | None = None) -> str:
        """base64(AES-256-CBC(random16 ‖ len ‖ msg ‖ receiveid, PKCS#7 to 32), IV = key[:16])."""
        body = msg.encode("utf-8")
        rid = (self.corp_id if receive_id is None else receive_id).encode("utf-8")
        rand = prefix if prefix is not None else secrets.token_bytes(16)  # any bytes are legal
        plain = rand + struct.pack(">I", len(body)) + body + rid
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> tuple[str, str]:
        """→ (msg, receiveid); for reading the bot's passive replies."""
        dec = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        plain = dec.update(base64.b64decode(encrypt)) + dec.finalize()
        pad = plain[-1]
        assert 1 <= pad <= 32 and plain[-pad:] == bytes([pad]) * pad, "bad padding"
        content = plain[16:-pad]
        (length,) = struct.unpack(">I", content[:4])
        return content[4 : 4 + length].decode("utf-8"), content[4 + length :].decode("utf-8")

    def _ts_nonce(self, timestamp: str | None, nonce: str | None) -> tuple[str, str]:
        ts = timestamp if timestamp is not None else str(int(self._clock()))
        return ts, nonce if nonce is not None else str(secrets.randbelow(10**10))

    # -- requests ---------------------------------------------------------------------------

    def verification(
        self, echo: str | None = None, *, timestamp: str | None = None, nonce: str | None = None
    ) -> CallbackRequest:
        """GET URL verification; the bot must answer exactly ``echo`` (spec §1.2)."""
        echo = echo if echo is not None else str(secrets.randbelow(10**19))
        ts, nonce = self._ts_nonce(timestamp, nonce)
        echostr = self.encrypt(echo)
        query = {"msg_signature": self.sign(ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr}
        return CallbackRequest("GET", query, b"", echo)

    def post(
        self,
        plaintext: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        fields: Mapping[str, Any] | None = None,
        receive_id: str | None = None,
    ) -> CallbackRequest:
        """POST carrying ``plaintext`` encrypted in the envelope of spec §1.3."""
        ts, nonce = self._ts_nonce(timestamp, nonce)
        encrypt = self.encrypt(plaintext, receive_id=receive_id)
        body = (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<AgentID>{cdata(str(self.agent_id))}</AgentID>"
            f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        ).encode()
        query = {"msg_signature": self.sign(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
        return CallbackRequest("POST", query, body, plaintext, dict(fields or {}))

    def from_fields(self, fields: Mapping[str, Any], **kwargs: Any) -> CallbackRequest:
        """POST for arbitrary plaintext fields (e.g. what ``FakeWeCom.click`` returns)."""
        return self.post(render_plaintext(fields), fields=fields, **kwargs)

    def _common(self, user: str, create_time: int | None, msg_type: str) -> dict[str, Any]:
        return {
            "ToUserName": self.corp_id,
            "FromUserName": user,
            "CreateTime": int(self._clock()) if create_time is None else create_time,
            "MsgType": msg_type,
        }

    def text(
        self,
        user: str,
        content: str,
        *,
        msg_id: int | str | None = None,
        create_time: int | None = None,
        **kwargs: Any,
    ) -> CallbackRequest:
        """A member's text message (spec §2.1). MsgId defaults to a fresh value > 2^53."""
        fields = self._common(user, create_time, "text")
        fields["Content"] = content
        fields["MsgId"] = int(msg_id) if msg_id is not None else next(_MSG_IDS)
        fields["AgentID"] = self.agent_id
        return self.from_fields(fields, **kwargs)

    def card_click(
        self,
        user: str,
        task_id: str,
        event_key: str,
        response_code: str,
        *,
        card_type: str = "button_interaction",
        event: str = "template_card_event",
        create_time: int | None = None,
        selected: Mapping[str, Iterable[str]] | None = None,
        **kwargs: Any,
    ) -> CallbackRequest:
        """A template_card_event / template_card_menu_event (spec §2.2, §2.3)."""
        fields = self._common(user, create_time, "event")
        fields.update(
            Event=event,
            EventKey=event_key,
            TaskId=task_id,
            CardType=card_type,
            ResponseCode=response_code,
            AgentID=self.agent_id,
        )
        if selected:
            fields["SelectedItems"] = [{"QuestionKey": q, "OptionIds": list(o)} for q, o in selected.items()]
        return self.from_fields(fields, **kwargs)

    def event(self, event: str, user: str, *, create_time: int | None = None, **extra: Any) -> CallbackRequest:
        """Any other event (enter_agent, subscribe, LOCATION, ...); ``extra`` adds fields."""
        fields = self._common(user, create_time, "event")
        fields["Event"] = event
        fields["AgentID"] = self.agent_id
        fields.update(extra)
        return self.from_fields(fields)

    def open_reply(self, body: str | bytes, *, check_signature: bool = True) -> str:
        """Verify and decrypt the bot's passive-reply envelope (spec §1.6) → reply plaintext."""
        import xml.etree.ElementTree as ET  # our own trusted output

        root = ET.fromstring(body)
        values = {tag: (root.findtext(tag) or "") for tag in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")}
        assert all(values.values()), f"reply envelope misses a field: {values}"
        if check_signature:
            expected = self.sign(values["TimeStamp"], values["Nonce"], values["Encrypt"])
            assert expected == values["MsgSignature"], "reply signature mismatch"
        msg, rid = self.decrypt(values["Encrypt"])
        assert rid == self.corp_id, "reply receiveid is not the CorpID"
        return msg
