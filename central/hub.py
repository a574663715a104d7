"""WebSocket fan-out to dashboard clients: one bounded queue per client, slow ones dropped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from appliance.core.messages import Message

log = logging.getLogger(__name__)


class Hub:
    """Broadcasts messages to every connected WebSocket without letting one stall the rest."""

    def __init__(self, queue_limit: int = 256) -> None:
        self.queue_limit = queue_limit
        self._clients: set[asyncio.Queue[str | None]] = set()

    @property
    def client_count(self) -> int:
        """Connected clients."""
        return len(self._clients)

    def broadcast(self, message: Message) -> None:
        """Queue a message for every client; a client whose queue is full is disconnected."""
        text = json.dumps(message.to_dict(), ensure_ascii=False)
        for queue in list(self._clients):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                log.warning("a WebSocket client fell %d messages behind; closing it", queue.qsize())
                self._clients.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    def close_all(self) -> None:
        """Tell every client to go (on shutdown)."""
        for queue in list(self._clients):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self._clients.clear()

    async def serve(
        self, request: web.Request, hello: dict[str, Any] | None = None
    ) -> web.StreamResponse:
        """Handle one ``/api/ws`` connection until either side closes it."""
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue(self.queue_limit)
        self._clients.add(queue)
        if hello is not None:
            await ws.send_json(hello)

        async def pump() -> None:
            while (text := await queue.get()) is not None:
                await ws.send_str(text)
            await ws.close()

        sender = asyncio.create_task(pump())
        try:
            async for _ in ws:  # the dashboard sends nothing we act on
                pass
        finally:
            self._clients.discard(queue)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
        return ws
