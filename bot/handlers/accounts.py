"""Local desk accounts (办理台账号): a user name and an Argon2id password hash, linked to a person
of the directory, for admins and for offices without WeCom or DingTalk (`liuyan account …`)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.domain.errors import UserError
from bot.handlers.deps import Deps
from bot.handlers.directory import find_person
from store import desk as desk_store
from store.models import DeskAccount

MIN_PASSWORD = 10
MAX_USERNAME = 64

_hasher = PasswordHasher()  # Argon2id with argon2-cffi's defaults (RFC 9106, second recommendation)
_DUMMY = _hasher.hash("liuyan-desk-dummy-password")


class AccountError(UserError):
    def __init__(self, message: str, field: str = "username") -> None:
        super().__init__("account", message, field=field)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符", field="password")
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with None (no such account) the same work is done,
    so a wrong user name takes as long as a wrong password."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _username(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_USERNAME or any(c.isspace() for c in name):
        raise AccountError(f"用户名须为 1–{MAX_USERNAME} 个字符，且不含空格")
    return name


async def add_account(deps: Deps, username: str, person: str, password: str) -> DeskAccount:
    """A new account for ``person`` (name or id of the directory)."""
    name = _username(username)
    hashed = hash_password(password)
    async with deps.sessions() as session, session.begin():
        if await desk_store.account_by_username(session, name) is not None:
            raise AccountError(f"用户名“{name}”已存在（改密码：liuyan account passwd {name}）")
        who = await find_person(session, person)
        return await desk_store.add_account(session, name, who.id, hashed, now=deps.clock.now())


async def change_password(deps: Deps, username: str, password: str) -> None:
    """A new password; every session of the account ends."""
    hashed = hash_password(password)
    async with deps.sessions() as session, session.begin():
        account = await desk_store.account_by_username(session, username.strip())
        if account is None:
            raise AccountError(f"没有用户名为“{username}”的账号")
        await desk_store.set_password(session, account.id, hashed, now=deps.clock.now())


async def set_active(deps: Deps, username: str, active: bool) -> None:
    async with deps.sessions() as session, session.begin():
        account = await desk_store.account_by_username(session, username.strip())
        if account is None:
            raise AccountError(f"没有用户名为“{username}”的账号")
        await desk_store.set_account_active(session, account.id, active)
