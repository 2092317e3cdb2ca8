"""How big an API request may be. The real limits are in characters per field
(``bot.handlers.intake.LIMITS``, README "HTTP"); the byte limit on the body only has to let
every allowed field through in any JSON encoding — raw UTF-8 (≤ 4 bytes a character) or
``\\u``-escaped ASCII as Python's ``json.dumps`` writes by default (6 bytes a character, 12 for
a character outside the BMP, written as a surrogate pair)."""

from __future__ import annotations

from aiohttp import web

from bot.handlers.intake import LIMITS

#: co-units a case may name at most, for the body estimate (the API refuses more)
MAX_CO_UNITS = 20
#: keys, punctuation, numbers, flags and dates around the text fields
_OVERHEAD = 16 * 1024


def api_body_limit(max_body_kb: int) -> int:
    """Bytes an API body may have: every field at its character limit, each character escaped
    as a surrogate pair — or ``[server] max_body_kb`` when that is larger."""
    characters = sum(LIMITS.values()) + MAX_CO_UNITS * LIMITS["unit"]
    return max(12 * characters + _OVERHEAD, max_body_kb * 1024)


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` bytes (read no further)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
