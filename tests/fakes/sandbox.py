"""Helpers for the sandbox tests: a runtime with ``[sandbox] enabled`` (the directory of
tests/conftest.py), and stepping its worker and sender by hand until the messages are shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import Runtime
from bot.clock import ManualClock
from store import directory
from tests.conftest import make_config

SANDBOX = "[sandbox]\nenabled = true\n"


async def start_sandbox(db_url: str, clock: ManualClock, extra: str = "") -> Runtime:
    runtime = await Runtime.start(make_config(db_url, SANDBOX + extra), clock=clock)
    if runtime.engine.dialect.name == "postgresql":
        from bot.handlers.directory import bootstrap_from_config
        from tests.conftest import truncate_all

        await truncate_all(runtime.engine)
        await bootstrap_from_config(runtime.deps)
    return runtime


async def settle(runtime: Runtime, rounds: int = 6) -> None:
    """Process stored events and deliver queued messages until nothing is left."""
    for _ in range(rounds):
        worked = await runtime.channels.worker.run_once()
        worked += await runtime.channels.sender.run_once()
        if not worked:
            return


async def person_id(runtime: Runtime, wecom_userid: str) -> int:
    async with runtime.deps.sessions() as session:
        person = await directory.person_by_platform(session, "wecom", wecom_userid)
        assert person is not None
        return person.id


# --- a real browser ----------------------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
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
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1, "locale": "zh-CN"}


def shot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
