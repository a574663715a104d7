"""The CPU a known-product scan costs the store alone: no HTTP, no parsing, no messages.

The scan's transaction as the node runs it (the barcode's product, a purchase of one pack:
its event, lot, stock sums, Grocy id, outbox entry and counters, COMMIT), driven straight
on a ``Store`` in this process, one at a time and 16 side by side (group commit). Beside
the floor's CPU per request (a whole bare handler with its one durable write), it bounds
the share of the floor any node with this data model can reach.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from appliance.services import catalog, inventory
from appliance.store import Store
from tests.perf.dataset import ean13


async def store_cpu_per_scan(scans: int = 3200) -> dict[int, float]:
    """CPU ms per known-product scan of the store alone (all threads of this process), by
    scans in flight: 1 and 16."""
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "kitchen.sqlite3", "bench")
        codes = [ean13(f"401{i:09d}") for i in range(200)]
        try:
            async with store.transaction() as tx:
                await catalog.seed_locations(tx)
                for code in codes:
                    await catalog.create_product(tx, {"name": code, "barcodes": [code]})

            async def scan(code: str) -> None:
                async with store.transaction() as tx:
                    product_id = await tx.product_by_code(code)
                    assert product_id is not None
                    product = await catalog.live_product(tx, product_id)
                    await inventory.purchase(tx, product, 1, source="scan", station_id="s1")

            for i in range(300):  # warm-up: caches, SQLite's pages
                await scan(codes[i % len(codes)])
            result = {}
            for side_by_side in (1, 16):
                before = time.process_time()  # every thread of this process
                for i in range(0, scans, side_by_side):
                    await asyncio.gather(
                        *(scan(codes[(i + k) % len(codes)]) for k in range(side_by_side))
                    )
                result[side_by_side] = (time.process_time() - before) * 1000 / scans
        finally:
            await store.close()
    return result
