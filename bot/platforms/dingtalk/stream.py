"""Our own DingTalk Stream-mode client on aiohttp's WebSocket (spec §b.3, §h.3).

One connection at a time:

1. ``POST {stream_endpoint}`` (``/v1.0/gateway/connections/open``) with ``clientId``,
   ``clientSecret`` and CALLBACK subscriptions for the robot-message topic and the card-callback
   topic → ``{endpoint, ticket}``. The ticket is single-use (90 s); it is never logged or reused.
2. Connect to ``endpoint?ticket=...``. aiohttp pings every ``heartbeat`` seconds and drops a
   link whose pong does not come (spec: ping every 20–60 s, a missing pong = a dead link).
3. Read frames. SYSTEM ``ping`` is answered at once by the reader (echoing ``opaque``); SYSTEM
   ``disconnect`` makes us open a new connection at once (new ticket) while the frames already
   read finish alongside: their acks still go out on the old socket, closed once they are done.
4. Every data frame is processed in a task of its own (as the official SDK does), so one slow
   write never delays the acks of later frames; frames of the same sender still run in arrival
   order (a person's "退回" and the reason that follows). Each task parses the frame
   (``bot.platforms.dingtalk.events``), awaits ``on_event(inbound, dedupe_key)`` and **only then**
   sends its ack: the event must be persisted before it is acknowledged. For card callbacks the
   ack *is* the reply that updates the card, so ``on_event`` may return that reply
   (``{cardUpdateOptions, cardData, userPrivateData}``, spec §d.5) — ``None`` leaves the card
   unchanged (``{}``). A failing or timed-out ``on_event`` is acked with code 500. Frames of
   unknown topics get 404, EVENT frames a SUCCESS ack (we do not subscribe to events). At most
   ``queue_size`` frames are in flight; the reader waits (pings included) beyond that.
5. When the link breaks, frames already read are still handed to ``on_event`` (their acks are
   dropped) and we reconnect after an exponential backoff with jitter (``backoff_base`` · 2ⁿ,
   capped at ``backoff_cap``, × 0.5–1.0); a link that carried frames resets the backoff.

Wrong credentials (401/403, ``authFailed``) do not end the task: an admin may fix the app's
secret or permissions at any time, so they are retried with the same backoff (the official SDK
retries every failed open too). :attr:`DingTalkStream.status` says where the stream stands
(``connected``, ``auth_failed``, ``disconnected`` …) and ``on_status`` is told of every change,
for ``/healthz``, ``/metrics`` and the admins' warning.
Cancellation is honest: cancelling the task stops it; :meth:`DingTalkStream.stop` stops cleanly
(current frames finished, socket closed). Dedupe happens in the database under the key passed to
``on_event``: with several processes a redelivery can reach another process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from yarl import URL

from bot.platforms.dingtalk.client import DingTalkAPIError, ErrorKind, error_kind
from bot.platforms.dingtalk.events import (
    CARD_TOPIC,
    ROBOT_TOPIC,
    DingTalkEventError,
    dedupe_key,
    parse_card_callback,
    parse_robot_message,
    to_inbound,
)
from bot.ports import Inbound

__all__ = ["SUBSCRIPTIONS", "DingTalkStream", "OnEvent", "StreamStatus", "ack_frame"]

log = logging.getLogger(__name__)

OnEvent = Callable[[Inbound, str], Awaitable[Mapping[str, Any] | None]]

#: spec §b.3 step 1: only the two CALLBACK topics liuyan handles
SUBSCRIPTIONS: Final = (
    {"type": "CALLBACK", "topic": ROBOT_TOPIC},
    {"type": "CALLBACK", "topic": CARD_TOPIC},
)
_EVENT_ACK: Final = {"status": "SUCCESS", "message": "success"}


def ack_frame(message_id: str, data: Any, *, code: int = 200, message: str = "OK") -> dict[str, Any]:
    """The ack of spec §b.3: same ``messageId``, ``data`` a JSON *string*."""
    return {
        "code": code,
        "headers": {"contentType": "application/json", "messageId": message_id},
        "message": message,
        "data": json.dumps(data, ensure_ascii=False),
    }


@dataclass(frozen=True, slots=True)
class _Frame:
    type: str
    topic: str
    message_id: str
    time_ms: int | None
    data: Any


def _parse_frame(raw: str) -> _Frame | None:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    headers = obj.get("headers")
    if not isinstance(headers, dict):
        return None
    message_id = headers.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        return None
    raw_time = headers.get("time")
    time_ms = int(raw_time) if isinstance(raw_time, (int, str)) and str(raw_time).isdigit() else None
    return _Frame(str(obj.get("type") or ""), str(headers.get("topic") or ""), message_id, time_ms, obj.get("data"))


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """Where the stream stands: ``starting``, ``connected``, ``disconnected`` (reconnecting after
    a network or server error), ``auth_failed`` (401/403: credentials or permissions; retried),
    ``stopped``. ``failures`` counts failed connection attempts in a row; ``since`` is when the
    state began (``clock`` seconds); ``error`` the last error code."""

    state: str
    failures: int = 0
    since: float = 0.0
    error: str | None = None

    @property
    def up(self) -> bool:
        return self.state == "connected"

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "failures": self.failures, "since": self.since, "error": self.error}


def _sender(frame: _Frame) -> str:
    """Who sent the frame (robot message or card click), to keep one person's frames in order."""
    data = frame.data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            return ""
    if not isinstance(data, dict):
        return ""
    return str(data.get("senderStaffId") or data.get("userId") or data.get("senderId") or "")


class DingTalkStream:
    """A Stream-mode connection that hands robot messages and card clicks to ``on_event``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        open_url: str,
        client_id: str,
        client_secret: str,
        on_event: OnEvent,
        ua: str = "liuyan/0.1 (aiohttp)",
        heartbeat: float = 30.0,
        open_timeout: float = 10.0,
        handler_timeout: float = 30.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        queue_size: int = 1000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        on_status: Callable[[StreamStatus], None] | None = None,
    ) -> None:
        self._session = session
        self._open_url = open_url
        self.client_id = client_id
        self._secret = client_secret
        self._on_event = on_event
        self._ua = ua
        self._heartbeat = heartbeat
        self._open_timeout = aiohttp.ClientTimeout(total=open_timeout, connect=min(5.0, open_timeout))
        self._handler_timeout = handler_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._queue_size = queue_size
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self.connected = asyncio.Event()
        self._on_status = on_status
        self.status = StreamStatus("starting", since=clock())
        self._capacity = asyncio.Semaphore(queue_size)
        self._inflight: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}  # each sender's last frame task
        self._retiring: set[asyncio.Task[None]] = set()  # old sockets closing after a disconnect
        #: counters for health checks and tests
        self.connections = 0
        self.frames = 0
        self.acks = 0

    def __repr__(self) -> str:
        return f"DingTalkStream(client_id={self.client_id!r}, connected={self.connected.is_set()})"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run in a background task (keep the returned reference)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._stop_event.clear()
            self._task = asyncio.create_task(self.run(), name="dingtalk-stream")
        return self._task

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop: no new connection, the current frames finished, the socket closed.

        After ``timeout`` seconds the task is cancelled.
        """
        self._stopping = True
        self._stop_event.set()
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()
        task = self._task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        except DingTalkAPIError:
            pass  # already logged by run()

    async def run(self) -> None:
        """Connect, serve, reconnect — until :meth:`stop` (or cancellation)."""
        failures = 0
        try:
            while not self._stopping:
                planned = healthy = False
                try:
                    healthy, planned = await self._serve_once()
                except DingTalkAPIError as exc:
                    failures += 1
                    if exc.kind == "config":
                        log.error("dingtalk stream refused (code=%s): check client_id/client_secret", exc.code)
                        self._set_status("auth_failed", failures, exc.code)
                    else:
                        log.warning("dingtalk stream connection failed: code=%s kind=%s", exc.code, exc.kind)
                        self._set_status("disconnected", failures, exc.code)
                    if not self._stopping:
                        await self._pause(self._logged(self._backoff(failures)))
                    continue
                if self._stopping:
                    break
                if planned:
                    failures = 0
                    continue  # spec §b.3: after "disconnect" open a new connection at once
                failures = 1 if healthy else failures + 1
                self._set_status("disconnected", failures, "link lost")
                await self._pause(self._logged(self._backoff(failures)))
        except asyncio.CancelledError:
            for task in (*self._inflight, *self._retiring):
                task.cancel()
            raise
        finally:
            # stop: the frames in hand finish (stop() bounds the wait); cancelled: they are dropped
            try:
                await asyncio.gather(*self._inflight, *self._retiring, return_exceptions=True)
            except asyncio.CancelledError:
                for task in (*self._inflight, *self._retiring):
                    task.cancel()
                raise
            finally:
                self._set_status("stopped", 0, None)

    @staticmethod
    def _logged(delay: float) -> float:
        log.info("dingtalk stream reconnecting in %.1f s", delay)
        return delay

    def _set_status(self, state: str, failures: int, error: str | None) -> None:
        old = self.status
        if (old.state, old.failures, old.error) == (state, failures, error):
            return
        since = old.since if old.state == state else self._clock()
        self.status = StreamStatus(state, failures, since, error)
        if self._on_status is not None:
            try:
                self._on_status(self.status)
            except Exception:  # a reporting bug must not stop the stream
                log.exception("dingtalk stream: status callback failed")

    def _backoff(self, failures: int) -> float:
        base = min(self._backoff_cap, self._backoff_base * 2.0 ** max(0, failures - 1))
        return base * (0.5 + 0.5 * self._rand())

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if :meth:`stop` is called."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (sleeper, stopper):
                if not fut.done():
                    fut.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)

    # -- one connection ------------------------------------------------------------------------------

    async def _open(self) -> tuple[str, str]:
        """spec §b.3 step 1 → (endpoint, ticket)."""
        path = "gateway/connections/open"
        body = {
            "clientId": self.client_id,
            "clientSecret": self._secret,
            "subscriptions": [dict(s) for s in SUBSCRIPTIONS],
            "ua": self._ua,
        }
        failure: DingTalkAPIError | None = None
        status = 0
        raw = b""
        try:
            async with self._session.post(
                self._open_url, json=body, timeout=self._open_timeout, headers={"Accept": "application/json"}
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            failure = DingTalkAPIError("timeout", "timeout", "transient", path=path)
        except aiohttp.InvalidURL:
            failure = DingTalkAPIError("config.url", "invalid stream_endpoint", "config", path=path)
        except aiohttp.ClientError as exc:
            failure = DingTalkAPIError("network", f"connection error ({type(exc).__name__})", "transient", path=path)
        if failure is not None:
            raise failure
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        if status != 200:
            code = str(data.get("code") or "") if isinstance(data, dict) else ""
            kind: ErrorKind
            if code:
                kind = error_kind(code, path=path)
            else:
                kind = "config" if status in (401, 403) else "transient"
            # spec §g.2: bad credentials (kind "config") — run() retries them with backoff
            raise DingTalkAPIError(code or f"http.{status}", f"HTTP {status}", kind, http_status=status, path=path)
        endpoint = data.get("endpoint") if isinstance(data, dict) else None
        ticket = data.get("ticket") if isinstance(data, dict) else None
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise DingTalkAPIError("reply.invalid", "no endpoint/ticket", "transient", path=path)
        if URL(endpoint).scheme not in ("ws", "wss"):
            raise DingTalkAPIError("reply.invalid", "endpoint is not a WebSocket URL", "transient", path=path)
        return endpoint, ticket

    async def _serve_once(self) -> tuple[bool, bool]:
        """One connection → (healthy: it carried frames, planned: ended by ``disconnect``)."""
        endpoint, ticket = await self._open()
        url = URL(endpoint).update_query(ticket=ticket)
        failure: DingTalkAPIError | None = None
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            ws = await self._session.ws_connect(url, heartbeat=self._heartbeat)
        except aiohttp.WSServerHandshakeError as exc:
            failure = DingTalkAPIError(
                f"http.{exc.status}", "WebSocket handshake refused", "transient", http_status=exc.status, path="connect"
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = DingTalkAPIError("network", f"connect failed ({type(exc).__name__})", "transient", path="connect")
        if failure is not None or ws is None:
            raise failure or DingTalkAPIError("network", "connect failed", "transient", path="connect")
        self._ws = ws
        self.connections += 1
        self.connected.set()
        self._set_status("connected", 0, None)
        log.info("dingtalk stream connected (connection %s)", self.connections)
        mine: set[asyncio.Task[None]] = set()  # this connection's frames (their acks go out on ws)
        healthy = planned = False
        try:
            if self._stopping:
                return False, False
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        log.warning("dingtalk stream: binary frame ignored")
                    continue
                frame = _parse_frame(msg.data)
                if frame is None:
                    log.warning("dingtalk stream: malformed frame ignored")
                    continue
                healthy = True
                self.frames += 1
                if frame.type == "SYSTEM":
                    if frame.topic == "ping":
                        # spec §b.3: echo {"opaque": ...}; answered here so pings never wait
                        await self._send(ws, self._echo(frame))
                    elif frame.topic == "disconnect":
                        log.info("dingtalk stream: server asked to reconnect")
                        planned = True
                        break
                    else:
                        log.info("dingtalk stream: SYSTEM %s ignored", frame.topic[:40])
                    continue
                await self._capacity.acquire()
                self._spawn(ws, frame, mine)
            return healthy, planned
        finally:
            self.connected.clear()
            if self._ws is ws:
                self._ws = None
            if planned and mine and not self._stopping:
                # DingTalk keeps the old socket open a while: its frames finish and ack there
                # while the new connection is already being opened
                retire = asyncio.create_task(self._retire(ws, mine), name="dingtalk-stream-retire")
                self._retiring.add(retire)
                retire.add_done_callback(self._retiring.discard)
            else:
                await ws.close()

    def _spawn(self, ws: aiohttp.ClientWebSocketResponse, frame: _Frame, mine: set[asyncio.Task[None]]) -> None:
        sender = _sender(frame)
        before = self._tails.get(sender) if sender else None
        task = asyncio.create_task(self._process(ws, frame, before), name="dingtalk-stream-frame")
        for tasks in (self._inflight, mine):
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if sender:
            self._tails[sender] = task

            def forget(done: asyncio.Task[None]) -> None:
                if self._tails.get(sender) is done:
                    del self._tails[sender]

            task.add_done_callback(forget)

    async def _process(
        self, ws: aiohttp.ClientWebSocketResponse, frame: _Frame, before: asyncio.Task[None] | None
    ) -> None:
        try:
            if before is not None and not before.done():
                await asyncio.wait({before})  # the same sender's earlier frame goes first
            ack = await self._handle(frame)
            await self._send(ws, ack)
        finally:
            self._capacity.release()

    async def _retire(self, ws: aiohttp.ClientWebSocketResponse, tasks: set[asyncio.Task[None]]) -> None:
        try:
            await asyncio.wait(set(tasks), timeout=self._handler_timeout + 1)
        finally:
            await ws.close()

    @staticmethod
    def _echo(frame: _Frame) -> dict[str, Any]:
        data = frame.data
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = {}
        opaque = data.get("opaque") if isinstance(data, dict) else None
        return ack_frame(frame.message_id, {"opaque": opaque})

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, ack: Mapping[str, Any]) -> None:
        if ws.closed:
            return  # the link is gone: DingTalk may redeliver, the database dedupes
        async with self._send_lock:
            try:
                await ws.send_str(json.dumps(ack, ensure_ascii=False))
                self.acks += 1
            except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
                log.warning("dingtalk stream: ack not sent (%s)", type(exc).__name__)

    # -- dispatching ---------------------------------------------------------------------------------

    async def _handle(self, frame: _Frame) -> dict[str, Any]:
        """Process one data frame; never raises. Returns the ack to send."""
        if frame.type == "EVENT":
            return ack_frame(frame.message_id, _EVENT_ACK)
        if frame.type != "CALLBACK" or frame.topic not in (ROBOT_TOPIC, CARD_TOPIC):
            log.info("dingtalk stream: %s %s not handled", frame.type[:20], frame.topic[:60])
            return ack_frame(frame.message_id, {"response": None}, code=404, message="topic unknown")
        is_card = frame.topic == CARD_TOPIC
        empty: Any = {} if is_card else None
        received = frame.time_ms / 1000 if frame.time_ms is not None else self._clock()
        try:
            data = frame.data if isinstance(frame.data, (str, dict)) else ""
            event = parse_card_callback(data) if is_card else parse_robot_message(data)
        except DingTalkEventError as exc:
            log.warning("dingtalk stream: unusable %s frame: %s", "card" if is_card else "robot", exc)
            return ack_frame(frame.message_id, {"response": empty})
        inbound = to_inbound(event, received_at=received)
        if inbound is None:
            return ack_frame(frame.message_id, {"response": empty})
        try:
            reply = await asyncio.wait_for(self._on_event(inbound, dedupe_key(event)), self._handler_timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            log.error("dingtalk stream: on_event timed out for %s", dedupe_key(event))
            return ack_frame(frame.message_id, {"response": empty}, code=500, message="timeout")
        except Exception:
            log.exception("dingtalk stream: on_event failed for %s", dedupe_key(event))
            return ack_frame(frame.message_id, {"response": empty}, code=500, message="internal error")
        if is_card:
            return ack_frame(frame.message_id, {"response": dict(reply) if reply else {}})
        return ack_frame(frame.message_id, {"response": None})
