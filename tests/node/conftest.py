"""Fixtures of the node tests: a real node (aiohttp server, SQLite in tmp_path), tokens, WS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.api.keys import TOKENS
from appliance.app import build_app
from appliance.config import build_config
from tests.node.helpers import Node, NodeFactory, WsClient, config_data


@pytest.fixture
async def make_node(
    aiohttp_client: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Node]]]:
    """Start a node; keyword arguments are configuration sections (``modes={...}``)."""
    nodes: list[Node] = []

    async def start(data_dir: Path | None = None, **sections: dict[str, Any]) -> Node:
        directory = data_dir or tmp_path / f"node{len(nodes)}"
        config = build_config(config_data(directory, **sections))
        app = await build_app(config)
        client = await aiohttp_client(app)
        _, token = await app[TOKENS].create("test")
        node = Node(app, client, token, directory)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        await node.close_sockets()


@pytest.fixture
async def node(make_node: NodeFactory) -> Node:
    """A node with the default configuration."""
    return await make_node()


@pytest.fixture
async def ws(node: Node) -> WsClient:
    """A WebSocket on ``node``, the hello already read."""
    return await node.ws()


@pytest.fixture(autouse=True)
async def _no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves a task of its own running (the app's are cleaned by then)."""
    before = asyncio.all_tasks()
    yield
    # Give cancelled tasks one turn of the loop to finish.
    await asyncio.sleep(0)
    leftover = [
        t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()
    ]
    assert not leftover, f"tasks left running: {leftover}"
