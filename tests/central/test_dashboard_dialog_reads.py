"""The reads the shared web-app dialogs make on central: locations and one product, in the
node's shapes, behind the login, with clear 404s and 422s."""

from __future__ import annotations

from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.ids import new_id
from central.db.store import EventStore
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import bearer, create_token
from tests.fakes.events import EventFactory

TOPIC = "kitchen/v1/home/node/x/events"


async def _client(pool: asyncpg.Pool, aiohttp_client: Any, token: bool = True) -> Any:
    headers = bearer(await create_token(pool, "dialog-tests", "read")) if token else {}
    return await aiohttp_client(create_app(pool, Hub(), None, dict), headers=headers)


async def test_locations_and_a_product_in_the_nodes_shapes(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    """Locations (deleted ones left out) and a product with its fields, as the fold sees them."""
    f = EventFactory("x")
    fridge, cellar = new_id(), new_id()
    product = f.product("Milk", brand="Alpen", min_stock=2)
    events = [
        f.make(ev.LOCATION_CREATED, fridge, {"fields": {"name": "Fridge", "sort_key": 1}}),
        f.make(ev.LOCATION_CREATED, cellar, {"fields": {"name": "Cellar", "freezer": True}}),
        f.make(ev.LOCATION_DELETED, cellar, {}),
        product,
    ]
    await EventStore(pool).commit(events, TOPIC)
    client = await _client(pool, aiohttp_client)
    async with client.get("/api/locations") as resp:
        assert resp.status == 200
        items = (await resp.json())["items"]
    assert [(i["id"], i["name"], i["sort_key"]) for i in items] == [(fridge, "Fridge", 1)]
    async with client.get(f"/api/products/{product.entity_id}") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert (body["id"], body["name"], body["brand"], body["min_stock"]) == (
        product.entity_id,
        "Milk",
        "Alpen",
        2.0,
    )


async def test_unknown_bad_and_unauthenticated(pool: asyncpg.Pool, aiohttp_client: Any) -> None:
    """An unknown product and a non-id are 404 problems, a query parameter 422, no login 401."""
    client = await _client(pool, aiohttp_client)
    for path, status in (
        (f"/api/products/{new_id()}", 404),
        ("/api/products/not-an-id", 404),
        ("/api/locations?x=1", 422),
    ):
        async with client.get(path) as resp:
            assert resp.status == status, path
            assert resp.content_type == "application/problem+json"
            assert (await resp.json())["detail"]
    anonymous = await _client(pool, aiohttp_client, token=False)
    async with anonymous.get("/api/locations") as resp:
        assert resp.status == 401
