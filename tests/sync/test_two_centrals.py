"""Two central processes share the node topics (MQTT v5 shared subscription): no duplicates,
no loss, also when one of them goes away mid-way."""

from __future__ import annotations

import asyncio
from pathlib import Path

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, central_config
from tests.sync.checks import assert_converged


async def test_two_centrals_split_the_work(tmp_path: Path, dsn: str, broker: Broker) -> None:
    first = Central(central_config(dsn, broker, instance="central-1"))
    second = Central(central_config(dsn, broker, instance="central-2"))
    nodes = [Node(f"node-{c}", tmp_path / c, broker, ack_timeout=1.0) for c in "abc"]
    await broker.reload()
    try:
        await first.start()
        await second.start()
        for node in nodes:
            await node.start()

        async def write(
            node: Node, start: int, count: int, under_way: asyncio.Event | None = None
        ) -> None:
            for i in range(start, start + count):
                await node.scan(i)
                if under_way is not None and i == start + 5:
                    under_way.set()
                await asyncio.sleep(0.005)  # ok: paces the scans so batches reach both centrals

        await asyncio.gather(*(write(n, 0, 40) for n in nodes))
        await assert_converged(dsn, nodes, 120)
        assert first.sync is not None and second.sync is not None
        assert first.sync.batches_handled > 0
        assert second.sync.batches_handled > 0

        # One process goes away while the nodes keep writing: the other takes everything.
        under_way = [asyncio.Event() for _ in nodes]
        pairs = zip(nodes, under_way, strict=True)
        writing = asyncio.gather(*(write(n, 40, 40, e) for n, e in pairs))
        await asyncio.gather(*(e.wait() for e in under_way))
        await second.close()
        await writing
        await assert_converged(dsn, nodes, 240)
    finally:
        for node in nodes:
            await node.stop()
        await first.close()
        await second.close()
