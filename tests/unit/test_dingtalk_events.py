"""Robot messages (spec §b.1) and card callbacks (spec §d.5) → events → Inbound; dedupe keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.platforms.dingtalk.events import (
    CardCallback,
    DingTalkEventError,
    RobotMessage,
    dedupe_key,
    parse_callback,
    parse_card_callback,
    parse_robot_message,
    to_inbound,
)
from bot.ports import Inbound
from tests.fakes.fake_dingtalk import FakeCard, FakeDingTalk

# spec §b.1: the documented example (text, group)
OFFICIAL = """{
  "conversationId": "cidjMOsz******AhS4Jg==",
  "atUsers": [{"dingtalkId": "$:LWCP_v1:$v***", "staffId": "452523285939877041", "unionId": "edxxx34"}],
  "chatbotCorpId": "ding9f50*****6741",
  "chatbotUserId": "$:LWCP_v1:$v*********1+2ow21Zzg",
  "msgId": "msg2*****p+w==",
  "senderNick": "张三",
  "isAdmin": true,
  "senderStaffId": "452523285939877041",
  "senderId": "$:LWCP_v1:$C*********pnNGsP0HS+",
  "senderCorpId": "ding9f50*****6741",
  "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=c610ee93e4d96899d9236bd4bea185dd",
  "sessionWebhookExpiredTime": 1695204671648,
  "createAt": 1695199269062,
  "conversationType": "2",
  "conversationTitle": "督查群",
  "isInAtList": true,
  "robotCode": "ding1f*******dabddc",
  "msgtype": "text",
  "text": {"content": " 签收 2024-0012"}
}"""

# spec §d.5: the callback object
CARD = {
    "type": "actionCallback",
    "corpId": "dingcorp...",
    "userId": "user123",
    "userIdType": 1,
    "outTrackId": "liuyan-2024-0012-a1",
    "spaceType": "IM_ROBOT",
    "spaceId": "...",
    "extension": "{}",
    "content": ('{"cardPrivateData":{"actionIds":["btn_sign"],"params":{"action":"sign","case_no":"2024-0012"}}}'),
    "value": "...",
}


def official(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(OFFICIAL)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def card(**changes: Any) -> dict[str, Any]:
    data = dict(CARD)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def content(params: Any, action_ids: Any = ("btn1",)) -> str:
    return json.dumps({"cardPrivateData": {"actionIds": list(action_ids), "params": params}}, ensure_ascii=False)


# -- robot messages ---------------------------------------------------------------------------------


def test_official_sample_parses() -> None:
    msg = parse_robot_message(OFFICIAL)
    assert isinstance(msg, RobotMessage)
    assert msg.msg_id == "msg2*****p+w==" and msg.msgtype == "text"
    assert msg.text == "签收 2024-0012"  # the group's leading space is gone
    assert msg.sender_staff_id == "452523285939877041" and msg.is_group and msg.is_admin
    assert msg.create_at == 1695199269062 and msg.session_webhook_expired_time == 1695204671648
    assert msg.conversation_title == "督查群" and msg.at_staff_ids == ("452523285939877041",)
    assert "session=" not in repr(msg)  # the sessionWebhook is a credential


def test_official_sample_to_inbound() -> None:
    inbound = to_inbound(parse_robot_message(OFFICIAL.encode("utf-8")), received_at=0)
    assert inbound is not None
    assert (inbound.platform, inbound.user, inbound.kind, inbound.at, inbound.text) == (
        "dingtalk",
        "452523285939877041",
        "text",
        1695199269,
        "签收 2024-0012",
    )
    assert inbound.key == inbound.task_id == inbound.reply_ref == ""
    assert inbound.extra["conversation_type"] == "2"
    assert inbound.extra["conversation_id"] == "cidjMOsz******AhS4Jg=="
    assert inbound.extra["session_webhook"].startswith("https://oapi.dingtalk.com/robot/sendBySession")
    assert inbound.extra["session_webhook_expires"] == 1695204671648
    assert Inbound.from_payload(json.loads(json.dumps(inbound.to_payload()))) == inbound  # storable


def test_dedupe_key_is_the_msg_id() -> None:
    assert dedupe_key(parse_robot_message(OFFICIAL)) == "msg:msg2*****p+w=="
    again = parse_robot_message(official(createAt=1695199269999, text={"content": "别的"}))
    assert dedupe_key(again) == "msg:msg2*****p+w=="


def test_create_at_as_string_and_top_level_content_slip() -> None:
    # spec §b.1: createAt documented as String; one official sample puts the text top-level
    msg = parse_robot_message(official(createAt="1695199269062", text=None, content=" Hello"))
    assert msg.create_at == 1695199269062 and msg.text == "Hello"


def test_one_to_one_message_from_the_fake() -> None:
    fake = FakeDingTalk()
    msg = parse_robot_message(fake.robot_message("zhangsan", "待办"))
    inbound = to_inbound(msg, received_at=0)
    assert inbound is not None and inbound.user == "zhangsan" and inbound.text == "待办"
    assert not msg.is_group and inbound.extra["conversation_type"] == "1"
    assert inbound.at == int(fake.now)


def test_rich_text_counts_as_text() -> None:
    rich = official(
        msgtype="richText",
        text=None,
        content={
            "richText": [
                {"text": "退回 LY-2026-0001 "},
                {"downloadCode": "dc1", "type": "picture"},
                {"text": "不属于本单位"},
            ]
        },
    )
    inbound = to_inbound(parse_robot_message(rich), received_at=0)
    assert inbound is not None and inbound.text == "退回 LY-2026-0001 不属于本单位"


@pytest.mark.parametrize(
    "changes",
    [
        {"msgtype": "picture", "text": None, "content": {"downloadCode": "x", "pictureDownloadCode": "y"}},
        {"msgtype": "audio", "text": None, "content": {"downloadCode": "x", "recognition": "签收", "duration": 3000}},
        {"msgtype": "file", "text": None, "content": {"downloadCode": "x", "fileName": "a.xlsx"}},
        {"msgtype": "unknownMsgType", "text": None},
        {"msgtype": "interactiveCardFromTheFuture", "text": None, "content": {"x": 1}},
        {"msgtype": "richText", "text": None, "content": {"richText": [{"downloadCode": "d", "type": "picture"}]}},
        {"text": {"content": "   "}},
    ],
)
def test_other_kinds_are_ignored(changes: dict[str, Any]) -> None:
    msg = parse_robot_message(official(**changes))
    assert to_inbound(msg, received_at=0) is None


def test_missing_sender_staff_id_is_flagged_not_dropped() -> None:
    # spec §b.1: senderStaffId only after the robot is published; refuse with a clear message
    fake = FakeDingTalk()
    inbound = to_inbound(parse_robot_message(fake.robot_message("zhangsan", "签收", published=False)), received_at=0)
    assert inbound is not None and inbound.kind == "other" and inbound.user == ""
    assert inbound.extra["problem"] == "no_staff_id" and inbound.extra["session_webhook"]


def test_error_message_means_quota_exhausted() -> None:
    fake = FakeDingTalk()
    raw = fake.robot_message("zhangsan", error_message="message service paused")
    msg = parse_robot_message(raw)
    assert msg.error_message and msg.msgtype == ""
    inbound = to_inbound(msg, received_at=0)
    assert inbound is not None and inbound.kind == "other" and inbound.extra["problem"] == "quota_exhausted"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe{}",  # not UTF-8
        b"[1, 2]",
        b'"a string"',
        b"42",
        b"null",
        b'{"msgId": "m", "msgtype": "text", "createAt": NaN}',
        b"[" * 100_000 + b"]" * 100_000,  # nesting bomb
        b'{"a": "' + b"x" * 300_000 + b'"}',  # oversized
        json.dumps(official(msgId=None)).encode(),
        json.dumps(official(msgId={"$ne": 1})).encode(),
        json.dumps(official(msgtype=None)).encode(),
        json.dumps(official(createAt=None)).encode(),
        json.dumps(official(createAt="yesterday")).encode(),
        json.dumps(official(createAt=-5)).encode(),
        json.dumps(official(createAt=True)).encode(),
        json.dumps(official(createAt=10**30)).encode(),
        json.dumps(official(text=["签收"])).encode(),
        json.dumps(official(atUsers={"staffId": "x"})).encode(),
        json.dumps(official(senderStaffId=["452523285939877041"])).encode(),
        json.dumps(official(msgtype="picture", text=None, content=["x"])).encode(),
    ],
)
def test_hostile_robot_messages_raise_one_error(payload: bytes) -> None:
    with pytest.raises(DingTalkEventError):
        parse_robot_message(payload)


def test_hostile_input_types() -> None:
    with pytest.raises(DingTalkEventError):
        parse_robot_message(12345)  # type: ignore[arg-type]
    with pytest.raises(DingTalkEventError):
        parse_card_callback(b"\x00" * 10)


# -- card callbacks ---------------------------------------------------------------------------------


def test_spec_card_callback_parses() -> None:
    event = parse_card_callback(json.dumps(CARD))
    assert isinstance(event, CardCallback)
    assert (event.out_track_id, event.user_id, event.user_id_type) == ("liuyan-2024-0012-a1", "user123", 1)
    assert event.action_ids == ("btn_sign",) and event.action == "sign"
    assert event.params == {"action": "sign", "case_no": "2024-0012"} and event.extension == {}
    assert event.value == "..."


def test_card_callback_to_inbound() -> None:
    event = parse_card_callback(CARD)
    inbound = to_inbound(event, received_at=1_700_000_123.9)
    assert inbound is not None
    assert (inbound.platform, inbound.user, inbound.kind, inbound.at) == ("dingtalk", "user123", "click", 1_700_000_123)
    assert inbound.key == "sign" and inbound.task_id == "liuyan-2024-0012-a1"
    assert inbound.extra["inputs"] == {"case_no": "2024-0012"}
    assert inbound.extra["action_ids"] == ["btn_sign"]


def test_our_packed_key_travels_as_the_action_param() -> None:
    key = "ly1|acc|LY-2026-0001|3"
    event = parse_card_callback(card(content=content({"action": key, "rev": "abc123", "reason": "不属于本单位"})))
    inbound = to_inbound(event, received_at=0)
    assert inbound is not None and inbound.key == key
    assert inbound.extra["inputs"] == {"reason": "不属于本单位"}  # rev is ours, not an input


def test_content_may_arrive_as_an_object() -> None:
    event = parse_card_callback(
        card(content={"cardPrivateData": {"actionIds": ["btn2"], "params": {"action": "x"}}}, extension={"k": "v"})
    )
    assert event.action == "x" and event.extension == {"k": "v"}


@pytest.mark.parametrize(
    "changes",
    [
        {"userIdType": 2},  # unionId: we never create such cards, a unionId matches nobody
        {"content": content({"case_no": "2024-0012"})},  # no action
        {"content": content({"action": ""})},
        {"content": content({"action": 5})},
        {"content": None},
    ],
)
def test_unusable_clicks_are_ignored(changes: dict[str, Any]) -> None:
    assert to_inbound(parse_card_callback(card(**changes)), received_at=0) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"outTrackId": None},
        {"outTrackId": ""},
        {"outTrackId": {"a": 1}},
        {"userId": None},
        {"userId": "   "},
        {"userId": ["user123"]},
        {"userIdType": 3},
        {"userIdType": True},
        {"content": "{not json"},
        {"content": "[1]"},
        {"content": 7},
        {"content": json.dumps({"cardPrivateData": "x"})},
        {"content": json.dumps({"cardPrivateData": {"actionIds": "btn1", "params": {}}})},
        {"content": json.dumps({"cardPrivateData": {"actionIds": [1], "params": {}}})},
        {"content": json.dumps({"cardPrivateData": {"actionIds": [], "params": ["action"]}})},
        {"extension": "{{"},
    ],
)
def test_hostile_card_callbacks_raise_one_error(changes: dict[str, Any]) -> None:
    with pytest.raises(DingTalkEventError):
        parse_card_callback(card(**changes))


def test_card_dedupe_key_follows_the_spec_tuple() -> None:
    base = parse_card_callback(card(content=content({"action": "k1", "rev": "r1"})))
    same = parse_card_callback(card(content=content({"rev": "r1", "action": "k1"})))  # key order irrelevant
    newer = parse_card_callback(card(content=content({"action": "k1", "rev": "r2"})))  # card re-rendered
    other_button = parse_card_callback(card(content=content({"action": "k2", "rev": "r1"}, ["btn2"])))
    other_user = parse_card_callback(card(userId="user456", content=content({"action": "k1", "rev": "r1"})))
    other_card = parse_card_callback(card(outTrackId="liuyan-x", content=content({"action": "k1", "rev": "r1"})))
    key = dedupe_key(base)
    assert key.startswith("card:liuyan-2024-0012-a1:user123:")
    assert dedupe_key(same) == key
    assert len({key, dedupe_key(newer), dedupe_key(other_button), dedupe_key(other_user), dedupe_key(other_card)}) == 5
    assert len(dedupe_key(parse_card_callback(card(outTrackId="x" * 500)))) <= 300


def test_parse_callback_tells_the_kinds_apart() -> None:
    assert isinstance(parse_callback(OFFICIAL), RobotMessage)
    assert isinstance(parse_callback(json.dumps(CARD).encode()), CardCallback)
    with pytest.raises(DingTalkEventError):
        parse_callback(b'{"hello": "world"}')
    with pytest.raises(DingTalkEventError):
        parse_callback(b"[]")


def test_fake_click_round_trip() -> None:
    """The fake builds the callback from the template contract; events decode it."""
    fake = FakeDingTalk(users=["zhangsan"])
    fake.cards["LY-2026-0001-assign-1"] = FakeCard(
        "LY-2026-0001-assign-1",
        "liuyan-generic-0001.schema",
        {"closed": "false", "btn1_text": "签收", "btn1_key": "ly1|acc|LY-2026-0001|1", "rev": "r9"},
        {},
        "STREAM",
        None,
        [("IM_ROBOT", "zhangsan")],
        fake.now,
    )
    click = fake.click("zhangsan", "LY-2026-0001-assign-1", "签收")
    inbound = to_inbound(parse_card_callback(click.payload), received_at=fake.now)
    assert inbound is not None and inbound.key == "ly1|acc|LY-2026-0001|1"
    assert inbound.task_id == "LY-2026-0001-assign-1" and inbound.extra["action_ids"] == ["btn1"]
