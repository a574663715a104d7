"""Fault 6: a node offline while another writes 20,000 events catches up completely."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from appliance.core.ids import new_id
from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, until
from tests.sync.checks import assert_converged

log = logging.getLogger(__name__)
MISSED = 20_000


async def _bulk_write(node: Node, count: int, per_tx: int = 250) -> None:
    """Many purchases, written in large transactions (a busy household, compressed)."""
    assert node.store is not None
    product = await node.scan(0)
    written = 1
    while written < count:
        async with node.store.transaction() as tx:
            for _ in range(min(per_tx, count - written)):
                await tx.emit(
                    "stock.purchased",
                    new_id(),
                    {"product_id": product.entity_id, "amount": 1, "lot": {"source": "scan"}},
                )
                written += 1
        assert node.client is not None
        node.client.notify()


async def test_offline_node_catches_up_on_20000_events(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    a = Node("node-a", tmp_path / "a", broker)
    b = Node("node-b", tmp_path / "b", broker, batch_size=500, max_in_flight=8)
    await broker.reload()
    try:
        await a.start()
        await b.start()
        for i in range(5):
            await a.scan(i)
        await assert_converged(dsn, [a, b], 5)
        await a.stop()  # offline: its broker session keeps at most the broker's queue

        await _bulk_write(b, MISSED)
        await until(_drained(b), 120, "node-b's outbox to drain")

        started = time.monotonic()
        await a.start()
        await assert_converged(dsn, [a, b], MISSED + 5, within=120)
        log.info("caught up on %d events in %.1f s", MISSED, time.monotonic() - started)
        ids = [e.event_id for e in a.applied]
        assert len(ids) == len(set(ids))
    finally:
        await a.stop()
        await b.stop()


def _drained(node: Node):
    async def check() -> bool:
        return await node.outbox_depth() == 0

    return check
