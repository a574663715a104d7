"""Helpers of the node tests: a running node with a token, a WebSocket client, test data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from appliance.api.keys import KITCHEN
from appliance.core.ids import seed_location_id

FRIDGE = seed_location_id("fridge")
FREEZER = seed_location_id("freezer")
PANTRY = seed_location_id("pantry")

# Valid GTINs of one product in several forms, and a few others.
EAN13 = "4006381333931"
UPC_A = "042100005264"  # the same product as EAN13_OF_UPC and GTIN14_OF_UPC
EAN13_OF_UPC = "0042100005264"
GTIN14_OF_UPC = "00042100005264"
OTHER_EAN = "5000159484695"
THIRD_EAN = "4000417025005"

#: Configuration sections of a node with fake scan box hardware (``make_node(**HARDWARE)``).
HARDWARE: dict[str, dict[str, Any]] = {
    "display": {"type": "dummy"},
    "buttons": {
        "type": "mock",
        "buttons": [{"name": "add", "pin": 17, "press": "mode:add"}],
        "hold_seconds": 0.05,
    },
}


def config_data(data_dir: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """A laptop configuration in ``data_dir`` with some sections overridden."""
    data: dict[str, Any] = {
        "storage": {"data_dir": str(data_dir)},
        # Tests fire bursts of concurrent writes and expect each applied: the write gate (its
        # own tests in test_admission.py) stays out of their way.
        "http": {"host": "127.0.0.1", "max_pending_writes": 10_000, "max_write_wait_ms": 60_000},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


class WsClient:
    """A WebSocket client that collects messages and waits for one of a given type."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def next(self, within: float = 5.0) -> dict[str, Any]:
        """The next message."""
        msg = await asyncio.wait_for(self.ws.receive(), within)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"WebSocket ended: {msg.type!r} {msg.data!r}")
        data: dict[str, Any] = json.loads(msg.data)
        self.seen.append(data)
        return data

    async def wait_for(
        self,
        type_: str,
        *,
        within: float = 5.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Read until a message of ``type_`` (and matching ``where``) arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                types = [m["type"] for m in self.seen]
                raise AssertionError(f"no {type_} message within {within}s; saw {types}")
            try:
                message = await self.next(remaining)
            except TimeoutError:
                types = [m["type"] for m in self.seen]
                raise AssertionError(f"no {type_} message within {within}s; saw {types}") from None
            if message["type"] == type_ and (where is None or where(message)):
                return message

    async def close(self) -> None:
        """Leave."""
        await self.ws.close()


@dataclass
class Node:
    """A running node: its app, an HTTP client and a valid token."""

    app: web.Application
    client: TestClient
    token: str
    data_dir: Path
    _sockets: list[WsClient] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int | tuple[int, ...] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Send a request with the token; return (status, decoded JSON or None)."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if body is not None:
            kwargs["json"] = body
        async with self.client.request(method, path, headers=headers, **kwargs) as resp:
            text = await resp.text()
            data = json.loads(text) if text else None
            if expect is not None:
                allowed = expect if isinstance(expect, tuple) else (expect,)
                assert resp.status in allowed, f"{method} {path}: {resp.status} {text}"
            if resp.status >= 400:
                assert resp.content_type == "application/problem+json", (resp.status, text)
                assert isinstance(data, dict) and data.get("detail"), text
            return resp.status, data

    async def get(self, path: str, **kwargs: Any) -> Any:
        """GET, expecting 200."""
        return (await self.call("GET", path, expect=200, **kwargs))[1]

    async def post(self, path: str, body: Any = None, *, expect: Any = (200, 201)) -> Any:
        """POST JSON, expecting success."""
        return (await self.call("POST", path, {} if body is None else body, expect=expect))[1]

    async def patch(self, path: str, body: Any, *, expect: Any = 200) -> Any:
        """PATCH JSON."""
        return (await self.call("PATCH", path, body, expect=expect))[1]

    async def delete(self, path: str, *, expect: Any = (200, 204)) -> Any:
        """DELETE."""
        return (await self.call("DELETE", path, expect=expect))[1]

    async def ws(self, *, query_token: bool = False) -> WsClient:
        """Open a WebSocket (token in the header, or as ``?token=``); waits for the hello."""
        if query_token:
            ws = await self.client.ws_connect(f"/api/ws?token={self.token}")
        else:
            ws = await self.client.ws_connect("/api/ws", headers=self.headers)
        client = WsClient(ws)
        self._sockets.append(client)
        await client.wait_for("node.online")
        return client

    # --- domain shortcuts ------------------------------------------------------------------

    async def product(self, name: str = "Milk", **fields: Any) -> dict[str, Any]:
        """Create a product."""
        return await self.post("/api/products", {"name": name, **fields}, expect=201)  # type: ignore[no-any-return]

    async def lot(self, product_id: str, amount: float = 1, **fields: Any) -> dict[str, Any]:
        """Add a lot by hand."""
        body = {"product_id": product_id, "amount": amount, **fields}
        return await self.post("/api/inventory", body, expect=201)  # type: ignore[no-any-return]

    async def scan(self, code: str, **extra: Any) -> tuple[int, dict[str, Any]]:
        """Scan; returns (status, outcome or problem)."""
        return await self.call("POST", "/api/scanner/scan", {"code": code, **extra})

    async def event_count(self) -> int:
        """How many events the node holds (a change that was refused adds none)."""
        rows = await self.app[KITCHEN].store.reader.execute_fetchall("SELECT count(*) FROM events")
        return int(next(iter(rows))[0])

    async def close_sockets(self) -> None:
        """Close every WebSocket this node's tests opened."""
        for sock in self._sockets:
            if not sock.ws.closed:
                await sock.close()


#: What the ``make_node`` fixture is: start a node, sections as keyword arguments.
NodeFactory = Callable[..., Awaitable[Node]]
