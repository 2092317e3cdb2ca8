"""For the calendar-change tests (use cases and chat): an admin, the Wednesday whose status they
change, and a second process on the same database."""

from __future__ import annotations

from datetime import date

from bot.calendar.service import CalendarHolder, load_calendar
from bot.clock import ManualClock
from bot.domain.lifecycle import Actor
from bot.domain.states import Role
from bot.handlers.deps import Deps
from store import db
from tests.conftest import make_config

ADMIN = Actor(name="管理员", roles=frozenset({Role.ADMIN}))
WED = date(2026, 11, 4)


async def second_process(db_url: str, clock: ManualClock) -> tuple[Deps, object]:
    """Another process on the same database (no reset)."""
    config = make_config(db_url)
    engine = db.create_engine(db_url)
    sessions = db.sessionmaker(engine)
    async with sessions() as session:
        calendar = await load_calendar(session, config.calendar.overrides())
    return Deps(config, sessions, clock, CalendarHolder(calendar, config.calendar.overrides())), engine
