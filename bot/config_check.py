"""The whole configuration checked at once (``liuyan config check``; ``serve`` refuses to start
on any problem): one readable line per problem, each naming its key."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.domain.states import Role

if TYPE_CHECKING:  # bot.config calls back into this module when it loads a file
    from bot.config import Config


class ConfigProblems(Exception):
    """The configuration has problems; ``lines`` has one per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _repeated(values: Iterable[str | None]) -> list[str]:
    counts = Counter(v for v in values if v)
    return [v for v, n in counts.items() if n > 1]


def reference_problems(config: Config) -> list[str]:
    """Units and people: names, codes and ids unique, people's units exist."""
    lines: list[str] = []
    names = [u.name for u in config.units]
    lines += [f"units: 单位“{n}”重复 (duplicate unit name)" for n in _repeated(names)]
    lines += [f"units: 简称“{c}”被多个单位使用 (duplicate unit code)" for c in _repeated(u.code for u in config.units)]
    for i, u in enumerate(config.units):
        if u.code and u.code in names and u.code != u.name:
            lines.append(f"units[{i}].code: 简称“{u.code}”是另一个单位的名称 (code is another unit's name)")
    known = set(names)
    for i, person in enumerate(config.people):
        for unit in person.units:
            if unit not in known:
                lines.append(f"people[{i}].units: unknown unit {unit!r}")
        if {Role.HANDLER, Role.UNIT_LEADER} & set(person.roles) and not person.units:
            lines.append(f"people[{i}].units: a handler or unit leader needs a unit")
    categories = set(config.cases.categories)
    for section in ("routes", "transfer_to", "transfer_note"):
        for category in getattr(config.routing, section):
            if categories and category not in categories:
                lines.append(f"routing.{section}.{category}: 未知类型 (not in cases.categories)")
    for key, attr in (("wecom_userid", "wecom_userid"), ("dingtalk_userid", "dingtalk_userid")):
        for value in _repeated(getattr(p, attr) for p in config.people):
            owners = "、".join(p.name for p in config.people if getattr(p, attr) == value)
            lines.append(f"people.{key}: 账号 {value!r} 重复（{owners}）(ids must be unique)")
    return lines


def platform_problems(config: Config) -> list[str]:
    """Secrets an enabled platform cannot work without."""
    lines: list[str] = []
    wecom = config.wecom
    if wecom.enabled:
        for key in ("corp_id", "secret", "token", "encoding_aes_key"):
            if not getattr(wecom, key):
                lines.append(f"wecom.{key}: 企业微信已启用，但未设置 (required when wecom.enabled)")
        if not wecom.agent_id:
            lines.append("wecom.agent_id: 企业微信已启用，但未设置 (required when wecom.enabled)")
        if wecom.encoding_aes_key and len(wecom.encoding_aes_key) != 43:
            lines.append("wecom.encoding_aes_key: 应为43个字符 (must be 43 characters)")
    ding = config.dingtalk
    if ding.enabled:
        for key in ("client_id", "client_secret", "card_template_id"):
            if not getattr(ding, key):
                lines.append(f"dingtalk.{key}: 钉钉已启用，但未设置 (required when dingtalk.enabled)")
        if ding.mode == "http" and not ding.callback_token:
            lines.append("dingtalk.callback_token: 钉钉 HTTP 模式需要 (required when dingtalk.mode = 'http')")
    sandbox = config.sandbox
    if sandbox.enabled and (wecom.enabled or ding.enabled) and not sandbox.allow_with_platforms:
        lines.append(
            "sandbox.enabled: 模拟工作台不能与企业微信或钉钉同时启用，请关闭 [sandbox] enabled"
            "（确需同时使用时设 allow_with_platforms = true） (sandbox refused next to a real platform)"
        )
    return lines


def default_unit_problems(config: Config, db_units: Iterable[str] = ()) -> list[str]:
    """Every unit named by ``[cases] default_unit`` exists: in ``[[units]]`` (name or code) or among
    ``db_units`` (names and codes of the units in the database)."""
    known = {u.name for u in config.units} | {u.code for u in config.units if u.code} | set(db_units)
    return [
        f"cases.default_unit.{category}: 未知单位“{unit}” (unknown unit)"
        for category, unit in config.cases.default_unit.items()
        if unit not in known
    ]


def problems(config: Config, db_units: Iterable[str] = ()) -> list[str]:
    return reference_problems(config) + default_unit_problems(config, db_units) + platform_problems(config)


def token_problems(config: Config) -> list[str]:
    """The API token ``serve`` refuses (the example value, too short), as its one line."""
    from bot.api_token import refusal

    weak = refusal(config.api.token)
    return [weak] if weak is not None else []


async def startup_problems(config: Config, *, database_wait: float = 5.0) -> list[str]:
    """Every problem ``serve`` refuses to start on, all at once, one line each (``config check``
    prints the same): the API token, then the checks of :func:`problems`. The units already in the
    database count for ``[cases] default_unit`` when it can be read within ``database_wait``
    seconds; a database that does not exist yet is neither created nor waited for, and one that
    cannot be read leaves that check to ``serve`` once it has opened it."""
    url = existing_database(config)
    db_units: set[str] | None = None
    if url is not None:
        try:
            db_units = await asyncio.wait_for(database_units(url), database_wait)
        except TimeoutError:
            db_units = None
    lines = token_problems(config) + reference_problems(config)
    if url is None or db_units is not None:
        lines += default_unit_problems(config, db_units or ())
    return lines + platform_problems(config)


def existing_database(config: Config) -> str | None:
    """The configured database URL, or None for a SQLite file not created yet (``config check``
    never creates or migrates a database)."""
    from store.db import existing_url

    return existing_url(config.database.url, config.base_dir)


async def database_units(url: str) -> set[str] | None:
    """The unit names and codes in the database at ``url``, or None when it cannot be read."""
    from store import db
    from store import directory as rows

    engine = db.create_engine(url)
    try:
        async with db.sessionmaker(engine)() as session:
            return await rows.unit_names_and_codes(session)
    except Exception:  # no schema yet, unreachable server: the static checks still stand
        return None
    finally:
        await engine.dispose()
