"""Grocy's ``POST objects/products`` and ``objects/product_barcodes`` on central (what Barcode
Buddy sends for an unknown code): central's own product events (real PostgreSQL, real HTTP
server, pygrocy2)."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from aiohttp.test_utils import TestClient
from pygrocy2.data_models.generic import EntityType

from appliance.core import events as ev
from central.db.store import EventStore
from tests.central.auth_helpers import create_token
from tests.central.grocy_helpers import MILK, pygrocy
from tests.fakes.events import EventFactory


async def test_barcode_buddy_creates_a_product_and_its_code_on_central(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    milk = EventFactory("node-a").product("Milk", MILK)
    await EventStore(pool).commit([milk], "kitchen/v1/home/node/node-a/events")
    token = await create_token(pool, "barcode-buddy")
    grocy = pygrocy(client, token)

    def create() -> tuple[str, float]:
        made = grocy.add_generic(
            EntityType.PRODUCTS,
            {"name": "Oat drink", "min_stock_amount": 2, "default_best_before_days": -1},
        )
        product_int = made["created_object_id"]
        grocy.add_generic(
            EntityType.PRODUCT_BARCODES, {"product_id": product_int, "barcode": "40170725"}
        )
        product = grocy.product_by_barcode("40170725")
        return product.name, product.id == product_int

    assert await asyncio.to_thread(create) == ("Oat drink", True)
    rows = await pool.fetch(
        "SELECT type, payload->'data' AS data FROM events WHERE origin = 'central' ORDER BY seq"
    )
    assert [r["type"] for r in rows] == [ev.PRODUCT_CREATED, ev.PRODUCT_BARCODES]
    view = await pool.fetchval(
        "SELECT view::text FROM entities WHERE kind = 'product' AND view->>'name' = 'Oat drink'"
    )
    fields = json.loads(view)
    # Grocy's -1 ("never overdue") is no shelf life of ours.
    assert (fields["min_stock"], fields["default_best_before_days"]) == (2, None)
    key = {"GROCY-API-KEY": token}
    milk_int = await pool.fetchval(
        "SELECT int_id FROM grocy_ids WHERE kind = 'product' AND key = $1", milk.entity_id
    )
    for entity, body in (
        ("product_barcodes", {"product_id": milk_int, "barcode": "40170725"}),  # taken
        ("product_barcodes", {"product_id": 999999, "barcode": "123"}),
        ("product_barcodes", {"product_id": milk_int, "barcode": "\x01"}),
        ("products", {"name": ""}),
        ("products", {"name": "Tea", "location_id": 999999}),
        ("products", {"name": "Tea", "qu_id_stock": 999999}),
        ("locations", {"name": "Cellar"}),
    ):
        async with client.post(f"/grocy/api/objects/{entity}", json=body, headers=key) as resp:
            assert resp.status == 400, (entity, body, await resp.text())
            assert (await resp.json())["error_message"]
