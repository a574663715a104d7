"""Grocy's ``inventory`` on central (real PostgreSQL, real HTTP server, pygrocy2 and direct
HTTP): a product's stock set to what was counted, as central's own recount events, the lots
chosen as a node chooses them."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp.test_utils import TestClient

from appliance.core import events as ev
from appliance.core import grocy_ids
from appliance.core.ids import new_id
from central.db.store import EventStore
from tests.central.auth_helpers import create_token
from tests.central.grocy_helpers import MILK, RICE, days, pygrocy
from tests.fakes.events import EventFactory


async def _household(pool: asyncpg.Pool) -> dict[str, str]:
    """Milk in two lots from a node (2 due in a day, 3 due in nine days); rice, none left."""
    node = EventFactory("node-a")
    milk = node.product("Milk", MILK)
    rice = node.product("Rice", RICE)
    soon, later = new_id(), new_id()
    events = [
        milk,
        rice,
        node.make(
            ev.STOCK_PURCHASED,
            soon,
            {"product_id": milk.entity_id, "amount": 2, "lot": {"best_before": days(1)}},
        ),
        node.make(
            ev.STOCK_PURCHASED,
            later,
            {"product_id": milk.entity_id, "amount": 3, "lot": {"best_before": days(9)}},
        ),
    ]
    await EventStore(pool).commit(events, "kitchen/v1/home/node/node-a/events")
    return {
        "milk": milk.entity_id,
        "milk_event": milk.event_id,
        "rice": rice.entity_id,
        "soon": soon,
        "later": later,
    }


async def _amounts(pool: asyncpg.Pool, product_id: str) -> dict[str, float]:
    rows = await pool.fetch(
        "SELECT id::text AS id, (view->>'amount')::float AS amount FROM entities"
        " WHERE kind = 'lot' AND active AND view->>'product_id' = $1",
        product_id,
    )
    return {r["id"]: r["amount"] for r in rows}


async def test_pygrocy2_inventory_on_central_recounts_the_lots_used_next(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    ids = await _household(pool)
    token = await create_token(pool, "grocy-app")
    grocy = pygrocy(client, token)
    milk, rice = grocy_ids.product_int(ids["milk"]), grocy_ids.product_int(ids["rice"])

    def counts() -> dict[int, float]:
        grocy.inventory_product(milk, 4, get_details=False)  # one less: the lot due first
        grocy.inventory_product_by_barcode(MILK, 6, get_details=False)  # two more: the last
        grocy.inventory_product(rice, 2, get_details=False)  # none in stock: bought
        return {p.id: p.available_amount for p in grocy.stock()}

    assert await asyncio.to_thread(counts) == {milk: 6, rice: 2}
    amounts = await _amounts(pool, ids["milk"])
    assert (amounts[ids["soon"]], amounts[ids["later"]]) == (1, 5)
    rows = await pool.fetch("SELECT type FROM events WHERE origin = 'central' ORDER BY seq")
    assert [r["type"] for r in rows] == [
        ev.STOCK_RECOUNTED,
        ev.STOCK_RECOUNTED,
        ev.STOCK_PURCHASED,
    ]


async def test_inventory_answers_grocys_stock_log_and_refuses_bad_counts(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    ids = await _household(pool)
    key = {"GROCY-API-KEY": await create_token(pool, "grocy-full")}
    milk = grocy_ids.product_int(ids["milk"])
    async with client.post(
        f"/grocy/api/stock/products/{milk}/inventory", json={"new_amount": 1}, headers=key
    ) as resp:
        assert resp.status == 200, await resp.text()
        rows = await resp.json()
    # Grocy logs the change each lot's correction made: 2 off the lot due first, 2 off the next.
    assert sorted((r["stock_id"], r["amount"]) for r in rows) == sorted(
        [(grocy_ids.stock_id(ids["soon"]), -2), (grocy_ids.stock_id(ids["later"]), -2)]
    )
    assert {r["transaction_type"] for r in rows} == {"inventory-correction"}
    assert await _amounts(pool, ids["milk"]) == {ids["later"]: 1}  # the emptied lot is gone
    for path, body in (
        (f"stock/products/{milk}/inventory", {"new_amount": 1}),  # unchanged
        (f"stock/products/{milk}/inventory", {"new_amount": -1}),
        (f"stock/products/{milk}/inventory", {"new_amount": "x"}),
        (f"stock/products/{milk}/inventory", None),
        ("stock/products/2147483000/inventory", {"new_amount": 1}),
        ("stock/products/by-barcode/0000/inventory", {"new_amount": 1}),
    ):
        async with client.post(f"/grocy/api/{path}", json=body, headers=key) as resp:
            assert resp.status == 400, (path, await resp.text())
            assert (await resp.json())["error_message"], path
