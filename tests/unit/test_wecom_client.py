"""WeComClient against the fake WeCom server over real HTTP (spec §3, §5, §6)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.clock import ManualClock
from bot.platforms.wecom.client import (
    SendResult,
    WeComAPIError,
    WeComClient,
    error_kind,
)
from tests.fakes.fake_wecom import FakeWeCom

USERS = ["zhangsan", "lisi", "wangwu"] + [f"u{i:02d}" for i in range(60)]


@dataclass
class Env:
    fake: FakeWeCom
    client: WeComClient
    clock: ManualClock
    session: aiohttp.ClientSession
    base: str

    def make_client(self, **overrides: Any) -> WeComClient:
        kwargs: dict[str, Any] = dict(
            api_base=self.base,
            corp_id=self.fake.corp_id,
            secret=self.fake.secret,
            agent_id=self.fake.agent_id,
            timeout=5.0,
            monotonic=self.clock,
        )
        kwargs.update(overrides)
        return WeComClient(self.session, **kwargs)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FakeWeCom(users=USERS)
    server = TestServer(fake.app())
    await server.start_server()
    session = aiohttp.ClientSession()
    clock = ManualClock()  # the client's monotonic clock, independent of the fake's
    base = str(server.make_url("/"))
    client = WeComClient(
        session,
        api_base=base,
        corp_id=fake.corp_id,
        secret=fake.secret,
        agent_id=fake.agent_id,
        timeout=5.0,
        monotonic=clock,
    )
    try:
        yield Env(fake, client, clock, session, base)
    finally:
        fake.release_hangs()
        await session.close()
        await server.close()


def button_card(task_id: str, **extra: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": "督办事项：LY-2024-0001", "desc": "截止 2024-06-30"},
        "sub_title_text": "请确认是否承办",
        "task_id": task_id,
        "button_list": [
            {"text": "确认承办", "style": 1, "key": "accept:LY-2024-0001"},
            {"text": "申请退回", "style": 2, "key": "return:LY-2024-0001"},
        ],
    }
    card.update(extra)
    return card


def client_log(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged except the fake server's own access log (it stands in for WeCom)."""
    return "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if r.name != "aiohttp.access")


def issued_tokens(fake: FakeWeCom) -> list[str]:
    return [r.query.get("access_token", "") for r in fake.requests if "access_token" in r.query]


# -- token cache (spec §3.1) --------------------------------------------------------------------


async def test_token_is_cached(env: Env) -> None:
    await env.client.send_text("zhangsan", "一")
    await env.client.send_text("lisi", "二")
    await env.client.recall((await env.client.send_text("wangwu", "三")).msgid)
    assert env.fake.gettoken_count == 1
    assert len(set(issued_tokens(env.fake))) == 1


async def test_single_flight_with_50_concurrent_callers(env: Env) -> None:
    results = await asyncio.gather(*(env.client.send_text(f"u{i:02d}", f"msg {i}") for i in range(50)))
    assert env.fake.gettoken_count == 1
    assert all(isinstance(r, SendResult) and r.msgid for r in results)
    assert len(env.fake.calls("message/send")) == 50
    assert env.fake.drops == []


async def test_concurrent_callers_share_one_failed_gettoken(env: Env) -> None:
    env.fake.fail_next("gettoken", -1)
    results = await asyncio.gather(*(env.client.access_token() for _ in range(50)), return_exceptions=True)
    assert env.fake.gettoken_count == 1  # never hammer gettoken
    assert all(isinstance(r, WeComAPIError) and r.kind == "transient" for r in results)
    assert len({id(r) for r in results}) == 50  # a fresh exception per waiter
    await env.client.access_token()  # the next call tries again
    assert env.fake.gettoken_count == 2


async def test_proactive_refresh_when_less_than_5_minutes_left(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.clock.advance(7200 - 301)
    await env.client.send_text("zhangsan", "b")
    assert env.fake.gettoken_count == 1
    env.clock.advance(2)  # 299 s left
    await env.client.send_text("zhangsan", "c")
    assert env.fake.gettoken_count == 2
    assert [r.path for r in env.fake.requests].count("message/send") == 3  # no failed call


async def test_failed_proactive_refresh_keeps_using_the_valid_token(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.clock.advance(7200 - 100)
    env.fake.fail_next("gettoken", 45033)
    await env.client.send_text("zhangsan", "b")  # refresh failed, old token still valid
    assert env.fake.gettoken_count == 2 and len(env.fake.messages) == 2


async def test_server_side_expiry_one_retry_then_success(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.fake.advance(7201)  # the client's clock does not know
    result = await env.client.send_text("zhangsan", "b")
    assert result.msgid
    assert env.fake.gettoken_count == 2
    assert len(env.fake.calls("message/send")) == 3  # a, b (42001), b again


async def test_early_invalidation_one_retry_then_success(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.fake.invalidate_tokens()
    await env.client.send_text("zhangsan", "b")
    assert env.fake.gettoken_count == 2
    assert [m.content for m in env.fake.messages_to("zhangsan")] == ["a", "b"]


async def test_invalidation_under_concurrency_refetches_once(env: Env) -> None:
    await env.client.access_token()
    env.fake.invalidate_tokens()
    await asyncio.gather(*(env.client.send_text(f"u{i:02d}", "x") for i in range(20)))
    assert env.fake.gettoken_count == 2
    assert len(env.fake.messages) == 20


@pytest.mark.parametrize("errcode", [40014, 42001, 42009])
async def test_persistently_rejected_token_retries_exactly_once(env: Env, errcode: int) -> None:
    env.fake.fail_next("message/send", errcode, times=10)
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert exc.value.errcode == errcode and exc.value.kind == "token"
    assert len(env.fake.calls("message/send")) == 2
    assert env.fake.gettoken_count == 2
    for token in issued_tokens(env.fake):
        assert token not in str(exc.value)


# -- error kinds (spec §6) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (-1, "transient"),
        (45009, "rate"),
        (45033, "rate"),
        (40003, "recipient"),
        (42035, "card"),
        (48002, "config"),
        (60020, "config"),
        (301002, "config"),
        (50003, "config"),
        (86003, "permanent"),
    ],
)
async def test_api_errors_surface_with_their_kind_and_are_not_retried(env: Env, errcode: int, kind: str) -> None:
    env.fake.fail_next("message/send", errcode)
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert (exc.value.errcode, exc.value.kind, exc.value.path) == (errcode, kind, "message/send")
    assert len(env.fake.calls("message/send")) == 1
    assert env.fake.messages == []


def test_error_kind_table() -> None:
    assert [error_kind(c) for c in (0, 40001, 40013, 81013, 42014, 42022, 42045, 42046, 44004)] == [
        "permanent",
        "config",
        "config",
        "recipient",
        "card",
        "card",
        "card",
        "permanent",
        "permanent",
    ]


async def test_http_5xx_is_transient_and_ambiguous(env: Env) -> None:
    env.fake.fail_next("message/send", None, http_status=502)
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert exc.value.kind == "transient" and exc.value.ambiguous and exc.value.http_status == 502
    assert exc.value.__context__ is None  # no chained aiohttp exception text (URL with token)


async def test_non_json_reply_is_transient(env: Env) -> None:
    env.fake.fail_next("message/send", None, http_status=200)
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert exc.value.kind == "transient"


async def test_wrong_secret_and_corpid_are_config_errors_without_retry(env: Env) -> None:
    bad = env.make_client(secret="wrong-secret-value")
    with pytest.raises(WeComAPIError) as exc:
        await bad.send_text("zhangsan", "x")
    assert (exc.value.errcode, exc.value.kind) == (40001, "config")
    assert "wrong-secret-value" not in str(exc.value)
    bad = env.make_client(corp_id="wwnotthiscorp")
    with pytest.raises(WeComAPIError) as exc:
        await bad.send_text("zhangsan", "x")
    assert (exc.value.errcode, exc.value.kind) == (40013, "config")
    assert env.fake.gettoken_count == 2 and env.fake.calls("message/send") == []


async def test_other_apps_agentid_is_config_error(env: Env) -> None:
    env.fake.agents[1000003] = "secret-3"
    other = env.make_client(agent_id=1000003, secret="secret-3")
    with pytest.raises(WeComAPIError) as exc:
        await other.send({"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": {"content": "x"}})
    assert (exc.value.errcode, exc.value.kind) == (301002, "config")


async def test_timeout_is_transient_and_ambiguous(env: Env) -> None:
    quick = env.make_client(timeout=0.2)
    await quick.access_token()
    env.fake.hang_next("message/send")
    with pytest.raises(WeComAPIError) as exc:
        await quick.send_text("zhangsan", "x")
    assert (exc.value.errcode, exc.value.kind, exc.value.ambiguous) == (-1, "transient", True)
    assert exc.value.__context__ is None


async def test_hang_can_be_released_and_armed_again(env: Env) -> None:
    quick = env.make_client(timeout=0.2)
    await quick.access_token()
    for _ in range(2):
        env.fake.hang_next("message/send")
        with pytest.raises(WeComAPIError):
            await quick.send_text("zhangsan", "x")
        env.fake.release_hangs()
    assert (await quick.send_text("zhangsan", "ok")).msgid


async def test_gettoken_timeout(env: Env) -> None:
    quick = env.make_client(timeout=0.2)
    env.fake.hang_next("gettoken")
    with pytest.raises(WeComAPIError) as exc:
        await quick.access_token()
    assert exc.value.kind == "transient" and exc.value.path == "gettoken"


async def test_connection_refused_is_transient_not_ambiguous(env: Env) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = env.make_client(api_base=f"http://127.0.0.1:{port}")
    with pytest.raises(WeComAPIError) as exc:
        await dead.access_token()
    assert exc.value.kind == "transient" and not exc.value.ambiguous


async def test_api_base_with_cgi_bin_suffix(env: Env) -> None:
    client = env.make_client(api_base=env.base + "cgi-bin/")
    assert (await client.send_text("zhangsan", "x")).msgid


# -- message/send (spec §3.2–§3.5) ---------------------------------------------------------------


async def test_invaliduser_is_parsed_from_the_pipe_string(env: Env) -> None:
    result = await env.client.send_text(["zhangsan", "Ghost", "nobody"], "你好")
    assert result.invalid_users == ("ghost", "nobody")  # lower-cased by WeCom
    assert result.invalid_parties == () and result.unlicensed_users == ()
    assert [m.content for m in env.fake.messages_to("zhangsan")] == ["你好"]
    result = await env.client.send(
        {"touser": "lisi", "toparty": "2|3", "totag": "9", "msgtype": "text", "text": {"content": "x"}}
    )
    assert result.invalid_parties == ("2", "3") and result.invalid_tags == ("9",)


async def test_all_recipients_invalid_is_81013(env: Env) -> None:
    env.fake.remove_user("lisi")
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_text(["lisi", "ghost"], "x")
    assert (exc.value.errcode, exc.value.kind) == (81013, "recipient")


async def test_local_recipient_validation(env: Env) -> None:
    for users in ([], [""], ["a|b"]):
        with pytest.raises(ValueError):
            await env.client.send_text(users, "x")
    with pytest.raises(ValueError):
        await env.client.send({"msgtype": "text", "text": {"content": "x"}})
    assert env.fake.requests == []


async def test_text_and_markdown_are_cut_at_the_byte_limit(env: Env) -> None:
    await env.client.send_text("zhangsan", "办" * 1000)  # 3000 bytes
    await env.client.send_markdown("zhangsan", "**督办**" + "😀" * 600)
    text, md = env.fake.messages_to("zhangsan")
    assert text.content == "办" * 682 and len(text.content.encode()) == 2046
    assert md.msgtype == "markdown" and len(md.content.encode()) <= 2048
    assert md.content.startswith("**督办**") and md.content.endswith("😀")


async def test_template_card_returns_response_code_and_task_id_is_unique(env: Env) -> None:
    result = await env.client.send_template_card(["zhangsan", "lisi"], button_card("LY-1-r1"))
    assert result.response_code and result.msgid
    assert env.fake.card_state("zhangsan", "LY-1-r1").clickable
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_template_card("zhangsan", button_card("LY-1-r1"))
    assert (exc.value.errcode, exc.value.kind) == (42014, "card")


@pytest.mark.parametrize(
    ("card", "errcode"),
    [
        (button_card("bad task id!"), 42014),
        (button_card("x" * 129), 42014),
        (button_card("t1", card_type="fancy"), 42027),
        (button_card("t1", main_title={"desc": "no title"}), 42028),
        (button_card("t1", button_list=[{"text": f"b{i}", "key": f"k{i}"} for i in range(7)]), 42037),
        (button_card("t1", button_list=[{"text": "a", "key": "k"}, {"text": "b", "key": "k"}]), 42018),
        (button_card("t1", button_list=[{"text": "a", "key": "k" * 1025}]), 42018),
        (button_card("t1", button_list=[{"text": "a"}]), 42019),
        (button_card("t1", horizontal_content_list=[{"keyname": "k"}] * 7), 42035),
    ],
)
async def test_fake_enforces_template_card_rules(env: Env, card: dict[str, Any], errcode: int) -> None:
    with pytest.raises(WeComAPIError) as exc:
        await env.client.send_template_card("zhangsan", card)
    assert (exc.value.errcode, exc.value.kind) == (errcode, "card")


async def test_per_member_limit_drops_silently(env: Env) -> None:
    for i in range(31):
        await env.client.send_text("zhangsan", f"n{i}")  # all succeed with errcode 0
    assert len(env.fake.messages_to("zhangsan")) == 30
    assert [(d.user, d.reason) for d in env.fake.drops] == [("zhangsan", "minute")]
    env.fake.advance(61)
    await env.client.send_text("zhangsan", "later")
    assert len(env.fake.drops) == 1


async def test_per_member_hourly_limit() -> None:
    fake = FakeWeCom(users=["zhangsan"], per_member_hour=35)
    async with TestServer(fake.app()) as server, aiohttp.ClientSession() as session:
        client = WeComClient(
            session,
            api_base=str(server.make_url("/")),
            corp_id=fake.corp_id,
            secret=fake.secret,
            agent_id=fake.agent_id,
            monotonic=fake.clock,
        )
        for _ in range(30):
            await client.send_text("zhangsan", "x")
        fake.advance(61)
        for _ in range(6):
            await client.send_text("zhangsan", "y")
        assert [d.reason for d in fake.drops] == ["hour"]


async def test_recall(env: Env) -> None:
    result = await env.client.send_text("zhangsan", "oops")
    await env.client.recall(result.msgid)
    assert env.fake.messages_to("zhangsan")[0].recalled
    assert env.fake.messages_to("zhangsan", include_recalled=False) == []
    with pytest.raises(WeComAPIError):
        await env.client.recall("no-such-msgid")


# -- update_template_card (spec §3.6) ------------------------------------------------------------


async def test_update_button_with_send_code_and_reuse_is_42022(env: Env) -> None:
    sent = await env.client.send_template_card(["zhangsan", "lisi"], button_card("LY-2-r1"))
    assert sent.response_code
    result = await env.client.update_template_card(
        response_code=sent.response_code, userids=["zhangsan", "Outsider"], replace_name="已签收"
    )
    assert result.invalid_users == ("outsider",)  # a JSON array here
    assert env.fake.card_state("zhangsan", "LY-2-r1").replace_name == "已签收"
    assert env.fake.card_state("lisi", "LY-2-r1").clickable
    with pytest.raises(WeComAPIError) as exc:
        await env.client.update_template_card(response_code=sent.response_code, atall=True, replace_name="again")
    assert (exc.value.errcode, exc.value.kind) == (42022, "card")
    assert env.fake.card_state("lisi", "LY-2-r1").clickable


async def test_click_code_replaces_the_card_for_everyone(env: Env) -> None:
    await env.client.send_template_card(["zhangsan", "lisi"], button_card("LY-3-r1"))
    event = env.fake.click("zhangsan", "LY-3-r1", "accept:LY-2024-0001")
    assert event["Event"] == "template_card_event" and event["FromUserName"] == "zhangsan"
    new_card = button_card("LY-3-r1", replace_text="已由 张三 签收")
    result = await env.client.update_template_card(response_code=event["ResponseCode"], atall=True, card=new_card)
    assert result.invalid_users == ()
    for user in ("zhangsan", "lisi"):
        view = env.fake.card_state(user, "LY-3-r1")
        assert view.replace_name == "已由 张三 签收" and not view.clickable
    with pytest.raises(ValueError):
        env.fake.click("lisi", "LY-3-r1", "accept:LY-2024-0001")  # greyed out
    with pytest.raises(WeComAPIError) as exc:
        await env.client.update_template_card(response_code=event["ResponseCode"], atall=True, replace_name="x")
    assert exc.value.errcode == 42022


async def test_unknown_and_expired_response_codes(env: Env) -> None:
    sent = await env.client.send_template_card("zhangsan", button_card("LY-4-r1"))
    with pytest.raises(WeComAPIError) as exc:
        await env.client.update_template_card(response_code="nope", atall=True, replace_name="x")
    assert exc.value.kind == "card"
    env.fake.advance(72 * 3600 + 1)
    assert sent.response_code
    with pytest.raises(WeComAPIError) as exc:
        await env.client.update_template_card(response_code=sent.response_code, atall=True, replace_name="x")
    assert exc.value.kind == "card"


async def test_update_template_card_local_validation(env: Env) -> None:
    with pytest.raises(ValueError):
        await env.client.update_template_card(response_code="c", atall=True)
    with pytest.raises(ValueError):
        await env.client.update_template_card(response_code="c", atall=True, card={}, replace_name="x")
    with pytest.raises(ValueError):
        await env.client.update_template_card(response_code="c", replace_name="x")
    with pytest.raises(ValueError):
        await env.client.update_template_card(response_code="", atall=True, replace_name="x")
    assert env.fake.requests == []


# -- appchat (spec §5.1) --------------------------------------------------------------------------


async def test_appchat_lifecycle(env: Env) -> None:
    chatid = await env.client.appchat_create("督查群", "zhangsan", ["zhangsan", "lisi"], chatid="duchaqun01")
    assert chatid == "duchaqun01"
    await env.client.appchat_update(chatid, add_user_list=["wangwu"], name="督查群（新）")
    info = await env.client.appchat_get(chatid)
    assert info.userlist == ("zhangsan", "lisi", "wangwu") and info.name == "督查群（新）"
    assert info.owner == "zhangsan"
    await env.client.appchat_send_text(chatid, "逾期清单\n" + "件" * 1000)
    await env.client.appchat_send_markdown(chatid, "**逾期** 3 件")
    sent = env.fake.chat_messages(chatid)
    assert [m.msgtype for m in sent] == ["text", "markdown"]
    assert len(sent[0].content.encode()) <= 2048
    generated = await env.client.appchat_create("群2", None, ["lisi", "wangwu"])
    assert generated and (await env.client.appchat_get(generated)).userlist == ("lisi", "wangwu")


async def test_appchat_refuses_template_card_locally(env: Env) -> None:
    with pytest.raises(ValueError, match="template_card"):
        await env.client.appchat_send("anychat", "template_card", button_card("t"))
    with pytest.raises(ValueError):
        await env.client.appchat_send("anychat", "miniprogram_notice", {})
    assert env.fake.requests == []


async def test_appchat_errors(env: Env) -> None:
    with pytest.raises(WeComAPIError) as exc:
        await env.client.appchat_get("nosuchchat")
    assert exc.value.errcode == 86003
    with pytest.raises(WeComAPIError) as exc:
        await env.client.appchat_send_text("nosuchchat", "x")
    assert exc.value.errcode == 86003
    with pytest.raises(WeComAPIError) as exc:
        await env.client.appchat_create("g", None, ["zhangsan"])
    assert exc.value.errcode == 86006
    with pytest.raises(WeComAPIError) as exc:
        await env.client.appchat_create("g", None, ["zhangsan", "ghost"])
    assert exc.value.errcode == 86007


# -- webhook (spec §5.2) --------------------------------------------------------------------------


async def test_webhook_rate_limit_20_per_minute(env: Env) -> None:
    key = "fake-webhook-key-0001"
    for i in range(20):
        await env.client.webhook_send(key, {"msgtype": "markdown", "markdown": {"content": f"第{i}条"}})
    with pytest.raises(WeComAPIError) as exc:
        await env.client.webhook_send(key, {"msgtype": "text", "text": {"content": "21"}})
    assert (exc.value.errcode, exc.value.kind) == (45009, "rate")
    assert key not in str(exc.value)
    env.fake.advance(60)
    await env.client.webhook_send(key, {"msgtype": "text", "text": {"content": "next minute"}})
    assert len(env.fake.webhook_messages(key)) == 21
    assert all("access_token" not in r.query for r in env.fake.calls("webhook/send"))
    assert env.fake.gettoken_count == 0


async def test_webhook_markdown_limit_is_4096_bytes(env: Env) -> None:
    key = "fake-webhook-key-0001"
    await env.client.webhook_send(key, {"msgtype": "markdown", "markdown": {"content": "逾" * 2000}})
    content = env.fake.webhook_messages(key)[0]["markdown"]["content"]
    assert content == "逾" * 1365 and len(content.encode()) == 4095


async def test_webhook_unknown_key_and_key_secrecy(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = "secret-robot-key-9876"
    with pytest.raises(WeComAPIError) as exc:
        await env.client.webhook_send(key, {"msgtype": "text", "text": {"content": "x"}})
    assert (exc.value.errcode, exc.value.kind) == (93000, "config")
    env.fake.webhook_keys.add(key)
    env.fake.fail_next("webhook/send", 93008, errmsg=f"robot {key} not in chat")
    with pytest.raises(WeComAPIError) as exc:
        await env.client.webhook_send(key, {"msgtype": "text", "text": {"content": "x"}})
    assert exc.value.errcode == 93008
    assert key not in str(exc.value) and key not in exc.value.errmsg and key not in repr(exc.value.args)
    assert key not in client_log(caplog)


async def test_webhook_local_validation(env: Env) -> None:
    with pytest.raises(ValueError):
        await env.client.webhook_send(
            "k", {"msgtype": "template_card", "template_card": {"card_type": "button_interaction"}}
        )
    with pytest.raises(ValueError):
        await env.client.webhook_send("", {"msgtype": "text", "text": {"content": "x"}})
    with pytest.raises(ValueError):
        await env.client.webhook_send("k", {"msgtype": "mpnews"})
    assert env.fake.requests == []


# -- secrecy ---------------------------------------------------------------------------------------


async def test_token_and_secret_never_logged(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await env.client.send_text("zhangsan", "x")
    env.fake.invalidate_tokens()
    await env.client.send_text("zhangsan", "y")
    env.fake.fail_next("message/send", -1)
    with pytest.raises(WeComAPIError):
        await env.client.send_text("zhangsan", "z")
    env.fake.hang_next("message/send")
    with pytest.raises(WeComAPIError):
        await env.make_client(timeout=0.1).send_text("zhangsan", "z")
    text = client_log(caplog) + repr(env.client)
    assert "message/send" in text
    for secret in [env.fake.secret, *issued_tokens(env.fake)]:
        assert secret not in text
