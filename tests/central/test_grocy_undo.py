"""Grocy's transaction undo and read on central (real PostgreSQL, real HTTP server): the
node's undo as central's own ``journal.undone``, once only."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient

from appliance.core import events as ev
from appliance.core import grocy_ids
from appliance.core.ids import new_id
from tests.central.auth_helpers import create_token
from tests.central.test_grocy_inventory import _amounts, _household


async def test_a_consume_and_an_inventory_made_on_central_are_undone_once(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    ids = await _household(pool)
    key = {"GROCY-API-KEY": await create_token(pool, "grocy-full")}
    milk = grocy_ids.product_int(ids["milk"])
    api = "/grocy/api"
    async with client.post(
        f"{api}/stock/products/{milk}/consume", json={"amount": 1}, headers=key
    ) as resp:
        assert resp.status == 200, await resp.text()
        (consumed,) = await resp.json()
    async with client.post(
        f"{api}/stock/products/{milk}/inventory", json={"new_amount": 10}, headers=key
    ) as resp:
        (counted,) = await resp.json()
    assert await _amounts(pool, ids["milk"]) == {ids["soon"]: 1, ids["later"]: 9}
    consume_id = consumed["transaction_id"]
    async with client.post(f"{api}/stock/transactions/{consume_id}/undo", headers=key) as resp:
        assert resp.status == 204, await resp.text()
    # The recount counted after the consume: undoing the consume gives its lot back.
    assert await _amounts(pool, ids["milk"]) == {ids["soon"]: 2, ids["later"]: 9}
    async with client.post(
        f"{api}/stock/transactions/{counted['transaction_id']}/undo", headers=key
    ) as resp:
        assert resp.status == 204, await resp.text()
    assert await _amounts(pool, ids["milk"]) == {ids["soon"]: 2, ids["later"]: 3}
    async with client.post(f"{api}/stock/transactions/{consume_id}/undo", headers=key) as resp:
        assert resp.status == 400
        assert "already undone" in (await resp.json())["error_message"]
    async with client.get(f"{api}/stock/transactions/{consume_id}", headers=key) as resp:
        assert resp.status == 200, await resp.text()
        (row,) = await resp.json()
    assert (row["undone"], row["amount"]) == (1, -1)
    rows = await pool.fetch(
        "SELECT type, payload->'data'->>'target' AS target FROM events"
        " WHERE origin = 'central' AND type = $1 ORDER BY seq",
        ev.JOURNAL_UNDONE,
    )
    assert [r["target"] for r in rows] == [consume_id, counted["transaction_id"]]
    for transaction_id in ("nope", new_id(), ids["milk_event"]):  # a product is no stock change
        async with client.post(
            f"{api}/stock/transactions/{transaction_id}/undo", headers=key
        ) as resp:
            assert resp.status == 400, transaction_id
            assert (await resp.json())["error_message"]
        async with client.get(f"{api}/stock/transactions/{transaction_id}", headers=key) as resp:
            assert resp.status == 400, transaction_id
