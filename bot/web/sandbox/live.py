"""Live updates of the sandbox pages: every open page holds a server-sent event stream
(``GET /sandbox/events``); when a chat changes, each stream gets the chat's topic
(``user:<id>``, ``group:<id>``, ``clock``) and the page fetches what it shows again. One process
(the sandbox is a rehearsal on one machine); a page that lost its stream reconnects by itself."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

#: a comment line every so often keeps proxies from closing an idle stream (seconds)
HEARTBEAT = 15.0


class Hub:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()
        self.closed = False

    def publish(self, topic: str) -> None:
        for queue in list(self._queues):
            queue.put_nowait(topic)

    def close(self) -> None:
        """End every stream (at shutdown: an open page must not hold the server up)."""
        self.closed = True
        for queue in list(self._queues):
            queue.put_nowait(None)

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            await response.write(b"retry: 2000\nevent: ready\ndata: ready\n\n")
            while not self.closed:
                try:
                    topic = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                if topic is None:
                    break
                await response.write(f"data: {topic}\n\n".encode())
        except ConnectionResetError:  # the page went away
            return response
        finally:
            self._queues.discard(queue)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response
