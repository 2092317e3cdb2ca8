"""Parsing decrypted WeCom plaintext into events, and dedupe keys (spec §1.7, §2)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.platforms.wecom.crypto import WeComCrypto, WeComCryptoError
from bot.platforms.wecom.events import (
    CardClick,
    EnterAgent,
    OtherEvent,
    OtherMessage,
    Subscribe,
    TextMessage,
    Unsubscribe,
    WeComParseError,
    dedupe_key,
    parse_event,
)
from tests.fakes.wecom_callbacks import WeComCallbacks, render_plaintext

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"

OFFICIAL_TEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)

# spec §2.2: the official template_card_event sample (with two SelectedItem).
OFFICIAL_CARD_EVENT = """<xml>
 <ToUserName><![CDATA[toUser]]></ToUserName>
 <FromUserName><![CDATA[FromUser]]></FromUserName>
 <CreateTime>123456789</CreateTime>
 <MsgType><![CDATA[event]]></MsgType>
 <Event><![CDATA[template_card_event]]></Event>
 <EventKey><![CDATA[key111]]></EventKey>
 <TaskId><![CDATA[taskid111]]></TaskId>
 <CardType><![CDATA[text_notice]]></CardType>
 <ResponseCode><![CDATA[ResponseCode]]></ResponseCode>
 <AgentID>1</AgentID>
 <SelectedItems>
  <SelectedItem>
   <QuestionKey><![CDATA[QuestionKey1]]></QuestionKey>
   <OptionIds><OptionId><![CDATA[OptionId1]]></OptionId><OptionId><![CDATA[OptionId2]]></OptionId></OptionIds>
  </SelectedItem>
  <SelectedItem>
   <QuestionKey><![CDATA[QuestionKey2]]></QuestionKey>
   <OptionIds><OptionId><![CDATA[OptionId3]]></OptionId></OptionIds>
  </SelectedItem>
 </SelectedItems>
</xml>"""


def _event(**fields: object) -> str:
    base: dict[str, object] = {
        "ToUserName": CORP_ID,
        "FromUserName": "zhangsan",
        "CreateTime": 1_718_000_000,
        "MsgType": "event",
    }
    base.update(fields)
    return render_plaintext(base)


def test_official_text_sample() -> None:
    ev = parse_event(OFFICIAL_TEXT)
    assert ev == TextMessage(
        user="mycreate",
        corp_id=CORP_ID,
        agent_id=218,
        create_time=1409659813,
        msg_id="4561255354251345929",
        content="hello",
    )
    assert dedupe_key(ev) == "4561255354251345929"


def test_msg_id_above_2_53_stays_exact() -> None:
    big = "18446744073709551615"  # 2^64 - 1; a float would round it
    ev = parse_event(OFFICIAL_TEXT.replace("4561255354251345929", big))
    assert isinstance(ev, TextMessage) and ev.msg_id == big and dedupe_key(ev) == big


def test_text_content_keeps_whitespace_and_cdata_terminators() -> None:
    content = "  回复 LY-1\n第二行 ]]> 😀  "
    ev = parse_event(
        render_plaintext(
            {
                "ToUserName": CORP_ID,
                "FromUserName": "lisi",
                "CreateTime": 1,
                "MsgType": "text",
                "Content": content,
                "MsgId": 7,
                "AgentID": 1000002,
            }
        )
    )
    assert isinstance(ev, TextMessage) and ev.content == content and ev.agent_id == 1000002


def test_official_card_event_sample_with_selected_items() -> None:
    ev = parse_event(OFFICIAL_CARD_EVENT)
    assert isinstance(ev, CardClick)
    assert ev.event == "template_card_event"
    assert (ev.user, ev.corp_id, ev.agent_id, ev.create_time) == ("FromUser", "toUser", 1, 123456789)
    assert (ev.event_key, ev.task_id, ev.card_type, ev.response_code) == (
        "key111",
        "taskid111",
        "text_notice",
        "ResponseCode",
    )
    assert ev.selected == {"QuestionKey1": ("OptionId1", "OptionId2"), "QuestionKey2": ("OptionId3",)}
    assert dedupe_key(ev) == "FromUser|123456789|template_card_event|taskid111|key111"


def test_card_event_single_selected_item_single_option() -> None:
    xml = _event(
        Event="template_card_event",
        EventKey="accept:1",
        TaskId="case-1-r1",
        CardType="button_interaction",
        ResponseCode="rc1",
        AgentID=1000002,
        SelectedItems=[{"QuestionKey": "unit", "OptionIds": ["u7"]}],
    )
    ev = parse_event(xml)
    assert isinstance(ev, CardClick) and ev.selected == {"unit": ("u7",)}


def test_card_event_without_selectors() -> None:
    ev = parse_event(
        _event(
            Event="template_card_event",
            EventKey="accept:1",
            TaskId="t1",
            CardType="button_interaction",
            ResponseCode="rc",
            AgentID=1,
        )
    )
    assert isinstance(ev, CardClick) and ev.selected == {}


def test_menu_event() -> None:
    ev = parse_event(
        _event(
            Event="template_card_menu_event",
            EventKey="menu:mute",
            TaskId="t9",
            CardType="button_interaction",
            ResponseCode="rc9",
            AgentID=1,
        )
    )
    assert isinstance(ev, CardClick) and ev.event == "template_card_menu_event"
    assert dedupe_key(ev) == "zhangsan|1718000000|template_card_menu_event|t9|menu:mute"


def test_card_event_needs_task_id() -> None:
    with pytest.raises(WeComParseError):
        parse_event(_event(Event="template_card_event", EventKey="k", ResponseCode="r"))


def test_enter_agent_subscribe_unsubscribe() -> None:
    ev = parse_event(_event(Event="enter_agent", EventKey="", AgentID=1000002))
    assert ev == EnterAgent("zhangsan", CORP_ID, 1000002, 1_718_000_000, "")
    assert dedupe_key(ev) == "zhangsan|1718000000|enter_agent"
    assert parse_event(_event(Event="subscribe", AgentID=5)) == Subscribe("zhangsan", CORP_ID, 5, 1_718_000_000)
    un = parse_event(_event(Event="unsubscribe", AgentID=5))
    assert un == Unsubscribe("zhangsan", CORP_ID, 5, 1_718_000_000)
    assert dedupe_key(un) == "zhangsan|1718000000|unsubscribe"


def test_other_events_keep_raw_fields() -> None:
    loc = parse_event(
        _event(Event="LOCATION", Latitude="23.1", Longitude="113.3", Precision="30", AppType="wxwork", AgentID=1)
    )
    assert isinstance(loc, OtherEvent) and loc.event == "LOCATION"
    assert loc.raw["Latitude"] == "23.1" and loc.raw["AppType"] == "wxwork"
    assert dedupe_key(loc) == "zhangsan|1718000000|LOCATION"

    alert = parse_event(_event(FromUserName="sys", Event="inactive_alert", EffectTime=1_719_000_000, AgentID=1))
    assert isinstance(alert, OtherEvent) and alert.user == "sys" and alert.raw["EffectTime"] == "1719000000"

    job = parse_event(_event(Event="batch_job_result", BatchJob={"JobId": "j1", "JobType": "sync_user", "ErrCode": 0}))
    assert isinstance(job, OtherEvent) and job.raw["BatchJob"] == {
        "JobId": "j1",
        "JobType": "sync_user",
        "ErrCode": "0",
    }
    assert job.agent_id is None


def test_other_messages() -> None:
    img = parse_event(
        render_plaintext(
            {
                "ToUserName": CORP_ID,
                "FromUserName": "lisi",
                "CreateTime": 5,
                "MsgType": "image",
                "PicUrl": "https://example.invalid/p.jpg",
                "MediaId": "m1",
                "MsgId": 99,
                "AgentID": 1,
            }
        )
    )
    assert isinstance(img, OtherMessage) and img.msg_type == "image" and img.msg_id == "99"
    assert img.raw["MediaId"] == "m1"
    assert dedupe_key(img) == "99"
    future = parse_event(
        render_plaintext(
            {
                "ToUserName": CORP_ID,
                "FromUserName": "lisi",
                "CreateTime": 5,
                "MsgType": "hologram",
            }
        )
    )
    assert isinstance(future, OtherMessage) and future.msg_id == ""
    assert dedupe_key(future).startswith("lisi|5|hologram|")


def test_text_without_msg_id_still_gets_a_stable_key() -> None:
    xml = render_plaintext(
        {"ToUserName": CORP_ID, "FromUserName": "lisi", "CreateTime": 5, "MsgType": "text", "Content": "hi"}
    )
    a, b = parse_event(xml), parse_event(xml)
    assert dedupe_key(a) == dedupe_key(b) and dedupe_key(a).startswith("lisi|5|text|")
    other = parse_event(xml.replace("hi", "ho"))
    assert dedupe_key(other) != dedupe_key(a)


def test_dedupe_separates_two_clicks_in_the_same_second_and_merges_retries() -> None:
    def click(key: str, task: str = "case-1-r1") -> CardClick:
        ev = parse_event(
            _event(
                Event="template_card_event",
                EventKey=key,
                TaskId=task,
                CardType="button_interaction",
                ResponseCode="rc",
                AgentID=1,
            )
        )
        assert isinstance(ev, CardClick)
        return ev

    assert dedupe_key(click("accept:1")) == dedupe_key(click("accept:1"))
    assert dedupe_key(click("accept:1")) != dedupe_key(click("return:1"))
    assert dedupe_key(click("accept:1")) != dedupe_key(click("accept:1", task="case-2-r1"))


def test_retries_through_real_crypto_get_the_same_key() -> None:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    cb = WeComCallbacks(TOKEN, AES_KEY, CORP_ID, clock=lambda: 1_718_000_000)
    first = cb.card_click("zhangsan", "case-1-r1", "accept:1", "rc-1")
    retry = cb.from_fields(first.fields)  # new nonce, new ciphertext, same event
    keys = []
    for req in (first, retry):
        q = req.query
        ev = parse_event(crypto.decrypt(req.body, q["msg_signature"], q["timestamp"], q["nonce"]))
        assert isinstance(ev, CardClick) and ev.response_code == "rc-1"
        keys.append(dedupe_key(ev))
    assert first.body != retry.body and keys[0] == keys[1]


def test_events_are_frozen() -> None:
    ev = parse_event(OFFICIAL_TEXT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.content = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "garbage",
        "<notxml><MsgType>text</MsgType></notxml>",
        "<xml><FromUserName>a</FromUserName><CreateTime>1</CreateTime></xml>",  # no MsgType
        "<xml><MsgType>text</MsgType><CreateTime>1</CreateTime></xml>",  # no FromUserName
        "<xml><MsgType>text</MsgType><FromUserName>a</FromUserName></xml>",  # no CreateTime
        "<xml><MsgType>text</MsgType><FromUserName>a</FromUserName><CreateTime>1.5e9</CreateTime></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>a</FromUserName><CreateTime>１２</CreateTime></xml>",
        "<xml><MsgType>event</MsgType><FromUserName>a</FromUserName><CreateTime>1</CreateTime></xml>",
        "<xml><MsgType>text</MsgType><FromUserName>a</FromUserName><CreateTime>1</CreateTime>"
        "<AgentID>abc</AgentID></xml>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<xml><MsgType>text</MsgType><FromUserName>&b;</FromUserName><CreateTime>1</CreateTime></xml>",
        '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>',
    ],
)
def test_bad_plaintext_raises_parse_error(xml: str) -> None:
    with pytest.raises(WeComParseError) as exc:
        parse_event(xml)
    assert exc.value.code == -40002
    assert isinstance(exc.value, WeComCryptoError)
    assert "passwd" not in str(exc.value)
