"""WebSocket push: every committed change and scan result, to every client, without stalls.

Each client has a bounded queue and its own sender task, so a slow or dead client never
delays the others; a client that falls too far behind is disconnected (it reconnects and
reloads, which is cheaper than buffering without limit on a Pi).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from appliance.core.messages import Message

log = logging.getLogger(__name__)


# Shown on the node's display and in its log only: a client that can read the WebSocket
# must not learn the codes that let new devices in.
PRIVATE_TYPES = frozenset({"pairing.code"})


class _Client:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, limit: int) -> None:
        self.ws = ws
        self.request = request
        self.queue: asyncio.Queue[str] = asyncio.Queue(limit)
        self.overflowed = False


class WebSocketHub:
    """An outlet that fans messages out to WebSocket clients."""

    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self._clients: set[_Client] = set()

    @property
    def client_count(self) -> int:
        """Connected clients."""
        return len(self._clients)

    def deliver(self, message: Message) -> None:
        """Queue a message for every client (serialised once)."""
        if not self._clients or message.type in PRIVATE_TYPES:
            return
        text = json.dumps(message.to_dict(), ensure_ascii=False)
        for client in list(self._clients):
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(client)

    def disconnect_token(self, token_id: str) -> int:
        """Close the connections opened with a token that was just revoked."""
        from appliance.api.auth import TOKEN_ID

        gone = [c for c in self._clients if c.request.get(TOKEN_ID) == token_id]
        for client in gone:
            self._clients.discard(client)
            transport = client.request.transport
            if transport is not None:
                transport.abort()
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait("")
        return len(gone)

    def _drop(self, client: _Client) -> None:
        """Disconnect a client that fell ``queue_limit`` messages behind."""
        log.warning("WebSocket client too slow; disconnecting it")
        client.overflowed = True
        self._clients.discard(client)
        # Its sender is most likely stuck waiting for the socket to drain, so a polite close
        # frame would never leave either: cut the connection. The client reconnects and
        # reloads, which the close code would have asked for anyway.
        transport = client.request.transport
        if transport is not None:
            transport.abort()
        with contextlib.suppress(asyncio.QueueEmpty):
            client.queue.get_nowait()
        client.queue.put_nowait("")  # wake the sender should it be idle

    async def handle(
        self, request: web.Request, hello: Message | None = None
    ) -> web.WebSocketResponse:
        """Serve one client until it leaves."""
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
        await ws.prepare(request)
        client = _Client(ws, request, self.queue_limit)
        if hello is not None:
            client.queue.put_nowait(json.dumps(hello.to_dict(), ensure_ascii=False))
        self._clients.add(client)
        sender = asyncio.create_task(self._send(client), name="ws-sender")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "ping":
                    await client.queue.put('{"type":"pong"}')
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._clients.discard(client)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if not ws.closed:
                await ws.close()
        return ws

    async def _send(self, client: _Client) -> None:
        while True:
            text = await client.queue.get()
            if client.overflowed:
                return
            try:
                await client.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def close_all(self) -> None:
        """Disconnect every client (shutdown)."""
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"node stopping")
        self._clients.clear()
