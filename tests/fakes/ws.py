"""Waiting for a WebSocket message of one type (the node's and central's contract)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


async def next_message(
    ws: aiohttp.ClientWebSocketResponse, kind: str, within: float = 20.0
) -> dict[str, Any]:
    """The next message of type ``kind``, skipping others; fails after ``within`` seconds."""

    async def receive() -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads((await ws.receive()).data)
            if message["type"] == kind:
                return message

    return await asyncio.wait_for(receive(), within)
