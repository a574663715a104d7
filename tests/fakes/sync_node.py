"""A node application syncing through a test broker, served on a local port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from appliance.api.keys import TOKENS
from appliance.app import build_app
from appliance.config import build_config
from tests.fakes.broker import Broker


@dataclass
class Node:
    """A running node: its HTTP client and a device token's header."""

    client: TestClient
    auth: dict[str, str]


@asynccontextmanager
async def running_node(name: str, directory: Path, broker: Broker) -> AsyncIterator[Node]:
    """Node ``name`` syncing through the broker (without central its outbox just grows)."""
    creds = broker.add_node(name)
    await broker.reload()
    config = build_config(
        {
            "node": {"id": name},
            "storage": {"data_dir": str(directory)},
            "sync": {
                "enabled": True,
                "port": broker.port,
                "username": creds.username,
                "password": creds.password,
                "reconnect_max": 1.0,
                "info_interval": 0.1,
            },
        }
    )
    app: web.Application = await build_app(config)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        _, token = await app[TOKENS].create("test")
        yield Node(client, {"Authorization": f"Bearer {token}"})
    finally:
        await client.close()
