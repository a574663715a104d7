"""The read tables stay exact when batches touching the same product commit concurrently
(several MQTT workers, several central processes): stock sums and copied names."""

from __future__ import annotations

import asyncio

import asyncpg

from appliance.core import events as ev
from appliance.core.ids import new_id
from central.db.store import EventStore
from tests.fakes.events import EventFactory

TOPIC = "kitchen/v1/home/node/x/events"


async def test_concurrent_batches_keep_each_products_stock_exact(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    maker = EventFactory("node-0")
    products = [maker.product(f"Product {n}", min_stock=100) for n in range(3)]
    await store.commit(products, TOPIC)
    factories = [EventFactory(f"node-{n}") for n in range(1, 13)]

    async def buy_and_use(f: EventFactory) -> None:
        for round_ in range(6):
            batch = []
            for product in products:
                lot = f.purchase(product.entity_id, 5, lot_id=new_id())
                batch += [lot, f.consume(product.entity_id, lot.entity_id, 1 + round_ % 3)]
            await store.commit(batch, TOPIC)

    async def rename() -> None:
        for n in range(12):
            await store.commit(
                [
                    maker.make(ev.PRODUCT_UPDATED, p.entity_id, {"fields": {"name": f"P{n} {i}"}})
                    for i, p in enumerate(products)
                ],
                TOPIC,
            )

    await asyncio.gather(rename(), *(buy_and_use(f) for f in factories))
    rows = await pool.fetch(
        """SELECT p.product_id, p.stock,
                  (SELECT coalesce(sum(amount), 0) FROM dash_lots d
                   WHERE d.product_id = p.product_id) AS lots
           FROM dash_products p"""
    )
    assert len(rows) == 3
    for row in rows:
        assert row["stock"] == row["lots"], dict(row)
    # A rename committed while lots of the product were being added reaches those lots too.
    stale = await pool.fetchval(
        """SELECT count(*) FROM dash_lots d JOIN dash_products p USING (product_id)
           WHERE d.product_name <> p.name"""
    )
    assert stale == 0
