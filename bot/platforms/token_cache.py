"""A platform access token, cached and refreshed single-flight (WeCom spec §3.1, DingTalk §a.3).

However many coroutines ask at once, one fetch is in flight; a failed fetch is shared with the
coroutines that waited for it instead of being retried by each; a rejected token is renewed once
for everybody; a failed *proactive* refresh keeps using a token that has not expired yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

#: refresh proactively when fewer than this many seconds remain
REFRESH_MARGIN = 300.0


class TokenError(Protocol):
    kind: str

    def clone(self) -> TokenError: ...


E = TypeVar("E", bound=Exception)


class TokenCache:
    """``fetch`` returns (token, expires_in seconds) or raises the platform's API error, which
    must carry ``kind`` and ``clone()``; ``error_type`` is that error class."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        error_type: type[Exception],
        monotonic: Callable[[], float],
        name: str,
    ) -> None:
        self._fetch = fetch
        self._error_type = error_type
        self._monotonic = monotonic
        self._name = name
        self.token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._fetches_done = 0  # completed fetches (success or failure)
        self._fetch_error: Exception | None = None

    def _fresh(self) -> str | None:
        if self.token is not None and self._expires_at - self._monotonic() > REFRESH_MARGIN:
            return self.token
        return None

    def invalidate(self) -> None:
        self.token = None

    async def get(self, stale: str | None = None) -> str:
        """A usable token. With ``stale``: that token was rejected; renew it (once for all)."""
        if stale is None and (tok := self._fresh()) is not None:
            return tok
        seen = self._fetches_done
        async with self._lock:
            current = self.token
            if stale is None:
                if (tok := self._fresh()) is not None:
                    return tok
            elif current is not None and current != stale:
                return current  # renewed by another coroutine while we waited
            if self._fetches_done != seen and self._fetch_error is not None:
                # the fetch we waited for failed: share its result, don't hammer the token API
                return self._fallback(self._fetch_error.clone(), current, stale)  # type: ignore[attr-defined]
            if stale is not None:
                self.token = None  # drop the rejected token
            started = self._monotonic()
            try:
                tok, expires_in = await self._fetch()
            except Exception as exc:
                if not isinstance(exc, self._error_type):
                    raise
                self._fetch_error = exc
                return self._fallback(exc, current, stale)
            finally:
                self._fetches_done += 1
            self._fetch_error = None
            self.token, self._expires_at = tok, started + expires_in  # measured from before the request
            return tok

    def _fallback(self, exc: Exception, current: str | None, stale: str | None) -> str:
        if (
            stale is None
            and current is not None
            and current == self.token
            and getattr(exc, "kind", "") in ("transient", "rate")
            and self._expires_at > self._monotonic()
        ):
            log.warning("%s token refresh failed (%s); using the current token", self._name, getattr(exc, "kind", ""))
            return current
        raise exc
