"""Clocks are injected; tests freeze them instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to — the one clock of the tests and benchmarks.

    ``now()`` serves as the office ``Clock``; calling the clock gives seconds on the same time
    line, for a platform client's ``monotonic`` (token expiry, pacing)."""

    START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # a Monday morning in the office

    def __init__(self, at: datetime | None = None) -> None:
        at = self.START if at is None else at
        if at.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def __call__(self) -> float:
        return self._now.timestamp()

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move forward by ``seconds`` and/or ``timedelta`` keywords (``minutes=31``, ``days=3``)."""
        self._now += timedelta(seconds=seconds, **delta)


class OffsetClock:
    """The sandbox's office clock: another clock moved forward by ``offset`` seconds (the
    rehearsal's 拨快时钟). Never used in production: ``bot.app`` builds it only when
    ``[sandbox] enabled`` and no real platform is (their signatures check our time)."""

    def __init__(self, base: Clock, offset: float = 0.0) -> None:
        self.base = base
        self.offset = offset

    def now(self) -> datetime:
        return self.base.now() + timedelta(seconds=self.offset)
