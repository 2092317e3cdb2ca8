"""A fake DingTalk (REST API, custom robot webhook, Stream gateway) per spec §j.

Usage::

    fake = FakeDingTalk(users=["zhangsan", "lisi"], groups={"cidSUPERVISION==": ["zhangsan"]})
    base = await fake.start()                      # one aiohttp server on 127.0.0.1
    client = DingTalkClient(session, api_base=base, oapi_base=base, client_id=fake.client_id,
                            client_secret=fake.client_secret, robot_code=fake.robot_code)
    ...
    await fake.close()

Behaviour (the fake's own choices, where the spec gives no exact code, are marked *):

* The desk's OAuth sign-in: ``authorize(user)`` → the redirect's ``authCode`` (single use,
  5 minutes); ``POST /v1.0/oauth2/userAccessToken`` (400 ``invalidAuthCode``*), ``GET
  /v1.0/contact/users/me`` (the user's token in ``x-acs-dingtalk-access-token``: ``unionId``),
  ``POST /topapi/user/getbyunionid?access_token=`` (old envelope; 60121 not a member).
* ``POST /v1.0/oauth2/accessToken``: JSON only (a form body → 400 ``MissingBody``* "body is
  mandatory for this action"), 400 ``invalidClientIdOrSecret``; while a token is valid the same
  one is returned and its validity extended (spec §a.3). Expired or revoked tokens get HTTP 400
  ``InvalidAuthentication`` on every API. ``GET /gettoken``: old envelope, 90002/90003/40089.
* robot sends (spec §c.1–§c.4): field validation with the documented codes (``miss.param.*``*
  for missing fields), ``invalidStaffIdList`` for unknown users, ``flowControlledStaffIdList``
  beyond ``per_user_minute``, ``send.too.fast`` beyond ``robot_send_per_minute`` calls a minute,
  ``processQueryKey`` recall within 24 h.
* cards (spec §d.2–§d.5): createAndDeliver with required fields, space models, a failing space in
  ``deliverResults`` (unknown user/group or :meth:`FakeDingTalk.fail_space`), no overwrite on a
  re-create with the same ``outTrackId``; ``PUT /v1.0/card/instances`` merge vs replace;
  callbacks/register. :meth:`FakeDingTalk.click` presses a button using the card template
  contract (``docs/dingtalk-card-template.json``): it resolves the button's 回传参数 from the
  card data and builds the callback object of spec §d.5; deliver it over Stream with
  :meth:`FakeDingTalk.push_click` (the ack's reply updates the card) or over HTTP with
  :meth:`CardClick.http_request` (unsigned: DingTalk's HTTP card-callback auth is undocumented).
* ``POST /robot/send`` (custom robot, spec §e): keyword/加签/IP checks → 310000 with the four
  errmsgs, 20/min → ``too_fast_code`` (410100) and blocked for 10 minutes (optionally answered
  with HTTP 302), ``msgUuid`` idempotency. ``POST /robot/sendBySession``: expiry (HTTP 500*, as
  observed).
* QPS: ``qps_per_api`` calls per fake-clock second per API → HTTP 403
  ``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi``. Fault injection: :meth:`fail_next`,
  :meth:`hang_next`. Every request is logged.
* Stream (spec §b.3): ``POST /v1.0/gateway/connections/open`` → ``{endpoint: ws://.../connect,
  ticket}`` (401 ``authFailed``); tickets are single-use and live 90 s of the fake clock.
  ``/connect`` serves the WebSocket: push robot messages and card callbacks as CALLBACK frames,
  ``ping``/``disconnect`` SYSTEM frames, redeliver a ``messageId``, drop the connection; every
  ack is checked against the published shape (violations in ``ack_errors``).
* HTTP-mode robot callbacks (spec §b.2): :meth:`signed_callback` builds the POST DingTalk would
  send, signed with the app secret (or deliberately tampered/expired).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import secrets
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from bot.clock import ManualClock

__all__ = [
    "CARD_TOPIC",
    "DEFAULT_TEMPLATE_ID",
    "ROBOT_TOPIC",
    "Ack",
    "CardClick",
    "CardView",
    "FakeCard",
    "FakeDingTalk",
    "GroupMessage",
    "HttpCallback",
    "LoggedRequest",
    "RobotSend",
    "StreamConnection",
    "WebhookRobot",
    "load_contract",
]

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
DEFAULT_TEMPLATE_ID = "liuyan-generic-0001.schema"
CONTRACT_PATH = Path(__file__).resolve().parents[2] / "docs" / "dingtalk-card-template.json"

_MSG_KEYS = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleImageMsg": ("photoURL",),
    "sampleLink": ("text", "title", "picUrl", "messageUrl"),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
    "sampleActionCard2": ("title", "text"),
    "sampleActionCard3": ("title", "text"),
    "sampleActionCard4": ("title", "text"),
    "sampleActionCard5": ("title", "text"),
    "sampleActionCard6": ("title", "text", "buttonTitle1", "buttonUrl1", "buttonTitle2", "buttonUrl2"),
    "sampleAudio": ("mediaId", "duration"),
    "sampleFile": ("mediaId", "fileName", "fileType"),
    "sampleVideo": ("duration", "videoMediaId", "videoType", "picMediaId"),
}
_WEBHOOK_MSGTYPES = frozenset({"text", "markdown", "link", "actionCard", "feedCard"})
_MSG_PARAM_LIMIT = 15_000


def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Any]:
    """The liuyan card template contract (variables, buttons, 回传参数)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _sign(timestamp: str, secret: str) -> str:
    # independent of bot.platforms.dingtalk.sign on purpose (cross-check)
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class _ApiError(Exception):
    """A new-API error: HTTP status + ``{"code", "message", "requestid"}``."""

    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(code, message, status)
        self.code = code
        self.message = message or code
        self.status = status


class _OldError(Exception):
    """An old-API / webhook error: HTTP 200 + ``{"errcode", "errmsg"}``."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class _Raw(Exception):
    """Answer with this exact response (e.g. a 302 from a throttled robot)."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__("raw")
        self.response = response


@dataclass
class LoggedRequest:
    """One request as the fake received it (secrets included: test-only)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class RobotSend:
    """One ``oToMessages/batchSend`` call; ``delivered_to`` excludes invalid/flow-controlled users."""

    process_query_key: str
    msg_key: str
    msg_param: dict[str, Any]
    delivered_to: tuple[str, ...]
    sent_at: float
    recalled: bool = False

    @property
    def text(self) -> str:
        return str(self.msg_param.get("content") or self.msg_param.get("text") or "")


@dataclass
class GroupMessage:
    conversation_id: str
    process_query_key: str
    msg_key: str
    msg_param: dict[str, Any]
    sent_at: float
    recalled: bool = False

    @property
    def text(self) -> str:
        return str(self.msg_param.get("content") or self.msg_param.get("text") or "")


@dataclass
class FakeCard:
    """A card instance: public data, per-user private data, the spaces it went to."""

    out_track_id: str
    template_id: str
    public: dict[str, str]
    private: dict[str, dict[str, str]]
    callback_type: str | None
    route_key: str | None
    spaces: list[tuple[str, str]]
    created_at: float
    at_users: dict[str, str] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CardView:
    """What one user sees of a card now: public data merged with their private data."""

    out_track_id: str
    data: dict[str, str]
    buttons: dict[str, str]  # visible callback buttons: component id → text
    links: dict[str, str]  # visible link buttons: component id → url

    @property
    def clickable(self) -> bool:
        return bool(self.buttons)


@dataclass
class HttpCallback:
    """An HTTP request DingTalk would send to the bot (POST ``url`` with ``headers`` and ``body``)."""

    url: str
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any]


@dataclass
class CardClick:
    """A button press: the §d.5 callback object and where DingTalk would send it."""

    user: str
    out_track_id: str
    action_id: str
    payload: dict[str, Any]
    callback_type: str
    route_url: str | None
    at_ms: int = 0  # when the button was pressed (fake clock)

    def http_request(self, *, sign_secret: str | None = None, timestamp_ms: int | None = None) -> HttpCallback:
        """The HTTP-mode callback (cards created with ``callbackType: HTTP``).

        Unsigned by default: how DingTalk authenticates HTTP card callbacks is undocumented
        (spec §d.4, §k). ``sign_secret`` adds robot-style ``timestamp``/``sign`` headers — an
        unverified assumption, only for testing a route that accepts both.
        """
        if self.callback_type != "HTTP" or not self.route_url:
            raise LookupError("this card has no HTTP callback route")
        body = json.dumps(self.payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if sign_secret is not None:
            ts = str(timestamp_ms if timestamp_ms is not None else self.at_ms)
            headers.update(timestamp=ts, sign=_sign(ts, sign_secret))
        return HttpCallback(self.route_url, headers, body, self.payload)


@dataclass
class WebhookRobot:
    """A custom group robot (spec §e): its security settings and what it posted."""

    token: str
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    ip_allowed: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)
    hits: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    uuids: set[str] = field(default_factory=set)


@dataclass
class _Session:
    session: str
    conversation_id: str
    expires_ms: int
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Ack:
    """An ack the client sent; ``data`` is the decoded ``data`` string."""

    message_id: str
    code: int
    message: str
    data: Any
    raw: dict[str, Any]


@dataclass
class StreamConnection:
    """One client WebSocket on the fake gateway."""

    id: int
    ws: web.WebSocketResponse
    request: web.Request
    subscriptions: list[dict[str, str]]
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # messageId → frame
    acks: dict[str, Ack] = field(default_factory=dict)
    waiters: dict[str, asyncio.Future[Ack]] = field(default_factory=dict)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def topics(self) -> set[str]:
        return {s.get("topic", "") for s in self.subscriptions}


@dataclass
class _Fault:
    code: str | None = None
    message: str = "system busy"
    http_status: int = 400
    errcode: int | None = None
    body: str | None = None
    hang: bool = False


class FakeDingTalk:
    """State and behaviour of the fake; :meth:`app` serves it, :meth:`start` runs it."""

    def __init__(
        self,
        *,
        client_id: str = "dingfakeclientid0001",
        client_secret: str = "fake-client-secret-0001-xyz",
        robot_code: str | None = None,
        corp_id: str = "dingfakecorp000001",
        users: Iterable[str] = ("zhangsan", "lisi", "wangwu"),
        groups: Mapping[str, Iterable[str]] | None = None,
        templates: Mapping[str, Mapping[str, Any]] | None = None,
        webhooks: Iterable[WebhookRobot] | None = None,
        token_ttl: int = 7200,
        start_time: float = 1_700_000_000.0,
        qps_per_api: int | None = None,
        robot_send_per_minute: int | None = None,
        per_user_minute: int | None = None,
        webhook_per_minute: int = 20,
        webhook_block: float = 600.0,
        too_fast_code: int = 410100,
        throttle_as_302: bool = False,
        ticket_ttl: float = 90.0,
        session_ttl_ms: int = 5_400_000,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.robot_code = robot_code or client_id
        self.corp_id = corp_id
        self.users: set[str] = set(users)
        self._auth_codes: dict[str, tuple[str, float]] = {}
        self._user_tokens: dict[str, tuple[str, float]] = {}
        self.groups: dict[str, set[str]] = {cid: set(m) for cid, m in (groups or {}).items()}
        self.group_titles: dict[str, str] = {cid: "督查群" for cid in self.groups}
        self.robot_groups: set[str] = set(self.groups)  # groups the robot is a member of
        self.disbanded: set[str] = set()
        self.templates: dict[str, dict[str, Any]] = (
            {k: dict(v) for k, v in templates.items()}
            if templates is not None
            else {DEFAULT_TEMPLATE_ID: load_contract()}
        )
        self.webhooks: dict[str, WebhookRobot] = {
            w.token: w
            for w in (
                webhooks
                if webhooks is not None
                else [WebhookRobot("fake-webhook-token-0001", secret="SECfakewebhooksecret0001")]
            )
        }
        self.token_ttl = token_ttl
        self.time = ManualClock(datetime.fromtimestamp(start_time, UTC))  # the platform's own clock
        self.qps_per_api = qps_per_api
        self.robot_send_per_minute = robot_send_per_minute
        self.per_user_minute = per_user_minute
        self.webhook_per_minute = webhook_per_minute
        self.webhook_block = webhook_block
        self.too_fast_code = too_fast_code
        self.throttle_as_302 = throttle_as_302
        self.ticket_ttl = ticket_ttl
        self.session_ttl_ms = session_ttl_ms
        self.robot_enabled = True
        self.base_url = "http://127.0.0.1"

        self.requests: list[LoggedRequest] = []
        self.oto: list[RobotSend] = []
        self.group_log: dict[str, list[GroupMessage]] = defaultdict(list)
        self.cards: dict[str, FakeCard] = {}
        self.routes: dict[str, tuple[str, str | None]] = {}
        self.sessions: dict[str, _Session] = {}
        self.connections: list[StreamConnection] = []
        self.ack_errors: list[str] = []
        self.open_requests: list[dict[str, Any]] = []
        self._tokens: dict[str, float] = {}  # token → expires at (fake clock)
        self._current_token: str | None = None
        self._tickets: dict[str, tuple[float, bool, list[dict[str, str]]]] = {}
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._failing_spaces: set[str] = set()
        self._qps: dict[tuple[str, int], int] = defaultdict(int)
        self._app_sends: deque[float] = deque()
        self._user_hits: dict[str, deque[float]] = defaultdict(deque)
        self._hang_release: asyncio.Event | None = None
        self._ids = itertools.count(1)
        self._server: TestServer | None = None
        self._connected = asyncio.Condition()

    # -- running --------------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on 127.0.0.1; returns the base URL (use it as api_base and oapi_base)."""
        self._server = TestServer(self.app())
        await self._server.start_server()
        self.base_url = str(self._server.make_url("")).rstrip("/")
        return self.base_url

    async def close(self) -> None:
        self.release_hangs()
        for conn in list(self.connections):
            if not conn.ws.closed:
                await conn.ws.close()
        if self._server is not None:
            await self._server.close()
            self._server = None

    @property
    def open_url(self) -> str:
        """The Stream connection-open URL (``[dingtalk] stream_endpoint``)."""
        return f"{self.base_url}/v1.0/gateway/connections/open"

    # -- clock and knobs --------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The fake's time (unix seconds)."""
        return self.time()

    @now.setter
    def now(self, value: float) -> None:
        self.time.set(datetime.fromtimestamp(value, UTC))

    def clock(self) -> float:
        """The fake's clock (unix seconds): pass it to clients as ``monotonic``/``wall_clock``."""
        return self.time()

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.time.advance(seconds)

    def expire_tokens(self) -> None:
        """Revoke every issued token early: the next API call gets ``InvalidAuthentication``."""
        self._tokens.clear()
        self._current_token = None

    def fail_next(
        self,
        path: str,
        code: str | None = "system.error",
        *,
        http_status: int = 500,
        message: str = "system busy",
        errcode: int | None = None,
        body: str | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``path`` (e.g. ``"robot/oToMessages/batchSend"``) fail:
        with ``errcode`` → HTTP 200 old envelope; with ``body`` → that raw body and status;
        with ``code`` → the new envelope and ``http_status``; ``code=None`` → a bare status."""
        for _ in range(times):
            self._faults[path].append(
                _Fault(code=code, message=message, http_status=http_status, errcode=errcode, body=body)
            )

    def hang_next(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``path`` never answer (until :meth:`release_hangs`)."""
        for _ in range(times):
            self._faults[path].append(_Fault(hang=True))

    def release_hangs(self) -> None:
        if self._hang_release is not None:
            self._hang_release.set()
            self._hang_release = None

    def fail_space(self, space_id: str) -> None:
        """Deliveries of cards to this user/group report ``success: false``."""
        self._failing_spaces.add(space_id)

    def add_group(self, cid: str, members: Iterable[str], *, title: str = "督查群", robot: bool = True) -> None:
        self.groups[cid] = set(members)
        self.group_titles[cid] = title
        if robot:
            self.robot_groups.add(cid)

    # -- inspection -------------------------------------------------------------------------------

    def calls(self, path: str | None = None) -> list[LoggedRequest]:
        return [r for r in self.requests if path is None or r.path == path]

    @property
    def token_count(self) -> int:
        return len(self.calls("oauth2/accessToken"))

    def issued_tokens(self) -> list[str]:
        return [
            r.headers.get("x-acs-dingtalk-access-token", "")
            for r in self.requests
            if r.headers.get("x-acs-dingtalk-access-token")
        ]

    def messages_to(self, user: str, *, include_recalled: bool = True) -> list[RobotSend]:
        """Robot one-to-one messages delivered to ``user``, oldest first."""
        return [m for m in self.oto if user in m.delivered_to and (include_recalled or not m.recalled)]

    def group_messages(self, cid: str) -> list[GroupMessage]:
        return list(self.group_log.get(cid, ()))

    def webhook_messages(self, token: str = "fake-webhook-token-0001") -> list[dict[str, Any]]:
        return list(self.webhooks[token].messages)

    def session_messages(self, conversation_id: str) -> list[dict[str, Any]]:
        return [m for s in self.sessions.values() if s.conversation_id == conversation_id for m in s.messages]

    def card(self, out_track_id: str) -> FakeCard:
        return self.cards[out_track_id]

    def cards_for(self, user: str) -> list[FakeCard]:
        return [c for c in self.cards.values() if self._sees(user, c)]

    def card_state(self, user: str, out_track_id: str) -> CardView | None:
        """What ``user`` sees of card ``out_track_id`` now (None if it never reached them)."""
        card = self.cards.get(out_track_id)
        if card is None or not self._sees(user, card):
            return None
        data = {**card.public, **card.private.get(user, {})}
        template = self.templates.get(card.template_id, {})
        buttons: dict[str, str] = {}
        links: dict[str, str] = {}
        for spec in template.get("buttons", ()):
            if not _visible(spec.get("visible_if"), data):
                continue
            text = _resolve_text(spec.get("text"), data)
            if spec.get("click") == "callback":
                buttons[spec["id"]] = text
            elif spec.get("click") == "openLink":
                links[spec["id"]] = _resolve_text(spec.get("url"), data)
        return CardView(out_track_id, data, buttons, links)

    def _sees(self, user: str, card: FakeCard) -> bool:
        for space_type, space_id in card.spaces:
            if space_type == "IM_ROBOT" and space_id == user:
                return True
            if space_type == "IM_GROUP" and user in self.groups.get(space_id, set()):
                return True
        return False

    # -- incoming: robot messages (spec §b.1, §b.2) ------------------------------------------------

    def robot_message(
        self,
        sender: str | None,
        text: str = "",
        *,
        group: str | None = None,
        msgtype: str = "text",
        msg_id: str | None = None,
        content: Mapping[str, Any] | None = None,
        nick: str = "张三",
        published: bool = True,
        error_message: str | None = None,
        create_at_ms: int | None = None,
    ) -> dict[str, Any]:
        """The message object DingTalk delivers for ``sender`` writing ``text`` to the robot
        (one-to-one, or in ``group`` with an @robot). ``published=False`` leaves out
        ``senderStaffId`` as DingTalk does before the robot is published."""
        created = self.now_ms if create_at_ms is None else create_at_ms
        session = secrets.token_hex(16)
        cid = group if group is not None else "cid" + hashlib.sha1(f"oto:{sender}".encode()).hexdigest()[:20] + "=="
        self.sessions[session] = _Session(session, cid, created + self.session_ttl_ms)
        msg: dict[str, Any] = {
            "conversationId": cid,
            "chatbotCorpId": self.corp_id,
            "chatbotUserId": "$:LWCP_v1:$robot" + self.robot_code[-6:],
            "msgId": msg_id or f"msg{next(self._ids):06d}{secrets.token_hex(6)}==",
            "senderNick": nick,
            "isAdmin": False,
            "senderId": "$:LWCP_v1:$" + hashlib.sha1(f"s:{sender}".encode()).hexdigest()[:24],
            "senderCorpId": self.corp_id,
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
            "sessionWebhookExpiredTime": created + self.session_ttl_ms,
            "createAt": created,
            "conversationType": "2" if group is not None else "1",
            "robotCode": self.robot_code,
            "msgtype": msgtype,
        }
        if published and sender is not None:
            msg["senderStaffId"] = sender
        if group is not None:
            msg["conversationTitle"] = self.group_titles.get(group, "群聊")
            msg["isInAtList"] = True
            msg["atUsers"] = [{"dingtalkId": msg["chatbotUserId"]}]
        if error_message is not None:
            msg.pop("msgtype")
            msg["errorMessage"] = error_message
        elif msgtype == "text":
            # spec §b.1: in groups the @-mention is removed but its separator stays
            msg["text"] = {"content": (" " + text) if group is not None else text}
        elif content is not None:
            msg["content"] = dict(content)
        return msg

    def signed_callback(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        url: str = "/dingtalk/callback",
        timestamp_ms: int | None = None,
        secret: str | None = None,
        sign: str | None = None,
        tamper: bool = False,
    ) -> HttpCallback:
        """The HTTP-mode POST of a robot message (spec §b.2): ``timestamp``/``sign`` headers.

        ``secret`` signs with another secret, ``sign`` overrides the signature, ``tamper``
        changes the body after signing (the signature covers only the timestamp, so a
        tampered body still verifies — the bot must rely on msgId dedupe and on TLS)."""
        ts = str(self.now_ms if timestamp_ms is None else timestamp_ms)
        signature = sign if sign is not None else _sign(ts, secret if secret is not None else self.client_secret)
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if tamper:
            body = body.replace(b"\xe7\xad\xbe\xe6\x94\xb6", b"\xe9\x80\x80\xe5\x9b\x9e")  # 签收 → 退回
        parsed = payload if isinstance(payload, Mapping) else {}
        return HttpCallback(
            url,
            {"Content-Type": "application/json; charset=utf-8", "timestamp": ts, "sign": signature},
            body,
            dict(parsed),
        )

    # -- incoming: card clicks (spec §d.5) ---------------------------------------------------------

    def click(self, user: str, out_track_id: str, button: str, *, inputs: Mapping[str, Any] | None = None) -> CardClick:
        """``user`` presses ``button`` (component id like ``btn1``, or the visible text) on card
        ``out_track_id``. Returns the callback DingTalk would send. Raises LookupError if the
        user has no such card/button or the card has no callback, ValueError if hidden."""
        card = self.cards.get(out_track_id)
        view = self.card_state(user, out_track_id)
        if card is None or view is None:
            raise LookupError(f"{user} has no card {out_track_id}")
        template = self.templates[card.template_id]
        specs = {b["id"]: b for b in template.get("buttons", ()) if b.get("click") == "callback"}
        button_id = (
            button if button in specs else next((bid for bid, text in view.buttons.items() if text == button), None)
        )
        if button_id is None or button_id not in specs:
            raise LookupError(f"card {out_track_id} has no button {button!r}")
        if button_id not in view.buttons:
            raise ValueError(f"button {button_id} of {out_track_id} is hidden for {user}")
        if card.callback_type not in ("STREAM", "HTTP"):
            raise LookupError(f"card {out_track_id} was created without callbackType: no callback")
        params: dict[str, Any] = {}
        for p in specs[button_id].get("params", ()):
            if p.get("type") == "variable":
                params[p["name"]] = view.data.get(p["variable"], "")
            else:
                params[p["name"]] = p.get("value", "")
        params.update(inputs or {})
        space_type, space_id = next(
            (
                (t, i)
                for t, i in card.spaces
                if (t == "IM_ROBOT" and i == user) or (t == "IM_GROUP" and user in self.groups.get(i, set()))
            ),
        )
        payload = {
            "type": "actionCallback",
            "corpId": self.corp_id,
            "userId": user,
            "userIdType": 1,
            "outTrackId": out_track_id,
            "spaceType": space_type,
            "spaceId": space_id,
            "extension": "{}",
            "content": json.dumps(
                {"cardPrivateData": {"actionIds": [button_id], "params": params}}, ensure_ascii=False
            ),
        }
        route = self.routes.get(card.route_key or "") if card.callback_type == "HTTP" else None
        return CardClick(
            user, out_track_id, button_id, payload, card.callback_type, route[0] if route else None, self.now_ms
        )

    def apply_card_reply(self, click: CardClick, reply: Mapping[str, Any] | None) -> None:
        """Apply a callback reply ``{cardUpdateOptions, cardData, userPrivateData}`` (spec §d.5)."""
        if not reply:
            return
        card = self.cards[click.out_track_id]
        options = reply.get("cardUpdateOptions") or {}
        data = (reply.get("cardData") or {}).get("cardParamMap")
        if isinstance(data, dict):
            _check_strings(data)
            card.public = {**card.public, **data} if options.get("updateCardDataByKey") else dict(data)
        private = (reply.get("userPrivateData") or {}).get("cardParamMap")
        if isinstance(private, dict):
            _check_strings(private)
            old = card.private.get(click.user, {})
            card.private[click.user] = {**old, **private} if options.get("updatePrivateDataByKey") else dict(private)
        card.updates.append({"via": "callback", **copy.deepcopy(dict(reply))})

    # -- Stream gateway helpers (spec §b.3) -------------------------------------------------------

    async def wait_connections(self, count: int, timeout: float = 5.0) -> StreamConnection:
        """Wait until ``count`` connections have been opened in total; returns the latest."""
        async with self._connected:
            await asyncio.wait_for(self._connected.wait_for(lambda: len(self.connections) >= count), timeout)
        return self.connections[-1]

    def live_connection(self, topic: str | None = None) -> StreamConnection:
        """The newest open connection (subscribed to ``topic``)."""
        for conn in reversed(self.connections):
            if not conn.ws.closed and not conn.closed.is_set() and (topic is None or topic in conn.topics()):
                return conn
        raise LookupError("no open Stream connection" + (f" for {topic}" if topic else ""))

    async def push_frame(
        self,
        frame_type: str,
        topic: str,
        data: Any,
        *,
        conn: StreamConnection | None = None,
        message_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> str:
        """Send one frame (``data`` is JSON-encoded into a string unless already a string)."""
        conn = conn or self.live_connection(topic if frame_type == "CALLBACK" else None)
        mid = message_id or f"{secrets.token_hex(4)}_{next(self._ids)}_{secrets.token_hex(6)}"
        headers = {
            "appId": "fake-app-" + self.client_id[-6:],
            "connectionId": f"fake-conn-{conn.id}",  # as the official SDK's frames.Headers carries
            "contentType": "application/json",
            "messageId": mid,
            "time": str(self.now_ms),
            "topic": topic,
            **(extra_headers or {}),
        }
        frame = {
            "specVersion": "1.0",
            "type": frame_type,
            "headers": headers,
            "data": data if isinstance(data, str) else json.dumps(data, ensure_ascii=False),
        }
        conn.sent[mid] = frame
        conn.waiters.setdefault(mid, asyncio.get_running_loop().create_future())
        await conn.ws.send_str(json.dumps(frame, ensure_ascii=False))
        return mid

    async def redeliver(self, message_id: str, *, conn: StreamConnection | None = None) -> str:
        """Send an already-sent frame again with the same ``messageId`` (to any connection)."""
        frame = next(c.sent[message_id] for c in self.connections if message_id in c.sent)
        target = conn or self.live_connection()
        target.sent[message_id] = frame
        old = target.waiters.get(message_id)
        if old is None or old.done():
            target.waiters[message_id] = asyncio.get_running_loop().create_future()
        await target.ws.send_str(json.dumps(frame, ensure_ascii=False))
        return message_id

    async def wait_ack(self, message_id: str, *, conn: StreamConnection | None = None, timeout: float = 5.0) -> Ack:
        conn = conn or next(c for c in reversed(self.connections) if message_id in c.waiters)
        return await asyncio.wait_for(asyncio.shield(conn.waiters[message_id]), timeout)

    async def push_robot_message(
        self, message: Mapping[str, Any], *, conn: StreamConnection | None = None, timeout: float = 5.0
    ) -> Ack:
        """Deliver a robot message over Stream and wait for its ack."""
        conn = conn or self.live_connection(ROBOT_TOPIC)
        mid = await self.push_frame("CALLBACK", ROBOT_TOPIC, dict(message), conn=conn)
        return await self.wait_ack(mid, conn=conn, timeout=timeout)

    async def push_click(self, click: CardClick, *, conn: StreamConnection | None = None, timeout: float = 5.0) -> Ack:
        """Deliver a card click over Stream; the ack's ``response`` updates the card (spec §d.5)."""
        if click.callback_type != "STREAM":
            raise LookupError("this card's callbacks do not go over Stream")
        conn = conn or self.live_connection(CARD_TOPIC)
        mid = await self.push_frame("CALLBACK", CARD_TOPIC, click.payload, conn=conn)
        ack = await self.wait_ack(mid, conn=conn, timeout=timeout)
        if ack.code == 200 and isinstance(ack.data, dict) and isinstance(ack.data.get("response"), dict):
            self.apply_card_reply(click, ack.data["response"])
        return ack

    async def send_ping(self, *, conn: StreamConnection | None = None, timeout: float = 5.0) -> Ack:
        conn = conn or self.live_connection()
        opaque = str(uuid.uuid4())
        mid = await self.push_frame("SYSTEM", "ping", {"opaque": opaque}, conn=conn)
        ack = await self.wait_ack(mid, conn=conn, timeout=timeout)
        if not isinstance(ack.data, dict) or ack.data.get("opaque") != opaque:
            self.ack_errors.append(f"ping ack does not echo opaque: {ack.raw}")
        return ack

    async def send_disconnect(self, *, conn: StreamConnection | None = None, close_after: float = 0.05) -> None:
        """SYSTEM disconnect, then close the socket ``close_after`` seconds later (DingTalk: ~10 s)."""
        conn = conn or self.live_connection()
        await self.push_frame("SYSTEM", "disconnect", {"reason": "connection is expired"}, conn=conn)
        await asyncio.sleep(close_after)
        if not conn.ws.closed:
            await conn.ws.close()

    async def drop(self, *, conn: StreamConnection | None = None) -> None:
        """Drop the connection without a WebSocket close (a network failure)."""
        conn = conn or self.live_connection()
        transport = conn.request.transport
        if transport is not None:
            transport.abort()
        conn.closed.set()

    # -- HTTP app ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        new = [
            ("POST", "oauth2/accessToken", self._access_token, False),
            ("POST", "gateway/connections/open", self._open_connection, False),
            ("POST", "robot/oToMessages/batchSend", self._batch_send, True),
            ("POST", "robot/groupMessages/send", self._group_send, True),
            ("POST", "robot/otoMessages/batchRecall", self._oto_recall, True),
            ("POST", "robot/groupMessages/recall", self._group_recall, True),
            ("POST", "card/instances/createAndDeliver", self._create_and_deliver, True),
            ("PUT", "card/instances", self._update_card, True),
            ("POST", "card/callbacks/register", self._register_callback, True),
            ("POST", "oauth2/userAccessToken", self._user_access_token, False),
            ("GET", "contact/users/me", self._users_me, False),
        ]
        for method, path, handler, auth in new:
            app.router.add_route(method, f"/v1.0/{path}", self._wrap_new(path, handler, auth))
        app.router.add_get("/gettoken", self._wrap_old("gettoken", self._gettoken))
        app.router.add_post("/robot/send", self._wrap_old("robot/send", self._webhook_send))
        app.router.add_post("/robot/sendBySession", self._wrap_old("robot/sendBySession", self._send_by_session))
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/topapi/user/getbyunionid", self._wrap_old("topapi/user/getbyunionid", self._by_unionid))

        async def _cleanup(_: web.Application) -> None:
            self.release_hangs()

        app.on_shutdown.append(_cleanup)
        return app

    async def _log(self, request: web.Request, path: str) -> Any:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        self.requests.append(
            LoggedRequest(
                request.method,
                path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
                self.now,
            )
        )
        return body

    async def _fault(self, path: str) -> web.StreamResponse | None:
        faults = self._faults.get(path)
        if not faults:
            return None
        fault = faults.popleft()
        if fault.hang:
            if self._hang_release is None:
                self._hang_release = asyncio.Event()
            await self._hang_release.wait()
            return web.Response(status=503, text="released")
        if fault.errcode is not None:
            return web.json_response({"errcode": fault.errcode, "errmsg": fault.message})
        if fault.body is not None:
            return web.Response(status=fault.http_status, text=fault.body)
        if fault.code is None:
            return web.Response(status=fault.http_status, text="<html>error</html>")
        return _new_error(_ApiError(fault.code, fault.message, fault.http_status))

    def _wrap_new(self, path: str, handler: Any, auth: bool) -> Any:
        async def view(request: web.Request) -> web.StreamResponse:
            body = await self._log(request, path)
            if (faulted := await self._fault(path)) is not None:
                return faulted
            try:
                if self.qps_per_api is not None:
                    slot = (path, int(self.now))
                    self._qps[slot] += 1
                    if self._qps[slot] > self.qps_per_api:
                        raise _ApiError("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "调用该接口触发限流", 403)
                if auth:
                    self._auth(request)
                result = handler(request, body)
            except _ApiError as exc:
                return _new_error(exc)
            return web.json_response(result, headers={"x-acs-request-id": str(uuid.uuid4()).upper()})

        return view

    def _wrap_old(self, path: str, handler: Any) -> Any:
        async def view(request: web.Request) -> web.StreamResponse:
            body = await self._log(request, path)
            if (faulted := await self._fault(path)) is not None:
                return faulted
            try:
                result = handler(request, body)
            except _OldError as exc:
                return web.json_response(
                    {"errcode": exc.errcode, "errmsg": exc.errmsg, "request_id": secrets.token_hex(6)}
                )
            except _Raw as raw:
                return raw.response
            return web.json_response({"errcode": 0, "errmsg": "ok", **result})

        return view

    def _auth(self, request: web.Request) -> None:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        expires = self._tokens.get(token)
        if not token or expires is None or self.now >= expires:
            raise _ApiError("InvalidAuthentication", "不合法的access_token", 400)

    @staticmethod
    def _obj(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError("InvalidParameter.Body", "body is not a JSON object")  # *
        return body

    # -- OAuth sign-in (the desk) -------------------------------------------------------------------

    def authorize(self, user: str) -> str:
        """``user`` agrees on login.dingtalk.com: the ``authCode`` of the redirect (single use)."""
        code = secrets.token_hex(16)
        self._auth_codes[code] = (user, self.now)
        return code

    def _user_access_token(self, request: web.Request, body: Any) -> dict[str, Any]:
        body = self._obj(body)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            raise _ApiError("invalidClientIdOrSecret", "无效的clientId或者clientSecret", 400)
        if body.get("grantType") != "authorization_code":
            raise _ApiError("invalidParameter.grantType", "grantType不合法", 400)  # *
        entry = self._auth_codes.pop(str(body.get("code") or ""), None)  # single-use
        if entry is None or self.now - entry[1] > 300:
            raise _ApiError("invalidAuthCode", "不合法的临时授权码", 400)  # * code
        token = secrets.token_hex(16)
        self._user_tokens[token] = (entry[0], self.now + 7200)
        return {"accessToken": token, "refreshToken": secrets.token_hex(16), "expireIn": 7200, "corpId": "dingcorp"}

    def _users_me(self, request: web.Request, _: Any) -> dict[str, Any]:
        entry = self._user_tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if entry is None or self.now >= entry[1]:
            raise _ApiError("InvalidAuthentication", "不合法的access_token", 400)
        user = entry[0]
        return {"nick": user, "unionId": f"union-{user}", "openId": f"open-{user}", "stateCode": "86"}

    def _by_unionid(self, request: web.Request, body: Any) -> dict[str, Any]:
        token = request.query.get("access_token", "")
        expires = self._tokens.get(token)
        if not token or expires is None or self.now >= expires:
            raise _OldError(40014, "不合法的access_token")
        union = str((body or {}).get("unionid") or "") if isinstance(body, dict) else ""
        user = union.removeprefix("union-")
        if not union.startswith("union-") or user not in self.users:
            raise _OldError(60121, "找不到该用户")
        return {"result": {"contact_type": 0, "userid": user}}

    # -- token ------------------------------------------------------------------------------------

    def _issue_token(self) -> str:
        token = self._current_token
        if token is None or self._tokens.get(token, 0) <= self.now:
            token = secrets.token_hex(16)
            self._current_token = token
        self._tokens[token] = self.now + self.token_ttl  # spec §a.3: a repeat call extends validity
        return token

    def _access_token(self, request: web.Request, body: Any) -> dict[str, Any]:
        if request.content_type != "application/json" or not isinstance(body, dict):
            raise _ApiError("MissingBody", "body is mandatory for this action", 400)  # * code
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            raise _ApiError("invalidClientIdOrSecret", "无效的clientId或者clientSecret", 400)
        return {"accessToken": self._issue_token(), "expireIn": self.token_ttl}

    def _gettoken(self, request: web.Request, _: Any) -> dict[str, Any]:
        key, secret = request.query.get("appkey", ""), request.query.get("appsecret", "")
        if not key:
            raise _OldError(90002, "appkey参数为空")
        if not secret:
            raise _OldError(90003, "appsecret参数为空")
        if key != self.client_id or secret != self.client_secret:
            raise _OldError(40089, "不合法的appKey或appSecret")
        return {"access_token": self._issue_token(), "expires_in": self.token_ttl}

    # -- robot sends -------------------------------------------------------------------------------

    def _robot(self, body: Mapping[str, Any]) -> None:
        code = body.get("robotCode")
        if not code:
            raise _ApiError("miss.param.robotCode", "robotCode is empty")  # *
        if code != self.robot_code:
            raise _ApiError("invalidParameter.robotCode.notExsit", "robotCode不存在")
        if not self.robot_enabled:
            raise _ApiError("chatbotId.notAllow.sendOTO", "请检查机器人是否启用")

    @staticmethod
    def _msg(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        key = body.get("msgKey")
        if not isinstance(key, str) or key not in _MSG_KEYS:
            raise _ApiError("invalidParameter.msgKey.invalid", "msgKey无效")
        raw = body.get("msgParam")
        if not isinstance(raw, str):
            raise _ApiError("invalidParameter.msgParam.invalid", "msgParam不是合法的JSON字符串")
        if len(raw.encode("utf-8")) > _MSG_PARAM_LIMIT:
            raise _ApiError("invalidParameter.msgParam.tooLong", "msgParam超长")
        try:
            param = json.loads(raw)
        except ValueError:
            param = None
        if not isinstance(param, dict) or any(not param.get(k) for k in _MSG_KEYS[key]):
            raise _ApiError("invalidParameter.msgParam.invalid", "msgParam不是合法的JSON字符串")
        return key, param

    def _batch_send(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        self._robot(body)
        users = body.get("userIds")
        if not isinstance(users, list) or not users:
            raise _ApiError("miss.param.userIds", "userIds is empty")  # *
        if len(users) > 20:
            raise _ApiError("invalidParameter.userIds.overMax", "userIds超过最大限制")
        key, param = self._msg(body)
        if self.robot_send_per_minute is not None:
            while self._app_sends and self._app_sends[0] <= self.now - 60:
                self._app_sends.popleft()
            if len(self._app_sends) >= self.robot_send_per_minute:
                raise _ApiError("send.too.fast", "发送太快，请稍后再试")
            self._app_sends.append(self.now)
        invalid, limited, delivered = [], [], []
        for user in dict.fromkeys(str(u) for u in users):
            if user not in self.users:
                invalid.append(user)
                continue
            if self.per_user_minute is not None:
                hits = self._user_hits[user]
                while hits and hits[0] <= self.now - 60:
                    hits.popleft()
                if len(hits) >= self.per_user_minute:
                    limited.append(user)
                    continue
                hits.append(self.now)
            delivered.append(user)
        pqk = f"pqk{next(self._ids):06d}" + secrets.token_hex(8)
        if delivered:
            self.oto.append(RobotSend(pqk, key, param, tuple(delivered), self.now))
        return {"processQueryKey": pqk, "invalidStaffIdList": invalid, "flowControlledStaffIdList": limited}

    def _group_send(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        self._robot(body)
        cid = body.get("openConversationId")
        if not isinstance(cid, str) or cid not in self.groups:
            raise _ApiError("invalid.openConversationId", "openConversationId无效")
        if cid in self.disbanded:
            raise _ApiError("group.disbanded", "群已解散")
        if cid not in self.robot_groups:
            raise _ApiError("resource.unavailable", "机器人不在群内")
        key, param = self._msg(body)
        pqk = f"gpqk{next(self._ids):06d}" + secrets.token_hex(8)
        self.group_log[cid].append(GroupMessage(cid, pqk, key, param, self.now))
        return {"processQueryKey": pqk}

    def _recall_keys(self, body: Mapping[str, Any]) -> list[str]:
        keys = body.get("processQueryKeys")
        if not isinstance(keys, list) or not keys:
            raise _ApiError("miss.param.processQueryKeys", "processQueryKeys is empty")  # *
        if len(keys) > 20:
            raise _ApiError("invalidParameter.processQueryKeys.overMax", "最多20个")  # *
        return [str(k) for k in keys]

    def _oto_recall(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        self._robot(body)
        ok, failed = [], {}
        for key in self._recall_keys(body):
            msg = next((m for m in self.oto if m.process_query_key == key), None)
            if msg is None or self.now - msg.sent_at > 24 * 3600:  # spec §c.4: within 24 h
                failed[key] = "消息不存在或已超过24小时"
            else:
                msg.recalled = True
                ok.append(key)
        return {"successResult": ok, "failedResult": failed}

    def _group_recall(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        self._robot(body)
        cid = str(body.get("openConversationId") or "")
        ok, failed = [], {}
        for key in self._recall_keys(body):
            msg = next((m for m in self.group_log.get(cid, ()) if m.process_query_key == key), None)
            if msg is None or self.now - msg.sent_at > 24 * 3600:
                failed[key] = "消息不存在或已超过24小时"
            else:
                msg.recalled = True
                ok.append(key)
        return {"successResult": ok, "failedResult": failed}

    # -- cards ---------------------------------------------------------------------------------------

    @staticmethod
    def _param_map(container: Any, what: str) -> dict[str, str]:
        if not isinstance(container, dict):
            raise _ApiError("invalidParameter.cardData", f"{what} is required")  # *
        params = container.get("cardParamMap", {})
        if not isinstance(params, dict):
            raise _ApiError("invalidParameter.cardData", f"{what}.cardParamMap is not an object")  # *
        try:
            _check_strings(params)
        except ValueError:
            raise _ApiError("invalidParameter.cardData", f"{what}: values must be strings") from None  # *
        return dict(params)

    def _spaces(self, body: Mapping[str, Any]) -> list[tuple[str, str]]:
        raw = body.get("openSpaceId")
        if not isinstance(raw, str) or not raw.startswith("dtv1.card//"):
            raise _ApiError("param.openSpaceIdInvalid", "openSpaceId无效")
        spaces = []
        for part in raw[len("dtv1.card//") :].split(";"):
            space_type, _, space_id = part.partition(".")
            if space_type not in ("IM_ROBOT", "IM_GROUP") or not space_id:
                raise _ApiError("param.openSpaceIdInvalid", "openSpaceId无效")
            model = "imRobot" if space_type == "IM_ROBOT" else "imGroup"
            deliver = body.get(f"{model}OpenDeliverModel")
            if not isinstance(body.get(f"{model}OpenSpaceModel"), dict) or not isinstance(deliver, dict):
                raise _ApiError("param.openSpaceModelInvalid", f"{model}OpenSpaceModel/OpenDeliverModel缺失")
            if deliver.get("robotCode") != self.robot_code:
                raise _ApiError("invalidParameter.robotCode.notExsit", "robotCode不存在")
            spaces.append((space_type, space_id))
        return spaces

    def _deliverable(self, space_type: str, space_id: str) -> str:
        """ "" when the space can get the card, else the errorMsg*."""
        if space_id in self._failing_spaces:
            return "投放失败"
        if space_type == "IM_ROBOT":
            return "" if space_id in self.users else "用户不存在"
        if space_id not in self.groups or space_id in self.disbanded:
            return "群不存在"
        return "" if space_id in self.robot_groups else "机器人不在群内"

    def _create_and_deliver(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        template_id = body.get("cardTemplateId")
        if not template_id:
            raise _ApiError("param.cardTemplateIdEmpty", "cardTemplateId为空")
        if template_id not in self.templates:
            raise _ApiError("cardTemplate.not.exist", "卡片模板不存在")
        out_track_id = body.get("outTrackId")
        if not out_track_id or not isinstance(out_track_id, str):
            raise _ApiError("param.outTrackIdEmpty", "outTrackId为空")
        public = self._param_map(body.get("cardData"), "cardData")
        private_raw = body.get("privateData") or {}
        if not isinstance(private_raw, dict):
            raise _ApiError("invalidParameter.privateData", "privateData is not an object")  # *
        private = {str(u): self._param_map(v, "privateData") for u, v in private_raw.items()}
        callback_type = body.get("callbackType")
        if callback_type not in (None, "STREAM", "HTTP"):
            raise _ApiError("invalidParameter.callbackType", "callbackType无效")  # *
        spaces = self._spaces(body)
        card = self.cards.get(out_track_id)
        if card is None:
            at_users = (body.get("imGroupOpenDeliverModel") or {}).get("atUserIds") or {}
            card = FakeCard(
                out_track_id,
                str(template_id),
                public,
                private,
                callback_type,
                body.get("callbackRouteKey"),
                [],
                self.now,
                dict(at_users),
            )
            self.cards[out_track_id] = card
        # else: spec §d.2 — the same outTrackId again does not overwrite the data
        results = []
        for space_type, space_id in spaces:
            error = self._deliverable(space_type, space_id)
            if not error and (space_type, space_id) not in card.spaces:
                card.spaces.append((space_type, space_id))
            results.append(
                {
                    "spaceType": space_type,
                    "spaceId": space_id,
                    "success": not error,
                    "errorMsg": error,
                    "carrierId": "" if error else f"carrier{next(self._ids)}",
                }
            )
        return {"success": True, "result": {"outTrackId": out_track_id, "deliverResults": results}}

    def _update_card(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        out_track_id = body.get("outTrackId")
        if not out_track_id:
            raise _ApiError("param.outTrackIdEmpty", "outTrackId为空")
        card = self.cards.get(str(out_track_id))
        if card is None:
            raise _ApiError("cardInstance.notExist", "卡片实例不存在")
        options = body.get("cardUpdateOptions") or {}
        if "cardData" in body:
            data = self._param_map(body["cardData"], "cardData")
            card.public = {**card.public, **data} if options.get("updateCardDataByKey") else data
        private_raw = body.get("privateData") or {}
        if not isinstance(private_raw, dict):
            raise _ApiError("invalidParameter.privateData", "privateData is not an object")  # *
        for user, value in private_raw.items():
            data = self._param_map(value, "privateData")
            old = card.private.get(str(user), {})
            card.private[str(user)] = {**old, **data} if options.get("updatePrivateDataByKey") else data
        card.updates.append({"via": "api", **copy.deepcopy(body)})
        return {"success": True, "result": True}

    def _register_callback(self, _: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        route, url = body.get("callbackRouteKey"), body.get("callbackUrl")
        if not route or not url:
            raise _ApiError("invalidParameter.callbackRouteKey", "callbackRouteKey/callbackUrl为空")  # *
        if route in self.routes and not body.get("forceUpdate"):
            raise _ApiError("callbackRouteKey.exist", "callbackRouteKey已存在")  # *
        self.routes[str(route)] = (str(url), body.get("apiSecret"))
        return {"success": True, "result": {"callbackUrl": url, "apiSecret": body.get("apiSecret") or ""}}

    # -- custom robot webhook and sessionWebhook (spec §c.5, §e) ------------------------------------

    def _webhook_send(self, request: web.Request, raw: Any) -> dict[str, Any]:
        robot = self.webhooks.get(request.query.get("access_token", ""))
        if robot is None:
            raise _OldError(400101, "access_token不存在")
        if robot.secret:
            ts = request.query.get("timestamp", "")
            if not ts.isdigit() or abs(self.now_ms - int(ts)) > 3_600_000:
                raise _OldError(310000, "invalid timestamp")
            if not hmac.compare_digest(request.query.get("sign", ""), _sign(ts, robot.secret)):
                raise _OldError(310000, "sign not match")
        if not robot.ip_allowed:
            raise _OldError(310000, "ip 127.0.0.1 not in whitelist")
        if request.content_type != "application/json":
            raise _OldError(43004, "无效的HTTP HEADER Content-Type")
        if not isinstance(raw, dict):
            raise _OldError(40035, "缺少参数 json")
        hits = robot.hits
        while hits and hits[0] <= self.now - 60:
            hits.popleft()
        if robot.blocked_until > self.now or len(hits) >= self.webhook_per_minute:
            if robot.blocked_until <= self.now:
                robot.blocked_until = self.now + self.webhook_block  # spec §e: throttled for 10 minutes
            if self.throttle_as_302:
                raise _Raw(web.Response(status=302, headers={"Location": "https://www.dingtalk.com/"}))
            raise _OldError(self.too_fast_code, "send too fast, exceed 20 times per minute")
        msgtype = raw.get("msgtype")
        if msgtype not in _WEBHOOK_MSGTYPES:
            raise _OldError(400105, "不支持的消息类型")
        if robot.keywords:
            text = json.dumps(raw, ensure_ascii=False)
            if not any(k in text for k in robot.keywords):
                raise _OldError(310000, "keywords not in content")
        hits.append(self.now)
        uuid_ = raw.get("msgUuid")
        if isinstance(uuid_, str) and uuid_ in robot.uuids:
            return {}  # idempotent retry: no second message
        if isinstance(uuid_, str):
            robot.uuids.add(uuid_)
        robot.messages.append(copy.deepcopy(raw))
        return {}

    def _send_by_session(self, request: web.Request, raw: Any) -> dict[str, Any]:
        session = self.sessions.get(request.query.get("session", ""))
        if session is None or self.now_ms >= session.expires_ms:
            raise _Raw(web.Response(status=500, text="session expired"))  # observed: 500s (spec §c.5)
        if not isinstance(raw, dict) or raw.get("msgtype") not in _WEBHOOK_MSGTYPES:
            raise _OldError(400105, "不支持的消息类型")
        session.messages.append(copy.deepcopy(raw))
        return {}

    # -- Stream gateway -------------------------------------------------------------------------------

    def _open_connection(self, request: web.Request, raw: Any) -> dict[str, Any]:
        body = self._obj(raw)
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            raise _ApiError("authFailed", "鉴权失败", 401)
        subs = body.get("subscriptions")
        if (
            not isinstance(subs, list)
            or not subs
            or not all(
                isinstance(s, dict)
                and s.get("type") in ("CALLBACK", "EVENT", "SYSTEM")
                and isinstance(s.get("topic"), str)
                and s["topic"]
                for s in subs
            )
        ):
            raise _ApiError("invalidParameter.subscriptions", "subscriptions无效")  # *
        self.open_requests.append(copy.deepcopy(body))
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = (self.now, False, [dict(s) for s in subs])
        endpoint = request.url.with_path("/connect").with_query(None).with_scheme("ws")
        return {"endpoint": str(endpoint), "ticket": ticket}

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        issued = self._tickets.get(ticket)
        if issued is None or issued[1] or self.now - issued[0] > self.ticket_ttl:
            return web.json_response({"code": "invalidTicket", "message": "ticket无效"}, status=401)  # *
        self._tickets[ticket] = (issued[0], True, issued[2])  # single use
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = StreamConnection(len(self.connections) + 1, ws, request, list(issued[2]))
        async with self._connected:
            self.connections.append(conn)
            self._connected.notify_all()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_ack(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.ack_errors.append("binary frame from client")
        finally:
            conn.closed.set()
        return ws

    def _on_ack(self, conn: StreamConnection, text: str) -> None:
        try:
            obj = json.loads(text)
        except ValueError:
            self.ack_errors.append(f"ack is not JSON: {text[:80]}")
            return
        problems = []
        headers = obj.get("headers") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or not isinstance(headers, dict):
            self.ack_errors.append(f"ack has no headers: {text[:80]}")
            return
        mid = headers.get("messageId")
        if not isinstance(mid, str) or mid not in conn.sent:
            problems.append("unknown messageId")
        if headers.get("contentType") != "application/json":
            problems.append("contentType")
        code = obj.get("code")
        if not isinstance(code, int) or isinstance(code, bool) or code not in (200, 404, 500):
            problems.append("code")
        if not isinstance(obj.get("message"), str):
            problems.append("message")
        data: Any = None
        if not isinstance(obj.get("data"), str):
            problems.append("data is not a JSON string")
        else:
            try:
                data = json.loads(obj["data"])
            except ValueError:
                problems.append("data is not JSON")
        if problems:
            self.ack_errors.append(f"bad ack ({', '.join(problems)}): {text[:120]}")
        if not isinstance(mid, str):
            return
        ack = Ack(mid, code if isinstance(code, int) else -1, str(obj.get("message")), data, obj)
        conn.acks[mid] = ack
        waiter = conn.waiters.get(mid)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)


# -- helpers -----------------------------------------------------------------------------------------


def _check_strings(values: Mapping[Any, Any]) -> None:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise ValueError("card data must map strings to strings")


def _visible(rule: Any, data: Mapping[str, str]) -> bool:
    if not rule:
        return True
    for cond in rule.get("all", ()):
        value = data.get(cond["var"], "")
        if cond["op"] == "==" and value != cond["value"]:
            return False
        if cond["op"] == "!=" and value == cond["value"]:
            return False
    return True


def _resolve_text(spec: Any, data: Mapping[str, str]) -> str:
    if isinstance(spec, dict):
        if "variable" in spec:
            return data.get(spec["variable"], "")
        return str(spec.get("fixed", ""))
    return str(spec or "")


def _new_error(exc: _ApiError) -> web.Response:
    rid = str(uuid.uuid4()).upper()
    return web.json_response(
        {"code": exc.code, "requestid": rid, "message": exc.message},
        status=exc.status,
        headers={"x-acs-request-id": rid},
    )
