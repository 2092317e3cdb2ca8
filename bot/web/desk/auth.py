"""Who is at the desk: password hashing, signed session cookies, CSRF tokens and the sign-in limit.

- Passwords: Argon2id (bot/handlers/accounts.py); a wrong user name costs the same time as a
  wrong password (a dummy hash is checked).
- Sessions: the cookie holds a random id signed with a key derived from the office's link secret
  (itsdangerous, timestamped: older than ``[desk] session_hours`` is refused even if the row
  survives); the database keeps only the id's SHA-256, the person, and the session's CSRF token.
  Cookie flags: HttpOnly, SameSite=Lax, Path=/desk/, Secure when ``public_url`` is https.
- CSRF: every POST carries the session's token (form field ``csrf`` or header ``X-CSRF-Token``);
  the sign-in form, before any session, carries a token bound to a signed pre-session cookie.
  A cross-site ``Origin`` is refused as well.
- Sign-in limit: ``[desk] max_failures`` wrong passwords per user name (4× per address) within
  ``lockout_minutes``; then the form answers 429 without checking the password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from bot.domain.lifecycle import Actor
from bot.handlers.accounts import check_password
from bot.handlers.deps import Deps
from store import desk as desk_store
from store import directory
from store.db import Session
from store.models import Person

COOKIE = "liuyan_desk"
PRE_COOKIE = "liuyan_desk_pre"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
PRE_SECONDS = 3600  # a sign-in form (or an OAuth round trip) must be completed within an hour
PER_ADDRESS = 4  # an address may fail this many times more than one user name


def session_key(token: str) -> str:
    """What the database keeps of a session id."""
    return hashlib.sha256(token.encode()).hexdigest()


def signing_key(deps: Deps) -> bytes:
    """The desk's own key, derived from the link secret (one secret to rotate, two uses apart)."""
    if not deps.link_secret:
        raise RuntimeError("the desk needs the link secret (bot/handlers/link_secret.py)")
    return hmac.new(deps.link_secret, b"liuyan desk session v1", hashlib.sha256).digest()


def _serializer(deps: Deps, salt: str) -> URLSafeTimedSerializer:
    """Signed and timestamped by the office clock (``deps.clock``), not the machine's."""
    clock = deps.clock

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return URLSafeTimedSerializer(signing_key(deps), salt=salt, signer=ClockSigner)


def sign_session(deps: Deps, token: str) -> str:
    return _serializer(deps, "desk-session").dumps(token)


def unsign_session(deps: Deps, value: str, now: datetime) -> str | None:
    """The session id in a cookie value, or None (forged, altered or too old)."""
    max_age = deps.config.desk.session_hours * 3600
    try:
        token = _serializer(deps, "desk-session").loads(value, max_age=max_age, return_timestamp=False)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def new_pre(deps: Deps) -> tuple[str, str]:
    """A pre-session nonce and its signed cookie value (the sign-in form's CSRF token and the
    OAuth ``state``)."""
    nonce = secrets.token_urlsafe(24)
    return nonce, _serializer(deps, "desk-pre").dumps(nonce)


def pre_nonce(deps: Deps, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        nonce = _serializer(deps, "desk-pre").loads(cookie, max_age=PRE_SECONDS)
    except BadSignature:
        return None
    return nonce if isinstance(nonce, str) else None


def same_token(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class Visitor:
    """The signed-in person of a request."""

    key: str  # the session's key (sha256 of the cookie's id)
    person: Person
    actor: Actor
    csrf: str
    via: str


async def start_session(
    deps: Deps, session: Session, person: Person, via: str, account_id: int | None = None
) -> tuple[str, str]:
    """A new session for ``person`` (in the caller's transaction) → (cookie value, csrf)."""
    now = deps.clock.now()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await desk_store.add_session(
        session,
        key=session_key(token),
        person_id=person.id,
        account_id=account_id,
        via=via,
        csrf=csrf,
        now=now,
        expires_at=now + timedelta(hours=deps.config.desk.session_hours),
    )
    return sign_session(deps, token), csrf


async def visitor(deps: Deps, session: Session, cookie: str | None) -> Visitor | None:
    """Who the cookie signs in, now: the session must be live and the person active."""
    if not cookie:
        return None
    now = deps.clock.now()
    token = unsign_session(deps, cookie, now)
    if token is None:
        return None
    key = session_key(token)
    row = await desk_store.live_session(session, key, now)
    if row is None:
        return None
    person = await directory.person_by_id(session, row.person_id)
    if person is None or not person.active:
        return None
    actor = await directory.actor_for(session, person)
    return Visitor(key=key, person=person, actor=actor, csrf=row.csrf, via=row.via)


@dataclass(frozen=True)
class SignIn:
    person: Person | None = None
    account_id: int | None = None
    locked_minutes: int = 0  # > 0: too many failures, try again later


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"addr:{address}"


async def password_sign_in(deps: Deps, session: Session, username: str, password: str, address: str) -> SignIn:
    """Check a user name and password (in the caller's transaction), counting failures."""
    cfg = deps.config.desk
    now = deps.clock.now()
    since = now - timedelta(minutes=cfg.lockout_minutes)
    user_key, addr_key = _keys(username, address)
    if (
        await desk_store.failures_since(session, user_key, since) >= cfg.max_failures
        or await desk_store.failures_since(session, addr_key, since) >= cfg.max_failures * PER_ADDRESS
    ):
        return SignIn(locked_minutes=cfg.lockout_minutes)
    account = await desk_store.account_by_username(session, username.strip())
    ok = check_password(account.password_hash if account else None, password)
    person = await directory.person_by_id(session, account.person_id) if account and ok else None
    if account is None or not ok or not account.active or person is None or not person.active:
        await desk_store.record_failure(session, [user_key, addr_key], now)
        return SignIn()
    await desk_store.clear_failures(session, user_key)
    return SignIn(person=person, account_id=account.id)
