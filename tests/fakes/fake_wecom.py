"""A fake WeCom API server that behaves like the real one where the spec says how (spec §3, §5, §6).

Usage::

    fake = FakeWeCom(users=["zhangsan", "lisi"])
    server = TestServer(fake.app())          # aiohttp.test_utils
    await server.start_server()
    client = WeComClient(session, api_base=str(server.make_url("")), corp_id=fake.corp_id,
                         secret=fake.secret, agent_id=fake.agent_id)

Behaviour (the fake's own choices, where the docs give no exact errcode, are marked *):

* ``gettoken``: 40013 wrong corpid, 40001 wrong secret; tokens expire after ``token_ttl``
  seconds of the fake clock (42001), unknown or invalidated tokens give 40014, a missing one 41001.
* ``message/send``: 301002 agentid of another app, 40056* missing agentid, 40008* bad msgtype,
  44004 empty / 45002 oversized text or markdown, 82001 no recipients, 81013 all invalid,
  ``invaliduser`` as a lower-cased pipe string; template_card rules: 42027* card_type,
  42028* main_title.title, 42037* button_list empty or > 6, 42020 button text, 42019 key missing,
  42018 key > 1024 bytes or duplicate, 42035 horizontal_content_list > 6, 42014 task_id
  missing / bad charset / > 128 bytes / reused within the app. ``response_code`` for
  interactive cards. Per member and app: 30/min and 1000/h, beyond which the message is
  silently dropped (errcode 0) and recorded in ``fake.drops``.
* ``message/update_template_card``: response codes are single-use (42022), expire after 72 h,
  unknown ones give 42021*, another app's 42015; per-user card copies are kept.
* ``message/recall``: 40058* for unknown or > 24 h old msgids.
* ``appchat/*``: 86001 chatid, 86003 unknown chatid, 86005 owner, 86006 member count,
  86007 members, 86008 another app's chat; ``appchat/send`` refuses template_card (40008*).
* ``message/send`` with ``enable_duplicate_check`` (spec §3.2): the same request JSON again within
  ``duplicate_check_interval`` seconds (default 1800, at most 14400) is not delivered again and
  answers like the first one* (checked before anything else, so a repeated card's task_id does
  not give 42014); counted in ``fake.duplicates``.
* ``appchat/send``: each member gets ≤ 200 messages/minute and ≤ 10 000/day from the app across
  its groups (spec §5.1); beyond, silently dropped for that member (``fake.drops``).
* ``webhook/send``: 93000 unknown key, 20/min per key (45009 beyond).
* 网页授权 (the desk's sign-in): ``authorize(user)`` is what the OAuth page does when ``user``
  agrees — it returns the ``code`` the redirect carries; ``GET auth/getuserinfo?access_token=&code=``
  answers ``userid`` (and ``user_ticket``) for a member, ``openid`` for someone outside the corp;
  41008 missing code, 40029 an unknown, used (single-use) or expired (> 5 min) code.
* Fault injection: ``fail_next(path, errcode=-1|45009|45033|..., times=N)`` or
  ``fail_next(path, http_status=502)``, ``hang_next(path)``, ``lose_reply_next(path)`` (the request
  is carried out, then the connection is dropped without an answer), ``down = True`` (every
  connection is dropped unanswered: an outage); every request is logged.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import secrets
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.clock import ManualClock

__all__ = [
    "UNKNOWN_RESPONSE_CODE",
    "CardView",
    "ChatMessage",
    "Drop",
    "FakeChat",
    "FakeMessage",
    "FakeWeCom",
    "LoggedRequest",
]

UNKNOWN_RESPONSE_CODE = 42021  # * not documented; the fake's choice for unknown/expired codes
_APP_MSGTYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "file",
        "textcard",
        "news",
        "mpnews",
        "markdown",
        "miniprogram_notice",
        "template_card",
    }
)
_APPCHAT_MSGTYPES = frozenset({"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"})
_WEBHOOK_MSGTYPES = frozenset({"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"})
_CARD_TYPES = frozenset(
    {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
)
_INTERACTIVE = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
_TASK_ID_RE = re.compile(r"[0-9A-Za-z_\-@]+")
_CHATID_RE = re.compile(r"[0-9A-Za-z]{1,32}")


class _ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class LoggedRequest:
    """One request as the fake received it (query includes access_token/key: test-only)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float


@dataclass
class FakeMessage:
    """One app message; ``delivered_to`` excludes invalid and rate-dropped recipients."""

    msgid: str
    agent_id: int
    msgtype: str
    body: dict[str, Any]
    delivered_to: tuple[str, ...]
    sent_at: float
    response_code: str | None = None
    recalled: bool = False

    @property
    def content(self) -> str | None:
        """text/markdown content, if any."""
        inner = self.body.get(self.msgtype)
        return inner.get("content") if isinstance(inner, dict) else None

    @property
    def card(self) -> dict[str, Any] | None:
        return self.body.get("template_card") if self.msgtype == "template_card" else None


@dataclass
class CardView:
    """What one user's copy of a template card shows now.

    ``replace_name`` set → the buttons are grey and unclickable showing that text
    (Mode A ``button.replace_name`` or Mode B ``replace_text``).
    """

    task_id: str
    agent_id: int
    msgid: str
    card: dict[str, Any]
    replace_name: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clickable(self) -> bool:
        return self.replace_name is None

    @property
    def button_keys(self) -> tuple[str, ...]:
        return tuple(b["key"] for b in self.card.get("button_list") or () if isinstance(b, dict) and b.get("key"))


@dataclass
class _ResponseCode:
    code: str
    agent_id: int
    task_id: str
    created_at: float
    origin: str  # "send" | "click"
    used: bool = False


@dataclass
class ChatMessage:
    chatid: str
    msgtype: str
    body: dict[str, Any]
    sent_at: float

    @property
    def content(self) -> str | None:
        inner = self.body.get(self.msgtype)
        return inner.get("content") if isinstance(inner, dict) else None


@dataclass
class FakeChat:
    chatid: str
    name: str
    owner: str
    members: list[str]
    agent_id: int
    messages: list[ChatMessage] = field(default_factory=list)


@dataclass
class Drop:
    """A message silently dropped for one member by the per-member limits (spec §3.8)."""

    user: str
    msgid: str
    reason: str  # "minute" | "hour" | "appchat-minute" | "appchat-day"
    at: float


@dataclass
class _Fault:
    errcode: int | None = None
    errmsg: str = "system busy"
    http_status: int | None = None
    hang: bool = False
    lose_reply: bool = False


class FakeWeCom:
    """State and behaviour of the fake; ``app()`` serves it over HTTP."""

    def __init__(
        self,
        *,
        corp_id: str = "wwfakecorp0000001",
        agents: Mapping[int, str] | None = None,
        users: Iterable[str] = ("zhangsan", "lisi", "wangwu"),
        webhook_keys: Iterable[str] = ("fake-webhook-key-0001",),
        token_ttl: int = 7200,
        start_time: float = 1_700_000_000.0,
        per_member_minute: int = 30,
        per_member_hour: int = 1000,
        webhook_per_minute: int = 20,
        response_code_ttl: float = 72 * 3600,
        appchat_member_minute: int = 200,
        appchat_member_day: int = 10_000,
    ) -> None:
        self.corp_id = corp_id
        self.agents: dict[int, str] = dict(agents or {1000002: "fake-secret-1000002"})
        self.users: set[str] = set(users)
        self.webhook_keys: set[str] = set(webhook_keys)
        self.token_ttl = token_ttl
        self.time = ManualClock(datetime.fromtimestamp(start_time, UTC))  # the platform's own clock
        self.per_member_minute = per_member_minute
        self.per_member_hour = per_member_hour
        self.webhook_per_minute = webhook_per_minute
        self.response_code_ttl = response_code_ttl
        self.appchat_member_minute = appchat_member_minute
        self.appchat_member_day = appchat_member_day

        self.requests: list[LoggedRequest] = []
        self.messages: list[FakeMessage] = []
        self.drops: list[Drop] = []
        self.chats: dict[str, FakeChat] = {}
        self.webhook_log: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._tokens: dict[str, tuple[int, float]] = {}
        self._task_ids: set[tuple[int, str]] = set()
        self._cards: dict[tuple[str, str], CardView] = {}  # (user, task_id)
        self._codes: dict[str, _ResponseCode] = {}
        self._deliveries: dict[tuple[int, str], deque[float]] = defaultdict(deque)
        self._webhook_hits: dict[str, deque[float]] = defaultdict(deque)
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._hang_release: asyncio.Event | None = None
        self._ids = itertools.count(1)
        self._sent_json: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}  # duplicate check
        self.duplicates = 0
        self._appchat_hits: dict[str, deque[float]] = defaultdict(deque)
        self.down = False  # an outage: every connection is dropped without an answer
        self._oauth_codes: dict[str, tuple[str, float, bool]] = {}  # code → (user, issued, member)

    # -- convenience ----------------------------------------------------------------------

    @property
    def agent_id(self) -> int:
        """The first (default) agent id."""
        return next(iter(self.agents))

    @property
    def secret(self) -> str:
        """The first (default) agent's secret."""
        return self.agents[self.agent_id]

    @property
    def now(self) -> float:
        """The fake's time (unix seconds)."""
        return self.time()

    @now.setter
    def now(self, value: float) -> None:
        self.time.set(datetime.fromtimestamp(value, UTC))

    def clock(self) -> float:
        """The fake's clock (unix seconds); pass it to the client as ``monotonic`` to share time."""
        return self.time()

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward."""
        self.time.advance(seconds)

    def add_user(self, *users: str) -> None:
        self.users.update(users)

    def remove_user(self, user: str) -> None:
        """The member left the corp / the visible range (messages to them become invaliduser)."""
        self.users.discard(user)

    def invalidate_tokens(self, agent_id: int | None = None) -> None:
        """Revoke issued tokens early: they now get 40014."""
        for tok, (agent, _) in list(self._tokens.items()):
            if agent_id is None or agent == agent_id:
                del self._tokens[tok]

    def fail_next(
        self,
        path: str,
        errcode: int | None = -1,
        *,
        times: int = 1,
        http_status: int | None = None,
        errmsg: str = "system busy",
    ) -> None:
        """The next ``times`` calls of ``path`` (e.g. "message/send") fail with ``errcode``
        (HTTP 200) or, with ``http_status``, with that bare HTTP status."""
        for _ in range(times):
            self._faults[path].append(_Fault(errcode=errcode, errmsg=errmsg, http_status=http_status))

    def hang_next(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``path`` never answer (until ``release_hangs``)."""
        for _ in range(times):
            self._faults[path].append(_Fault(hang=True))

    def lose_reply_next(self, path: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``path`` are carried out, but their answer never arrives."""
        for _ in range(times):
            self._faults[path].append(_Fault(lose_reply=True))

    def release_hangs(self) -> None:
        """Let every hanging request answer (-1); later ``hang_next`` calls hang again."""
        if self._hang_release is not None:
            self._hang_release.set()
            self._hang_release = None

    def calls(self, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally only those of one path."""
        return [r for r in self.requests if path is None or r.path == path]

    @property
    def gettoken_count(self) -> int:
        return len(self.calls("gettoken"))

    def messages_to(self, user: str, *, include_recalled: bool = True) -> list[FakeMessage]:
        """App messages delivered to ``user``, oldest first."""
        return [m for m in self.messages if user in m.delivered_to and (include_recalled or not m.recalled)]

    def card_state(self, user: str, task_id: str) -> CardView | None:
        """What ``user``'s copy of card ``task_id`` shows now (None if they never got it)."""
        return self._cards.get((user, task_id))

    def chat_messages(self, chatid: str) -> list[ChatMessage]:
        return list(self.chats[chatid].messages)

    def webhook_messages(self, key: str) -> list[dict[str, Any]]:
        return list(self.webhook_log.get(key, ()))

    def response_code_used(self, code: str) -> bool:
        return self._codes[code].used

    def click(
        self,
        user: str,
        task_id: str,
        key: str,
        *,
        selected: Mapping[str, Iterable[str]] | None = None,
    ) -> dict[str, Any]:
        """``user`` clicks button (or action-menu item) ``key`` on their card ``task_id``.

        Returns the plaintext event fields WeCom would POST to the callback (spec §2.2/§2.3),
        with a fresh one-shot ``ResponseCode`` valid for ``message/update_template_card``.
        Raises LookupError if the user has no such card or no such key, and ValueError if the
        buttons were already greyed out.
        """
        view = self._cards.get((user, task_id))
        if view is None:
            raise LookupError(f"{user} has no card {task_id}")
        menu_keys = tuple(a.get("key") for a in (view.card.get("action_menu") or {}).get("action_list") or ())
        if key in menu_keys:
            event = "template_card_menu_event"
        elif key in view.button_keys or key == (view.card.get("submit_button") or {}).get("key"):
            event = "template_card_event"
            if not view.clickable:
                raise ValueError(f"buttons of {task_id} are disabled for {user}")
        else:
            raise LookupError(f"card {task_id} has no key {key!r}")
        code = self._new_code(view.agent_id, task_id, origin="click")
        fields: dict[str, Any] = {
            "ToUserName": self.corp_id,
            "FromUserName": user,
            "CreateTime": int(self.now),
            "MsgType": "event",
            "Event": event,
            "EventKey": key,
            "TaskId": task_id,
            "CardType": view.card.get("card_type", ""),
            "ResponseCode": code,
            "AgentID": view.agent_id,
        }
        if selected and event == "template_card_event":
            fields["SelectedItems"] = [{"QuestionKey": q, "OptionIds": list(opts)} for q, opts in selected.items()]
        return fields

    def authorize(self, user: str, *, member: bool = True) -> str:
        """``user`` agrees on the OAuth page: the single-use ``code`` of the redirect (5 minutes)."""
        code = f"OC{next(self._ids):06d}{secrets.token_hex(12)}"
        self._oauth_codes[code] = (user, self.now, member)
        return code

    # -- HTTP app -------------------------------------------------------------------------

    def app(self) -> web.Application:
        """An aiohttp application serving ``/cgi-bin/...``."""
        app = web.Application()
        routes = {
            ("GET", "gettoken"): self._gettoken,
            ("POST", "message/send"): self._message_send,
            ("POST", "message/update_template_card"): self._update_template_card,
            ("POST", "message/recall"): self._recall,
            ("POST", "appchat/create"): self._appchat_create,
            ("GET", "appchat/get"): self._appchat_get,
            ("POST", "appchat/update"): self._appchat_update,
            ("POST", "appchat/send"): self._appchat_send,
            ("POST", "webhook/send"): self._webhook_send,
            ("GET", "auth/getuserinfo"): self._auth_getuserinfo,
        }
        for (method, path), handler in routes.items():
            app.router.add_route(method, f"/cgi-bin/{path}", self._wrap(path, handler))

        async def _cleanup(_: web.Application) -> None:
            self.release_hangs()

        app.on_shutdown.append(_cleanup)
        return app

    def _wrap(self, path: str, handler: Any) -> Any:
        async def view(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
            if self.down:
                return _drop_connection(request)
            self.requests.append(LoggedRequest(request.method, path, dict(request.query), body, self.now))
            faults = self._faults.get(path)
            if faults and faults[0].lose_reply:
                faults.popleft()
                try:
                    handler(request, body)
                except _ApiError:
                    pass
                return _drop_connection(request)
            if faults:
                fault = faults.popleft()
                if fault.hang:
                    if self._hang_release is None:
                        self._hang_release = asyncio.Event()
                    release = self._hang_release
                    await release.wait()
                    return _err(-1, "released")
                if fault.http_status is not None:
                    return web.Response(status=fault.http_status, text="<html>bad gateway</html>")
                assert fault.errcode is not None
                return _err(fault.errcode, fault.errmsg)
            try:
                result = handler(request, body)
            except _ApiError as exc:
                return _err(exc.errcode, exc.errmsg)
            return web.json_response({"errcode": 0, "errmsg": "ok", **result})

        return view

    # -- shared checks ----------------------------------------------------------------------

    def _auth(self, request: web.Request) -> int:
        token = request.query.get("access_token")
        if not token:
            raise _ApiError(41001, "access_token missing")
        entry = self._tokens.get(token)
        if entry is None:
            raise _ApiError(40014, "invalid access_token")
        agent_id, expires_at = entry
        if self.now >= expires_at:
            raise _ApiError(42001, "access_token expired")
        return agent_id

    @staticmethod
    def _json(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(47001, "data format error")
        return body

    def _check_agent(self, token_agent: int, body: Mapping[str, Any]) -> None:
        agentid = body.get("agentid")
        if agentid is None or not str(agentid).isdigit():
            raise _ApiError(40056, "invalid agentid")
        if int(agentid) != token_agent:
            raise _ApiError(301002, "not allow operate another agent with this accesstoken")

    def _new_code(self, agent_id: int, task_id: str, *, origin: str) -> str:
        code = f"RC{next(self._ids):06d}{secrets.token_hex(8)}"
        self._codes[code] = _ResponseCode(code, agent_id, task_id, self.now, origin)
        return code

    def _new_msgid(self) -> str:
        return f"fakemsg{next(self._ids):08d}{secrets.token_hex(4)}"

    # -- gettoken ---------------------------------------------------------------------------

    def _gettoken(self, request: web.Request, _: Any) -> dict[str, Any]:
        if request.query.get("corpid") != self.corp_id:
            raise _ApiError(40013, "invalid corpid")
        secret = request.query.get("corpsecret")
        agent = next((a for a, s in self.agents.items() if s == secret), None)
        if agent is None:
            raise _ApiError(40001, "invalid credential")
        token = secrets.token_urlsafe(48)
        self._tokens[token] = (agent, self.now + self.token_ttl)
        return {"access_token": token, "expires_in": self.token_ttl}

    # -- 网页授权 ------------------------------------------------------------------------------

    def _auth_getuserinfo(self, request: web.Request, _: Any) -> dict[str, Any]:
        self._auth(request)
        code = request.query.get("code")
        if not code:
            raise _ApiError(41008, "missing oauth code")
        entry = self._oauth_codes.pop(code, None)  # single-use
        if entry is None or self.now - entry[1] > 300:
            raise _ApiError(40029, "invalid code")
        user, _, member = entry
        if member and user in self.users:
            return {"userid": user, "user_ticket": secrets.token_urlsafe(24)}
        return {"openid": "o" + secrets.token_hex(12)}

    # -- message/send ------------------------------------------------------------------------

    @staticmethod
    def _content(body: Mapping[str, Any], msgtype: str, limit: int) -> None:
        inner = body.get(msgtype)
        content = inner.get("content") if isinstance(inner, dict) else None
        if not isinstance(content, str) or not content:
            raise _ApiError(44004, "empty content")
        if len(content.encode("utf-8")) > limit:
            raise _ApiError(45002, "content size out of limit")

    def _validate_card(self, agent_id: int, card: Any, *, sending: bool) -> str | None:
        """Check a template_card; returns its task_id (None when it has none)."""
        if not isinstance(card, dict):
            raise _ApiError(42027, "invalid template_card")
        card_type = card.get("card_type")
        if card_type not in _CARD_TYPES:
            raise _ApiError(42027, "invalid card_type")
        task_id = card.get("task_id")
        if sending and (card_type in _INTERACTIVE or "action_menu" in card or task_id is not None):
            # spec §3.5: digits, letters, _-@, ≤ 128 bytes, unique per app.
            if (
                not isinstance(task_id, str)
                or not _TASK_ID_RE.fullmatch(task_id)
                or len(task_id.encode()) > 128
                or (agent_id, task_id) in self._task_ids
            ):
                raise _ApiError(42014, "taskid has existed or empty or exceed max len")
        title_obj = card.get("main_title")
        main_title: dict[str, Any] = title_obj if isinstance(title_obj, dict) else {}
        if card_type == "text_notice":
            if not main_title.get("title") and not card.get("sub_title_text"):
                raise _ApiError(42028, "main_title.title or sub_title_text required")
        elif not main_title.get("title"):
            raise _ApiError(42028, "main_title.title required")
        hcl = card.get("horizontal_content_list")
        if hcl is not None and (not isinstance(hcl, list) or len(hcl) > 6):
            raise _ApiError(42035, "horizontal_content_list exceed limit")
        if card_type == "button_interaction":
            buttons = card.get("button_list")
            if not isinstance(buttons, list) or not buttons or len(buttons) > 6:
                raise _ApiError(42037, "button_list size invalid")
            self._check_keys(buttons, for_buttons=True)
        menu = card.get("action_menu")
        if menu is not None:
            actions = menu.get("action_list") if isinstance(menu, dict) else None
            if not isinstance(actions, list) or not 1 <= len(actions) <= 3:
                raise _ApiError(42037, "action_list size invalid")
            self._check_keys(actions, for_buttons=False)
        return task_id if isinstance(task_id, str) else None

    @staticmethod
    def _check_keys(items: list[Any], *, for_buttons: bool) -> None:
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, dict) or not item.get("text"):
                raise _ApiError(42020, "button text missing")
            if for_buttons and item.get("type", 0) == 1:
                if not item.get("url"):
                    raise _ApiError(42045, "button url missing")
                continue
            key = item.get("key")
            if not isinstance(key, str) or not key:
                raise _ApiError(42019, "button key missing")
            if len(key.encode("utf-8")) > 1024 or key in seen:
                raise _ApiError(42018, "button key invalid")
            seen.add(key)

    def _admit(self, agent_id: int, user: str, msgid: str) -> bool:
        """Per-member limit 30/min, 1000/h: beyond, silently drop (spec §3.8)."""
        hits = self._deliveries[(agent_id, user)]
        while hits and hits[0] <= self.now - 3600:
            hits.popleft()
        last_minute = sum(1 for t in hits if t > self.now - 60)
        if last_minute >= self.per_member_minute:
            self.drops.append(Drop(user, msgid, "minute", self.now))
            return False
        if len(hits) >= self.per_member_hour:
            self.drops.append(Drop(user, msgid, "hour", self.now))
            return False
        hits.append(self.now)
        return True

    def _message_send(self, request: web.Request, raw: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        body = self._json(raw)
        self._check_agent(agent_id, body)
        if body.get("enable_duplicate_check") in (1, "1", True):
            interval = min(14400, int(body.get("duplicate_check_interval") or 1800))
            key = (agent_id, json.dumps(body, sort_keys=True, ensure_ascii=False))
            first = self._sent_json.get(key)
            if first is not None and self.now - first[0] < interval:
                self.duplicates += 1
                return copy.deepcopy(first[1])  # not delivered again
            result = self._deliver_message(agent_id, body)
            self._sent_json[key] = (self.now, copy.deepcopy(result))
            return result
        return self._deliver_message(agent_id, body)

    def _deliver_message(self, agent_id: int, body: dict[str, Any]) -> dict[str, Any]:
        msgtype = body.get("msgtype")
        if msgtype not in _APP_MSGTYPES:
            raise _ApiError(40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            self._content(body, msgtype, 2048)
        task_id = None
        if msgtype == "template_card":
            task_id = self._validate_card(agent_id, body.get("template_card"), sending=True)

        touser = str(body.get("touser") or "")
        toparty = str(body.get("toparty") or "")
        totag = str(body.get("totag") or "")
        if not (touser or toparty or totag):
            raise _ApiError(82001, "all touser/toparty/totag are empty")
        if touser == "@all":
            valid, invalid_users = sorted(self.users), []
            toparty = totag = ""
        else:
            names = [u for u in touser.split("|") if u]
            valid = [u for u in names if u in self.users]
            invalid_users = [u.lower() for u in names if u not in self.users]
        # The fake has no departments or tags: every party/tag is invalid.
        invalid_parties = [p for p in toparty.split("|") if p]
        invalid_tags = [t for t in totag.split("|") if t]
        if not valid:
            raise _ApiError(81013, "user & party & tag all invalid")

        msgid = self._new_msgid()
        delivered = tuple(u for u in valid if self._admit(agent_id, u, msgid))
        card = body.get("template_card") if msgtype == "template_card" else None
        code = None
        if card is not None:
            if task_id is not None:
                self._task_ids.add((agent_id, task_id))
            if card.get("card_type") in _INTERACTIVE or "action_menu" in card:
                code = self._new_code(agent_id, task_id or "", origin="send")
            for user in delivered:
                if task_id is not None:
                    self._cards[(user, task_id)] = CardView(task_id, agent_id, msgid, copy.deepcopy(card))
        self.messages.append(FakeMessage(msgid, agent_id, msgtype, copy.deepcopy(body), delivered, self.now, code))
        result: dict[str, Any] = {
            "invaliduser": "|".join(invalid_users),
            "invalidparty": "|".join(invalid_parties),
            "invalidtag": "|".join(invalid_tags),
            "unlicenseduser": "",
            "msgid": msgid,
        }
        if code is not None:
            result["response_code"] = code
        return result

    # -- message/update_template_card ------------------------------------------------------

    def _update_template_card(self, request: web.Request, raw: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        body = self._json(raw)
        self._check_agent(agent_id, body)
        rc = self._codes.get(str(body.get("response_code") or ""))
        if rc is None or self.now - rc.created_at > self.response_code_ttl:
            raise _ApiError(UNKNOWN_RESPONSE_CODE, "invalid response_code")
        if rc.used:
            raise _ApiError(42022, "code has been used")  # spec §3.6: only once
        if rc.agent_id != agent_id:
            raise _ApiError(42015, "update app is not the send app")
        button = body.get("button")
        new_card: dict[str, Any] = body.get("template_card") or {}
        if (button is None) == (not new_card):
            raise _ApiError(40058, "exactly one of button / template_card")
        holders = [u for (u, t) in self._cards if t == rc.task_id]
        if body.get("atall") in (1, "1", True):
            targets, invalid = holders, []
        else:
            userids = body.get("userids") or []
            if not isinstance(userids, list) or not userids:
                raise _ApiError(40058, "userids or atall required")
            targets = [u for u in userids if u in holders]
            invalid = [str(u).lower() for u in userids if u not in holders]
        if button is not None:
            name = button.get("replace_name") if isinstance(button, dict) else None
            if not name:
                raise _ApiError(40058, "button.replace_name required")
            kinds = {self._cards[(u, rc.task_id)].card.get("card_type") for u in holders}
            if not kinds <= _INTERACTIVE:
                raise _ApiError(40058, "button update needs a button/vote/multiple card")
        else:
            self._validate_card(agent_id, new_card, sending=False)
        for user in targets:
            view = self._cards[(user, rc.task_id)]
            if button is not None:
                view.replace_name = button["replace_name"]
            else:
                view.card = copy.deepcopy(new_card)
                view.card.setdefault("task_id", rc.task_id)
                view.replace_name = new_card.get("replace_text") or None
            view.updates.append(copy.deepcopy(body))
        rc.used = True
        return {"invaliduser": invalid}  # spec §3.6: a JSON array here

    # -- message/recall ----------------------------------------------------------------------

    def _recall(self, request: web.Request, raw: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        body = self._json(raw)
        msgid = body.get("msgid")
        msg = next((m for m in self.messages if m.msgid == msgid and m.agent_id == agent_id), None)
        if msg is None or self.now - msg.sent_at > 24 * 3600:  # spec §3.7: within 24 h
            raise _ApiError(40058, "invalid msgid")
        msg.recalled = True
        return {}

    # -- appchat -----------------------------------------------------------------------------

    def _chat(self, agent_id: int, chatid: Any) -> FakeChat:
        chat = self.chats.get(str(chatid or ""))
        if chat is None:
            raise _ApiError(86003, "chatid not found")
        if chat.agent_id != agent_id:
            raise _ApiError(86008, "no privilege to access/modify this chat")
        return chat

    def _appchat_create(self, request: web.Request, raw: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        body = self._json(raw)
        userlist = body.get("userlist")
        if not isinstance(userlist, list) or not 2 <= len(set(userlist)) <= 2000:
            raise _ApiError(86006, "invalid chat member count")
        if any(u not in self.users for u in userlist):
            raise _ApiError(86007, "invalid chat member")
        owner = body.get("owner") or userlist[0]
        if owner not in userlist:
            raise _ApiError(86005, "invalid chat owner")
        chatid = body.get("chatid")
        if chatid is None:
            chatid = f"wrfake{next(self._ids):010d}"
        elif not isinstance(chatid, str) or not _CHATID_RE.fullmatch(chatid) or chatid in self.chats:
            raise _ApiError(86001, "invalid chatid")
        name = str(body.get("name") or "")[:50]  # spec §5.1: ≤ 50 chars, truncated
        self.chats[chatid] = FakeChat(chatid, name, owner, list(dict.fromkeys(userlist)), agent_id)
        return {"chatid": chatid}

    def _appchat_get(self, request: web.Request, _: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        chat = self._chat(agent_id, request.query.get("chatid"))
        return {
            "chat_info": {
                "chatid": chat.chatid,
                "name": chat.name,
                "owner": chat.owner,
                "userlist": list(chat.members),
            }
        }

    def _appchat_update(self, request: web.Request, raw: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        body = self._json(raw)
        chat = self._chat(agent_id, body.get("chatid"))
        add = body.get("add_user_list") or []
        delete = body.get("del_user_list") or []
        if any(u not in self.users for u in add):
            raise _ApiError(86007, "invalid chat member")
        members = [u for u in dict.fromkeys(chat.members + list(add)) if u not in delete]
        owner = body.get("owner") or chat.owner
        if owner not in members:
            raise _ApiError(86005, "invalid chat owner")
        if "name" in body:
            chat.name = str(body["name"])[:50]
        chat.members, chat.owner = members, owner
        return {}

    def _appchat_send(self, request: web.Request, raw: Any) -> dict[str, Any]:
        agent_id = self._auth(request)
        body = self._json(raw)
        chat = self._chat(agent_id, body.get("chatid"))
        msgtype = body.get("msgtype")
        if msgtype not in _APPCHAT_MSGTYPES:  # spec §5.1: no template_card in groups
            raise _ApiError(40008, "invalid message type")
        if msgtype in ("text", "markdown"):
            self._content(body, msgtype, 2048)
        message = ChatMessage(chat.chatid, msgtype, copy.deepcopy(body), self.now)
        chat.messages.append(message)
        for member in chat.members:  # spec §5.1: beyond the member's limits, dropped for them
            hits = self._appchat_hits[member]
            while hits and hits[0] <= self.now - 86400:
                hits.popleft()
            if sum(1 for t in hits if t > self.now - 60) >= self.appchat_member_minute:
                self.drops.append(Drop(member, f"{chat.chatid}#{len(chat.messages)}", "appchat-minute", self.now))
            elif len(hits) >= self.appchat_member_day:
                self.drops.append(Drop(member, f"{chat.chatid}#{len(chat.messages)}", "appchat-day", self.now))
            else:
                hits.append(self.now)
        return {}

    # -- webhook -----------------------------------------------------------------------------

    def _webhook_send(self, request: web.Request, raw: Any) -> dict[str, Any]:
        key = request.query.get("key", "")
        if key not in self.webhook_keys:
            raise _ApiError(93000, "invalid webhook url")
        hits = self._webhook_hits[key]
        while hits and hits[0] <= self.now - 60:
            hits.popleft()
        if len(hits) >= self.webhook_per_minute:  # spec §5.2: ≤ 20 per minute per robot
            raise _ApiError(45009, "api freq out of limit")
        body = self._json(raw)
        msgtype = body.get("msgtype")
        if msgtype not in _WEBHOOK_MSGTYPES:
            raise _ApiError(40008, "invalid message type")
        if msgtype == "text":
            self._content(body, "text", 2048)
        elif msgtype in ("markdown", "markdown_v2"):
            self._content(body, msgtype, 4096)
        elif msgtype == "template_card":
            card = body.get("template_card")
            if not isinstance(card, dict) or card.get("card_type") not in ("text_notice", "news_notice"):
                raise _ApiError(40008, "invalid template_card type for webhook")
        hits.append(self.now)
        self.webhook_log[key].append(copy.deepcopy(body))
        return {}


def _drop_connection(request: web.Request) -> web.Response:
    """Close the connection without an answer (the client sees the server disconnect)."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)  # never reaches the client


def _err(errcode: int, errmsg: str) -> web.Response:
    hint = secrets.token_hex(8)
    return web.json_response(
        {
            "errcode": errcode,
            "errmsg": f"{errmsg}, hint: [{hint}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={errcode}",
        }
    )
