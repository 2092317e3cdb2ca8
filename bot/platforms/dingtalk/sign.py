"""DingTalk signatures: HTTP-mode robot callbacks (spec §b.2) and custom-robot 加签 (spec §e).

Both use the same primitive, ``base64(HmacSHA256(key=secret, msg=timestamp + "\\n" + secret))``
with the timestamp in milliseconds:

* **callbacks** — DingTalk sends ``timestamp`` and ``sign`` headers (standard base64, *not*
  URL-encoded) signed with the app's Client Secret; both the signature and a clock skew of at
  most one hour must hold (spec §b.2). The skew is a wide replay window: callers also dedupe on
  ``msgId`` (``bot.platforms.dingtalk.events.dedupe_key``).
* **custom group robot** — we add ``timestamp`` and ``sign`` (URL-encoded, as the official
  sample does with ``urllib.parse.quote_plus``) to the webhook URL, signed with the robot's
  ``SEC...`` secret (spec §e).

How DingTalk authenticates HTTP *card* callbacks is not documented (spec §d.4, §k): nothing
here claims to verify them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Final
from urllib.parse import quote_plus

__all__ = [
    "MAX_SKEW_MS",
    "DingTalkSignError",
    "compute_sign",
    "signed_webhook_url",
    "verify_callback",
    "webhook_sign",
]

#: spec §b.2 / §e: a timestamp more than one hour from local time is illegal.
MAX_SKEW_MS: Final = 3_600_000
_MAX_TS_DIGITS: Final = 16  # ms since epoch has 13 digits until the year 2286
_MAX_SIGN_LEN: Final = 128  # a SHA-256 digest in base64 is 44 characters


class DingTalkSignError(Exception):
    """A callback failed verification. ``reason`` is safe to log (no secret, no signature)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compute_sign(timestamp: str, secret: str) -> str:
    """``base64(HmacSHA256(secret, timestamp + "\\n" + secret))`` — UTF-8, standard base64."""
    key = secret.encode()
    digest = hmac.new(key, f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _parse_timestamp(timestamp: str | None) -> int:
    if not timestamp:
        raise DingTalkSignError("missing timestamp")
    ts = timestamp.strip()
    if not ts or len(ts) > _MAX_TS_DIGITS or not ts.isascii() or not ts.isdigit():
        raise DingTalkSignError("timestamp is not a millisecond number")
    return int(ts)


def verify_callback(
    timestamp: str | None,
    sign: str | None,
    app_secret: str,
    *,
    now: Callable[[], float] = time.time,
    max_skew_ms: int = MAX_SKEW_MS,
) -> None:
    """Check the ``timestamp``/``sign`` headers of an HTTP-mode robot callback (spec §b.2).

    ``now`` returns unix seconds (inject a clock in tests). Raises :class:`DingTalkSignError`
    when a header is missing or malformed, the timestamp is more than ``max_skew_ms`` away
    from ``now`` (in either direction), or the signature does not match. The comparison is
    constant-time.
    """
    if not app_secret:
        raise DingTalkSignError("no app secret configured")
    ts = _parse_timestamp(timestamp)
    if not sign:
        raise DingTalkSignError("missing sign")
    if len(sign) > _MAX_SIGN_LEN or not sign.isascii():
        raise DingTalkSignError("malformed sign")
    now_ms = int(now() * 1000)
    if abs(now_ms - ts) > max_skew_ms:
        raise DingTalkSignError("timestamp outside the allowed clock skew")
    # timestamp is used exactly as sent (its digits), like DingTalk's own check
    expected = compute_sign(timestamp.strip() if timestamp else "", app_secret)
    if not hmac.compare_digest(expected.encode("ascii"), sign.strip().encode("ascii")):
        raise DingTalkSignError("sign mismatch")


def webhook_sign(secret: str, timestamp_ms: int) -> str:
    """The URL-encoded ``sign`` query value for a custom robot with 加签 (spec §e)."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    return quote_plus(compute_sign(str(int(timestamp_ms)), secret))


def signed_webhook_url(url: str, secret: str, timestamp_ms: int) -> str:
    """``url`` with ``&timestamp=<ms>&sign=<urlencoded sign>`` appended (spec §e).

    The result contains the robot's ``access_token``: never log it.
    """
    sep = "&" if "?" in url else "?"
    ts = str(int(timestamp_ms))
    return f"{url}{sep}timestamp={ts}&sign={webhook_sign(secret, int(ts))}"
