"""The neutral types of bot/ports.py."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.cards.models import Card
from bot.ports import Image, Inbound, Outgoing


def test_inbound_round_trips_through_its_stored_payload() -> None:
    event = Inbound("wecom", "zhangsan", "click", 1, key="k", task_id="T", reply_ref="rc", extra={"a": [1]})
    assert Inbound.from_payload(json.loads(json.dumps(event.to_payload()))) == event
    assert "response_code" not in event.to_payload()  # no platform-only field in the neutral type


def test_inbound_payload_is_every_field_as_asdict_gives_it() -> None:
    """to_payload is written out by hand (it runs once per callback): a field added to Inbound
    must be added there too, in the same order (the stored JSON stays byte for byte the same)."""
    event = Inbound("wecom", "u", "click", 7, text="t", key="k", task_id="T", reply_ref="rc", extra={"a": [1]})
    payload = event.to_payload()
    assert list(payload.items()) == list(dataclasses.asdict(event).items())
    payload["extra"]["a"].append(2)  # a copy, as asdict's
    assert event.extra == {"a": [1]}
    assert Inbound("wecom", "u", "text", 1).to_payload() == dataclasses.asdict(Inbound("wecom", "u", "text", 1))


def test_events_stored_before_the_rename_still_load() -> None:
    old = {"platform": "wecom", "user": "u", "kind": "click", "at": 1, "text": "", "key": "k", "task_id": "T"}
    assert Inbound.from_payload(old | {"response_code": "rc", "extra": {}}).reply_ref == "rc"
    assert Inbound.from_payload(old | {"response_code": "", "extra": {}}).reply_ref == ""


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"type": "text", "text": "你好"}, {"kind": "text", "text": "你好"}),
        ({"type": "markdown", "text": "**x**"}, {"kind": "markdown", "text": "**x**"}),
        (
            {"type": "card", "kind": "assign", "card": Card("标题").to_dict(), "task_id": "T1"},
            {"kind": "card", "card": Card("标题"), "task_id": "T1"},
        ),
        (
            {"type": "card_update", "task_id": "T1", "card": Card("标题", closed="已签收").to_dict()},
            {"kind": "card_update", "card": Card("标题", closed="已签收"), "task_id": "T1"},
        ),
        ({"type": "image", "png_b64": "AAA=", "md5": "f00"}, {"kind": "image", "image": Image("AAA=", "f00")}),
    ],
)
def test_outgoing_from_a_queued_payload(payload: dict[str, object], expected: dict[str, object]) -> None:
    message = Outgoing.from_payload(payload, platform="wecom", channel="user", recipient="u", attempts=2, id=7)
    base = Outgoing(platform="wecom", channel="user", recipient="u", kind="", attempts=2, id=7)
    assert message == Outgoing(**(base.__dict__ | expected))
