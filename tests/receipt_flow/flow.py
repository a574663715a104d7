"""Building blocks of the end-to-end receipt tests: nodes that sync, central with a reader,
an observer of the upload topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from appliance.sync.mqtt import Inbound, MqttConnection, MqttSettings
from appliance.sync.protocol import decode
from central.app import Central
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.node.helpers import Node, NodeFactory, WsClient

#: Receipt settings that make central look for work often (tests wait on it).
QUICK = {"workers": 1, "poll_interval": 0.2, "retry_seconds": 0, "lease_seconds": 5}


async def syncing_node(
    make_node: NodeFactory, broker: Broker, name: str, port: int | None = None
) -> Node:
    """A node with sync on (through ``port`` if given), its login added to the broker."""
    creds = broker.add_node(name)
    await broker.reload()
    return await make_node(
        node={"id": name},
        sync={
            "enabled": True,
            "host": "127.0.0.1",
            "port": port or broker.port,
            "username": creds.username,
            "password": creds.password,
            "ack_timeout": 2.0,
            "poll_interval": 0.2,
            "reconnect_max": 0.5,
            "catchup_timeout": 2.0,
        },
    )


@asynccontextmanager
async def running_central(
    dsn: str, broker: Broker, reader: Any, instance: str = "central-1", **receipts: Any
) -> AsyncIterator[Central]:
    """Central in this process with ``reader``; closed afterwards."""
    config = central_config(dsn, broker, instance=instance, receipts={**QUICK, **receipts})
    central = Central(config, reader=reader)
    try:
        await central.start()
        yield central
    finally:
        await central.close()


@asynccontextmanager
async def central_ws(central: Central) -> AsyncIterator[WsClient]:
    """A WebSocket on central's hub."""
    async with (
        aiohttp.ClientSession(headers=await central_headers(central)) as http,
        http.ws_connect(f"http://127.0.0.1:{central.port}/api/ws") as ws,
    ):
        yield WsClient(ws)


class UploadObserver:
    """Reads a node's receipt upload topic with central's login (not in its share group)."""

    def __init__(self, broker: Broker, node: str) -> None:
        self.topic = f"kitchen/v1/{broker.household}/node/{node}/receipts/up"
        self.messages: list[dict[str, Any]] = []
        self.mqtt = MqttConnection(
            MqttSettings(
                host="127.0.0.1",
                port=broker.port,
                client_id=f"observer-{node}",
                username=broker.central.username,
                password=broker.central.password,
                session_expiry=0,
                subscriptions=[(self.topic, 1)],
            ),
            self._seen,
        )

    async def _seen(self, message: Inbound) -> None:
        self.messages.append(decode(message.payload))

    def chunks(self) -> list[tuple[int, int]]:
        """(file, offset) of every chunk seen, in order."""
        return [(m["index"], m["offset"]) for m in self.messages if m.get("op") == "chunk"]

    async def __aenter__(self) -> UploadObserver:
        self.mqtt.start()
        assert await self.mqtt.wait_connected(10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.mqtt.close()
