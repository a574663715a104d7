"""The CPU a known-product scan costs the store alone: no HTTP, no parsing, no messages.

The scan's transaction as the node runs it (the barcode's product, a purchase of one pack:
its event, lot, stock sums, Grocy id, outbox entry and counters, COMMIT), driven straight
on a ``Store`` in this process, one at a time and 16 side by side (group commit). Beside
the floor's CPU per request (a whole bare handler with its one durable write), it bounds
the share of the floor any node with this data model can reach.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from appliance.services import catalog, inventory
from appliance.store import Store
from tests.perf.dataset import ean13


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each thread of this process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


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
                before = _thread_cpu()
                for i in range(0, scans, side_by_side):
                    await asyncio.gather(
                        *(scan(codes[(i + k) % len(codes)]) for k in range(side_by_side))
                    )
                after = _thread_cpu()
                used = sum(after[t] - before.get(t, 0.0) for t in after)
                result[side_by_side] = used * 1000 / scans
        finally:
            await store.close()
    return result
