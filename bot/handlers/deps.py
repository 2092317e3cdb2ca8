"""What every use case receives: injected, never imported as a singleton."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.calendar.service import CalendarHolder
from bot.clock import Clock
from bot.config import Config
from bot.domain.lifecycle import Actor
from bot.domain.states import State, TimelineKind
from store.db import Session, Sessions
from store.models import Case


@dataclass(frozen=True)
class CaseChange:
    """One recorded step of a case, handed to the notifier inside the same transaction."""

    case: Case
    action: TimelineKind
    actor: Actor
    at: datetime
    from_state: State | None = None
    to_state: State | None = None
    comment: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    async def case_changed(self, session: Session, change: CaseChange) -> None:
        """Queue (in the outbox, in ``session``'s transaction) whatever this change must tell people."""
        ...


class NullNotifier:
    async def case_changed(self, session: Session, change: CaseChange) -> None:
        return None


@dataclass
class Deps:
    config: Config
    sessions: Sessions
    clock: Clock
    calendar: CalendarHolder
    notifier: Notifier = field(default_factory=NullNotifier)
    #: the key of detail links, loaded once at start (bot/handlers/link_secret.py); empty: no links
    link_secret: bytes = b""
    #: pure reads (SQLite: never wait for another process's write lock); default ``sessions``
    reads: Sessions | None = None

    @property
    def read_sessions(self) -> Sessions:
        return self.reads if self.reads is not None else self.sessions
