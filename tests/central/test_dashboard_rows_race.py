"""The dashboard's read tables when a lot and its product or location are folded by batches
committed at the same time (central's ingest runs several workers): the lot row still carries
the names. Without a lock, lots kept an empty product name (fixed by locking the products'
rows) or an empty location name (fixed by a per-location advisory lock)."""

from __future__ import annotations

import asyncio

import asyncpg

from appliance.core import events as ev
from appliance.core.ids import new_id
from central.db.store import EventStore
from tests.fakes.events import EventFactory

TOPIC = "kitchen/v1/home/node/x/events"


async def test_lot_named_when_its_product_and_location_commit_concurrently(
    pool: asyncpg.Pool,
) -> None:
    """Thirty products, locations and purchases, each in its own batch, all at once."""
    store = EventStore(pool)
    f = EventFactory("x")
    batches = []
    for i in range(30):
        location = new_id()
        product = f.product(f"Item {i}")
        batches.append([f.make(ev.LOCATION_CREATED, location, {"fields": {"name": f"Shelf {i}"}})])
        batches.append([product])
        batches.append(
            [
                f.make(
                    ev.STOCK_PURCHASED,
                    new_id(),
                    {
                        "product_id": product.entity_id,
                        "amount": 1,
                        "lot": {"source": "scan", "location_id": location},
                    },
                )
            ]
        )
    await asyncio.gather(*(store.commit(batch, TOPIC) for batch in batches))
    rows = await pool.fetch("SELECT product_name, location_name FROM dash_lots")
    assert len(rows) == 30
    assert all(r["product_name"].startswith("Item ") for r in rows), rows
    assert all(r["location_name"].startswith("Shelf ") for r in rows), rows
