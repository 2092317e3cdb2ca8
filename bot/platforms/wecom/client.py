"""Async WeCom API client on aiohttp (spec §3, §5, §6).

* Token cache with proactive refresh (< 5 min left) and single-flight refresh: however many
  coroutines need a token, one ``gettoken`` is in flight (spec §3.1).
* On 40014/42001/42009 from any API: drop the token, fetch once, retry the call once, then
  raise (spec §3.1, §6) — never a loop (wechatpy's unbounded recursion, spec §7.4).
* Every other failure raises :class:`WeComAPIError` with a ``kind`` for the caller's retry
  policy (spec §6). The client does not back off or retry transient/rate errors itself:
  the outbox sender decides.
* Every call has a timeout. The token, the secret and webhook keys never appear in logs or
  exception text; exceptions are raised outside ``except`` blocks so no aiohttp exception
  (whose text contains the URL with its query) is chained.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import aiohttp

from bot.platforms.token_cache import TokenCache
from bot.platforms.wecom.replies import truncate_utf8

__all__ = [
    "APPCHAT_MSGTYPES",
    "TOKEN_ERRCODES",
    "ChatInfo",
    "ErrorKind",
    "SendResult",
    "UpdateResult",
    "WeComAPIError",
    "WeComClient",
    "error_kind",
]

log = logging.getLogger(__name__)

ErrorKind: TypeAlias = Literal["token", "transient", "rate", "config", "recipient", "card", "permanent"]

# spec §3.1/§6: token rejected or expired (42009 is the suite token; treated like 42001).
TOKEN_ERRCODES: Final = frozenset({40014, 42001, 42009})
_RATE: Final = frozenset({45009, 45033})  # spec §3.8
# spec §6: wrong secret/corpid, untrusted IP, no permission, agent mismatch, app disabled or
# revoked, non-root visible range for appchat, webhook removed/disabled/not in group.
_CONFIG: Final = frozenset({40001, 40013, 60020, 48002, 301002, 50003, 48006, 60011, 93000, 93004, 93008})
_RECIPIENT: Final = frozenset({81013, 40003})  # spec §6: flag the handler, no retry

# spec §3.3, §3.4, §5.1, §5.2: content limits in UTF-8 bytes.
_APP_LIMITS: Final[Mapping[str, int]] = {"text": 2048, "markdown": 2048}
_WEBHOOK_LIMITS: Final[Mapping[str, int]] = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}
# spec §5.1: appchat/send supports these; template_card is NOT among them.
APPCHAT_MSGTYPES: Final = frozenset(
    {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown"}
)
# spec §5.2
_WEBHOOK_MSGTYPES: Final = frozenset(
    {"text", "markdown", "markdown_v2", "image", "news", "file", "voice", "template_card"}
)


def error_kind(errcode: int) -> ErrorKind:
    """Map an errcode to a retry class (spec §6)."""
    if errcode in TOKEN_ERRCODES:
        return "token"
    if errcode == -1:
        return "transient"
    if errcode in _RATE:
        return "rate"
    if errcode in _CONFIG:
        return "config"
    if errcode in _RECIPIENT:
        return "recipient"
    if 42014 <= errcode <= 42045:  # spec §3.6: template card errors
        return "card"
    return "permanent"


class WeComAPIError(Exception):
    """A WeCom API call failed.

    ``errcode`` is WeCom's (or -1 for timeouts, connection errors, HTTP 5xx and unreadable
    replies); ``kind`` is the retry class; ``ambiguous`` is True when the request may have
    been processed anyway (timeout, dropped connection, 5xx) — relevant because
    ``message/send`` is not idempotent (spec §6).
    """

    def __init__(
        self,
        errcode: int,
        errmsg: str,
        kind: ErrorKind,
        *,
        path: str = "",
        http_status: int | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(errcode, errmsg, kind)
        self.errcode = errcode
        self.errmsg = errmsg
        self.kind: ErrorKind = kind
        self.path = path
        self.http_status = http_status
        self.ambiguous = ambiguous

    def clone(self) -> WeComAPIError:
        """A fresh instance (one failed fetch is re-raised to several waiters)."""
        return WeComAPIError(
            self.errcode,
            self.errmsg,
            self.kind,
            path=self.path,
            http_status=self.http_status,
            ambiguous=self.ambiguous,
        )

    def __str__(self) -> str:
        return f"WeCom {self.path or 'API'} failed: errcode={self.errcode} kind={self.kind} ({self.errmsg})"


@dataclass(frozen=True, slots=True)
class SendResult:
    """Result of ``message/send`` (spec §3.2). Users listed here did not get the message."""

    msgid: str
    response_code: str | None = None
    invalid_users: tuple[str, ...] = ()
    unlicensed_users: tuple[str, ...] = ()
    invalid_parties: tuple[str, ...] = ()
    invalid_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """Result of ``message/update_template_card`` (spec §3.6)."""

    invalid_users: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """``appchat/get`` → ``chat_info`` (spec §5.1)."""

    chatid: str
    name: str
    owner: str
    userlist: tuple[str, ...]


def _split_pipe(value: Any) -> tuple[str, ...]:
    # spec §3.2: invaliduser/invalidparty/invalidtag/unlicenseduser are "a|b" strings here.
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v))
    return tuple(part for part in str(value).split("|") if part)


def _json_list(value: Any) -> tuple[str, ...]:
    # spec §3.6: invaliduser is a JSON array here; accept a pipe string defensively.
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v))
    return _split_pipe(value)


def _join_users(users: str | Iterable[str]) -> str:
    items = [users] if isinstance(users, str) else list(users)
    if not items:
        raise ValueError("at least one recipient is required")
    for user in items:
        if not user or "|" in user:
            raise ValueError("recipient userids must be non-empty and contain no '|'")
    if len(items) > 1000:  # spec §3.2: touser ≤ 1000
        raise ValueError("at most 1000 recipients per message/send")
    return "|".join(items)


def _clip(body: Mapping[str, Any], limits: Mapping[str, int]) -> dict[str, Any]:
    """Copy ``body`` with text/markdown content cut to the byte limit (spec §6: 45002)."""
    out = dict(body)
    msgtype = out.get("msgtype")
    if isinstance(msgtype, str) and msgtype in limits:
        inner = out.get(msgtype)
        if isinstance(inner, Mapping) and isinstance(inner.get("content"), str):
            out[msgtype] = {**inner, "content": truncate_utf8(inner["content"], limits[msgtype])}
    return out


class WeComClient:
    """Client for one self-built app (one corp_id/secret/agent_id)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        timeout: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        duplicate_check: int = 0,
    ) -> None:
        base = api_base.rstrip("/")
        if base.endswith("/cgi-bin"):  # accept both ".../cgi-bin" and the bare host
            base = base[: -len("/cgi-bin")]
        self._base = base + "/cgi-bin/"
        self._session = session
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = int(agent_id)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._monotonic = monotonic
        #: seconds of message/send's ``enable_duplicate_check`` (spec §3.2; 0 = off): the same
        #: request JSON again within them is not delivered twice
        self.duplicate_check = duplicate_check
        self._tokens = TokenCache(self._fetch_token, WeComAPIError, self._monotonic, "wecom")

    def __repr__(self) -> str:  # never show the secret or token
        return f"WeComClient(corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    # -- HTTP ---------------------------------------------------------------------------

    def _scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        for secret in (self._tokens.token, self._secret, *extra):
            if secret:
                text = text.replace(secret, "***")
        return text[:300]

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One HTTP exchange; returns the JSON object. Never raises aiohttp exceptions."""
        data = None
        headers = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        failure: WeComAPIError | None = None
        status = 0
        raw = b""
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=dict(params),
                data=data,
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            failure = WeComAPIError(-1, "timeout", "transient", path=path, ambiguous=True)
        except aiohttp.InvalidURL:
            failure = WeComAPIError(-1, "invalid api_base URL", "config", path=path)
        except aiohttp.ClientConnectorError:
            # Not connected: the request was certainly not processed.
            failure = WeComAPIError(-1, "connection failed", "transient", path=path)
        except aiohttp.ClientError as exc:
            failure = WeComAPIError(
                -1, f"connection error ({type(exc).__name__})", "transient", path=path, ambiguous=True
            )
        if failure is not None:  # raised here, outside except: no chained aiohttp exception
            log.warning("wecom %s: %s", path, failure.errmsg)
            raise failure
        if status >= 500:
            failure = WeComAPIError(-1, f"HTTP {status}", "transient", path=path, http_status=status, ambiguous=True)
        elif status == 429:
            failure = WeComAPIError(45009, "HTTP 429", "rate", path=path, http_status=status)
        elif status != 200:
            failure = WeComAPIError(-1, f"HTTP {status}", "config", path=path, http_status=status)
        if failure is not None:
            log.warning("wecom %s: %s", path, failure.errmsg)
            raise failure
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            log.warning("wecom %s: reply is not a JSON object", path)
            raise WeComAPIError(-1, "reply is not a JSON object", "transient", path=path, ambiguous=True)
        return parsed

    def _error(self, path: str, data: Mapping[str, Any], scrub: Iterable[str] = ()) -> WeComAPIError:
        code = _errcode(data)
        msg = self._scrub(str(data.get("errmsg", "")), scrub)
        kind = error_kind(code)
        log.warning("wecom %s failed: errcode=%s kind=%s", path, code, kind)
        return WeComAPIError(code, msg, kind, path=path)

    # -- token (spec §3.1) --------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float]:
        """One token request → (token, expires_in seconds); the TokenCache keeps it."""
        log.info("wecom gettoken for agent %s", self.agent_id)
        data = await self._request("GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret})
        if _errcode(data) != 0:
            raise self._error("gettoken", data)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeComAPIError(-1, "gettoken returned no token", "transient", path="gettoken")
        try:
            expires_in = float(data.get("expires_in", 7200))
        except (TypeError, ValueError):
            expires_in = 7200.0
        return token, expires_in

    async def _get_token(self, stale: str | None = None) -> str:
        """A usable token. With ``stale``: that token was rejected; renew it (once for all)."""
        return await self._tokens.get(stale)

    async def access_token(self) -> str:
        """The cached token (fetched if needed). Never log it."""
        return await self._get_token()

    def invalidate_token(self) -> None:
        """Forget the cached token (the next call fetches a new one)."""
        self._tokens.invalidate()

    async def _api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call an access_token API; one token renewal + one retry on 40014/42001/42009."""
        token = await self._get_token()
        query = dict(params or {})
        data = await self._request(method, path, params={**query, "access_token": token}, body=body)
        if _errcode(data) in TOKEN_ERRCODES:
            log.info("wecom %s: token rejected (errcode=%s); renewing once", path, _errcode(data))
            token = await self._get_token(stale=token)
            data = await self._request(method, path, params={**query, "access_token": token}, body=body)
        if _errcode(data) != 0:
            raise self._error(path, data)
        return data

    # -- 网页授权 (OAuth, the desk's sign-in) -----------------------------------------------

    async def oauth_userid(self, code: str) -> str:
        """The member's UserID for the ``code`` WeCom's OAuth redirect brought back
        (``GET /cgi-bin/auth/getuserinfo?access_token=&code=``; the code is single-use and valid
        for 5 minutes: 40029 otherwise). Someone outside the corp gets an ``openid`` only: refused
        (errcode 60111, "userid not found")."""
        data = await self._api("GET", "auth/getuserinfo", params={"code": code})
        userid = data.get("userid") or data.get("UserId")
        if not isinstance(userid, str) or not userid:
            raise WeComAPIError(60111, "not a member of the corp", "permanent", path="auth/getuserinfo")
        return userid

    # -- message/send (spec §3.2–§3.5) ---------------------------------------------------

    async def send(self, body: Mapping[str, Any], *, check_duplicates: bool = True) -> SendResult:
        """POST message/send with ``body`` (agentid defaults to ours; text/markdown clipped).
        ``check_duplicates=False`` sends without WeCom's duplicate check (two equal answers to
        two questions are both delivered)."""
        payload = _clip(body, _APP_LIMITS)
        payload.setdefault("agentid", self.agent_id)
        if self.duplicate_check and check_duplicates:
            payload.setdefault("enable_duplicate_check", 1)
            payload.setdefault("duplicate_check_interval", self.duplicate_check)
        if not any(payload.get(k) for k in ("touser", "toparty", "totag")):
            raise ValueError("touser, toparty and totag must not all be empty")
        data = await self._api("POST", "message/send", body=payload)
        code = data.get("response_code")
        return SendResult(
            msgid=str(data.get("msgid", "")),
            response_code=str(code) if code else None,
            invalid_users=_split_pipe(data.get("invaliduser")),
            unlicensed_users=_split_pipe(data.get("unlicenseduser")),
            invalid_parties=_split_pipe(data.get("invalidparty")),
            invalid_tags=_split_pipe(data.get("invalidtag")),
        )

    async def send_text(self, users: str | Iterable[str], content: str, *, check_duplicates: bool = True) -> SendResult:
        """Text message; content cut to 2048 UTF-8 bytes at a character boundary (spec §3.3)."""
        body = {"touser": _join_users(users), "msgtype": "text", "text": {"content": content}}
        return await self.send(body, check_duplicates=check_duplicates)

    async def send_markdown(
        self, users: str | Iterable[str], content: str, *, check_duplicates: bool = True
    ) -> SendResult:
        """Markdown message; content cut to 2048 UTF-8 bytes (spec §3.4)."""
        body = {"touser": _join_users(users), "msgtype": "markdown", "markdown": {"content": content}}
        return await self.send(body, check_duplicates=check_duplicates)

    async def send_template_card(self, users: str | Iterable[str], card: Mapping[str, Any]) -> SendResult:
        """Template card (spec §3.5); ``card`` carries a fresh ``task_id``."""
        return await self.send({"touser": _join_users(users), "msgtype": "template_card", "template_card": dict(card)})

    async def update_template_card(
        self,
        *,
        response_code: str,
        userids: Iterable[str] | None = None,
        atall: bool = False,
        card: Mapping[str, Any] | None = None,
        replace_name: str | None = None,
    ) -> UpdateResult:
        """message/update_template_card (spec §3.6): Mode A ``replace_name`` or Mode B ``card``.

        ``response_code`` is single-use (42022 on reuse).
        """
        if not response_code:
            raise ValueError("response_code is required")
        if (card is None) == (replace_name is None):
            raise ValueError("give exactly one of card= (replace the card) or replace_name=")
        users = list(userids or [])
        if not users and not atall:
            raise ValueError("give userids or atall=True")
        body: dict[str, Any] = {"agentid": self.agent_id, "response_code": response_code}
        if users:
            body["userids"] = users
        if atall:
            body["atall"] = 1
        if card is not None:
            body["template_card"] = dict(card)
        else:
            body["button"] = {"replace_name": replace_name}
        data = await self._api("POST", "message/update_template_card", body=body)
        return UpdateResult(invalid_users=_json_list(data.get("invaliduser")))

    async def recall(self, msgid: str) -> None:
        """message/recall within 24 h of sending (spec §3.7)."""
        await self._api("POST", "message/recall", body={"msgid": msgid})

    # -- appchat (spec §5.1) -------------------------------------------------------------

    async def appchat_create(
        self, name: str, owner: str | None, userlist: Iterable[str], chatid: str | None = None
    ) -> str:
        """Create a group chat; returns its chatid."""
        body: dict[str, Any] = {"name": name, "userlist": list(userlist)}
        if owner:
            body["owner"] = owner
        if chatid:
            body["chatid"] = chatid
        data = await self._api("POST", "appchat/create", body=body)
        return str(data.get("chatid", chatid or ""))

    async def appchat_get(self, chatid: str) -> ChatInfo:
        """appchat/get → ChatInfo (86003 if unknown)."""
        data = await self._api("GET", "appchat/get", params={"chatid": chatid})
        info = data.get("chat_info") or {}
        return ChatInfo(
            chatid=str(info.get("chatid", chatid)),
            name=str(info.get("name", "")),
            owner=str(info.get("owner", "")),
            userlist=tuple(str(u) for u in info.get("userlist") or ()),
        )

    async def appchat_update(
        self,
        chatid: str,
        *,
        name: str | None = None,
        owner: str | None = None,
        add_user_list: Iterable[str] | None = None,
        del_user_list: Iterable[str] | None = None,
    ) -> None:
        """appchat/update: rename, change owner, add/remove members."""
        body: dict[str, Any] = {"chatid": chatid}
        if name is not None:
            body["name"] = name
        if owner is not None:
            body["owner"] = owner
        if add_user_list is not None:
            body["add_user_list"] = list(add_user_list)
        if del_user_list is not None:
            body["del_user_list"] = list(del_user_list)
        await self._api("POST", "appchat/update", body=body)

    async def appchat_send(self, chatid: str, msgtype: str, payload: Mapping[str, Any], *, safe: int = 0) -> None:
        """appchat/send. template_card is refused locally: groups cannot get cards (spec §5.1)."""
        if msgtype == "template_card":
            raise ValueError(
                "appchat/send does not support template_card (spec §5.1); "
                "send text, markdown, textcard or news to a group instead"
            )
        if msgtype not in APPCHAT_MSGTYPES:
            raise ValueError(f"appchat/send does not support msgtype {msgtype!r}")
        body = _clip({"chatid": chatid, "msgtype": msgtype, msgtype: dict(payload), "safe": safe}, _APP_LIMITS)
        await self._api("POST", "appchat/send", body=body)

    async def appchat_send_text(self, chatid: str, content: str) -> None:
        """Text to a group (2048 bytes)."""
        await self.appchat_send(chatid, "text", {"content": content})

    async def appchat_send_markdown(self, chatid: str, content: str) -> None:
        """Markdown to a group (2048 bytes)."""
        await self.appchat_send(chatid, "markdown", {"content": content})

    # -- group robot webhook (spec §5.2) --------------------------------------------------

    async def webhook_send(self, key: str, body: Mapping[str, Any]) -> None:
        """webhook/send?key=KEY (no access_token). The key never reaches logs or errors."""
        if not key:
            raise ValueError("webhook key is required")
        msgtype = body.get("msgtype")
        if msgtype not in _WEBHOOK_MSGTYPES:
            raise ValueError(f"webhook/send does not support msgtype {msgtype!r}")
        if msgtype == "template_card":
            card = body.get("template_card")
            if not isinstance(card, Mapping) or card.get("card_type") not in ("text_notice", "news_notice"):
                raise ValueError("webhook template_card supports only text_notice and news_notice (spec §5.2)")
        payload = _clip(body, _WEBHOOK_LIMITS)
        data = await self._request("POST", "webhook/send", params={"key": key}, body=payload)
        if _errcode(data) != 0:
            raise self._error("webhook/send", data, scrub=[key])


def _errcode(data: Mapping[str, Any]) -> int:
    value = data.get("errcode", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
