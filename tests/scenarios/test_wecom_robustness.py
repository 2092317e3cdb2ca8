"""Bad input at the callback, platform faults, restarts mid-flow, pacing: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import Runtime, build_app
from bot.clock import ManualClock
from store.models import InboundEvent, OutboxMessage
from tests.fakes.office import Office
from tests.fakes.wecom_samples import (
    GET_ECHOSTR,
    GET_NONCE,
    GET_PLAINTEXT,
    GET_SIGNATURE,
    GET_TIMESTAMP,
    POST_BODY,
    POST_NONCE,
    POST_SIGNATURE,
    POST_TIMESTAMP,
)


@pytest.fixture
async def office(db_url: str, clock: ManualClock) -> AsyncIterator[Office]:
    o = await Office.open(db_url, clock)
    yield o
    await o.close()


async def count(office: Office, model: type) -> int:
    async with office.runtime.deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_url_verification(office: Office) -> None:
    req = office.callbacks.verification("8413657128839214873")
    resp = await office.bot.get(req.path_qs())
    assert resp.status == 200 and await resp.text() == "8413657128839214873"
    bad = dict(req.query, msg_signature="0" * 40)
    resp = await office.bot.get("/wecom/callback", params=bad)
    assert resp.status == 400


async def test_official_samples_through_the_endpoint(sqlite_url: str, clock: ManualClock) -> None:
    """The documented QDG6eK GET and POST samples verify and decrypt at our route."""
    from aiohttp.test_utils import TestClient, TestServer

    from tests.conftest import make_config

    config = make_config(sqlite_url)
    config.wecom.enabled = True
    config.wecom.corp_id, config.wecom.agent_id = "wx5823bf96d3bd56c7", 218
    config.wecom.token, config.wecom.encoding_aes_key = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    clock.set(datetime.fromtimestamp(int(POST_TIMESTAMP), UTC))  # the samples' own time (2014)
    runtime = await Runtime.start(config, clock=clock)
    try:
        async with TestClient(TestServer(build_app(runtime))) as client:
            resp = await client.get(
                "/wecom/callback",
                params={
                    "msg_signature": GET_SIGNATURE,
                    "timestamp": GET_TIMESTAMP,
                    "nonce": GET_NONCE,
                    "echostr": GET_ECHOSTR,
                },
            )
            assert await resp.text() == GET_PLAINTEXT
            resp = await client.post(
                f"/wecom/callback?msg_signature={POST_SIGNATURE}&timestamp={POST_TIMESTAMP}&nonce={POST_NONCE}",
                data=POST_BODY,
            )
            assert resp.status == 200 and await resp.text() == ""
        async with runtime.deps.sessions() as session:
            row = (await session.execute(select(InboundEvent))).scalar_one()
        assert row.dedupe_key == "4561255354251345929" and row.payload["text"] == "hello"
    finally:
        await runtime.close()


@pytest.mark.parametrize("case", ["signature", "ciphertext", "receive_id", "dtd", "entity", "garbage", "empty"])
async def test_bad_callbacks_change_nothing(office: Office, case: str, caplog: pytest.LogCaptureFixture) -> None:
    good = office.callbacks.text("zhangsan", "帮助")
    query, body = dict(good.query), good.body
    if case == "signature":
        query["msg_signature"] = "f" * 40
    elif case == "ciphertext":
        enc = "QUJD" * 11
        body = f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
        query["msg_signature"] = office.callbacks.sign(query["timestamp"], query["nonce"], enc)
    elif case == "receive_id":
        foreign = office.callbacks.post("<xml><MsgType>text</MsgType></xml>", receive_id="wwforeigncorp")
        query, body = dict(foreign.query), foreign.body
    elif case == "dtd":
        body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    elif case == "entity":
        body = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
    elif case == "garbage":
        body = b"\x00\xff<<<not xml"
    else:
        body = b""
    resp = await office.bot.post("/wecom/callback", params=query, data=body)
    assert 400 <= resp.status < 500
    await office.settle()
    assert await count(office, InboundEvent) == 0
    assert office.fake.messages_to("zhangsan") == []
    assert office.runtime.config.wecom.encoding_aes_key not in caplog.text


async def test_oversized_body_refused(office: Office) -> None:
    resp = await office.bot.post(
        "/wecom/callback",
        params={"msg_signature": "x", "timestamp": "1", "nonce": "1"},
        data=b"<xml>" + b"a" * 70_000 + b"</xml>",
    )
    assert resp.status == 413
    assert await count(office, InboundEvent) == 0


async def test_unknown_events_are_acknowledged_and_ignored(office: Office) -> None:
    for name in ("subscribe", "LOCATION", "inactive_alert", "something_new"):
        assert await office.deliver(office.callbacks.event(name, "zhangsan")) == 200
    assert await count(office, InboundEvent) == 0


async def test_restart_mid_flow_loses_nothing(office: Office, db_url: str, clock: ManualClock) -> None:
    """A callback stored but not processed, and cards queued but not sent, when the process dies:
    the next process does both, once."""
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    assert await office.post(office.side().click_request("zhangsan", card.task_id, "签收"), settle=False) == 200
    # the worker claims it and "dies" before finishing: its lease stays behind
    await office.runtime.channels.worker._claim()
    await office.runtime.close()  # killed: nothing more runs in this process

    later = await Runtime.start(office.runtime.config, clock=clock, http=office.http)
    office.runtime = later
    await office.settle()
    assert (await office.case_direct(n))["state"] == "assigned"  # lease not expired yet: untouched
    clock.advance(minutes=3)
    await office.settle()
    assert (await office.case_direct(n))["state"] == "accepted"
    assert sum("已签收" in t for t in office.texts("zhangsan")) == 1
    await later.close()


async def test_outbox_survives_platform_faults(office: Office, clock: ManualClock) -> None:
    office.fake.fail_next("message/send", errcode=-1, times=2)
    await office.register()
    assert office.cards("zhangsan", "assign") == []  # -1 twice: not delivered yet, waiting to retry
    for _ in range(4):
        clock.advance(minutes=1)
        await office.settle()
    assert len(office.cards("zhangsan", "assign")) == 1
    assert len(office.cards("limei", "assign")) == 1


async def test_expired_token_is_refetched_once(office: Office) -> None:
    await office.register(title="第一件：路灯不亮", petitioner="甲", contact=None)
    office.fake.invalidate_tokens()
    await office.register(title="第二件：噪音扰民", petitioner="乙", contact=None, source_ref="X2")
    assert len(office.cards("zhangsan", "assign")) == 2


async def test_invalid_user_alerts_admins(office: Office) -> None:
    office.fake.remove_user("limei")
    await office.register()
    assert office.cards("zhangsan", "assign")
    alert = office.last_text("wugl")
    assert "系统告警" in alert and "limei" in alert


async def test_dead_letter_after_permanent_error(office: Office) -> None:
    office.fake.fail_next("message/send", errcode=48002, times=1)
    await office.register()
    async with office.runtime.deps.sessions() as session:
        dead = (
            await session.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "dead"))
        ).scalar_one()
    assert dead == 1
    assert "系统告警" in office.last_text("wugl")


async def test_per_member_pacing_never_drops(office: Office, clock: ManualClock) -> None:
    for i in range(40):
        await office.register(
            title=f"第{i}件：完全不同的问题编号{i}", petitioner=f"人{i}", contact=None, source_ref=f"P{i}"
        )
    got = len(office.cards("zhangsan", "assign"))
    assert got <= 25  # the rest wait for the next minute
    for _ in range(3):
        clock.advance(seconds=61)
        office.fake.advance(61)
        await office.settle()
    assert len(office.cards("zhangsan", "assign")) == 40
    assert office.fake.drops == []


async def test_double_click_after_restart_of_card_codes(office: Office) -> None:
    n = (await office.register())["number"]
    card = office.card("zhangsan", "assign")
    await office.click("zhangsan", card.task_id, "签收")
    # clicking the greyed card again is refused by WeCom itself (disabled); via text it is explained
    await office.say("limei", f"签收 {n}")
    assert "已由张三" in office.last_text("limei")


async def test_admin_configures_from_chat(office: Office) -> None:
    await office.say("wugl", "添加单位 区教育局")
    assert "已添加" in office.last_text("wugl")
    office.fake.add_user("chenls")
    await office.say("wugl", "添加成员 区教育局 陈老师 chenls")
    assert "承办人" in office.last_text("wugl")
    await office.say("wugl", "单位列表")
    assert "陈老师" in office.last_text("wugl")
    await office.say("zhangsan", "添加单位 区水务局")
    assert "只有管理员" in office.last_text("zhangsan")
    n = (await office.register(unit="区教育局", category="教育"))["number"]
    assert office.card("chenls", "assign").clickable and n


async def test_stale_lease_does_not_double_send(office: Office, clock: ManualClock) -> None:
    await office.register()
    before = len(office.fake.messages_to("zhangsan"))
    clock.advance(minutes=5)
    await office.settle()
    assert len(office.fake.messages_to("zhangsan")) == before


async def test_supervision_group_via_appchat(office: Office, clock: ManualClock, tmp_path: object) -> None:
    """`liuyan wecom create-group` makes the appchat; group posts then go there as markdown."""
    from click.testing import CliRunner

    from bot.cli import main

    cfg = office.runtime.config.wecom
    path = tmp_path / "c.toml"  # type: ignore[operator]
    path.write_text(
        f'[wecom]\nenabled = true\ncorp_id = "{cfg.corp_id}"\nagent_id = {cfg.agent_id}\nsecret = "{cfg.secret}"\n'
        f'api_base = "{cfg.api_base}"\n',
        encoding="utf-8",
    )
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["wecom", "create-group", "督查群", "-c", str(path), "--member", "sundc", "--member", "wugl"],
    )
    assert result.exit_code == 0, result.output
    chatid = result.output.strip()
    cfg.supervision_chatid = chatid
    await office.register()
    from tests.conftest import SHANGHAI

    office.clock.set(datetime(2026, 11, 10, 9, 30, tzinfo=SHANGHAI))  # the day after the deadline
    await office.runtime.channels.jobs.tick()
    await office.settle()
    posts = office.fake.chat_messages(chatid)
    assert posts and posts[0].msgtype == "markdown" and "超期未办结" in (posts[0].content or "")
    assert "13800138000" not in (posts[0].content or "")


async def test_expired_card_code_falls_back_to_text(office: Office) -> None:
    """A card whose update code expired (42021/42022) cannot be greyed: its owner gets a line of text."""
    n = (await office.register())["number"]
    office.fake.response_code_ttl = 10  # the send codes of these cards expire …
    office.fake.advance(60)  # … before anyone clicks
    await office.click("zhangsan", office.card("zhangsan", "assign").task_id, "签收")
    assert (await office.case(n))["state"] == "accepted"
    assert office.card("limei", "assign").closed is None  # WeCom refused the update
    assert any("已签收" in t and "张三" in t for t in office.texts("limei"))
