"""The dashboard's read API over real PostgreSQL: counts, lists, filters, order and cursor.

Data goes in through real events (``EventStore.commit``, the ingest path) and the answers are
compared with a plain recomputation (``household_data``) classified by the shared rule.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from appliance.core import events as ev
from appliance.core.ids import new_id
from central.db import household
from central.db.store import EventStore
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import bearer, create_token
from tests.central.household_data import Household, build
from tests.fakes.events import EventFactory

TOPIC = "kitchen/v1/home/node/x/events"


async def _seed(pool: asyncpg.Pool, seed: int) -> Household:
    h = build(seed, household.household_today())
    store = EventStore(pool)
    # In several batches and a scrambled order: the fold (and the read tables) must not care.
    events = list(h.events)
    events.reverse()
    for start in range(0, len(events), 17):
        await store.commit(events[start : start + 17], TOPIC)
    return h


async def _client(pool: asyncpg.Pool, aiohttp_client: Any) -> Any:
    token = await create_token(pool, "dashboard-tests", "read")
    return await aiohttp_client(create_app(pool, Hub(), None, dict), headers=bearer(token))


async def _all_pages(client: Any, query: str) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    url = f"/api/dashboard/stock?{query}&limit=7"
    total = -1
    while True:
        async with client.get(url) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        items += body["items"]
        total = body["total"]
        if body["next"] is None:
            return items, total
        url = f"/api/dashboard/stock?{query}&limit=7&cursor={body['next']}"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_overview_counts_equal_a_recomputation(
    pool: asyncpg.Pool, aiohttp_client: Any, seed: int
) -> None:
    h = await _seed(pool, seed)
    client = await _client(pool, aiohttp_client)
    async with client.get("/api/dashboard/overview") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["horizon_days"] == h.horizon
    assert body["counts"] == h.counts()
    # The module's functions give the same (Home Assistant and notifications read them).
    counts = await household.counts(pool, h.today, h.horizon)
    assert counts == h.counts()


async def test_due_and_expired_lists_follow_the_shared_rule(pool: asyncpg.Pool) -> None:
    h = await _seed(pool, 4)
    due = await household.due_lots(pool, h.today, h.horizon, limit=1000)
    expected_due = {k for k, v in h.live_lots().items() if h.state(v) == "due_soon"}
    assert {d["lot_id"] for d in due} == expected_due
    assert all(d["state"] == "due_soon" for d in due)
    passed = await household.expired_lots(pool, h.today, limit=1000)
    expected = {k: h.state(v) for k, v in h.live_lots().items()}
    assert {d["lot_id"]: d["state"] for d in passed} == {
        k: s for k, s in expected.items() if s in ("expired", "overdue")
    }
    below = await household.below_min(pool)
    assert len(below) == h.counts()["below_min"]
    assert all(b["amount"] < b["min_stock"] and b["missing"] > 0 for b in below)


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("product", "asc"),
        ("best_before", "desc"),
        ("amount", "asc"),
        ("location", "desc"),
        ("node", "asc"),
    ],
)
async def test_every_sort_pages_through_every_lot_once(
    pool: asyncpg.Pool, aiohttp_client: Any, sort: str, order: str
) -> None:
    h = await _seed(pool, 5)
    client = await _client(pool, aiohttp_client)
    items, total = await _all_pages(client, f"sort={sort}&order={order}")
    assert total == len(h.live_lots())
    assert sorted(i["lot_id"] for i in items) == sorted(h.live_lots())

    def key(item: dict[str, Any]) -> Any:
        value = {
            "product": (item["product"] or "").lower(),
            "best_before": item["best_before"] or "9999-12-31",
            "amount": item["amount"],
            "location": (item["location"] or "").lower(),
            "node": item["node"] or "",
        }[sort]
        return value

    keys = [key(i) for i in items]
    assert keys == sorted(keys, reverse=order == "desc")
    for item in items:
        lot = h.lots[item["lot_id"]]
        assert (item["amount"], item["best_before"], item["use_by"], item["node"]) == (
            lot["amount"],
            lot["best_before"],
            lot["use_by"],
            lot["node"],
        )
        assert item["product"] == h.products[lot["product_id"]]["name"]
        assert item["location"] == h.locations[lot["location_id"]]
        assert item["state"] == h.state(lot)


async def test_filters_select_what_the_data_says(pool: asyncpg.Pool, aiohttp_client: Any) -> None:
    h = await _seed(pool, 6)
    client = await _client(pool, aiohttp_client)
    live = h.live_lots()
    location = next(iter(h.locations))
    product = next(iter(h.products))
    category = next(p["category"] for p in h.products.values() if p["category"])
    cases: dict[str, set[str]] = {
        f"location={location}": {k for k, v in live.items() if v["location_id"] == location},
        "node=node-1": {k for k, v in live.items() if v["node"] == "node-1"},
        f"product={product}": {k for k, v in live.items() if v["product_id"] == product},
        f"category={category}": {
            k for k, v in live.items() if h.products[v["product_id"]]["category"] == category
        },
        "q=MILK": {
            k for k, v in live.items() if "milk" in h.products[v["product_id"]]["name"].lower()
        },
        "state=expired": {k for k, v in live.items() if h.state(v) == "expired"},
        "state=overdue": {k for k, v in live.items() if h.state(v) == "overdue"},
        "state=due_soon": {k for k, v in live.items() if h.state(v) == "due_soon"},
    }
    limit = h.today.toordinal() + 2
    cases["due_within=2"] = {
        k
        for k, v in live.items()
        if any(d is not None and _ordinal(d) <= limit for d in (v["best_before"], v["use_by"]))
    }
    totals: dict[str, float] = {}
    for v in live.values():
        totals[v["product_id"]] = totals.get(v["product_id"], 0) + v["amount"]
    low = {
        pid
        for pid, p in h.products.items()
        if p["min_stock"] is not None and totals.get(pid, 0) < p["min_stock"]
    }
    cases["below_min=1"] = {k for k, v in live.items() if v["product_id"] in low}
    for query, expected in cases.items():
        items, total = await _all_pages(client, query)
        assert {i["lot_id"] for i in items} == expected, query
        assert total == len(expected), query


def _ordinal(day: str) -> int:
    from datetime import date

    return date.fromisoformat(day).toordinal()


async def test_a_rename_reaches_the_listed_lots(pool: asyncpg.Pool, aiohttp_client: Any) -> None:
    f = EventFactory("node-a")
    product = f.product("Milk")
    lot = f.purchase(product.entity_id, 2)
    store = EventStore(pool)
    await store.commit([product, lot], TOPIC)
    await store.commit(
        [f.make(ev.PRODUCT_UPDATED, product.entity_id, {"fields": {"name": "Whole milk"}})], TOPIC
    )
    client = await _client(pool, aiohttp_client)
    async with client.get("/api/dashboard/stock?q=whole") as resp:
        body = await resp.json()
    assert [i["product"] for i in body["items"]] == ["Whole milk"]
    await store.commit([f.consume(product.entity_id, lot.entity_id, 2)], TOPIC)
    async with client.get("/api/dashboard/stock") as resp:
        assert (await resp.json())["total"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "sort=price",
        "order=up",
        "location=not-a-uuid",
        "due_within=-1",
        "cursor=%21%21%21",
        "cursor=WyJ4Iiwibm90LWEtdXVpZCJd",
        "unknown=1",
        "node=Bad%20Node",
    ],
)
async def test_bad_queries_get_a_problem(
    pool: asyncpg.Pool, aiohttp_client: Any, query: str
) -> None:
    client = await _client(pool, aiohttp_client)
    async with client.get(f"/api/dashboard/stock?{query}") as resp:
        assert resp.status in (400, 422), query
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["detail"]


async def test_a_cursor_of_another_sort_is_refused_not_a_500(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    await _seed(pool, 7)
    client = await _client(pool, aiohttp_client)
    async with client.get("/api/dashboard/stock?sort=product&limit=2") as resp:
        cursor = (await resp.json())["next"]
    async with client.get(f"/api/dashboard/stock?sort=amount&cursor={cursor}") as resp:
        assert resp.status == 400
        assert resp.content_type == "application/problem+json"


async def test_facets_list_locations_nodes_and_categories(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    h = await _seed(pool, 8)
    client = await _client(pool, aiohttp_client)
    async with client.get("/api/dashboard/facets") as resp:
        body = await resp.json()
    assert {loc["id"]: loc["name"] for loc in body["locations"]} == h.locations
    assert set(body["nodes"]) == {v["node"] for v in h.live_lots().values()}
    assert set(body["categories"]) == {p["category"] for p in h.products.values() if p["category"]}


async def test_the_dashboard_api_needs_a_login_and_writes_a_full_token(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    anonymous = await aiohttp_client(create_app(pool, Hub(), None, dict))
    for path in ("overview", "nodes", "stock", "facets", "statistics"):
        async with anonymous.get(f"/api/dashboard/{path}") as resp:
            assert resp.status == 401, path
            assert resp.content_type == "application/problem+json"
    reader = await _client(pool, aiohttp_client)
    async with reader.post("/api/locations", json={"name": "Cellar"}) as resp:
        assert resp.status == 403


async def test_the_reads_the_web_apps_dialogs_make(pool: asyncpg.Pool, aiohttp_client: Any) -> None:
    h = await _seed(pool, 9)
    client = await _client(pool, aiohttp_client)
    async with client.get("/api/locations") as resp:
        names = [loc["name"] for loc in (await resp.json())["items"]]
    assert sorted(names) == sorted(h.locations.values())
    product_id, product = next(iter(h.products.items()))
    async with client.get(f"/api/products/{product_id}") as resp:
        assert (await resp.json())["name"] == product["name"]
    async with client.get(f"/api/products/{new_id()}") as resp:
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"
    async with client.get("/api/products?search=MILK&limit=50") as resp:
        found = {p["name"] for p in (await resp.json())["items"]}
    assert found == {p["name"] for p in h.products.values() if "milk" in p["name"].lower()}
    async with client.get("/api/products?limit=0") as resp:
        assert resp.status == 422
    async with client.get("/api/settings") as resp:
        assert await resp.json() == {"due_soon_days": h.horizon}


async def test_lots_of_a_merged_product_read_as_the_survivor(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    f = EventFactory("node-a")
    yoghurt, joghurt, natur = (
        f.product("Yoghurt", min_stock=5),
        f.product("Joghurt", min_stock=1),
        f.product("Naturjoghurt", min_stock=2),
    )
    lots = [
        f.purchase(yoghurt.entity_id, 2),
        f.purchase(joghurt.entity_id, 1),
        f.purchase(natur.entity_id, 1),
    ]
    store = EventStore(pool)
    await store.commit([yoghurt, joghurt, natur, *lots], TOPIC)
    client = await _client(pool, aiohttp_client)

    async def listed() -> dict[str, tuple[str, str]]:
        async with client.get("/api/dashboard/stock") as resp:
            items = (await resp.json())["items"]
        return {i["lot_id"]: (i["product_id"], i["product"]) for i in items}

    # Joghurt into Yoghurt, and Naturjoghurt into Joghurt: a chain, resolved to Yoghurt; the
    # second merge arrives first (order must not matter).
    await store.commit(
        [f.make(ev.PRODUCT_MERGED, natur.entity_id, {"into": joghurt.entity_id})], TOPIC
    )
    await store.commit(
        [f.make(ev.PRODUCT_MERGED, joghurt.entity_id, {"into": yoghurt.entity_id})], TOPIC
    )
    assert set((await listed()).values()) == {(yoghurt.entity_id, "Yoghurt")}
    # Its stock is the survivor's: 4 of a minimum of 5; the merged ones no longer count.
    below = await household.below_min(pool)
    assert [(b["product_id"], b["amount"]) for b in below] == [(yoghurt.entity_id, 4.0)]
    async with client.get(f"/api/dashboard/stock?product={yoghurt.entity_id}") as resp:
        assert (await resp.json())["total"] == 3
    # A rename of the survivor reaches the lots bought as the merged products, and a lot
    # bought as a merged product afterwards lands on the survivor too.
    late = f.purchase(natur.entity_id, 1)
    await store.commit(
        [f.make(ev.PRODUCT_UPDATED, yoghurt.entity_id, {"fields": {"name": "Joghurt"}}), late],
        TOPIC,
    )
    assert set((await listed()).values()) == {(yoghurt.entity_id, "Joghurt")}
    assert len(await listed()) == 4
    assert await household.below_min(pool) == []
