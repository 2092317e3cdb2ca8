"""Live updates of the sandbox pages: every open page holds a WebSocket (``GET /sandbox/live``)
that only listens; when a chat changes, each socket gets the chat's topic (``user:<id>``,
``group:<id>``, ``clock``) and the page fetches what it shows again. A WebSocket, not server-sent
events: a browser opens at most six HTTP/1.1 connections to one server, and a rehearsal keeps more
tabs open than that (one per person). One process (the sandbox is a rehearsal on one machine); a
page that lost its socket reconnects by itself and fetches its chat again."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

#: the server pings every so often: a socket whose page is gone is noticed and closed (seconds)
HEARTBEAT = 20.0


class Hub:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()
        self.closed = False

    def publish(self, topic: str) -> None:
        for queue in list(self._queues):
            queue.put_nowait(topic)

    def close(self) -> None:
        """End every socket (at shutdown: an open page must not hold the server up)."""
        self.closed = True
        for queue in list(self._queues):
            queue.put_nowait(None)

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=1024)
        await ws.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)

        async def drain_incoming() -> None:  # the page sends nothing; this notices it closing
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
            queue.put_nowait(None)

        reader = asyncio.create_task(drain_incoming())
        try:
            await ws.send_str("ready")
            while not self.closed:
                topic = await queue.get()
                if topic is None or ws.closed:
                    break
                await ws.send_str(topic)
        except ConnectionResetError:  # the page went away
            pass
        finally:
            self._queues.discard(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await ws.close()
        return ws
