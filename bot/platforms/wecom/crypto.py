"""WeCom callback crypto (WXBizMsgCrypt scheme), spec §1.2–§1.6.

Wraps wechatpy's ``WeChatCrypto`` (key decoding, AES-CBC cipher, the encrypt layout) and adds
what it lacks (spec §7.1, §7.5): a constant-time signature check done by us *before* anything
is decrypted, a defusedxml envelope parser, strict PKCS#7 (value 1..32, all pad bytes equal),
length checks, a size cap, and one typed error for every failure.

Every failure raises :class:`WeComCryptoError` with a WXBizMsgCrypt code (spec §1.5). Its
``reason`` is a fixed phrase: it never contains the token, the key, ciphertext or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import struct
from collections.abc import Callable
from typing import Final
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from wechatpy.crypto.cryptography import WeChatCipher
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

__all__ = [
    "BASE64_ERROR",
    "BUFFER_ERROR",
    "DECRYPT_ERROR",
    "ILLEGAL_AES_KEY",
    "MAX_BODY_BYTES",
    "PARSE_ERROR",
    "RECEIVEID_ERROR",
    "SIGNATURE_ERROR",
    "WeComCrypto",
    "WeComCryptoError",
]

# WXBizMsgCrypt ierror codes, spec §1.5.
SIGNATURE_ERROR: Final = -40001
PARSE_ERROR: Final = -40002
ILLEGAL_AES_KEY: Final = -40004
RECEIVEID_ERROR: Final = -40005
DECRYPT_ERROR: Final = -40007
BUFFER_ERROR: Final = -40008
BASE64_ERROR: Final = -40010

# spec §1.8: callback bodies are a few KB; 64 KB is ample. The same cap bounds echostr.
MAX_BODY_BYTES: Final = 64 * 1024

_BLOCK: Final = 32  # spec §1.5: PKCS#7 to a multiple of 32 bytes, not 16
_AES_KEY_RE: Final = re.compile(r"[A-Za-z0-9]{43}")
_B64_RE: Final = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_PREFIX_ALPHABET: Final = string.ascii_letters + string.digits


class WeComCryptoError(Exception):
    """A callback could not be verified, decrypted or parsed.

    ``code`` is the WXBizMsgCrypt error code (spec §1.5); ``reason`` is a short fixed phrase
    that is safe to log (no secrets, no ciphertext, no plaintext).
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"WeCom crypto error {self.code}: {self.reason}"


def _secure_prefix() -> bytes:
    """16 random ASCII letters/digits from a CSPRNG (wechatpy uses ``random.sample``, §7.1)."""
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(16)).encode("ascii")


class _PrefixedPrpCrypto(PrpCrypto):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's encrypt layout with our choice of the 16-byte random prefix."""

    def __init__(self, key: bytes, prefix: Callable[[], bytes]) -> None:
        super().__init__(key)
        self._prefix = prefix

    def get_random_string(self) -> bytes:
        return self._prefix()


class WeComCrypto:
    """Signature, decryption and reply encryption for one WeCom app callback.

    ``corp_id`` is the ReceiveId: for an internal app it is the CorpID (spec §1.1).
    ``random_prefix`` exists for byte-exact tests against the official samples.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        corp_id: str,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        random_prefix: Callable[[], bytes] = _secure_prefix,
    ) -> None:
        if not token:
            raise WeComCryptoError(SIGNATURE_ERROR, "empty token")
        # spec §1.1: exactly 43 chars [A-Za-z0-9], Base64 of 32 bytes without the '='.
        if not isinstance(encoding_aes_key, str) or not _AES_KEY_RE.fullmatch(encoding_aes_key):
            raise WeComCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey must be 43 chars [A-Za-z0-9]")
        self._wechat = WeChatCrypto(token, encoding_aes_key, corp_id)
        if len(self._wechat.key) != 32:  # wechatpy only asserts (stripped under -O)
            raise WeComCryptoError(ILLEGAL_AES_KEY, "EncodingAESKey does not decode to 32 bytes")
        self._token = token.encode("utf-8")
        self._corp_id = corp_id.encode("utf-8")
        self._max_body = max_body_bytes
        self._prefix = random_prefix

    def __repr__(self) -> str:  # never show token or key
        return f"WeComCrypto(corp_id={self._corp_id.decode('utf-8', 'replace')!r})"

    # -- signature (spec §1.4) ------------------------------------------------------------

    def sign(self, timestamp: str | int, nonce: str, encrypt: str) -> str:
        """sha1 over the sorted (token, timestamp, nonce, encrypt), lowercase hex."""
        parts = sorted([self._token, str(timestamp).encode(), nonce.encode(), encrypt.encode()])
        return hashlib.sha1(b"".join(parts)).hexdigest()

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        try:
            expected = self.sign(timestamp, nonce, encrypt).encode("ascii")
            given = msg_signature.strip().lower().encode("ascii")
        except (UnicodeError, AttributeError, TypeError):
            raise WeComCryptoError(SIGNATURE_ERROR, "signature mismatch") from None
        # spec §1.4: constant-time comparison.
        if not hmac.compare_digest(expected, given):
            raise WeComCryptoError(SIGNATURE_ERROR, "signature mismatch")

    # -- GET: URL verification (spec §1.2) ------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Verify the signature over echostr and return its decrypted ``msg`` (the reply body)."""
        _require_params(msg_signature, timestamp, nonce, echostr)
        if len(echostr) > self._max_body:
            raise WeComCryptoError(BASE64_ERROR, "echostr too large")
        # spec §1.2: a literal '+' in a raw query string decodes to ' '; map it back.
        echostr = echostr.replace(" ", "+")
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        return self._decrypt(echostr)

    # -- POST: receive (spec §1.3) --------------------------------------------------------

    def decrypt(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Parse the envelope, verify the signature over Encrypt, decrypt, check the receiveid.

        Returns the plaintext XML (spec §2) as a str.
        """
        _require_params(msg_signature, timestamp, nonce)
        encrypt = self._envelope_encrypt(body)
        self._check_signature(msg_signature, timestamp, nonce, encrypt)
        return self._decrypt(encrypt)

    def _envelope_encrypt(self, body: bytes) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if len(body) > self._max_body:
            raise WeComCryptoError(PARSE_ERROR, "body too large")
        root = parse_xml(body)
        nodes = root.findall("Encrypt")
        if len(nodes) != 1:
            raise WeComCryptoError(PARSE_ERROR, "envelope needs exactly one Encrypt")
        text = (nodes[0].text or "").strip()
        if not text:
            raise WeComCryptoError(PARSE_ERROR, "empty Encrypt")
        return text

    # -- AES (spec §1.5) ------------------------------------------------------------------

    def _decrypt(self, encrypt: str) -> str:
        try:
            data = encrypt.strip().encode("ascii")
        except UnicodeError:
            raise WeComCryptoError(BASE64_ERROR, "ciphertext is not base64") from None
        if not data or not _B64_RE.fullmatch(data):
            raise WeComCryptoError(BASE64_ERROR, "ciphertext is not base64")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise WeComCryptoError(BASE64_ERROR, "ciphertext is not base64") from None
        # At least one 32-byte block, and whole AES blocks.
        if len(raw) < _BLOCK or len(raw) % 16:
            raise WeComCryptoError(DECRYPT_ERROR, "ciphertext length is not a valid AES-CBC length")
        try:
            plain: bytes = WeChatCipher(self._wechat.key).decrypt(raw)
        except Exception:
            raise WeComCryptoError(DECRYPT_ERROR, "AES decrypt failed") from None
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise WeComCryptoError(BUFFER_ERROR, "bad padding")
        content = plain[16:-pad]  # skip the 16 opaque random bytes (any bytes accepted)
        if len(content) < 4:
            raise WeComCryptoError(BUFFER_ERROR, "buffer too short")
        (msg_len,) = struct.unpack(">I", content[:4])  # network byte order
        if msg_len > len(content) - 4:
            raise WeComCryptoError(BUFFER_ERROR, "msg_len exceeds buffer")
        msg = content[4 : 4 + msg_len]
        receive_id = content[4 + msg_len :]
        if not hmac.compare_digest(receive_id, self._corp_id):
            raise WeComCryptoError(RECEIVEID_ERROR, "receiveid mismatch")
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError:
            raise WeComCryptoError(BUFFER_ERROR, "msg is not UTF-8") from None

    def encrypt(self, plaintext: str) -> str:
        """``msg_encrypt``: base64(AES-CBC(random16 ‖ len ‖ msg ‖ corp_id ‖ PKCS#7/32))."""
        pc = _PrefixedPrpCrypto(self._wechat.key, self._prefix)
        out: bytes = pc.encrypt(plaintext, self._wechat.corp_id)
        return out.decode("ascii")

    def encrypt_reply(self, plaintext: str, nonce: str, timestamp: str | int) -> str:
        """The full passive-reply envelope of spec §1.6 (Encrypt, MsgSignature, TimeStamp, Nonce)."""
        ts = str(timestamp)
        if not ts.isdigit():
            raise ValueError("timestamp must be decimal digits")
        if not nonce or "]]>" in nonce or not nonce.isascii():
            raise ValueError("nonce must be non-empty ASCII")
        encrypt = self.encrypt(plaintext)
        signature = self.sign(ts, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{ts}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )


def _require_params(*values: object) -> None:
    # A missing query parameter (None from request.query.get) cannot carry a valid signature.
    if any(not isinstance(v, str) or not v for v in values):
        raise WeComCryptoError(SIGNATURE_ERROR, "missing signature parameters")


def parse_xml(data: bytes | str) -> Element:
    """Parse untrusted XML with defusedxml: DTDs, entities and external references refused.

    Raises ``WeComCryptoError(-40002)`` for anything that is not a well-formed ``<xml>`` document.
    """
    try:
        root: Element = DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, TypeError):
        raise WeComCryptoError(PARSE_ERROR, "malformed or forbidden XML") from None
    if root.tag != "xml":
        raise WeComCryptoError(PARSE_ERROR, "root element is not <xml>")
    return root
