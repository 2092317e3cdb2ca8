"""For the detail-page tests (HTTP and a real headless Chromium): a case with a long text and a
contact, a runtime on the test database, the link a card would carry, and the browser."""

from __future__ import annotations

from bot.app import Runtime
from bot.clock import ManualClock
from bot.links import detail_url
from store import directory
from tests.conftest import make_config
from tests.fakes.api import AUTH
from tests.fakes.browser import chromium_or_skip

__all__ = [
    "AUTH",
    "CASE",
    "CHROMIUM_ARGS",
    "CONTACT",
    "card_link",
    "chromium_or_skip",
    "long_content",
    "person_id_of",
    "start_runtime",
]

CONTACT = "13800138000"
CASE = {
    "title": "某公司拖欠工资三个月",
    "content": "公司已经三个月没有发工资。\n第二行：请尽快处理。",
    "unit": "区人社局",
    "level": "市级",
    "source": "人民网·地方领导留言板",
    "source_ref": "RMW-7001",
    "petitioner": "李四",
    "contact": CONTACT,
    "category": "欠薪欠资",
    "received_at": "2026-11-01T20:00:00+08:00",
}


async def start_runtime(db_url: str, clock: ManualClock) -> Runtime:
    runtime = await Runtime.start(make_config(db_url), clock=clock)
    if runtime.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config
        from tests.conftest import truncate_all

        await truncate_all(runtime.engine)
        await bootstrap_from_config(runtime.deps)
    return runtime


async def person_id_of(runtime: Runtime, wecom_userid: str) -> int:
    async with runtime.deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", wecom_userid)
        assert person is not None
        return person.id


def card_link(runtime: Runtime, number: str, person_id: int, base: str = "") -> str:
    """The link a card would carry (relative to ``base``), made at the runtime clock's now."""
    cfg = runtime.config
    now = int(runtime.deps.clock.now().timestamp())
    url = detail_url("http://bot.invalid", runtime.deps.link_secret, number, person_id, now, cfg.server.link_ttl_hours)
    return base + url.removeprefix("http://bot.invalid")


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def long_content() -> str:
    lines = [
        f"第{i}条：我们小区自今年三月起多次反映物业公司违规收费、电梯长期停运、消防通道被占用等问题，至今没有得到解决。"
        for i in range(1, 12)
    ]
    lines.insert(5, "相关票据编号：NO20261101ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz")
    lines.append("恳请有关部门尽快协调处理，给群众一个明确答复。")
    text = "\n".join(lines)
    assert len(text) >= 600
    return text
