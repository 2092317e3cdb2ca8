"""HTTP-mode callback signature (spec §b.2) and custom-robot 加签 (spec §e)."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from bot.platforms.dingtalk.sign import (
    MAX_SKEW_MS,
    DingTalkSignError,
    compute_sign,
    signed_webhook_url,
    verify_callback,
    webhook_sign,
)
from tests.fakes.fake_dingtalk import FakeDingTalk

# spec §b.2: the official sample inputs and their signature
OFFICIAL_TS = "1577262236757"
OFFICIAL_SECRET = "this is a secret"
OFFICIAL_SIGN = "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA="


def at(ms: int) -> float:
    """A clock frozen at ``ms`` (epoch milliseconds)."""
    return ms / 1000


def test_official_vector() -> None:
    assert compute_sign(OFFICIAL_TS, OFFICIAL_SECRET) == OFFICIAL_SIGN


def test_official_vector_verifies() -> None:
    verify_callback(OFFICIAL_TS, OFFICIAL_SIGN, OFFICIAL_SECRET, now=lambda: at(int(OFFICIAL_TS)))


@pytest.mark.parametrize("offset", [0, 1, -1, MAX_SKEW_MS, -MAX_SKEW_MS])
def test_clock_skew_within_one_hour_is_accepted(offset: int) -> None:
    verify_callback(OFFICIAL_TS, OFFICIAL_SIGN, OFFICIAL_SECRET, now=lambda: at(int(OFFICIAL_TS) + offset))


@pytest.mark.parametrize("offset", [MAX_SKEW_MS + 1, -MAX_SKEW_MS - 1, 86_400_000, -86_400_000 * 365])
def test_stale_or_future_timestamps_are_refused(offset: int) -> None:
    with pytest.raises(DingTalkSignError, match="skew"):
        verify_callback(OFFICIAL_TS, OFFICIAL_SIGN, OFFICIAL_SECRET, now=lambda: at(int(OFFICIAL_TS) + offset))


def test_custom_skew() -> None:
    def now() -> float:
        return at(int(OFFICIAL_TS) + 61_000)

    verify_callback(OFFICIAL_TS, OFFICIAL_SIGN, OFFICIAL_SECRET, now=now)
    with pytest.raises(DingTalkSignError):
        verify_callback(OFFICIAL_TS, OFFICIAL_SIGN, OFFICIAL_SECRET, now=now, max_skew_ms=60_000)


@pytest.mark.parametrize(
    ("timestamp", "sign", "secret", "reason"),
    [
        (OFFICIAL_TS, OFFICIAL_SIGN, "another secret", "mismatch"),
        (OFFICIAL_TS, "E" + OFFICIAL_SIGN[1:], OFFICIAL_SECRET, "mismatch"),
        (OFFICIAL_TS, "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA%3D", OFFICIAL_SECRET, "mismatch"),  # URL-encoded
        (OFFICIAL_TS, "", OFFICIAL_SECRET, "missing sign"),
        (OFFICIAL_TS, None, OFFICIAL_SECRET, "missing sign"),
        ("", OFFICIAL_SIGN, OFFICIAL_SECRET, "missing timestamp"),
        (None, OFFICIAL_SIGN, OFFICIAL_SECRET, "missing timestamp"),
        ("1577262236757.0", OFFICIAL_SIGN, OFFICIAL_SECRET, "not a millisecond"),
        ("-1577262236757", OFFICIAL_SIGN, OFFICIAL_SECRET, "not a millisecond"),
        ("１５７７２６２２３６７５７", OFFICIAL_SIGN, OFFICIAL_SECRET, "not a millisecond"),  # full-width digits
        ("9" * 40, OFFICIAL_SIGN, OFFICIAL_SECRET, "not a millisecond"),
        (OFFICIAL_TS, "签名" * 10, OFFICIAL_SECRET, "malformed"),
        (OFFICIAL_TS, "A" * 5000, OFFICIAL_SECRET, "malformed"),
        (OFFICIAL_TS, OFFICIAL_SIGN, "", "no app secret"),
    ],
)
def test_bad_headers_are_refused(timestamp: str | None, sign: str | None, secret: str, reason: str) -> None:
    with pytest.raises(DingTalkSignError, match=reason) as exc:
        verify_callback(timestamp, sign, secret, now=lambda: at(int(OFFICIAL_TS)))
    assert OFFICIAL_SECRET not in str(exc.value) and OFFICIAL_SIGN not in str(exc.value)


def test_surrounding_whitespace_in_headers_is_tolerated() -> None:
    verify_callback(f" {OFFICIAL_TS} ", f"{OFFICIAL_SIGN}\n", OFFICIAL_SECRET, now=lambda: at(int(OFFICIAL_TS)))


def test_chinese_secret_is_utf8() -> None:
    sign = compute_sign("1700000000000", "密钥secret")
    verify_callback("1700000000000", sign, "密钥secret", now=lambda: 1_700_000_000.0)


def test_fake_signed_callbacks_cross_check() -> None:
    """The fake signs with its own HMAC code; our verifier must accept exactly its good requests."""
    fake = FakeDingTalk()
    msg = fake.robot_message("zhangsan", "签收 LY-2026-0001")
    good = fake.signed_callback(msg)
    verify_callback(good.headers["timestamp"], good.headers["sign"], fake.client_secret, now=fake.clock)
    for bad in (
        fake.signed_callback(msg, secret="leaked-or-wrong"),
        fake.signed_callback(msg, sign="x" + good.headers["sign"][1:]),
        fake.signed_callback(msg, timestamp_ms=fake.now_ms - MAX_SKEW_MS - 1),
    ):
        with pytest.raises(DingTalkSignError):
            verify_callback(bad.headers["timestamp"], bad.headers["sign"], fake.client_secret, now=fake.clock)
    # a replay of the good request an hour later is stale
    fake.advance(3601)
    with pytest.raises(DingTalkSignError, match="skew"):
        verify_callback(good.headers["timestamp"], good.headers["sign"], fake.client_secret, now=fake.clock)


# -- custom robot 加签 (spec §e) -----------------------------------------------------------------------


def test_webhook_sign_is_the_url_encoded_primitive() -> None:
    assert webhook_sign(OFFICIAL_SECRET, int(OFFICIAL_TS)) == "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA%3D"
    sec = "SEC" + "0123456789abcdef" * 4
    for ts in (1_700_000_000_000, 1_577_262_236_757, 1_800_000_000_123):
        value = webhook_sign(sec, ts)
        assert "+" not in value and "/" not in value and "=" not in value  # all percent-encoded
        assert unquote_plus(value) == compute_sign(str(ts), sec)


def test_signed_webhook_url() -> None:
    url = signed_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=abc", "SECxyz", 1_700_000_000_000)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert query["access_token"] == ["abc"] and query["timestamp"] == ["1700000000000"]
    assert query["sign"] == [compute_sign("1700000000000", "SECxyz")]  # parse_qs decodes it
    assert signed_webhook_url("https://x/robot/send", "SECxyz", 1).startswith("https://x/robot/send?timestamp=1&sign=")
    with pytest.raises(ValueError):
        webhook_sign("", 1)
