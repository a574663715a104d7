"""A consume through central's Grocy API below min stock adds the node's automatic shopping
entry, and the list fillers work on central (real PostgreSQL, real HTTP server, pygrocy2)."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp.test_utils import TestClient

from appliance.core import events as ev
from appliance.core import grocy_ids
from appliance.core.ids import auto_shopping_id, new_id
from central.db.store import EventStore
from tests.central.auth_helpers import create_token
from tests.central.grocy_helpers import days, pygrocy
from tests.fakes.events import EventFactory


async def test_a_consume_below_min_stock_puts_the_product_on_the_list_once(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    node = EventFactory("node-a")
    butter = node.product("Butter", "4000417025005", min_stock=2)
    tea = node.product("Tea", "5000159484695", min_stock=1)
    butter_lot, tea_lot = new_id(), new_id()
    events = [
        butter,
        tea,
        node.make(
            ev.STOCK_PURCHASED, butter_lot, {"product_id": butter.entity_id, "amount": 3, "lot": {}}
        ),
        node.make(
            ev.STOCK_PURCHASED, tea_lot, {"product_id": tea.entity_id, "amount": 1, "lot": {}}
        ),
        node.make(
            ev.SHOPPING_ADDED,
            new_id(),
            {"fields": {"product_id": tea.entity_id, "amount": 1, "note": "for the office"}},
        ),
    ]
    await EventStore(pool).commit(events, "kitchen/v1/home/node/node-a/events")
    token = await create_token(pool, "grocy-app")
    grocy = pygrocy(client, token)
    b, t = grocy_ids.product_int(butter.entity_id), grocy_ids.product_int(tea.entity_id)

    def consume() -> list[tuple[int, float]]:
        grocy.consume_product(b, 1)  # 2 left: not below
        grocy.consume_product(b, 1)  # 1 left: 1 missing
        grocy.consume_product(b, 1)  # none left: the entry raised to 2
        grocy.consume_product(t, 1)  # on the list by hand already: no automatic entry
        return sorted((i.product_id or 0, i.amount) for i in grocy.shopping_list())

    assert await asyncio.to_thread(consume) == [(b, 2), (t, 1)]
    rows = await pool.fetch(
        "SELECT type, entity_id::text AS entity_id FROM events"
        " WHERE origin = 'central' AND type LIKE 'shopping.%' ORDER BY seq"
    )
    auto = auto_shopping_id(butter.entity_id)
    assert [(r["type"], r["entity_id"]) for r in rows] == [
        (ev.SHOPPING_ADDED, auto),
        (ev.SHOPPING_UPDATED, auto),
    ]


async def test_the_list_fillers_on_central_add_missing_overdue_and_expired_products(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    node = EventFactory("node-a")
    butter = node.product("Butter", "4000417025005", min_stock=3)
    rice = node.product("Rice", "5000159484695")
    soup = node.product("Soup", "4006381333931")
    tea = node.product("Tea", "40170725")
    events = [butter, rice, soup, tea]
    for product, lot in (
        (butter, {}),
        (rice, {"best_before": days(-3)}),
        (soup, {"use_by": days(-1)}),
        (tea, {"best_before": days(-3)}),
    ):
        data = {"product_id": product.entity_id, "amount": 1, "lot": lot}
        events.append(node.make(ev.STOCK_PURCHASED, new_id(), data))
    tea_entry = {"product_id": tea.entity_id, "amount": 4}
    events.append(node.make(ev.SHOPPING_ADDED, new_id(), {"fields": tea_entry}))
    await EventStore(pool).commit(events, "kitchen/v1/home/node/node-a/events")
    key = {"GROCY-API-KEY": await create_token(pool, "grocy-full")}
    ints = {grocy_ids.product_int(p.entity_id): p for p in (butter, rice, soup, tea)}

    async def listed() -> dict[str, float]:
        async with client.get("/grocy/api/objects/shopping_list", headers=key) as resp:
            rows = await resp.json()
        return {ints[r["product_id"]].data["fields"]["name"]: r["amount"] for r in rows}

    api = "/grocy/api/stock/shoppinglist"
    for filler in ("add-missing-products", "add-overdue-products", "add-expired-products"):
        for _ in range(2):  # a second time adds nothing more
            async with client.post(f"{api}/{filler}", headers=key) as resp:
                assert resp.status == 204, await resp.text()
    assert await listed() == {"Butter": 2, "Rice": 1, "Soup": 1, "Tea": 4}
    async with client.post(f"{api}/add-missing-products", json={"list_id": 7}, headers=key) as r:
        assert r.status == 400
        assert (await r.json())["error_message"]
