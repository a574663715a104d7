"""Central's Grocy-compatible API: the household's reads with central API tokens (real
PostgreSQL, real HTTP server, pygrocy2 as the client), and its writes as central's own
events (the ones it does not do refused in Grocy's shape)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pygrocy2.errors import GrocyError

from appliance.core import events as ev
from appliance.core import grocy_ids
from appliance.core.ids import new_id
from central.db.store import EventStore
from tests.central.auth_helpers import create_token
from tests.central.grocy_helpers import MILK, RICE, days, pygrocy
from tests.fakes.events import EventFactory


async def _household(pool: asyncpg.Pool) -> dict[str, str]:
    """Two nodes' events: milk due tomorrow (bought on one node), rice overdue (the other),
    butter below its minimum, a shopping entry."""
    a, b = EventFactory("node-a"), EventFactory("node-b")
    milk = a.product("Milk", MILK)
    rice = b.product("Rice", RICE)
    butter = a.product("Butter", "4000417025005", min_stock=2)
    milk_lot, rice_lot = new_id(), new_id()
    events_a = [
        milk,
        butter,
        a.make(
            ev.STOCK_PURCHASED,
            milk_lot,
            {
                "product_id": milk.entity_id,
                "amount": 2,
                "lot": {"best_before": days(1), "price": 3.0},
            },
        ),
        a.shopping("Candles"),
    ]
    events_b = [
        rice,
        b.make(
            ev.STOCK_PURCHASED,
            rice_lot,
            {"product_id": rice.entity_id, "amount": 1, "lot": {"best_before": days(-2)}},
        ),
    ]
    store = EventStore(pool)
    await store.commit(events_a, "kitchen/v1/home/node/node-a/events")
    await store.commit(events_b, "kitchen/v1/home/node/node-b/events")
    return {
        "milk": milk.entity_id,
        "rice": rice.entity_id,
        "butter": butter.entity_id,
        "milk_lot": milk_lot,
    }


async def test_reads_in_grocy_shape_with_a_central_token(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    ids = await _household(pool)
    token = await create_token(pool, "grocy", scope="read")
    key = {"GROCY-API-KEY": token}
    async with client.get("/grocy/api/stock") as resp:
        assert resp.status == 401
        assert (await resp.json())["error_message"]
    async with client.get("/grocy/api/stock", headers=key) as resp:
        assert resp.status == 200, await resp.text()
        rows = await resp.json()
    assert {r["product_id"]: r["amount"] for r in rows} == {
        grocy_ids.product_int(ids["milk"]): 2,
        grocy_ids.product_int(ids["rice"]): 1,
    }
    milk = grocy_ids.product_int(ids["milk"])
    async with client.get(f"/grocy/api/stock/products/{milk}/entries", headers=key) as resp:
        (entry,) = await resp.json()
    assert entry["stock_id"] == grocy_ids.stock_id(ids["milk_lot"])
    assert entry["price"] == 1.5  # Grocy's per unit: the lot of 2 cost 3.0
    async with client.get(f"/grocy/api/stock/entry/{entry['id']}", headers=key) as resp:
        assert await resp.json() == entry
    async with client.get(
        "/grocy/api/objects/products", params={"order": "name:desc"}, headers=key
    ) as resp:
        assert [p["name"] for p in await resp.json()] == ["Rice", "Milk", "Butter"]
    async with client.get("/grocy/api/objects/shopping_list", headers=key) as resp:
        assert [i["note"] for i in await resp.json()] == ["Candles"]
    # A read token may not write; the writes central does not do say where to send them.
    async with client.post(
        f"/grocy/api/stock/products/{milk}/consume", json={"amount": 1}, headers=key
    ) as resp:
        assert resp.status in (400, 403)
        assert (await resp.json())["error_message"]
    full = {"GROCY-API-KEY": await create_token(pool, "grocy-full")}
    async with client.post(
        "/grocy/api/objects/locations", json={"name": "Cellar"}, headers=full
    ) as resp:
        assert resp.status == 400
        assert "node" in (await resp.json())["error_message"]
    for path in ("objects/nonsense", "stock/products/12", "stock/products/x", "stock/entry/0"):
        async with client.get(f"/grocy/api/{path}", headers=key) as resp:
            assert resp.status == 400, path
            assert (await resp.json())["error_message"]
    async with client.get("/grocy/api/objects/products/12", headers=key) as resp:
        assert resp.status == 404
    # The index at central is the nodes' index: the same integers.
    rows = await pool.fetch("SELECT key, int_id FROM grocy_ids WHERE kind = 'product'")
    assert {r["key"]: r["int_id"] for r in rows} == {
        pid: grocy_ids.product_int(pid) for pid in (ids["milk"], ids["rice"], ids["butter"])
    }


async def test_pygrocy2_reads_central(pool: asyncpg.Pool, client: TestClient) -> None:
    ids = await _household(pool)
    token = await create_token(pool, "home-assistant", scope="read")
    grocy = pygrocy(client, token)

    def reads() -> dict[str, Any]:
        with pytest.raises(GrocyError) as caught:
            grocy.consume_product(grocy_ids.product_int(ids["milk"]), 1)
        return {
            "version": grocy.get_system_info().grocy_version,
            "features": grocy.get_system_config().enabled_features,
            "stock": sorted(p.name for p in grocy.stock()),
            "due": [p.name for p in grocy.due_products(get_details=True)],
            "overdue": [p.name for p in grocy.overdue_products()],
            "missing": [(p.name, p.amount_missing) for p in grocy.missing_products()],
            "by_barcode": grocy.product_by_barcode(MILK).name,
            "shopping": [i.note for i in grocy.shopping_list()],
            "chores": grocy.chores(),
            "refused": caught.value.status_code,
        }

    seen = await asyncio.to_thread(reads)
    assert seen["version"].startswith("4.")
    assert "FEATURE_FLAG_STOCK" in seen["features"]
    assert seen["stock"] == ["Milk", "Rice"]
    assert seen["due"] == ["Milk"]
    assert seen["overdue"] == ["Rice"]
    assert seen["missing"] == [("Butter", 2)]
    assert seen["by_barcode"] == "Milk"
    assert seen["shopping"] == ["Candles"]
    assert seen["chores"] == []
    assert seen["refused"] == 403  # a read token may not write at all


async def test_pygrocy2_writes_through_central_as_centrals_own_events(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    ids = await _household(pool)
    token = await create_token(pool, "grocy-app")
    grocy = pygrocy(client, token)
    milk, rice = grocy_ids.product_int(ids["milk"]), grocy_ids.product_int(ids["rice"])
    butter = grocy_ids.product_int(ids["butter"])

    def writes() -> dict[str, Any]:
        grocy.add_product(milk, 3, price=1.0, best_before_date=date.today() + timedelta(days=9))
        grocy.consume_product(milk, 4)  # the older lot (2) first, then 2 of the new one
        grocy.open_product(milk, 1)
        grocy.add_product_by_barcode(RICE, 2, 0.5)
        grocy.consume_product_by_barcode(RICE, 1)
        grocy.add_product_to_shopping_list(butter, amount=3)
        grocy.remove_product_in_shopping_list(butter, amount=1)
        with pytest.raises(GrocyError) as too_much:
            grocy.consume_product(milk, 50)
        return {
            "stock": {p.id: p.available_amount for p in grocy.stock()},
            "shopping": sorted((i.product_id or 0, i.amount) for i in grocy.shopping_list()),
            "too_much": (too_much.value.status_code, too_much.value.message),
        }

    seen = await asyncio.to_thread(writes)
    assert seen["stock"] == {milk: 1, rice: 2}
    assert seen["shopping"] == [(0, 1), (butter, 2)]  # Candles (no product), Butter 3 - 1
    assert seen["too_much"][0] == 400 and "stock amount" in seen["too_much"][1]
    # Each write is central's own event, of the types the nodes write.
    rows = await pool.fetch("SELECT type FROM events WHERE origin = 'central' ORDER BY seq")
    assert [r["type"] for r in rows] == [
        ev.STOCK_PURCHASED,
        ev.STOCK_CONSUMED,
        ev.STOCK_CONSUMED,
        ev.STOCK_OPENED,
        ev.STOCK_PURCHASED,
        ev.STOCK_CONSUMED,
        ev.SHOPPING_ADDED,
        ev.SHOPPING_UPDATED,
    ]
    opened = await pool.fetchval(
        "SELECT count(*) FROM entities WHERE kind = 'lot' AND active"
        " AND view->>'product_id' = $1 AND view->>'opened_on' IS NOT NULL",
        ids["milk"],
    )
    assert opened == 1
    # The shopping list cleared from central; bad input is Grocy's 400, never a 500.
    full = {"GROCY-API-KEY": token}
    async with client.post("/grocy/api/stock/shoppinglist/clear", headers=full) as resp:
        assert resp.status == 204, await resp.text()
    async with client.get("/grocy/api/objects/shopping_list", headers=full) as resp:
        assert await resp.json() == []
    for path, body in (
        (f"stock/products/{milk}/consume", {"amount": -1}),
        (f"stock/products/{milk}/consume", None),
        ("stock/products/2147483000/add", {"amount": 1}),
        ("stock/products/by-barcode/0000/open", {}),
        (f"stock/products/{milk}/add", {"amount": 1, "location_id": 999999}),
        ("stock/shoppinglist/add-product", {"product_id": 999999}),
        (f"stock/products/{rice}/consume", {"amount": 1, "stock_entry_id": "nope"}),
    ):
        async with client.post(f"/grocy/api/{path}", json=body, headers=full) as resp:
            assert resp.status == 400, (path, await resp.text())
            assert (await resp.json())["error_message"], path


async def test_a_household_from_before_the_index_is_backfilled(pool: asyncpg.Pool) -> None:
    from central.db import grocy_index

    ids = await _household(pool)
    expected = {
        (r["kind"], r["key"], r["int_id"])
        for r in await pool.fetch("SELECT kind, key, int_id FROM grocy_ids")
    }
    await pool.execute("DELETE FROM grocy_ids")  # as before migration 009
    async with pool.acquire() as conn:
        assert await grocy_index.backfill(conn) == len(expected)
    rows = await pool.fetch("SELECT kind, key, int_id FROM grocy_ids")
    assert {(r["kind"], r["key"], r["int_id"]) for r in rows} == expected
    assert ("lot", ids["milk_lot"], grocy_ids.lot_int(ids["milk_lot"])) in expected


async def test_colliding_ids_are_settled_at_central_as_on_a_node(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = grocy_ids.candidates

    def tiny(kind: grocy_ids.Kind, key: str) -> Any:
        later = real(kind, key)
        next(later)
        yield 1  # every key's first choice collides
        for value in later:
            yield value % 50 + 2

    monkeypatch.setattr(grocy_ids, "candidates", tiny)
    node = EventFactory("node-a")
    products = [node.product(name) for name in ("Apples", "Bread", "Cheese", "Dates")]
    store = EventStore(pool)
    for event in products:  # one batch each: every later product collides on arrival
        await store.commit([event], "kitchen/v1/home/node/node-a/events")
    rows = await pool.fetch("SELECT key, int_id FROM grocy_ids WHERE kind = 'product'")
    held = {r["key"]: r["int_id"] for r in rows}
    assert held == grocy_ids.assign("product", [e.entity_id for e in products])
    assert len(set(held.values())) == 4
