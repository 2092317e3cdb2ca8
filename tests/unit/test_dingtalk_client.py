"""DingTalkClient against the fake DingTalk over real HTTP (spec §a, §c, §d, §e, §g), and the card
renderer against the template contract (docs/dingtalk-card-template.json)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.cards.dingtalk import (
    MAX_BUTTONS,
    TEMPLATE_VARIABLES,
    action_card_message,
    card_markdown,
    card_params,
    card_preview,
    markdown_message,
    stringify,
    text_message,
    webhook_markdown,
    webhook_text,
)
from bot.cards.models import Button, Card
from bot.clock import ManualClock
from bot.platforms.dingtalk.client import (
    BatchSendResult,
    DingTalkAPIError,
    DingTalkClient,
    QuotaStatus,
    error_kind,
)
from bot.platforms.dingtalk.events import parse_card_callback, to_inbound
from bot.platforms.dingtalk.sign import verify_callback
from tests.fakes.fake_dingtalk import DEFAULT_TEMPLATE_ID, FakeDingTalk, WebhookRobot, load_contract

USERS = ["zhangsan", "lisi", "wangwu"] + [f"u{i:02d}" for i in range(60)]
GROUP = "cidSUPERVISION0001=="
WEBHOOK = "fake-webhook-token-0001"
WEBHOOK_SECRET = "SECfakewebhooksecret0001"


@dataclass
class Env:
    fake: FakeDingTalk
    client: DingTalkClient
    clock: ManualClock
    session: aiohttp.ClientSession
    base: str

    def make_client(self, **overrides: Any) -> DingTalkClient:
        kwargs: dict[str, Any] = dict(
            api_base=self.base,
            oapi_base=self.base,
            client_id=self.fake.client_id,
            client_secret=self.fake.client_secret,
            robot_code=self.fake.robot_code,
            timeout=5.0,
            monotonic=self.clock,
            wall_clock=self.fake.clock,
            qps_per_api=None,
        )
        kwargs.update(overrides)
        return DingTalkClient(self.session, **kwargs)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = FakeDingTalk(users=USERS, groups={GROUP: ["zhangsan", "lisi"]})
    base = await fake.start()
    session = aiohttp.ClientSession()
    clock = ManualClock()  # the client's monotonic clock, independent of the fake's
    client = DingTalkClient(
        session,
        api_base=base,
        oapi_base=base,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        robot_code=fake.robot_code,
        timeout=5.0,
        monotonic=clock,
        wall_clock=fake.clock,
        qps_per_api=None,
    )
    e = Env(fake, client, clock, session, base)
    try:
        yield e
    finally:
        fake.release_hangs()
        await session.close()
        await fake.close()


def client_log(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged except the fake server's access log (it stands in for DingTalk)."""
    return "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if r.name != "aiohttp.access")


def assign_card(number: str = "LY-2026-0001", stage: int = 1, url: str | None = "https://bot.example/c/1") -> Card:
    return Card(
        title="【交办】关于某小区停水问题",
        desc="承办单位：区住建局",
        body="主要诉求：小区连续三天停水，请尽快处理。",
        fields=[("文号", number), ("级别", "县（区）级"), ("到期", "11-09 17:30（剩5个工作日）")],
        buttons=[
            Button("签收", f"ly1|acc|{number}|{stage}", "primary"),
            Button("退回", f"ly1|ret|{number}|{stage}", "danger"),
        ],
        url=url,
    )


async def deliver(
    env: Env,
    user: str = "zhangsan",
    out_track_id: str = "LY-2026-0001-assign-a1",
    card: Card | None = None,
    **kwargs: Any,
) -> Any:
    built = card or assign_card()
    return await env.client.create_and_deliver_card(
        out_track_id=out_track_id,
        template_id=DEFAULT_TEMPLATE_ID,
        card_data=card_params(built),
        user_id=user,
        preview=card_preview(built),
        **kwargs,
    )


# -- token (spec §a) ----------------------------------------------------------------------------------


async def test_token_is_cached_and_sent_in_the_header(env: Env) -> None:
    await env.client.send_text("zhangsan", "一")
    await env.client.send_text("lisi", "二")
    await env.client.send_group_text(GROUP, "三")
    assert env.fake.token_count == 1
    assert len(set(env.fake.issued_tokens())) == 1
    assert all("access_token" not in r.query for r in env.fake.requests)
    token_call = env.fake.calls("oauth2/accessToken")[0]
    assert token_call.body == {"appKey": env.fake.client_id, "appSecret": env.fake.client_secret}


async def test_single_flight_with_50_concurrent_callers(env: Env) -> None:
    results = await asyncio.gather(*(env.client.send_text(f"u{i:02d}", f"消息 {i}") for i in range(50)))
    assert env.fake.token_count == 1
    assert all(isinstance(r, BatchSendResult) and r.process_query_key for r in results)
    assert len(env.fake.oto) == 50


async def test_concurrent_callers_share_one_failed_fetch(env: Env) -> None:
    env.fake.fail_next("oauth2/accessToken", "system.error", http_status=500)
    results = await asyncio.gather(*(env.client.access_token() for _ in range(30)), return_exceptions=True)
    assert env.fake.token_count == 1
    assert all(isinstance(r, DingTalkAPIError) and r.kind == "transient" for r in results)
    assert len({id(r) for r in results}) == 30  # a fresh exception per waiter
    await env.client.access_token()
    assert env.fake.token_count == 2


async def test_proactive_refresh_when_less_than_5_minutes_left(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.clock.advance(7200 - 301)
    await env.client.send_text("zhangsan", "b")
    assert env.fake.token_count == 1
    env.clock.advance(2)
    await env.client.send_text("zhangsan", "c")
    assert env.fake.token_count == 2
    assert len(env.fake.calls("robot/oToMessages/batchSend")) == 3


async def test_failed_proactive_refresh_keeps_using_the_valid_token(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.clock.advance(7200 - 100)
    env.fake.fail_next("oauth2/accessToken", "Forbidden.AccessDenied.QpsLimitForApi", http_status=403)
    await env.client.send_text("zhangsan", "b")
    assert env.fake.token_count == 2 and len(env.fake.messages_to("zhangsan")) == 2


async def test_refetch_within_validity_returns_the_same_token(env: Env) -> None:
    # spec §a.3: a repeated fetch returns the same token and extends it (several processes are fine)
    first = await env.client.access_token()
    other = env.make_client()
    assert await other.access_token() == first
    assert env.fake.token_count == 2


async def test_server_side_expiry_one_refetch_and_retry(env: Env) -> None:
    await env.client.send_text("zhangsan", "a")
    env.fake.advance(7201)  # the client's clock does not know
    result = await env.client.send_text("zhangsan", "b")
    assert result.process_query_key
    assert env.fake.token_count == 2
    assert len(env.fake.calls("robot/oToMessages/batchSend")) == 3  # a, b (InvalidAuthentication), b again


async def test_revoked_token_under_concurrency_refetches_once(env: Env) -> None:
    await env.client.access_token()
    env.fake.expire_tokens()
    await asyncio.gather(*(env.client.send_text(f"u{i:02d}", "x") for i in range(20)))
    assert env.fake.token_count == 2 and len(env.fake.oto) == 20


@pytest.mark.parametrize(("code", "status"), [("InvalidAuthentication", 400), ("InvalidAuthentication", 401)])
async def test_persistently_rejected_token_retries_exactly_once(env: Env, code: str, status: int) -> None:
    env.fake.fail_next(
        "robot/oToMessages/batchSend", code, http_status=status, times=10, message="不合法的access_token"
    )
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert exc.value.code == code and exc.value.kind == "token"
    assert len(env.fake.calls("robot/oToMessages/batchSend")) == 2
    assert env.fake.token_count == 2


async def test_wrong_credentials_are_config_errors_without_retry(env: Env) -> None:
    bad = env.make_client(client_secret="wrong-secret-value")
    with pytest.raises(DingTalkAPIError) as exc:
        await bad.send_text("zhangsan", "x")
    assert (exc.value.code, exc.value.kind, exc.value.http_status) == ("invalidClientIdOrSecret", "config", 400)
    assert "wrong-secret-value" not in str(exc.value) and "wrong-secret-value" not in repr(bad)
    assert env.fake.token_count == 1 and env.fake.calls("robot/oToMessages/batchSend") == []


async def test_fake_token_endpoints(env: Env) -> None:
    """The fake's own behaviour (spec §j.1, §j.2): JSON only; the old gettoken envelope."""
    async with env.session.post(
        f"{env.base}/v1.0/oauth2/accessToken", data={"appKey": env.fake.client_id, "appSecret": env.fake.client_secret}
    ) as resp:
        assert resp.status == 400 and "body is mandatory" in (await resp.json())["message"]
    for query, errcode in (
        ({"appkey": "", "appsecret": "x"}, 90002),
        ({"appkey": "k", "appsecret": ""}, 90003),
        ({"appkey": "k", "appsecret": "s"}, 40089),
    ):
        async with env.session.get(f"{env.base}/gettoken", params=query) as resp:
            assert resp.status == 200 and (await resp.json())["errcode"] == errcode
    async with env.session.get(
        f"{env.base}/gettoken", params={"appkey": env.fake.client_id, "appsecret": env.fake.client_secret}
    ) as resp:
        body = await resp.json()
    assert body["errcode"] == 0 and body["expires_in"] == 7200 and body["access_token"]


# -- errors (spec §g) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind", "retry_after", "ambiguous"),
    [
        ("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", 403, "rate", 1.0, False),
        ("Forbidden.AccessDenied.QpsLimitForApi", 403, "rate", 1.0, False),
        ("send.too.fast", 400, "rate", 60.0, False),
        ("too.many.people", 400, "rate", 60.0, False),
        ("system.error", 500, "transient", None, True),
        ("invalidParameter.msgParam.invalid", 400, "permanent", None, False),
        ("staffId.notExisted", 400, "recipient", None, False),
        ("chatbotId.notAllow.sendOTO", 400, "config", None, False),
        ("Forbidden.AccessDenied.AccessTokenPermissionDenied", 403, "config", None, False),
        ("contain.unsafe.url", 400, "permanent", None, False),
        ("contain.notAllowed.text", 400, "permanent", None, False),
        ("Forbidden.AccessDenied.ApiCountLimitForOrg", 403, "config", None, False),
        ("somethingNew.fromDingTalk", 400, "permanent", None, False),
        ("somethingNew.fromDingTalk", 503, "transient", None, True),
    ],
)
async def test_api_errors_surface_with_their_kind_and_are_not_retried(
    env: Env, code: str, status: int, kind: str, retry_after: float | None, ambiguous: bool
) -> None:
    env.fake.fail_next("robot/oToMessages/batchSend", code, http_status=status)
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    err = exc.value
    assert (err.code, err.kind, err.http_status, err.retry_after, err.ambiguous) == (
        code,
        kind,
        status,
        retry_after,
        ambiguous,
    )
    assert err.path == "robot/oToMessages/batchSend" and err.request_id
    assert len(env.fake.calls("robot/oToMessages/batchSend")) == 1 and env.fake.oto == []


@pytest.mark.parametrize(
    ("body", "status", "code", "kind", "ambiguous"),
    [
        (None, 504, "http.504", "transient", True),
        ("<html>502 Bad Gateway</html>", 502, "http.502", "transient", True),
        ("<html>forbidden</html>", 403, "http.403", "config", False),
        ("<html>too many</html>", 429, "http.429", "rate", False),
        ('{"status":1111,"wait":5,"punish":"deny"}', 403, "ip.blocked", "rate", False),
        ("not json", 200, "reply.invalid", "transient", True),
    ],
)
async def test_envelope_oddities(
    env: Env, body: str | None, status: int, code: str, kind: str, ambiguous: bool
) -> None:
    env.fake.fail_next("robot/oToMessages/batchSend", None, http_status=status, body=body)
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert (exc.value.code, exc.value.kind, exc.value.ambiguous) == (code, kind, ambiguous)
    assert exc.value.__context__ is None  # no chained aiohttp exception (URL text)


def test_error_kind_table() -> None:
    table = {
        ("InvalidAuthentication", ""): "token",
        ("40014", ""): "token",
        ("88", "不合法的access_token"): "token",
        ("88", "鉴权异常"): "transient",
        ("-1", ""): "transient",
        ("15", "isp.top-remote-connection-timeout"): "transient",
        ("90018", ""): "rate",
        ("90020", ""): "config",
        ("40089", ""): "config",
        ("authFailed", ""): "config",
        ("310000", "sign not match"): "config",
        ("410100", ""): "rate",
        ("130101", ""): "rate",
        ("430102", ""): "permanent",
        ("card.content.checkFailed", ""): "permanent",
        ("cardInstance.notExist", ""): "card",
        ("param.outTrackIdEmpty", ""): "card",
        ("cardTemplate.not.exist", ""): "config",
        ("invalid.openConversationId", ""): "recipient",
        ("group.disbanded", ""): "recipient",
        ("miss.param.robotCode", ""): "permanent",
    }
    assert {k: error_kind(*k) for k in table} == table
    # spec §g.2 contradiction: 90002 is "appkey empty" on /gettoken, a QPS limit elsewhere
    assert error_kind("90002", path="gettoken") == "config"
    assert error_kind("90002", path="topapi/message/corpconversation/asyncsend_v2") == "rate"


async def test_timeout_is_transient_and_ambiguous(env: Env) -> None:
    quick = env.make_client(timeout=0.2)
    await quick.access_token()
    env.fake.hang_next("robot/oToMessages/batchSend")
    with pytest.raises(DingTalkAPIError) as exc:
        await quick.send_text("zhangsan", "x")
    assert (exc.value.code, exc.value.kind, exc.value.ambiguous) == ("timeout", "transient", True)
    assert exc.value.__context__ is None


async def test_token_fetch_timeout(env: Env) -> None:
    quick = env.make_client(timeout=0.2)
    env.fake.hang_next("oauth2/accessToken")
    with pytest.raises(DingTalkAPIError) as exc:
        await quick.access_token()
    assert exc.value.kind == "transient" and exc.value.path == "oauth2/accessToken"


async def test_connection_refused_is_transient_not_ambiguous(env: Env) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = env.make_client(api_base=f"http://127.0.0.1:{port}")
    with pytest.raises(DingTalkAPIError) as exc:
        await dead.access_token()
    assert exc.value.kind == "transient" and not exc.value.ambiguous


async def test_fake_qps_throttle_and_client_side_pacing(env: Env) -> None:
    env.fake.qps_per_api = 2
    await env.client.send_text("zhangsan", "1")
    await env.client.send_text("zhangsan", "2")
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.send_text("zhangsan", "3")  # same fake second
    assert (exc.value.code, exc.value.kind, exc.value.http_status) == (
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "rate",
        403,
    )

    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        env.clock.advance(seconds)
        env.fake.advance(seconds)

    env.fake.advance(1)
    paced = env.make_client(qps_per_api=2, sleep=fake_sleep)
    for i in range(6):
        await paced.send_text("zhangsan", f"p{i}")  # never throttled by the fake
    assert len(slept) == 2 and all(0 < s <= 1.0 for s in slept)


# -- robot messages (spec §c) ----------------------------------------------------------------------------


async def test_batch_send_reports_invalid_users(env: Env) -> None:
    result = await env.client.send_markdown(["zhangsan", "ghost", "lisi"], "### 逾期提醒\n- LY-2026-0001", "逾期提醒")
    assert result.invalid == ("ghost",) and result.flow_controlled == ()
    call = env.fake.calls("robot/oToMessages/batchSend")[0].body
    assert call["robotCode"] == env.fake.robot_code and call["msgKey"] == "sampleMarkdown"
    assert isinstance(call["msgParam"], str)  # spec §c.1: a JSON string, not an object
    assert json.loads(call["msgParam"]) == {"title": "逾期提醒", "text": "### 逾期提醒\n- LY-2026-0001"}
    assert [m.text for m in env.fake.messages_to("lisi")] == ["### 逾期提醒\n- LY-2026-0001"]


async def test_flow_controlled_users_are_reported(env: Env) -> None:
    env.fake.per_user_minute = 1
    await env.client.send_text(["zhangsan"], "first")
    result = await env.client.send_text(["zhangsan", "lisi"], "second")
    assert result.flow_controlled == ("zhangsan",) and result.invalid == ()
    assert [m.text for m in env.fake.messages_to("zhangsan")] == ["first"]
    assert [m.text for m in env.fake.messages_to("lisi")] == ["second"]


async def test_send_too_fast_after_n_calls_a_minute(env: Env) -> None:
    env.fake.robot_send_per_minute = 2
    await env.client.send_text("zhangsan", "1")
    await env.client.send_text("lisi", "2")
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.send_text("wangwu", "3")
    assert (exc.value.code, exc.value.kind, exc.value.retry_after) == ("send.too.fast", "rate", 60.0)
    env.fake.advance(61)
    await env.client.send_text("wangwu", "3")


async def test_local_validation_sends_nothing(env: Env) -> None:
    for users in ([], [""], [f"u{i:02d}" for i in range(21)]):
        with pytest.raises(ValueError):
            await env.client.send_text(users, "x")
    with pytest.raises(ValueError):
        await env.client.send_to_users("zhangsan", "sampleActionCard1", {"title": "x"})  # there is no ...1
    with pytest.raises(ValueError):
        await env.client.send_to_users("zhangsan", "sampleText", {"content": 5})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        await env.client.send_to_group("", "sampleText", {"content": "x"})
    assert env.fake.requests == []


async def test_long_text_is_cut_to_the_msg_param_limit(env: Env) -> None:
    await env.client.send_text("zhangsan", "办" * 6000)  # 18 000 bytes
    await env.client.send_group_markdown(GROUP, ('**逾期**\n"引号"\\' * 2000), "逾期清单")
    for call in env.fake.calls("robot/oToMessages/batchSend") + env.fake.calls("robot/groupMessages/send"):
        assert len(call.body["msgParam"].encode("utf-8")) <= 15_000
    assert env.fake.messages_to("zhangsan")[0].text.startswith("办" * 4000)
    assert env.fake.group_messages(GROUP)[0].msg_param["title"] == "逾期清单"


async def test_group_send_and_its_errors(env: Env) -> None:
    pqk = await env.client.send_group_text(GROUP, "逾期清单：3 件")
    assert pqk and [m.text for m in env.fake.group_messages(GROUP)] == ["逾期清单：3 件"]
    env.fake.add_group("cidNOROBOT==", ["zhangsan"], robot=False)
    env.fake.add_group("cidGONE==", ["zhangsan"])
    env.fake.disbanded.add("cidGONE==")
    for cid, code, kind in (
        ("cidUNKNOWN==", "invalid.openConversationId", "recipient"),
        ("cidNOROBOT==", "resource.unavailable", "config"),
        ("cidGONE==", "group.disbanded", "recipient"),
    ):
        with pytest.raises(DingTalkAPIError) as exc:
            await env.client.send_group_text(cid, "x")
        assert (exc.value.code, exc.value.kind) == (code, kind)


async def test_wrong_robot_code_and_disabled_robot(env: Env) -> None:
    other = env.make_client(robot_code="dingnotourrobot")
    with pytest.raises(DingTalkAPIError) as exc:
        await other.send_text("zhangsan", "x")
    assert (exc.value.code, exc.value.kind) == ("invalidParameter.robotCode.notExsit", "config")
    env.fake.robot_enabled = False
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.send_text("zhangsan", "x")
    assert (exc.value.code, exc.value.kind) == ("chatbotId.notAllow.sendOTO", "config")


def test_robot_code_defaults_to_the_client_id() -> None:
    client = DingTalkClient(
        None,
        api_base="x",
        oapi_base="y",
        client_id="dingabc",  # type: ignore[arg-type]
        client_secret="s",
        robot_code="",
    )
    assert client.robot_code == "dingabc"


async def test_recall_within_24_hours(env: Env) -> None:
    first = await env.client.send_text("zhangsan", "发错了")
    second = await env.client.send_text("zhangsan", "也发错了")
    result = await env.client.recall_user_messages([first.process_query_key, "pqk-unknown"])
    assert result.recalled == (first.process_query_key,) and list(result.failed) == ["pqk-unknown"]
    assert env.fake.messages_to("zhangsan", include_recalled=False)[0].text == "也发错了"
    env.fake.advance(24 * 3600 + 1)
    late = await env.client.recall_user_messages([second.process_query_key])
    assert late.recalled == () and second.process_query_key in late.failed
    gpqk = await env.client.send_group_text(GROUP, "群消息")
    group = await env.client.recall_group_messages(GROUP, [gpqk])
    assert group.recalled == (gpqk,) and env.fake.group_messages(GROUP)[0].recalled


# -- interactive cards (spec §d) ---------------------------------------------------------------------------


async def test_create_and_deliver_request_shape(env: Env) -> None:
    result = await deliver(env)
    assert result.out_track_id == "LY-2026-0001-assign-a1" and len(result.deliveries) == 1
    assert result.deliveries[0].success and result.failed == ()
    body = env.fake.calls("card/instances/createAndDeliver")[0].body
    assert body["openSpaceId"] == "dtv1.card//IM_ROBOT.zhangsan"
    assert body["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT", "robotCode": env.fake.robot_code}
    assert body["imRobotOpenSpaceModel"]["supportForward"] is False
    assert body["imRobotOpenSpaceModel"]["lastMessageI18n"] == {"ZH_CN": "【交办】关于某小区停水问题"}
    assert (body["callbackType"], body["userIdType"], body["cardTemplateId"]) == ("STREAM", 1, DEFAULT_TEMPLATE_ID)
    assert all(isinstance(v, str) for v in body["cardData"]["cardParamMap"].values())


async def test_card_buttons_click_and_close(env: Env) -> None:
    card = assign_card()
    await deliver(env, card=card)
    view = env.fake.card_state("zhangsan", "LY-2026-0001-assign-a1")
    assert view is not None and view.buttons == {"btn1": "签收", "btn2": "退回"}
    assert view.links == {"detail": "https://bot.example/c/1"}
    assert env.fake.card_state("lisi", "LY-2026-0001-assign-a1") is None  # not theirs

    click = env.fake.click("zhangsan", "LY-2026-0001-assign-a1", "签收")
    inbound = to_inbound(parse_card_callback(click.payload), received_at=env.fake.now)
    assert inbound is not None and inbound.kind == "click" and inbound.user == "zhangsan"
    assert inbound.key == card.buttons[0].key  # the packed CardAction
    assert inbound.task_id == "LY-2026-0001-assign-a1"

    closed = Card(
        card.title, card.desc, card.body, card.fields, card.buttons, card.url, card.source, "已签收（张三 11-02 09:30）"
    )
    await env.client.update_card("LY-2026-0001-assign-a1", card_data=card_params(closed))
    view = env.fake.card_state("zhangsan", "LY-2026-0001-assign-a1")
    assert view is not None and view.buttons == {} and view.data["status"] == "已签收（张三 11-02 09:30）"
    with pytest.raises(ValueError):
        env.fake.click("zhangsan", "LY-2026-0001-assign-a1", "btn1")


async def test_update_merge_versus_replace(env: Env) -> None:
    await deliver(env)
    await env.client.update_card("LY-2026-0001-assign-a1", card_data={"desc": "已催办"})
    card = env.fake.card("LY-2026-0001-assign-a1")
    assert card.public["desc"] == "已催办" and card.public["btn1_text"] == "签收"
    body = env.fake.calls("card/instances")[0].body
    assert body["cardUpdateOptions"] == {"updateCardDataByKey": True, "updatePrivateDataByKey": True}
    await env.client.update_card("LY-2026-0001-assign-a1", card_data={"title": "只剩标题"}, merge=False)
    assert env.fake.card("LY-2026-0001-assign-a1").public == {"title": "只剩标题"}
    await env.client.update_card("LY-2026-0001-assign-a1", private_data={"zhangsan": {"can_act": "false"}})
    view = env.fake.card_state("zhangsan", "LY-2026-0001-assign-a1")
    assert view is not None and view.data["can_act"] == "false"


async def test_recreate_with_the_same_out_track_id_is_idempotent(env: Env) -> None:
    await deliver(env)
    changed = assign_card(stage=9)
    again = await deliver(env, card=changed)  # a retry after an ambiguous failure
    assert again.deliveries[0].success
    assert env.fake.card("LY-2026-0001-assign-a1").public["btn1_key"] == "ly1|acc|LY-2026-0001|1"  # not overwritten


async def test_failed_delivery_raises_even_with_http_200(env: Env) -> None:
    with pytest.raises(DingTalkAPIError) as exc:
        await deliver(env, user="ghost", out_track_id="LY-2026-0001-assign-a2")
    assert (exc.value.code, exc.value.kind, exc.value.http_status) == ("deliver.failed", "recipient", 200)
    env.fake.fail_space(GROUP)
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.create_and_deliver_card(
            out_track_id="overdue-1",
            template_id=DEFAULT_TEMPLATE_ID,
            card_data={"title": "逾期清单"},
            conversation_id=GROUP,
        )
    assert exc.value.code == "deliver.failed"


async def test_group_card_with_mentions(env: Env) -> None:
    await env.client.create_and_deliver_card(
        out_track_id="overdue-20261102-g1",
        template_id=DEFAULT_TEMPLATE_ID,
        card_data=card_params(Card("逾期清单（11-02）", body="区住建局 2 件")),
        conversation_id=GROUP,
        at_users={"zhangsan": "张三"},
        callback_type=None,
    )
    body = env.fake.calls("card/instances/createAndDeliver")[0].body
    assert body["openSpaceId"] == f"dtv1.card//IM_GROUP.{GROUP}" and "callbackType" not in body
    assert body["imGroupOpenDeliverModel"] == {"robotCode": env.fake.robot_code, "atUserIds": {"zhangsan": "张三"}}
    view = env.fake.card_state("lisi", "overdue-20261102-g1")  # every member sees it
    assert view is not None and view.buttons == {}


async def test_card_api_errors(env: Env) -> None:
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.create_and_deliver_card(
            out_track_id="x1", template_id="nope.schema", card_data={}, user_id="zhangsan"
        )
    assert (exc.value.code, exc.value.kind) == ("cardTemplate.not.exist", "config")
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.update_card("never-created", card_data={"a": "b"})
    assert (exc.value.code, exc.value.kind) == ("cardInstance.notExist", "card")


async def test_card_local_validation(env: Env) -> None:
    ok: dict[str, Any] = dict(template_id=DEFAULT_TEMPLATE_ID, card_data={"title": "t"})
    for bad in (
        dict(ok, out_track_id="has space", user_id="zhangsan"),
        dict(ok, out_track_id="x" * 65, user_id="zhangsan"),
        dict(ok, out_track_id="ok1"),
        dict(ok, out_track_id="ok1", user_id="zhangsan", conversation_id=GROUP),
        dict(ok, out_track_id="ok1", user_id="zhangsan", card_data={"n": 1}),
        dict(ok, out_track_id="ok1", user_id="zhangsan", callback_type="HTTP"),
        dict(ok, out_track_id="ok1", user_id="zhangsan", template_id=""),
    ):
        with pytest.raises(ValueError):
            await env.client.create_and_deliver_card(**bad)
    with pytest.raises(ValueError):
        await env.client.update_card("")
    assert env.fake.requests == []


async def test_http_mode_card_callbacks(env: Env) -> None:
    url = "https://bot.example.gov.cn/dingtalk/callback/card-7f3a9c"
    await env.client.register_card_callback("liuyan_card", url)
    await deliver(env, callback_type="HTTP", callback_route_key="liuyan_card")
    body = env.fake.calls("card/instances/createAndDeliver")[0].body
    assert (body["callbackType"], body["callbackRouteKey"]) == ("HTTP", "liuyan_card")
    click = env.fake.click("zhangsan", "LY-2026-0001-assign-a1", "退回", inputs={"reason": "不属于本单位"})
    request = click.http_request()
    assert request.url == url and "sign" not in request.headers  # HTTP card-callback auth is undocumented
    signed = click.http_request(sign_secret=env.fake.client_secret)  # an unverified variant, on request
    verify_callback(signed.headers["timestamp"], signed.headers["sign"], env.fake.client_secret, now=env.fake.clock)
    inbound = to_inbound(parse_card_callback(request.body), received_at=0)
    assert inbound is not None and inbound.key == "ly1|ret|LY-2026-0001|1"
    assert inbound.extra["inputs"] == {"reason": "不属于本单位"}
    env.fake.apply_card_reply(
        click,
        {
            "cardUpdateOptions": {"updateCardDataByKey": True},
            "cardData": {"cardParamMap": {"status": "已退回", "closed": "true"}},
        },
    )
    assert env.fake.card_state("zhangsan", "LY-2026-0001-assign-a1").buttons == {}  # type: ignore[union-attr]


# -- renderer vs template contract (bot/cards/dingtalk.py, docs/dingtalk-card-template.json) --------------


def test_renderer_fills_exactly_the_contract_variables() -> None:
    contract = load_contract()
    names = [v["name"] for v in contract["variables"]]
    assert sorted(names) == sorted(TEMPLATE_VARIABLES) and len(set(names)) == len(names)
    assert set(card_params(assign_card())) == set(names)
    for button in contract["buttons"]:
        for param in button.get("params", ()):
            if param["type"] == "variable":
                assert param["variable"] in names
        for cond in button.get("visible_if", {}).get("all", ()):
            assert cond["var"] in names
    callbacks = [b for b in contract["buttons"] if b["click"] == "callback"]
    assert [b["id"] for b in callbacks] == [f"btn{i}" for i in range(1, MAX_BUTTONS + 1)]
    assert all({p["name"] for p in b["params"]} == {"action", "rev"} for b in callbacks)


def test_card_params_values() -> None:
    params = card_params(assign_card())
    assert params["title"] == "【交办】关于某小区停水问题" and params["closed"] == "false"
    assert params["fields"] == "文号：LY-2026-0001\n级别：县（区）级\n到期：11-09 17:30（剩5个工作日）"
    assert json.loads(params["fields_json"])[0] == {"name": "文号", "value": "LY-2026-0001"}
    assert (params["btn1_text"], params["btn1_key"]) == ("签收", "ly1|acc|LY-2026-0001|1")
    assert params["btn1_style"] == "primary"
    assert (params["btn3_text"], params["btn3_key"], params["btn3_style"]) == ("", "", "")
    assert params["has_url"] == "true" and params["status"] == ""
    assert card_params(assign_card())["rev"] == params["rev"]  # deterministic
    assert card_params(assign_card(stage=2))["rev"] != params["rev"]  # a new version of the card
    closed = card_params(Card("t", buttons=[Button("签收", "k")], closed="已签收"))
    assert closed["btn1_text"] == "" and closed["closed"] == "true" and closed["status"] == "已签收"
    many = card_params(Card("t", buttons=[Button(f"按钮{i}", f"k{i}") for i in range(8)]))
    assert many["btn6_key"] == "k5" and "btn7_text" not in many
    long = card_params(Card("标" * 100, body="文" * 1000, buttons=[Button("非常非常非常非常长的按钮文字", "k")]))
    assert len(long["title"]) == 60 and long["title"].endswith("…") and len(long["body"]) == 600
    assert len(long["btn1_text"]) == 12
    assert card_preview(Card("【交办】标题", closed="已签收")) == "【交办】标题（已签收）"


def test_message_bodies() -> None:
    assert text_message("你好") == ("sampleText", {"content": "你好"})
    assert markdown_message("### 逾期清单\n- a") == (
        "sampleMarkdown",
        {"title": "逾期清单", "text": "### 逾期清单\n- a"},
    )
    assert markdown_message("x", title="标题")[1]["title"] == "标题"
    title, text = card_markdown(assign_card())
    assert (
        title == "【交办】关于某小区停水问题"
        and "- 文号：LY-2026-0001" in text
        and "[查看详情](https://bot.example/c/1)" in text
    )
    assert "签收" not in text  # buttons cannot call back from markdown
    key, param = action_card_message(assign_card())
    assert key == "sampleActionCard" and param["singleTitle"] == "查看详情"
    assert param["singleURL"] == "https://bot.example/c/1"
    assert action_card_message(assign_card(url=None))[0] == "sampleMarkdown"
    body = webhook_markdown("#### 逾期清单\n- LY-1 区住建局", at_user_ids=["zhangsan", "zhangsan"], msg_uuid="u1")
    assert body["at"] == {"atUserIds": ["zhangsan"], "isAtAll": False} and body["msgUuid"] == "u1"
    assert body["markdown"]["text"].endswith("@zhangsan") and body["markdown"]["title"] == "逾期清单"
    assert webhook_text("@lisi 请处理", at_user_ids=["lisi"])["text"]["content"] == "@lisi 请处理"
    with pytest.raises(ValueError):
        webhook_text("x", at_user_ids=[f"u{i}" for i in range(51)])
    assert stringify({"a": "x", "b": True, "c": [1, "二"]}) == {"a": "x", "b": "true", "c": '[1, "二"]'}


# -- custom robot webhook (spec §e) ---------------------------------------------------------------------


async def test_webhook_with_sign(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{env.base}/robot/send?access_token={WEBHOOK}"
    await env.client.webhook_send(
        url, webhook_markdown("#### 逾期清单\n- LY-1", msg_uuid="overdue-1"), secret=WEBHOOK_SECRET
    )
    assert [m["markdown"]["title"] for m in env.fake.webhook_messages()] == ["逾期清单"]
    call = env.fake.calls("robot/send")[0]
    assert call.query["timestamp"] == str(env.fake.now_ms) and call.query["sign"]
    assert env.fake.token_count == 0 and "x-acs-dingtalk-access-token" not in call.headers
    text = client_log(caplog) + repr(env.client)
    for secret in (WEBHOOK, WEBHOOK_SECRET, call.query["sign"]):
        assert secret not in text


async def test_webhook_bare_token_and_msg_uuid_idempotency(env: Env) -> None:
    body = webhook_text("逾期提醒", msg_uuid="same-uuid")
    await env.client.webhook_send(WEBHOOK, body, secret=WEBHOOK_SECRET)
    await env.client.webhook_send(WEBHOOK, body, secret=WEBHOOK_SECRET)  # a retry
    assert len(env.fake.webhook_messages()) == 1


@pytest.mark.parametrize(
    ("setup", "errmsg"),
    [
        ("wrong_secret", "sign not match"),
        ("stale_clock", "invalid timestamp"),
        ("no_sign", "invalid timestamp"),
        ("keywords", "keywords not in content"),
        ("ip", "not in whitelist"),
    ],
)
async def test_webhook_security_failures_are_310000(env: Env, setup: str, errmsg: str) -> None:
    client, secret = env.client, WEBHOOK_SECRET
    if setup == "wrong_secret":
        secret = "SECsomethingelse"
    elif setup == "stale_clock":
        client = env.make_client(wall_clock=lambda: env.fake.now - 3601)
    elif setup == "no_sign":
        secret = ""
    elif setup == "keywords":
        env.fake.webhooks[WEBHOOK].keywords = ("督办",)
    else:
        env.fake.webhooks[WEBHOOK].ip_allowed = False
    with pytest.raises(DingTalkAPIError) as exc:
        await client.webhook_send(WEBHOOK, webhook_text("逾期提醒"), secret=secret or None)
    assert (exc.value.code, exc.value.kind) == ("310000", "config") and errmsg in exc.value.message
    assert WEBHOOK not in str(exc.value)


async def test_webhook_keyword_present_passes(env: Env) -> None:
    env.fake.webhooks[WEBHOOK].keywords = ("督办",)
    await env.client.webhook_send(WEBHOOK, webhook_text("督办：LY-1 已逾期"), secret=WEBHOOK_SECRET)
    assert len(env.fake.webhook_messages()) == 1


async def test_webhook_20_per_minute_is_refused_locally(env: Env) -> None:
    for i in range(20):
        await env.client.webhook_send(WEBHOOK, webhook_text(f"第{i}条"), secret=WEBHOOK_SECRET)
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.webhook_send(WEBHOOK, webhook_text("第21条"), secret=WEBHOOK_SECRET)
    assert (exc.value.code, exc.value.kind) == ("local.webhook.rate", "rate")
    assert exc.value.retry_after is not None and 0 < exc.value.retry_after <= 60
    assert len(env.fake.calls("robot/send")) == 20  # DingTalk never saw the 21st
    env.clock.advance(60)
    env.fake.advance(60)
    await env.client.webhook_send(WEBHOOK, webhook_text("下一分钟"), secret=WEBHOOK_SECRET)
    assert len(env.fake.webhook_messages()) == 21


@pytest.mark.parametrize(("code", "as_302"), [(410100, False), (130101, False), (410100, True)])
async def test_dingtalk_throttle_blocks_the_robot_for_10_minutes(env: Env, code: int, as_302: bool) -> None:
    env.fake.webhook_per_minute = 3  # e.g. another system posts through the same robot
    env.fake.too_fast_code = code
    env.fake.throttle_as_302 = as_302
    for i in range(3):
        await env.client.webhook_send(WEBHOOK, webhook_text(f"{i}"), secret=WEBHOOK_SECRET)
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.webhook_send(WEBHOOK, webhook_text("4"), secret=WEBHOOK_SECRET)
    assert exc.value.kind == "rate" and exc.value.retry_after == 600.0
    assert exc.value.code == ("webhook.throttled" if as_302 else str(code))
    sent = len(env.fake.calls("robot/send"))
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.webhook_send(WEBHOOK, webhook_text("5"), secret=WEBHOOK_SECRET)
    assert exc.value.code == "webhook.throttled" and len(env.fake.calls("robot/send")) == sent  # not even tried
    env.clock.advance(601)
    env.fake.advance(601)
    await env.client.webhook_send(WEBHOOK, webhook_text("10 分钟后"), secret=WEBHOOK_SECRET)


async def test_webhook_unknown_token_and_local_validation(env: Env) -> None:
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.webhook_send("no-such-robot-token", webhook_text("x"))
    assert (exc.value.code, exc.value.kind) == ("400101", "config")
    assert "no-such-robot-token" not in str(exc.value)
    with pytest.raises(ValueError):
        await env.client.webhook_send(WEBHOOK, {"msgtype": "template_card"})
    with pytest.raises(ValueError):
        await env.client.webhook_send("", webhook_text("x"))


async def test_webhook_robot_without_sign(env: Env) -> None:
    env.fake.webhooks["plain-robot"] = WebhookRobot("plain-robot", keywords=("逾期",))
    await env.client.webhook_send("plain-robot", webhook_text("逾期清单"))
    assert len(env.fake.webhook_messages("plain-robot")) == 1


# -- sessionWebhook (spec §c.5) ----------------------------------------------------------------------------


async def test_reply_through_session_webhook(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    msg = env.fake.robot_message("zhangsan", "查询 LY-2026-0001", group=GROUP)
    await env.client.reply_session(
        msg["sessionWebhook"],
        webhook_text("LY-2026-0001：办理中", at_user_ids=["zhangsan"]),
        expires_at_ms=msg["sessionWebhookExpiredTime"],
    )
    assert env.fake.session_messages(GROUP)[0]["at"]["atUserIds"] == ["zhangsan"]
    env.fake.advance(5401)
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.reply_session(
            msg["sessionWebhook"], webhook_text("x"), expires_at_ms=msg["sessionWebhookExpiredTime"]
        )
    assert (exc.value.code, exc.value.kind) == ("sessionWebhook.expired", "permanent")
    assert len(env.fake.calls("robot/sendBySession")) == 1
    with pytest.raises(DingTalkAPIError) as exc:  # without our own expiry knowledge: DingTalk answers 500
        await env.client.reply_session(msg["sessionWebhook"], webhook_text("x"))
    assert exc.value.kind == "transient"
    session = msg["sessionWebhook"].split("session=")[1]
    assert session not in client_log(caplog) and session not in str(exc.value)
    with pytest.raises(ValueError):
        await env.client.reply_session("not a url", webhook_text("x"))


# -- monthly quota counter (spec §g.2) ----------------------------------------------------------------------


async def test_quota_counter_and_hook(env: Env) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    wall = [datetime(2026, 11, 30, 23, 59, tzinfo=shanghai).timestamp()]
    seen: list[QuotaStatus] = []
    client = env.make_client(wall_clock=lambda: wall[0], monthly_quota=10, quota_warn_ratio=0.5, on_quota=seen.append)
    for i in range(5):
        await client.send_text("zhangsan", f"{i}")
    assert client.calls_this_month == 6  # 1 token fetch + 5 sends
    assert [(s.month, s.calls, s.quota, s.exhausted) for s in seen] == [("2026-11", 5, 10, False)]  # once
    env.fake.fail_next("robot/oToMessages/batchSend", "Forbidden.AccessDenied.ApiCountLimitForOrg", http_status=403)
    with pytest.raises(DingTalkAPIError):
        await client.send_text("zhangsan", "x")
    assert seen[-1].exhausted and len(seen) == 2
    wall[0] = datetime(2026, 12, 1, 0, 0, 1, tzinfo=shanghai).timestamp()  # midnight in Shanghai
    assert client.calls_this_month == 0
    client.restore_calls("2026-12", 4)
    client.restore_calls("2026-11", 9999)  # another month: ignored
    await client.send_text("zhangsan", "december")
    assert client.calls_this_month == 5 and seen[-1].month == "2026-12"


async def test_quota_hook_errors_do_not_break_sending(env: Env) -> None:
    def broken(_: QuotaStatus) -> None:
        raise RuntimeError("boom")

    client = env.make_client(monthly_quota=1, quota_warn_ratio=1.0, on_quota=broken)
    await client.send_text("zhangsan", "still sent")
    assert len(env.fake.messages_to("zhangsan")) == 1


async def test_webhooks_are_not_counted_as_api_calls(env: Env) -> None:
    await env.client.webhook_send(WEBHOOK, webhook_text("x"), secret=WEBHOOK_SECRET)
    assert env.client.calls_this_month == 0


# -- secrecy ----------------------------------------------------------------------------------------------


async def test_secrets_and_tokens_never_logged(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await env.client.send_text("zhangsan", "x")
    env.fake.expire_tokens()
    await env.client.send_text("zhangsan", "y")
    env.fake.fail_next("robot/oToMessages/batchSend", "system.error", http_status=500)
    with pytest.raises(DingTalkAPIError):
        await env.client.send_text("zhangsan", "z")
    env.fake.hang_next("robot/oToMessages/batchSend")
    with pytest.raises(DingTalkAPIError):
        await env.make_client(timeout=0.1).send_text("zhangsan", "z")
    token = await env.client.access_token()
    env.fake.fail_next(
        "card/instances", "cardInstance.notExist", message=f"token {token} secret {env.fake.client_secret} echoed"
    )
    with pytest.raises(DingTalkAPIError) as exc:
        await env.client.update_card("x", card_data={})
    text = client_log(caplog) + repr(env.client) + str(exc.value)
    assert "robot/oToMessages/batchSend" in text
    for secret in [env.fake.client_secret, *env.fake.issued_tokens()]:
        assert secret not in text
