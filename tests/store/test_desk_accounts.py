"""Desk accounts, sessions, form tokens and the sign-in limit, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.domain.errors import UserError
from bot.handlers.accounts import add_account, change_password, check_password, hash_password, set_active
from bot.handlers.deps import Deps
from bot.handlers.directory import set_active as set_person_active
from bot.web.desk import auth
from store import desk as desk_store
from store import directory

PASSWORD = "correct horse battery"


@pytest.fixture
def desk_deps(deps: Deps) -> Deps:
    deps.link_secret = b"k" * 32
    return deps


async def _sign_in(deps: Deps, username: str, password: str, address: str = "10.0.0.1") -> auth.SignIn:
    async with deps.sessions() as session, session.begin():
        return await auth.password_sign_in(deps, session, username, password, address)


async def _cookie(deps: Deps, username: str) -> str:
    result = await _sign_in(deps, username, PASSWORD)
    assert result.person is not None
    async with deps.sessions() as session, session.begin():
        cookie, _ = await auth.start_session(deps, session, result.person, "password", result.account_id)
    return cookie


async def _visitor(deps: Deps, cookie: str | None) -> auth.Visitor | None:
    async with deps.sessions() as session:
        return await auth.visitor(deps, session, cookie)


def test_passwords_are_hashed_with_argon2id() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert check_password(stored, PASSWORD)
    assert not check_password(stored, PASSWORD + "x")
    assert not check_password(None, PASSWORD)  # no account: refused (after the same work)
    assert not check_password("not a hash", PASSWORD)
    with pytest.raises(UserError):
        hash_password("short")


async def test_account_signs_in_as_its_person(desk_deps: Deps) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    with pytest.raises(UserError, match="已存在"):
        await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    with pytest.raises(UserError):
        await add_account(desk_deps, "nobody", "查无此人", PASSWORD)
    cookie = await _cookie(desk_deps, "qian")
    visitor = await _visitor(desk_deps, cookie)
    assert visitor is not None and visitor.person.name == "钱登记"
    assert "dispatcher" in {r.value for r in visitor.actor.roles}
    assert (await _sign_in(desk_deps, "qian", "wrong password")).person is None
    assert (await _sign_in(desk_deps, "nobody", PASSWORD)).person is None


async def test_the_database_keeps_only_a_hash_of_the_session_id(desk_deps: Deps) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    cookie = await _cookie(desk_deps, "qian")
    token = auth.unsign_session(desk_deps, cookie, desk_deps.clock.now())
    assert token is not None
    async with desk_deps.sessions() as session:
        assert await desk_store.live_session(session, token, desk_deps.clock.now()) is None
        assert await desk_store.live_session(session, auth.session_key(token), desk_deps.clock.now()) is not None


async def test_forged_altered_and_old_cookies_sign_nobody_in(desk_deps: Deps, clock: ManualClock) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    cookie = await _cookie(desk_deps, "qian")
    assert await _visitor(desk_deps, cookie) is not None
    body, _, signature = cookie.rpartition(".")
    assert await _visitor(desk_deps, f"{body}.{signature[::-1]}") is None
    assert await _visitor(desk_deps, "x" + cookie) is None
    assert await _visitor(desk_deps, None) is None
    other = Deps(**{**desk_deps.__dict__, "link_secret": b"another office's secret!!!!!!!!"})
    assert await _visitor(other, cookie) is None  # signed with another key
    clock.advance(desk_deps.config.desk.session_hours * 3600 + 1)
    assert await _visitor(desk_deps, cookie) is None


async def test_a_new_password_or_a_disabled_account_ends_sessions(desk_deps: Deps) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    cookie = await _cookie(desk_deps, "qian")
    await change_password(desk_deps, "qian", "another long password")
    assert await _visitor(desk_deps, cookie) is None
    assert (await _sign_in(desk_deps, "qian", PASSWORD)).person is None
    assert (await _sign_in(desk_deps, "qian", "another long password")).person is not None
    cookie = await _cookie_with(desk_deps, "qian", "another long password")
    await set_active(desk_deps, "qian", False)
    assert await _visitor(desk_deps, cookie) is None
    assert (await _sign_in(desk_deps, "qian", "another long password")).person is None


async def _cookie_with(deps: Deps, username: str, password: str) -> str:
    result = await _sign_in(deps, username, password)
    assert result.person is not None
    async with deps.sessions() as session, session.begin():
        cookie, _ = await auth.start_session(deps, session, result.person, "password", result.account_id)
    return cookie


async def test_a_deactivated_person_is_signed_out(desk_deps: Deps) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    cookie = await _cookie(desk_deps, "qian")
    async with desk_deps.sessions() as session, session.begin():
        await set_person_active(session, "钱登记", False)
    assert await _visitor(desk_deps, cookie) is None


async def test_sign_in_limit_per_user_name_and_per_address(desk_deps: Deps, clock: ManualClock) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    await add_account(desk_deps, "sun", "孙督查", PASSWORD)
    limit = desk_deps.config.desk.max_failures
    for _ in range(limit):
        assert (await _sign_in(desk_deps, "qian", "wrong one")).locked_minutes == 0
    locked = await _sign_in(desk_deps, "qian", PASSWORD)
    assert locked.person is None and locked.locked_minutes == desk_deps.config.desk.lockout_minutes
    assert (await _sign_in(desk_deps, "QIAN ", PASSWORD)).locked_minutes  # the same user name, typed otherwise
    # another user name from another address is not held up
    assert (await _sign_in(desk_deps, "sun", PASSWORD, address="10.0.0.2")).person is not None
    clock.advance(desk_deps.config.desk.lockout_minutes * 60 + 1)
    assert (await _sign_in(desk_deps, "qian", PASSWORD)).person is not None
    # one address guessing many user names is held up too
    for i in range(limit * auth.PER_ADDRESS):
        await _sign_in(desk_deps, f"guess{i}", "x", address="10.9.9.9")
    assert (await _sign_in(desk_deps, "sun", PASSWORD, address="10.9.9.9")).locked_minutes


async def test_form_tokens(desk_deps: Deps, clock: ManualClock) -> None:
    nonce, signed = auth.new_pre(desk_deps)
    assert auth.pre_nonce(desk_deps, signed) == nonce
    # change a character in the middle of the signature: the last base64 character carries
    # unused low bits, so changing only it may leave the decoded signature the same
    mid = len(signed) - 10
    assert auth.pre_nonce(desk_deps, signed[:mid] + ("A" if signed[mid] != "A" else "B") + signed[mid + 1 :]) is None
    assert auth.pre_nonce(desk_deps, None) is None
    assert auth.same_token(nonce, nonce)
    assert not auth.same_token(nonce, nonce + "x")
    assert not auth.same_token(None, None) and not auth.same_token("", "")
    clock.advance(timedelta(seconds=auth.PRE_SECONDS + 1).total_seconds())
    assert auth.pre_nonce(desk_deps, signed) is None
    # each session has its own CSRF token
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    first = await _visitor(desk_deps, await _cookie(desk_deps, "qian"))
    second = await _visitor(desk_deps, await _cookie(desk_deps, "qian"))
    assert first is not None and second is not None and first.csrf != second.csrf


async def test_expired_sessions_are_pruned(desk_deps: Deps, clock: ManualClock) -> None:
    await add_account(desk_deps, "qian", "钱登记", PASSWORD)
    await _cookie(desk_deps, "qian")
    clock.advance(desk_deps.config.desk.session_hours * 3600 + 1)
    async with desk_deps.sessions() as session, session.begin():
        assert await desk_store.prune_sessions(session, clock.now()) == 1
    async with desk_deps.sessions() as session:
        person = await directory.person_by_name(session, "钱登记")
        assert person
