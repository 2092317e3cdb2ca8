"""Async DingTalk API client on aiohttp (spec §a, §c, §d, §e, §g).

* Access token from the new API ``POST /v1.0/oauth2/accessToken`` (spec §a.1), cached until
  ``expireIn`` minus 5 minutes, refreshed single-flight: however many coroutines need a token,
  one fetch is in flight (spec §a.3). Several processes may each hold a token: DingTalk returns
  the same one while it is valid.
* On a token-invalid answer (``InvalidAuthentication``; old API ``40014`` or ``88`` about the
  access_token, spec §g.2): drop the token, fetch once, retry the call once — never a loop.
* Every other failure raises :class:`DingTalkAPIError` with a ``kind`` for the caller's retry
  policy (spec §g.2/§g.3), ``ambiguous`` when the request may have been processed anyway
  (timeout, dropped connection, HTTP 5xx — batchSend is not idempotent), and ``retry_after``
  when the spec says how long to wait. The client does not retry transient errors itself:
  the outbox sender decides.
* Client-side pacing: < 20 calls/s per API (spec §g.2) and the custom robot's 20 messages per
  minute (spec §e), refused locally with a ``rate`` error before DingTalk throttles the robot
  for 10 minutes.
* A per-month API-call counter for standard-edition organisations (10 000 calls/month,
  spec §g.2): :attr:`DingTalkClient.calls_this_month` and an ``on_quota`` hook.
* Secrets (client secret, access token, webhook URLs and their tokens, sessionWebhook URLs)
  never appear in logs or exception text; exceptions are raised outside ``except`` blocks so
  no aiohttp exception (whose text contains the URL) is chained.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias
from zoneinfo import ZoneInfo

import aiohttp
from yarl import URL

from bot.platforms.dingtalk.sign import signed_webhook_url
from bot.platforms.token_cache import TokenCache

__all__ = [
    "MSG_KEYS",
    "TOKEN_CODES",
    "BatchSendResult",
    "CardDeliverResult",
    "DeliverResult",
    "DingTalkAPIError",
    "DingTalkClient",
    "ErrorKind",
    "QuotaStatus",
    "RecallResult",
    "error_kind",
]

log = logging.getLogger(__name__)

ErrorKind: TypeAlias = Literal["token", "transient", "rate", "config", "recipient", "card", "permanent"]
CallbackType: TypeAlias = Literal["STREAM", "HTTP"]

#: spec §g.2: token invalid or expired ("88" only when its message is about the access_token)
TOKEN_CODES: Final = frozenset({"InvalidAuthentication", "40014"})
_CONFIG: Final = frozenset(
    {
        "invalidClientIdOrSecret",
        "40089",
        "authFailed",
        "90003",  # bad credentials (fatal)
        "Forbidden.AccessDenied.ApiCountLimitForOrg",
        "90020",  # monthly quota: needs the admin
        "chatbotId.notAllow.sendOTO",
        "invalidParameter.robotCode.notExsit",
        "robotCode.notExsit",
        "resource.unavailable",
        "conversation.org.notMatch",
        "cardTemplate.not.exist",
        "310000",
        "400101",
        "400102",
        "400106",
        "400013",  # custom robot: security check, gone, disabled
    }
)
_RATE: Final = frozenset(
    {
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
        "Forbidden.AccessDenied.QpsLimitForApi",
        "90018",
        "send.too.fast",
        "send.byToken.tooFast",
        "too.many.group",
        "too.many.people",
        "410100",
        "130101",
        "ip.blocked",
        "local.qps",
        "local.webhook.rate",
        "webhook.throttled",
    }
)
_TRANSIENT: Final = frozenset({"-1", "15", "88", "system.error", "isp.top-remote-connection-timeout"})
_RECIPIENT: Final = frozenset(
    {
        "staffId.notExisted",
        "robot.oto.notExist",
        "invalid.openConversationId",
        "group.disbanded",
        "deliver.failed",
    }
)
_CARD: Final = frozenset(
    {
        "cardInstance.notExist",
        "param.cardTemplateIdEmpty",
        "param.outTrackIdEmpty",
        "param.openSpaceModelInvalid",
        "param.openSpaceIdInvalid",
    }
)
#: spec §g.2: rejected by the content filter — never retry, alert
_CONTENT: Final = frozenset(
    {
        "contain.unsafe.url",
        "param.contentUnsafe",
        "card.content.checkFailed",
        "430101",
        "430102",
        "430103",
        "430104",
    }
)
_QUOTA_CODES: Final = frozenset({"Forbidden.AccessDenied.ApiCountLimitForOrg", "90020"})
#: spec §g.3: how long to wait before retrying, seconds
_WAIT: Final[Mapping[str, float]] = {
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": 1.0,
    "Forbidden.AccessDenied.QpsLimitForApi": 1.0,
    "90018": 1.0,
    "90002": 1.0,
    "send.too.fast": 60.0,
    "send.byToken.tooFast": 60.0,
    "too.many.group": 60.0,
    "too.many.people": 60.0,
    "410100": 600.0,
    "130101": 600.0,
    "webhook.throttled": 600.0,
    "ip.blocked": 300.0,
}

#: spec §c.3: the enterprise robot's message templates
MSG_KEYS: Final = frozenset(
    {
        "sampleText",
        "sampleMarkdown",
        "sampleImageMsg",
        "sampleLink",
        "sampleActionCard",
        "sampleActionCard2",
        "sampleActionCard3",
        "sampleActionCard4",
        "sampleActionCard5",
        "sampleActionCard6",
        "sampleAudio",
        "sampleFile",
        "sampleVideo",
    }
)
_MAIN_FIELD: Final[Mapping[str, str]] = {"sampleText": "content", "sampleMarkdown": "text", "sampleActionCard": "text"}
_WEBHOOK_MSGTYPES: Final = frozenset({"text", "markdown", "link", "actionCard", "feedCard"})
_MSG_PARAM_LIMIT: Final = 15_000  # spec §c.2 (group); used for one-to-one too (limit undocumented)
_MAX_OTO_USERS: Final = 20  # spec §c.1: "at most 20" (the error table says 100: send ≤ 20)
_MAX_RECALL_KEYS: Final = 20  # spec §c.4
_OUT_TRACK_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_WEBHOOK_PER_MINUTE: Final = 20  # spec §e
_WEBHOOK_BLOCK: Final = 600.0  # spec §e: throttled for 10 minutes
_SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


def error_kind(code: str, message: str = "", *, path: str = "") -> ErrorKind:
    """Map a DingTalk error code (new string codes or old numeric errcodes) to a retry class."""
    if code in TOKEN_CODES or (code == "88" and "access_token" in message):
        return "token"
    if code == "90002":  # spec §g.2: "appkey empty" on /gettoken, global QPS limit elsewhere
        return "config" if path.endswith("gettoken") else "rate"
    if code in _CONFIG:
        return "config"
    if code in _RATE:
        return "rate"
    if code in _TRANSIENT:
        return "transient"
    if code in _CONTENT or code.startswith("contain.notAllowed"):
        return "permanent"
    if code in _RECIPIENT:
        return "recipient"
    if code in _CARD or code.startswith(("cardInstance.", "cardTemplate.")):
        return "card"
    if code.startswith("Forbidden.AccessDenied."):
        return "config"  # e.g. a permission the app lacks
    return "permanent"


class DingTalkAPIError(Exception):
    """A DingTalk call failed.

    ``code`` is DingTalk's (string codes of the new API, old errcodes as strings, or our own
    ``http.<status>``/``network``/``timeout``/``local.*`` codes); ``kind`` is the retry class;
    ``ambiguous`` means the request may have been processed anyway; ``retry_after`` (seconds)
    is set when the spec prescribes a wait (throttling).
    """

    def __init__(
        self,
        code: str,
        message: str,
        kind: ErrorKind,
        *,
        ambiguous: bool = False,
        http_status: int | None = None,
        path: str = "",
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code, message, kind)
        self.code = code
        self.message = message
        self.kind: ErrorKind = kind
        self.ambiguous = ambiguous
        self.http_status = http_status
        self.path = path
        self.request_id = request_id
        self.retry_after = retry_after

    def clone(self) -> DingTalkAPIError:
        """A fresh instance (one failed token fetch is re-raised to several waiters)."""
        return DingTalkAPIError(
            self.code,
            self.message,
            self.kind,
            ambiguous=self.ambiguous,
            http_status=self.http_status,
            path=self.path,
            request_id=self.request_id,
            retry_after=self.retry_after,
        )

    def __str__(self) -> str:
        rid = f" requestid={self.request_id}" if self.request_id else ""
        return f"DingTalk {self.path or 'API'} failed: code={self.code} kind={self.kind}{rid} ({self.message})"


@dataclass(frozen=True, slots=True)
class BatchSendResult:
    """``oToMessages/batchSend`` (spec §c.1). HTTP 200 does not mean everyone got it:
    re-queue ``flow_controlled`` later, report ``invalid``."""

    process_query_key: str
    invalid: tuple[str, ...] = ()
    flow_controlled: tuple[str, ...] = ()
    filtered: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliverResult:
    """One space of ``createAndDeliver`` (spec §d.2)."""

    space_type: str
    space_id: str
    success: bool
    error_msg: str = ""
    carrier_id: str = ""


@dataclass(frozen=True, slots=True)
class CardDeliverResult:
    out_track_id: str
    deliveries: tuple[DeliverResult, ...]

    @property
    def failed(self) -> tuple[DeliverResult, ...]:
        return tuple(d for d in self.deliveries if not d.success)


@dataclass(frozen=True, slots=True)
class RecallResult:
    """``batchRecall`` / ``groupMessages/recall`` (spec §c.4)."""

    recalled: tuple[str, ...]
    failed: dict[str, str]


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """API calls this month (Asia/Shanghai) against the standard edition's quota (spec §g.2)."""

    month: str
    calls: int
    quota: int
    exhausted: bool  # DingTalk answered ApiCountLimitForOrg / 90020


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values if v is not None and str(v))


def _truncate_utf8(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: max(0, limit)].decode("utf-8", errors="ignore")


def _fit_param(msg_key: str, param: Mapping[str, str], limit: int) -> str:
    """``msgParam`` as a JSON string ≤ ``limit`` bytes, cutting the main text field if needed."""
    out = dict(param)
    encoded = json.dumps(out, ensure_ascii=False)
    field = _MAIN_FIELD.get(msg_key)
    if len(encoded.encode("utf-8")) <= limit or field is None or field not in out:
        return encoded
    budget = limit - len(json.dumps({**out, field: ""}, ensure_ascii=False).encode("utf-8"))
    text = out[field]
    while budget > 0:
        out[field] = _truncate_utf8(text, budget)
        encoded = json.dumps(out, ensure_ascii=False)
        if len(encoded.encode("utf-8")) <= limit:
            return encoded
        budget -= max(16, budget // 10)  # escapes (\n, \") made it longer: cut more
    out[field] = ""
    return json.dumps(out, ensure_ascii=False)


def _user_list(user_ids: str | Iterable[str], limit: int) -> list[str]:
    items = [user_ids] if isinstance(user_ids, str) else list(dict.fromkeys(user_ids))
    if not items:
        raise ValueError("at least one userId is required")
    if any(not u or not isinstance(u, str) for u in items):
        raise ValueError("userIds must be non-empty strings")
    if len(items) > limit:
        raise ValueError(f"at most {limit} userIds per call")
    return items


def _check_params(values: Mapping[str, Any], what: str) -> dict[str, str]:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise ValueError(f"{what} must map strings to strings (spec §d.2)")
    return dict(values)


class DingTalkClient:
    """Client for one enterprise internal app (Client ID/Secret) and its robot."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        oapi_base: str,
        client_id: str,
        client_secret: str,
        robot_code: str,
        timeout: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        qps_per_api: int | None = 18,
        monthly_quota: int = 10_000,
        quota_warn_ratio: float = 0.8,
        on_quota: Callable[[QuotaStatus], None] | None = None,
    ) -> None:
        self._api = api_base.rstrip("/")
        self._oapi = oapi_base.rstrip("/")
        self._session = session
        self.client_id = client_id
        self._secret = client_secret
        self.robot_code = robot_code or client_id  # spec §0.3: normally equal to the AppKey
        # spec §g.3: connect 5 s, total 10 s
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(5.0, timeout))
        self._monotonic = monotonic
        self._wall = wall_clock
        self._sleep = sleep
        self._tokens = TokenCache(self._fetch_token, DingTalkAPIError, self._monotonic, "dingtalk")
        self._qps = qps_per_api
        self._qps_hits: dict[str, deque[float]] = {}
        self._qps_locks: dict[str, asyncio.Lock] = {}
        self._webhook_hits: dict[str, deque[float]] = {}
        self._webhook_blocked_until: dict[str, float] = {}
        self.monthly_quota = monthly_quota
        self._warn_at = max(1, int(monthly_quota * quota_warn_ratio))
        self._on_quota = on_quota
        self._month = self._month_now()
        self._calls = 0
        self._warned: set[tuple[str, str]] = set()

    def __repr__(self) -> str:  # never show the secret or token
        return f"DingTalkClient(client_id={self.client_id!r}, robot_code={self.robot_code!r})"

    # -- quota counter (spec §g.2) ---------------------------------------------------------------

    def _month_now(self) -> str:
        return datetime.fromtimestamp(self._wall(), _SHANGHAI).strftime("%Y-%m")

    @property
    def calls_this_month(self) -> int:
        """Open-platform calls made by this process this month (Asia/Shanghai), token fetches
        included, custom-robot webhooks and sessionWebhooks excluded."""
        self._roll_month()
        return self._calls

    def quota_status(self, *, exhausted: bool = False) -> QuotaStatus:
        self._roll_month()
        return QuotaStatus(self._month, self._calls, self.monthly_quota, exhausted)

    def restore_calls(self, month: str, calls: int) -> None:
        """Seed the counter (e.g. from the database at start-up); ignored for another month."""
        self._roll_month()
        if month == self._month:
            self._calls = max(self._calls, int(calls))

    def _roll_month(self) -> None:
        month = self._month_now()
        if month != self._month:
            self._month, self._calls = month, 0

    def _count_call(self) -> None:
        self._roll_month()
        self._calls += 1
        if self._calls >= self._warn_at:
            self._notify("warn", exhausted=False)

    def _notify(self, what: str, *, exhausted: bool) -> None:
        if (self._month, what) in self._warned:
            return
        self._warned.add((self._month, what))
        status = self.quota_status(exhausted=exhausted)
        log.warning("dingtalk API quota %s: %s calls in %s (quota %s)", what, status.calls, status.month, status.quota)
        if self._on_quota is not None:
            try:
                self._on_quota(status)
            except Exception:  # a broken hook must not break sending
                log.exception("dingtalk on_quota hook failed")

    # -- HTTP --------------------------------------------------------------------------------------

    def _scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        for secret in (self._tokens.token, self._secret, *extra):
            if secret:
                text = text.replace(secret, "***")
        return text[:300]

    async def _throttle(self, path: str) -> None:
        """Keep below ``qps_per_api`` calls per second per API (spec §g.2)."""
        if not self._qps:
            return
        lock = self._qps_locks.setdefault(path, asyncio.Lock())
        async with lock:
            hits = self._qps_hits.setdefault(path, deque())
            now = self._monotonic()
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= self._qps:
                await self._sleep(max(0.0, hits[0] + 1.0 - now))
                now = self._monotonic()
                while hits and hits[0] <= now - 1.0:
                    hits.popleft()
            hits.append(now)

    async def _exchange(
        self,
        method: str,
        url: str | URL,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        counted: bool = True,
    ) -> tuple[int, str, Any]:
        """One HTTP exchange → (status, request id, parsed JSON or None). Never raises aiohttp
        exceptions; ``path`` is the loggable name of the call (no query, no secrets)."""
        if counted:
            await self._throttle(path)
            self._count_call()
        data = None
        all_headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        failure: DingTalkAPIError | None = None
        status = 0
        raw = b""
        request_id = ""
        try:
            async with self._session.request(
                method,
                url,
                params=dict(params) if params else None,
                data=data,
                headers=all_headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                request_id = resp.headers.get("x-acs-request-id", "")
                raw = await resp.read()
        except TimeoutError:
            failure = DingTalkAPIError("timeout", "timeout", "transient", path=path, ambiguous=True)
        except aiohttp.InvalidURL:
            failure = DingTalkAPIError("config.url", "invalid base URL", "config", path=path)
        except aiohttp.ClientConnectorError:
            # not connected: the request was certainly not processed
            failure = DingTalkAPIError("network", "connection failed", "transient", path=path)
        except aiohttp.ClientError as exc:
            failure = DingTalkAPIError(
                "network", f"connection error ({type(exc).__name__})", "transient", path=path, ambiguous=True
            )
        if failure is not None:  # raised here, outside except: no chained aiohttp exception
            log.warning("dingtalk %s: %s", path, failure.message)
            raise failure
        parsed: Any = {}  # an empty body reads as an empty object
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        return status, request_id, parsed

    def _raise(self, error: DingTalkAPIError) -> DingTalkAPIError:
        log.warning(
            "dingtalk %s failed: code=%s kind=%s http=%s requestid=%s",
            error.path,
            error.code,
            error.kind,
            error.http_status,
            error.request_id or "-",
        )
        if error.code in _QUOTA_CODES:
            self._notify("exhausted", exhausted=True)
        return error

    def _new_api_error(self, path: str, status: int, request_id: str, data: Any) -> DingTalkAPIError:
        """Map a non-2xx answer of the new API (spec §g.1) to an error."""
        if isinstance(data, dict) and data.get("status") == 1111:  # spec §g.2: IP blocked
            return DingTalkAPIError(
                "ip.blocked", "IP blocked", "rate", http_status=status, path=path, retry_after=_WAIT["ip.blocked"]
            )
        code = message = ""
        if isinstance(data, dict):
            code = str(data.get("code") or data.get("Code") or "")
            message = str(data.get("message") or data.get("Message") or "")
            request_id = str(data.get("requestid") or data.get("RequestId") or request_id)
        message = self._scrub(message)
        if not code:
            if status >= 500:
                return DingTalkAPIError(
                    f"http.{status}",
                    f"HTTP {status}",
                    "transient",
                    http_status=status,
                    path=path,
                    request_id=request_id,
                    ambiguous=True,
                )
            if status == 429:
                return DingTalkAPIError(
                    "http.429",
                    "HTTP 429",
                    "rate",
                    http_status=status,
                    path=path,
                    request_id=request_id,
                    retry_after=1.0,
                )
            kind: ErrorKind = "config" if status in (401, 403) else "permanent"
            return DingTalkAPIError(
                f"http.{status}", f"HTTP {status}", kind, http_status=status, path=path, request_id=request_id
            )
        kind = error_kind(code, message, path=path)
        if status >= 500 and kind == "permanent":
            kind = "transient"  # spec §g.2: HTTP 500 system.error / 504 — retry with backoff
        return DingTalkAPIError(
            code,
            message,
            kind,
            http_status=status,
            path=path,
            request_id=request_id,
            ambiguous=status >= 500,
            retry_after=_WAIT.get(code),
        )

    def _old_api_error(self, path: str, data: Mapping[str, Any], scrub: Iterable[str] = ()) -> DingTalkAPIError:
        """``{"errcode": != 0, "errmsg": ...}`` of old APIs and robot webhooks (spec §g.1)."""
        code = str(_errcode(data))
        message = self._scrub(str(data.get("errmsg", "")), scrub)
        if code == "88" and str(data.get("sub_code") or "") and "access_token" not in message:
            kind: ErrorKind = "permanent"  # 88 with a sub-code that is not about the token
        else:
            kind = error_kind(code, message, path=path)
        return DingTalkAPIError(
            code, message, kind, path=path, request_id=str(data.get("request_id") or ""), retry_after=_WAIT.get(code)
        )

    # -- token (spec §a.1, §a.3) ---------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float]:
        """One token request → (token, expires_in seconds); the TokenCache keeps it."""
        path = "oauth2/accessToken"
        log.info("dingtalk accessToken for %s", self.client_id)
        status, rid, data = await self._exchange(
            "POST",
            f"{self._api}/v1.0/oauth2/accessToken",
            path,
            body={"appKey": self.client_id, "appSecret": self._secret},
        )
        if status != 200:
            raise self._raise(self._new_api_error(path, status, rid, data))
        token = data.get("accessToken") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise self._raise(
                DingTalkAPIError(
                    "token.missing", "no accessToken in the answer", "transient", path=path, request_id=rid
                )
            )
        try:
            expires_in = float(data.get("expireIn", 7200))
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

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """A new-API call (``{api_base}/v1.0/<path>``) with the token header; one renewal and one
        retry on a token-invalid answer (spec §a.3)."""
        url = f"{self._api}/v1.0/{path}"
        token = await self._get_token()
        status, rid, data = await self._exchange(
            method, url, path, params=params, body=body, headers={"x-acs-dingtalk-access-token": token}
        )
        if not 200 <= status < 300:
            error = self._new_api_error(path, status, rid, data)
            if error.kind != "token":
                raise self._raise(error)
            log.info("dingtalk %s: token rejected (%s); renewing once", path, error.code)
            token = await self._get_token(stale=token)
            status, rid, data = await self._exchange(
                method, url, path, params=params, body=body, headers={"x-acs-dingtalk-access-token": token}
            )
            if not 200 <= status < 300:
                raise self._raise(self._new_api_error(path, status, rid, data))
        if data is None:
            raise self._raise(
                DingTalkAPIError(
                    "reply.invalid",
                    "reply is not JSON",
                    "transient",
                    path=path,
                    http_status=status,
                    request_id=rid,
                    ambiguous=True,
                )
            )
        if isinstance(data, dict) and data.get("success") is False:
            code = str(data.get("code") or data.get("errorCode") or "success.false")
            message = self._scrub(str(data.get("message") or data.get("errorMsg") or ""))
            raise self._raise(
                DingTalkAPIError(
                    code, message, error_kind(code, message, path=path), path=path, http_status=status, request_id=rid
                )
            )
        return data

    # -- OAuth sign-in (the desk) ---------------------------------------------------------------------

    async def oauth_userid(self, code: str) -> str:
        """The member's userId for the ``authCode`` DingTalk's OAuth redirect brought back
        (login.dingtalk.com/oauth2/auth; inside the DingTalk client it signs in without a
        prompt): ``POST /v1.0/oauth2/userAccessToken`` (the user's token), ``GET
        /v1.0/contact/users/me`` (their unionId), then ``POST /topapi/user/getbyunionid`` with the
        app's token (their userId in this organisation; 60121 when they are not a member)."""
        path = "oauth2/userAccessToken"
        status, rid, data = await self._exchange(
            "POST",
            f"{self._api}/v1.0/{path}",
            path,
            body={
                "clientId": self.client_id,
                "clientSecret": self._secret,
                "code": code,
                "grantType": "authorization_code",
            },
        )
        if status != 200 or not isinstance(data, dict) or not data.get("accessToken"):
            raise self._raise(self._new_api_error(path, status, rid, data))
        user_token = str(data["accessToken"])
        path = "contact/users/me"
        status, rid, data = await self._exchange(
            "GET", f"{self._api}/v1.0/{path}", path, headers={"x-acs-dingtalk-access-token": user_token}
        )
        if status != 200 or not isinstance(data, dict) or not data.get("unionId"):
            raise self._raise(self._new_api_error(path, status, rid, data))
        union_id = str(data["unionId"])
        path = "topapi/user/getbyunionid"
        token = await self._get_token()
        status, rid, data = await self._exchange(
            "POST", f"{self._oapi}/{path}", path, params={"access_token": token}, body={"unionid": union_id}
        )
        if status != 200 or not isinstance(data, dict):
            raise self._raise(self._new_api_error(path, status, rid, data))
        if _errcode(data) != 0:
            raise self._raise(self._old_api_error(path, data, [token]))
        result = data.get("result")
        userid = result.get("userid") if isinstance(result, dict) else None
        if not isinstance(userid, str) or not userid:
            raise self._raise(DingTalkAPIError("60121", "not a member", "permanent", path=path, request_id=rid))
        return userid

    # -- robot messages (spec §c.1–§c.4) -----------------------------------------------------------

    @staticmethod
    def _msg_param(msg_key: str, msg_param: Mapping[str, str]) -> str:
        if msg_key not in MSG_KEYS:
            raise ValueError(f"unknown msgKey {msg_key!r} (spec §c.3)")
        _check_params(msg_param, "msgParam")
        return _fit_param(msg_key, msg_param, _MSG_PARAM_LIMIT)

    async def send_to_users(
        self, user_ids: str | Iterable[str], msg_key: str, msg_param: Mapping[str, str]
    ) -> BatchSendResult:
        """Robot one-to-one messages to ≤ 20 users (``oToMessages/batchSend``, spec §c.1).

        Not idempotent: after an ``ambiguous`` failure the message may have been delivered.
        """
        users = _user_list(user_ids, _MAX_OTO_USERS)
        body = {
            "robotCode": self.robot_code,
            "userIds": users,
            "msgKey": msg_key,
            "msgParam": self._msg_param(msg_key, msg_param),
        }
        data = await self._call("POST", "robot/oToMessages/batchSend", body=body)
        data = data if isinstance(data, dict) else {}
        return BatchSendResult(
            process_query_key=str(data.get("processQueryKey") or ""),
            invalid=_strings(data.get("invalidStaffIdList") or ()),
            flow_controlled=_strings(data.get("flowControlledStaffIdList") or ()),
            filtered=_strings(data.get("filteredStaffIdList") or ()),
        )

    async def send_text(self, user_ids: str | Iterable[str], text: str) -> BatchSendResult:
        """``sampleText`` one-to-one."""
        return await self.send_to_users(user_ids, "sampleText", {"content": text})

    async def send_markdown(self, user_ids: str | Iterable[str], text: str, title: str) -> BatchSendResult:
        """``sampleMarkdown`` one-to-one (``title`` = notification/preview line)."""
        return await self.send_to_users(user_ids, "sampleMarkdown", {"title": title, "text": text})

    async def send_to_group(self, conversation_id: str, msg_key: str, msg_param: Mapping[str, str]) -> str:
        """Robot message to a group it is a member of (``groupMessages/send``, spec §c.2);
        returns the ``processQueryKey``. No @-mentions here (use a card or the webhook)."""
        if not conversation_id:
            raise ValueError("openConversationId is required")
        body = {
            "robotCode": self.robot_code,
            "openConversationId": conversation_id,
            "msgKey": msg_key,
            "msgParam": self._msg_param(msg_key, msg_param),
        }
        data = await self._call("POST", "robot/groupMessages/send", body=body)
        return str(data.get("processQueryKey") or "") if isinstance(data, dict) else ""

    async def send_group_text(self, conversation_id: str, text: str) -> str:
        return await self.send_to_group(conversation_id, "sampleText", {"content": text})

    async def send_group_markdown(self, conversation_id: str, text: str, title: str) -> str:
        return await self.send_to_group(conversation_id, "sampleMarkdown", {"title": title, "text": text})

    @staticmethod
    def _recall_result(data: Any) -> RecallResult:
        data = data if isinstance(data, dict) else {}
        failed = data.get("failedResult") or {}
        return RecallResult(
            recalled=_strings(data.get("successResult") or ()),
            failed={str(k): str(v) for k, v in failed.items()} if isinstance(failed, dict) else {},
        )

    async def recall_user_messages(self, process_query_keys: Iterable[str]) -> RecallResult:
        """Recall one-to-one messages within 24 h (``otoMessages/batchRecall``, spec §c.4)."""
        keys = _user_list(process_query_keys, _MAX_RECALL_KEYS)
        data = await self._call(
            "POST", "robot/otoMessages/batchRecall", body={"robotCode": self.robot_code, "processQueryKeys": keys}
        )
        return self._recall_result(data)

    async def recall_group_messages(self, conversation_id: str, process_query_keys: Iterable[str]) -> RecallResult:
        """Recall group messages (``groupMessages/recall``, spec §c.4)."""
        keys = _user_list(process_query_keys, _MAX_RECALL_KEYS)
        data = await self._call(
            "POST",
            "robot/groupMessages/recall",
            body={"robotCode": self.robot_code, "openConversationId": conversation_id, "processQueryKeys": keys},
        )
        return self._recall_result(data)

    # -- interactive cards (spec §d.2–§d.4) ----------------------------------------------------------

    async def create_and_deliver_card(
        self,
        *,
        out_track_id: str,
        template_id: str,
        card_data: Mapping[str, str],
        user_id: str | None = None,
        conversation_id: str | None = None,
        private_data: Mapping[str, Mapping[str, str]] | None = None,
        at_users: Mapping[str, str] | None = None,
        recipients: Iterable[str] | None = None,
        preview: str | None = None,
        callback_type: CallbackType | None = "STREAM",
        callback_route_key: str | None = None,
        support_forward: bool = False,
    ) -> CardDeliverResult:
        """Create a card instance and deliver it to one robot chat (``user_id``) or one group
        (``conversation_id``) in one call (``card/instances/createAndDeliver``, spec §d.2).

        ``out_track_id`` is our id of the instance (≤ 64 of ``[A-Za-z0-9_-]``); re-creating
        with the same id is safe (the data is not overwritten), so retries are idempotent.
        Raises ``deliver.failed`` (kind ``recipient``) when no space got the card — HTTP 200
        can carry failed ``deliverResults``.
        """
        if not _OUT_TRACK_ID.fullmatch(out_track_id or ""):
            raise ValueError("outTrackId must be 1–64 characters of [A-Za-z0-9_-]")
        if not template_id:
            raise ValueError("cardTemplateId is required")
        if (user_id is None) == (conversation_id is None) or not (user_id or conversation_id):
            raise ValueError("give exactly one of user_id= or conversation_id=")
        if callback_type == "HTTP" and not callback_route_key:
            raise ValueError("an HTTP card callback needs callback_route_key (spec §d.4)")
        body: dict[str, Any] = {
            "cardTemplateId": template_id,
            "outTrackId": out_track_id,
            "userIdType": 1,
            "cardData": {"cardParamMap": _check_params(card_data, "card_data")},
        }
        if callback_type is not None:
            body["callbackType"] = callback_type
        if callback_route_key:
            body["callbackRouteKey"] = callback_route_key
        if private_data:
            body["privateData"] = {
                u: {"cardParamMap": _check_params(v, "private_data")} for u, v in private_data.items()
            }
        space_model: dict[str, Any] = {"supportForward": support_forward}
        if preview:
            space_model["lastMessageI18n"] = {"ZH_CN": preview}
        if user_id is not None:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{user_id}"
            body["imRobotOpenSpaceModel"] = space_model
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": self.robot_code}
        else:
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{conversation_id}"
            body["imGroupOpenSpaceModel"] = space_model
            deliver: dict[str, Any] = {"robotCode": self.robot_code}
            if at_users:
                deliver["atUserIds"] = dict(at_users)
            if recipients is not None:
                deliver["recipients"] = list(recipients)
            body["imGroupOpenDeliverModel"] = deliver
        data = await self._call("POST", "card/instances/createAndDeliver", body=body)
        result = data.get("result") if isinstance(data, dict) else None
        result = result if isinstance(result, dict) else {}
        deliveries = tuple(
            DeliverResult(
                space_type=str(d.get("spaceType") or ""),
                space_id=str(d.get("spaceId") or ""),
                success=d.get("success") is True,
                error_msg=self._scrub(str(d.get("errorMsg") or "")),
                carrier_id=str(d.get("carrierId") or ""),
            )
            for d in result.get("deliverResults") or ()
            if isinstance(d, dict)
        )
        outcome = CardDeliverResult(str(result.get("outTrackId") or out_track_id), deliveries)
        if deliveries and not any(d.success for d in deliveries):
            first = deliveries[0]
            raise self._raise(
                DingTalkAPIError(
                    "deliver.failed",
                    first.error_msg or "card not delivered",
                    "recipient",
                    path="card/instances/createAndDeliver",
                    http_status=200,
                )
            )
        return outcome

    async def update_card(
        self,
        out_track_id: str,
        *,
        card_data: Mapping[str, str] | None = None,
        private_data: Mapping[str, Mapping[str, str]] | None = None,
        merge: bool = True,
    ) -> None:
        """Update a card instance for everyone who has it (``PUT card/instances``, spec §d.3).

        ``merge=True`` updates only the given keys; ``False`` replaces the whole data set.
        """
        if not out_track_id:
            raise ValueError("outTrackId is required")
        body: dict[str, Any] = {
            "outTrackId": out_track_id,
            "userIdType": 1,
            "cardUpdateOptions": {"updateCardDataByKey": merge, "updatePrivateDataByKey": merge},
        }
        if card_data is not None:
            body["cardData"] = {"cardParamMap": _check_params(card_data, "card_data")}
        if private_data:
            body["privateData"] = {
                u: {"cardParamMap": _check_params(v, "private_data")} for u, v in private_data.items()
            }
        await self._call("PUT", "card/instances", body=body)

    async def register_card_callback(
        self, route_key: str, url: str, *, api_secret: str | None = None, force_update: bool = True
    ) -> None:
        """Register the HTTP card-callback URL for ``callbackRouteKey`` (spec §d.4).

        Put an unguessable token into ``url``: how DingTalk authenticates these callbacks is
        not documented.
        """
        body: dict[str, Any] = {"callbackRouteKey": route_key, "callbackUrl": url, "forceUpdate": force_update}
        if api_secret:
            body["apiSecret"] = api_secret
        await self._call("POST", "card/callbacks/register", body=body)

    # -- custom robot webhook (spec §e) and sessionWebhook (spec §c.5) ------------------------------

    def _webhook_url(self, webhook: str) -> tuple[str, str]:
        """(url, token) from a full webhook URL or a bare access_token."""
        if webhook.startswith(("http://", "https://")):
            token = URL(webhook).query.get("access_token", "")
            return webhook, token
        return f"{self._oapi}/robot/send?access_token={webhook}", webhook

    def _webhook_gate(self, key: str) -> None:
        """Refuse locally above 20/min or while DingTalk throttles the robot (spec §e)."""
        now = self._monotonic()
        blocked = self._webhook_blocked_until.get(key, 0.0)
        if blocked > now:
            raise DingTalkAPIError(
                "webhook.throttled", "robot throttled by DingTalk", "rate", path="robot/send", retry_after=blocked - now
            )
        hits = self._webhook_hits.setdefault(key, deque())
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= _WEBHOOK_PER_MINUTE:
            raise DingTalkAPIError(
                "local.webhook.rate",
                "20 messages per minute reached",
                "rate",
                path="robot/send",
                retry_after=hits[0] + 60.0 - now,
            )
        hits.append(now)

    async def webhook_send(self, webhook: str, body: Mapping[str, Any], *, secret: str | None = None) -> None:
        """Post to a custom group robot (``{oapi_base}/robot/send``, spec §e).

        ``webhook`` is the robot's full URL or its bare ``access_token``; ``secret`` (``SEC...``)
        enables 加签. Beyond 20 messages per minute the call is refused locally (``rate``);
        DingTalk's own throttle (410100/130101/302) blocks further sends for 10 minutes.
        Put a ``msgUuid`` in ``body`` to make retries idempotent.
        """
        if not webhook:
            raise ValueError("webhook is required")
        msgtype = body.get("msgtype")
        if msgtype not in _WEBHOOK_MSGTYPES:
            raise ValueError(f"custom robots do not support msgtype {msgtype!r} (spec §e)")
        url, token = self._webhook_url(webhook)
        key = hashlib.sha256(url.split("?", 1)[0].encode() + token.encode()).hexdigest()
        self._webhook_gate(key)
        if secret:
            url = signed_webhook_url(url, secret, int(self._wall() * 1000))
        scrub = [s for s in (token, secret, webhook) if s]
        status, _, data = await self._exchange(
            "POST", URL(url, encoded=True), "robot/send", body=dict(body), counted=False
        )
        self._check_webhook_answer("robot/send", status, data, scrub, throttle_key=key)

    async def reply_session(
        self, session_webhook: str, body: Mapping[str, Any], *, expires_at_ms: int | None = None
    ) -> None:
        """Reply in the conversation of a received message through its ``sessionWebhook``
        (spec §c.5): custom-robot JSON (text/markdown/actionCard/feedCard/link), no token, valid
        until ``sessionWebhookExpiredTime`` (≈ 90 min). An expired webhook is refused locally
        with ``sessionWebhook.expired`` (kind ``permanent``): fall back to §c.1/§c.2.
        """
        if not session_webhook.startswith(("http://", "https://")):
            raise ValueError("sessionWebhook must be a URL")
        msgtype = body.get("msgtype")
        if msgtype not in _WEBHOOK_MSGTYPES:
            raise ValueError(f"sessionWebhook does not support msgtype {msgtype!r}")
        if expires_at_ms is not None and self._wall() * 1000 >= expires_at_ms:
            raise DingTalkAPIError(
                "sessionWebhook.expired", "sessionWebhook expired", "permanent", path="robot/sendBySession"
            )
        scrub = [session_webhook, URL(session_webhook).query.get("session", "")]
        status, _, data = await self._exchange(
            "POST", URL(session_webhook, encoded=True), "robot/sendBySession", body=dict(body), counted=False
        )
        self._check_webhook_answer("robot/sendBySession", status, data, scrub, throttle_key=None)

    def _check_webhook_answer(
        self, path: str, status: int, data: Any, scrub: Iterable[str], *, throttle_key: str | None
    ) -> None:
        error: DingTalkAPIError | None = None
        if status >= 500:
            error = DingTalkAPIError(
                f"http.{status}", f"HTTP {status}", "transient", http_status=status, path=path, ambiguous=True
            )
        elif throttle_key is not None and (status in (301, 302, 303, 307) or not isinstance(data, dict)):
            # spec §e: a throttled robot has been seen answering 302 / non-JSON
            error = DingTalkAPIError(
                "webhook.throttled",
                f"HTTP {status} (throttled?)",
                "rate",
                http_status=status,
                path=path,
                retry_after=_WEBHOOK_BLOCK,
            )
        elif not isinstance(data, dict):
            error = DingTalkAPIError(
                f"http.{status}", "reply is not JSON", "transient", http_status=status, path=path, ambiguous=True
            )
        elif status != 200:
            error = self._new_api_error(path, status, "", data)
        elif _errcode(data) != 0:
            error = self._old_api_error(path, data, scrub)
        if error is None:
            return
        if throttle_key is not None and error.code in ("410100", "130101", "webhook.throttled"):
            self._webhook_blocked_until[throttle_key] = self._monotonic() + _WEBHOOK_BLOCK
            error.retry_after = _WEBHOOK_BLOCK
        raise self._raise(error)


def _errcode(data: Mapping[str, Any]) -> int:
    value = data.get("errcode", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
