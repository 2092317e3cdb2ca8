"""WeComTransport on plain data: a neutral message in, facts out (no database, no ORM row).
The client is a stub; the real protocol is covered by test_wecom_client and the scenarios."""

from __future__ import annotations

from typing import Any, cast

from bot.cards.models import Card
from bot.config import WeComConfig
from bot.platforms.wecom.client import SendResult, WeComAPIError, WeComClient, error_kind
from bot.platforms.wecom.transport import WeComTransport
from bot.ports import Delivery, Outgoing, Transport


class StubClient:
    def __init__(self, error: WeComAPIError | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    async def send_template_card(self, users: list[str], card: dict[str, Any]) -> SendResult:
        self.calls.append(("send_template_card", {"users": users, "task_id": card["task_id"]}))
        if self.error:
            raise self.error
        return SendResult("msg-1", response_code="rc-send", invalid_users=("gone",))

    async def update_template_card(self, **kw: Any) -> None:
        self.calls.append(("update_template_card", kw))
        if self.error:
            raise self.error


def transport(client: StubClient) -> WeComTransport:
    return WeComTransport(cast(WeComClient, client), WeComConfig())


def card_message(**kw: Any) -> Outgoing:
    return Outgoing(platform="wecom", channel="user", recipient="zhangsan", kind="card", card=Card("件"), **kw)


async def test_it_is_a_transport_that_needs_card_references() -> None:
    t: Transport = transport(StubClient())
    assert t.platform == "wecom" and t.needs_card_ref is True


async def test_a_sent_card_reports_its_reference() -> None:
    client = StubClient()
    d = await transport(client).deliver(card_message(task_id="T1"))
    assert d == Delivery(
        "sent", {"msgid": "msg-1", "response_code": "rc-send"}, unreachable=("gone",), card_ref="rc-send"
    )
    assert client.calls == [("send_template_card", {"users": ["zhangsan"], "task_id": "T1"})]


async def test_a_card_update_uses_the_given_reference_and_spends_it() -> None:
    client = StubClient()
    message = Outgoing(
        platform="wecom",
        channel="card_update",
        recipient="zhangsan",
        kind="card_update",
        card=Card("件", closed="已签收"),
        task_id="T1",
        card_ref="rc-click",
    )
    d = await transport(client).deliver(message)
    assert d == Delivery("sent", {"updated": True}, ref_spent=True)
    assert client.calls[0][1]["response_code"] == "rc-click"
    assert client.calls[0][1]["userids"] == ["zhangsan"]


async def test_a_refused_reference_is_reported_gone() -> None:
    client = StubClient(WeComAPIError(42022, "response_code used", error_kind(42022)))
    message = Outgoing(
        platform="wecom", channel="card_update", recipient="u", kind="card_update", card=Card("件"), card_ref="rc"
    )
    d = await transport(client).deliver(message)
    assert (d.outcome, d.result, d.ref_gone, d.ref_spent) == (
        "sent",
        {"fallback": "text", "errcode": 42022},
        True,
        False,
    )


async def test_a_retried_card_whose_task_id_is_taken_got_through_the_first_time() -> None:
    client = StubClient(WeComAPIError(42014, "task_id exists", error_kind(42014)))
    assert (await transport(client).deliver(card_message(task_id="T1", attempts=1))).outcome == "sent"
    assert (await transport(client).deliver(card_message(task_id="T1", attempts=0))).outcome == "dead"
