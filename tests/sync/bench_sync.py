"""Sync benchmarks (not a test): ``python -m tests.sync.bench_sync``.

Prints node → central → other node latency (p50/p99), central ingest events/s and the time a
node needs to catch up on 20,000 missed events, against a real Mosquitto and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from appliance.core.events import Event
from appliance.core.ids import new_id
from central.app import Central
from central.db.pool import open_pool
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, central_config, until
from tests.fakes.postgres import temporary_database


async def _latency(a: Node, b: Node, samples: int = 300) -> dict[str, float]:
    arrived: dict[str, float] = {}

    def seen(events: list[Event]) -> None:
        now = time.perf_counter()
        for event in events:
            arrived.setdefault(event.event_id, now)

    assert b.client is not None
    b.client.downlink.on_applied = seen
    delays = []
    for i in range(samples):
        started = time.perf_counter()
        event = await a.scan(i)
        await until(lambda e=event: e.event_id in arrived, 10, "delivery", every=0.0005)
        delays.append((arrived[event.event_id] - started) * 1000)
        await asyncio.sleep(0.05)  # ok: paces the scans at 20/s, the rate measured
    delays.sort()
    return {
        "p50_ms": round(statistics.median(delays), 1),
        "p99_ms": round(delays[int(len(delays) * 0.99) - 1], 1),
    }


async def _bulk(node: Node, count: int) -> None:
    assert node.store is not None
    product = await node.scan(0)
    written = 1
    while written < count:
        async with node.store.transaction() as tx:
            for _ in range(min(500, count - written)):
                await tx.emit(
                    "stock.purchased",
                    new_id(),
                    {"product_id": product.entity_id, "amount": 1, "lot": {"source": "scan"}},
                )
                written += 1


async def main(dsn: str, base: Path) -> None:
    """Run the three measurements and print them as JSON."""
    sys.stdout.write(json.dumps(await measure(dsn, base), indent=2) + "\n")


async def measure(dsn: str, base: Path) -> dict[str, object]:
    """Run the three measurements."""
    results: dict[str, object] = {}
    broker = Broker(base / "broker")
    a = Node("node-a", base / "a", broker)
    b = Node("node-b", base / "b", broker, batch_size=500, max_in_flight=8)
    c = Node("node-c", base / "c", broker)
    (await open_pool(dsn, 1, 1)).terminate()
    central = Central(central_config(dsn, broker))
    try:
        await broker.start()
        await central.start()
        await a.start()
        await b.start()
        results["node_to_node"] = await _latency(a, b)

        await b.stop()
        await b.start(port=1)  # unreachable: the outbox fills up
        await _bulk(b, 20_000)
        await b.stop()
        started = time.perf_counter()
        await b.start()
        await until(lambda: _empty(b), 300, "ingest", every=0.05)
        elapsed = time.perf_counter() - started
        results["central_ingest_events_per_s"] = round(20_000 / elapsed)

        started = time.perf_counter()
        await c.start()
        await until(lambda: _caught_up(c, b), 300, "catch-up", every=0.05)
        results["catch_up_20000_s"] = round(time.perf_counter() - started, 2)
    finally:
        for node in (a, b, c):
            await node.stop()
        await central.close()
        broker.close()
    return results


async def _empty(node: Node) -> bool:
    return await node.outbox_depth() == 0


async def _caught_up(node: Node, source: Node) -> bool:
    assert node.store is not None
    return (await node.store.version_vector()).get(source.name, 0) >= 20_000


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp, temporary_database("kitchen_bench") as dsn:
        asyncio.run(main(dsn, Path(tmp)))
