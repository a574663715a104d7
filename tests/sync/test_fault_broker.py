"""Faults 2 and 3: the broker stopped (or killed with kill -9) while three nodes write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, until
from tests.sync.checks import assert_converged


async def _write(
    nodes: list[Node], start: int, count: int, under_way: asyncio.Event | None = None
) -> None:
    """Scan ``count`` times on every node; ``under_way`` is set once each wrote ten."""
    started = 0

    async def one(node: Node) -> None:
        nonlocal started
        for i in range(start, start + count):
            await node.scan(i)
            if i == start + 9:
                started += 1
                if under_way is not None and started == len(nodes):
                    under_way.set()
            await asyncio.sleep(0.01)  # ok: pacing, to spread the writes over the outage

    await asyncio.gather(*(one(n) for n in nodes))


@pytest.mark.parametrize("how", ["stop", "kill"])
async def test_broker_outage_during_writes(
    tmp_path: Path, dsn: str, broker: Broker, central: Central, how: str
) -> None:
    nodes = [Node(f"node-{c}", tmp_path / c, broker) for c in "abc"]
    await broker.reload()
    try:
        for node in nodes:
            await node.start()
        await until(lambda: all(n.client.connected for n in nodes), 10, "nodes connected")
        under_way = asyncio.Event()
        writing = asyncio.create_task(_write(nodes, 0, 60, under_way))
        await asyncio.wait_for(under_way.wait(), 30)
        await (broker.stop() if how == "stop" else broker.kill())
        await writing
        # The node keeps working offline: every write above committed locally.
        assert all(not n.client.connected for n in nodes)
        await _write(nodes, 60, 20)
        await broker.start()
        await assert_converged(dsn, nodes, 3 * 80)
    finally:
        for node in nodes:
            await node.stop()


async def test_node_starts_and_works_with_the_broker_down(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    node = Node("node-a", tmp_path / "a", broker)
    await broker.reload()
    await broker.stop()
    try:
        await node.start()  # returns at once, the broker is down
        assert node.client is not None and not node.client.connected
        for i in range(10):
            await node.scan(i)
        assert await node.outbox_depth() == 10
        assert node.statuses[-1]["connected"] is False
        await broker.start()
        await assert_converged(dsn, [node], 10)
        assert node.statuses[-1]["connected"] and node.statuses[-1]["last_ack"]
    finally:
        await node.stop()
