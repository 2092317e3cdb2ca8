"""The one clock of the tests (bot.clock.ManualClock)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.clock import ManualClock


def test_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == datetime(2026, 11, 2, 1, 0, tzinfo=UTC) and clock.now().tzinfo is UTC
    start = clock()
    clock.advance(7200 - 301)
    clock.advance(minutes=1, seconds=1)
    assert clock() - start == 7200 - 240
    assert clock.now() == datetime(2026, 11, 2, 2, 56, tzinfo=UTC)
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    assert clock() == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert ManualClock().now() == ManualClock.START
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 1, 1))


def test_no_other_clock_class_in_the_tests() -> None:
    tests = Path(__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(tests)}:{node.name}"
        for path in tests.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Clock")
    ]
    assert found == []


def test_the_sandbox_clock_is_its_base_moved_forward() -> None:
    from bot.clock import OffsetClock

    base = ManualClock()
    clock = OffsetClock(base, 3600)
    assert clock.now() == base.now() + timedelta(hours=1)
    base.advance(minutes=5)
    clock.offset += 86400
    assert clock.now() == base.now() + timedelta(hours=25)
