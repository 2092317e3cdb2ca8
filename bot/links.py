"""Signed, expiring links to a case's detail page, bound to the person they were sent to.

A card carries ``{public_url}/cases/{number}/view?p={person_id}&e={expires}&s={sig}``. The
signature covers the case number, the recipient's person id and the expiry instant, so a link
forwarded to someone else still shows only what its recipient may see, and a changed number,
person or expiry is refused. ``expires`` is a Unix timestamp (seconds, UTC).

Pure apart from ``hmac``/``hashlib``: the secret and the current time are always parameters. The
secret is its own (bot/handlers/link_secret.py: ``[server] link_secret`` or a value generated at
first start and kept in the database), never derived from the API token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, urlencode

#: Domain separation: a signature for this page cannot be replayed as any other token.
_SIGN_CONTEXT = b"liuyan/detail-link/v1"


class LinkError(Exception):
    """A link that must be refused. ``reason`` is ``"expired"`` or ``"invalid"``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign_link(secret: bytes, number: str, person_id: int, expires: int) -> str:
    """HMAC-SHA256 over (number, person id, expiry), URL-safe base64 without padding (43 chars)."""
    message = b"\n".join(
        [_SIGN_CONTEXT, number.encode("utf-8"), str(int(person_id)).encode(), str(int(expires)).encode()]
    )
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def verify_link(
    secret: bytes, number: str, person_id: int, expires: int, sig: str, now: int, *, max_ttl_hours: int
) -> None:
    """Raise ``LinkError("invalid")`` when the signature does not match (constant-time compare) or
    the expiry lies further ahead than any link is issued for (``max_ttl_hours`` from ``now``:
    ``[server] link_ttl_hours``), ``LinkError("expired")`` when it matches but ``now`` (Unix
    seconds) is past ``expires``.

    The signature is checked first, so "expired" is only ever said about a genuine link."""
    if not 0 <= int(expires) <= int(now) + int(max_ttl_hours) * 3600:
        raise LinkError("invalid")  # never issued like this (and keeps datetime conversions in range)
    expected = sign_link(secret, number, person_id, expires).encode("ascii")
    try:
        given = sig.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise LinkError("invalid") from None
    if not hmac.compare_digest(expected, given):
        raise LinkError("invalid")
    if int(now) > int(expires):
        raise LinkError("expired")


def detail_url(public_url: str, secret: bytes, number: str, person_id: int, now: int, ttl_hours: int) -> str:
    """The signed detail-page link for ``person_id``, valid for ``ttl_hours`` hours from ``now``
    (Unix seconds)."""
    expires = int(now) + int(ttl_hours) * 3600
    query = urlencode({"p": int(person_id), "e": expires, "s": sign_link(secret, number, person_id, expires)})
    return f"{public_url.rstrip('/')}/cases/{quote(number, safe='')}/view?{query}"
