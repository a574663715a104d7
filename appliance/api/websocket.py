"""WebSocket push: every committed change and scan result, to every client, without stalls.

A message is serialised and framed once, whoever receives it. Frames are not written one by
one: each client collects the frames of one turn of the event loop (the messages of a
commit, of a group of commits, a scan's result) and gets them in one write to its socket at
the end of that turn, in order. With 200 clients, that is one system call per client per
turn instead of one per client per message, and no task per client to wake.

Nothing waits for a slow client: what its socket does not take stays in its connection's
buffer, and a client with more than ``queue_limit`` messages not yet sent is disconnected
(it reconnects and reloads, which is cheaper than buffering without limit on a Pi).

Messages go out uncompressed (no permessage-deflate): the node's messages are small, on a
LAN, and compressing them would cost CPU per client and message where framing costs none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque

from aiohttp import WSCloseCode, WSMsgType, web

from appliance.api.responses import json_bytes
from appliance.core.messages import Message

log = logging.getLogger(__name__)


# Shown on the node's display and in its log only: a client that can read the WebSocket
# must not learn the codes that let new devices in.
PRIVATE_TYPES = frozenset({"pairing.code"})

_PONG = b'{"type":"pong"}'


def text_frame(payload: bytes) -> bytes:
    """One unmasked, final WebSocket text frame (RFC 6455 5.2) around UTF-8 ``payload``."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class _Client:
    __slots__ = ("frames", "request", "sizes", "transport", "unsent_bytes", "ws")

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, transport: asyncio.Transport
    ) -> None:
        self.ws = ws
        self.request = request
        self.transport = transport
        #: Frames waiting for this turn's write.
        self.frames: list[bytes] = []
        #: Sizes of frames written but maybe not yet (all) sent, oldest first, and their sum.
        self.sizes: deque[int] = deque()
        self.unsent_bytes = 0

    def write(self) -> int:
        """Write the waiting frames at once; returns how many messages are not yet sent."""
        frames, self.frames = self.frames, []
        self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        for frame in frames:
            self.sizes.append(len(frame))
            self.unsent_bytes += len(frame)
        # What the transport still buffers is the tail of what was written: frames before
        # that tail have left (the socket took them).
        buffered = self.transport.get_write_buffer_size()
        sizes = self.sizes
        while sizes and self.unsent_bytes - sizes[0] >= buffered:
            self.unsent_bytes -= sizes.popleft()
        return len(sizes) if buffered else 0


class WebSocketHub:
    """An outlet that fans messages out to WebSocket clients."""

    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self._clients: set[_Client] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_handle: asyncio.Handle | None = None

    @property
    def client_count(self) -> int:
        """Connected clients."""
        return len(self._clients)

    def deliver(self, message: Message) -> None:
        """Queue a message for every client (serialised and framed once)."""
        if not self._clients or message.type in PRIVATE_TYPES:
            return
        frame = text_frame(json_bytes(message.to_dict()))
        for client in self._clients:
            client.frames.append(frame)
        self._schedule()

    def _schedule(self) -> None:
        """Write what waits at the end of this turn of the loop (once, however many came)."""
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every client's waiting frames, one write each; drop clients too far behind."""
        self._flush_handle = None
        for client in list(self._clients):
            if not client.frames:
                continue
            if client.transport.is_closing() or client.ws.closed:
                self._clients.discard(client)  # its handler is ending; nothing to send to
                continue
            if client.write() > self.queue_limit:
                self._drop(client)

    def disconnect_token(self, token_id: str) -> int:
        """Close the connections opened with a token that was just revoked."""
        from appliance.api.auth import TOKEN_ID

        gone = [c for c in self._clients if c.request.get(TOKEN_ID) == token_id]
        for client in gone:
            self._clients.discard(client)
            client.frames.clear()
            client.transport.abort()
        return len(gone)

    def _drop(self, client: _Client) -> None:
        """Disconnect a client that fell ``queue_limit`` messages behind."""
        log.warning("WebSocket client too slow; disconnecting it")
        self._clients.discard(client)
        # Its socket takes nothing, so a polite close frame would never leave either: cut the
        # connection. The client reconnects and reloads, which the close code would have
        # asked for anyway.
        client.transport.abort()

    async def handle(
        self, request: web.Request, hello: Message | None = None
    ) -> web.WebSocketResponse:
        """Serve one client until it leaves."""
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024, compress=False)
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # the client left during the handshake
            return ws
        self._loop = asyncio.get_running_loop()
        client = _Client(ws, request, transport)
        if hello is not None:
            client.frames.append(text_frame(json_bytes(hello.to_dict())))
            self._schedule()
        self._clients.add(client)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "ping":
                    if client in self._clients:
                        client.frames.append(text_frame(_PONG))
                        self._schedule()
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._clients.discard(client)
            if not ws.closed and not transport.is_closing():
                await ws.close()
        return ws

    async def close_all(self) -> None:
        """Send what waits, then disconnect every client (shutdown)."""
        self.flush()
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"node stopping")
        self._clients.clear()
