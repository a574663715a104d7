"""Fill a node database through the store's own write path (fast: no HTTP)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from appliance.core import events as ev
from appliance.core.ids import new_id, seed_location_id
from appliance.services import catalog
from appliance.store import Store


def ean13(first12: str) -> str:
    """Complete 12 digits with the EAN-13 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


async def populate(data_dir: Path, products: int, lots: int, *, seed: int = 7) -> int:
    """Create ``products`` products and ``lots`` lots; returns the number of events."""
    rng = random.Random(seed)
    store = await Store.open(data_dir / "kitchen.sqlite3", "bench")
    events = 0
    try:
        async with store.transaction() as tx:
            await catalog.seed_locations(tx)
            events += len(tx.applied)
        locations = [seed_location_id(k) for k, _ in catalog.SEED_LOCATIONS["en"]]
        product_ids: list[str] = []
        for start in range(0, products, 1000):
            async with store.transaction() as tx:
                for i in range(start, min(products, start + 1000)):
                    product_id = new_id()
                    product_ids.append(product_id)
                    code = ean13(f"400{i:09d}")
                    fields = {"name": f"Product {i:05d}", "unit": "piece", "barcodes": [code]}
                    if i % 10 == 0:
                        fields["min_stock"] = 2
                    await tx.emit(ev.PRODUCT_CREATED, product_id, {"fields": fields})
                events += len(tx.applied)
        today = date(2026, 11, 25)
        for start in range(0, lots, 1000):
            async with store.transaction() as tx:
                for _ in range(start, min(lots, start + 1000)):
                    best_before = today + timedelta(days=rng.randint(-5, 400))
                    data = {
                        "product_id": rng.choice(product_ids),
                        "amount": rng.randint(1, 6),
                        "lot": {
                            "location_id": rng.choice(locations),
                            "best_before": best_before.isoformat(),
                            "source": "manual",
                        },
                    }
                    await tx.emit(ev.STOCK_PURCHASED, new_id(), data)
                events += len(tx.applied)
    finally:
        await store.close()
    return events
