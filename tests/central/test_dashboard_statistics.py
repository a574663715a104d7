"""Statistics on a known set of events and receipts, over real PostgreSQL and HTTP."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.ids import new_id
from central.db import household, stock_rows
from central.db.store import EventStore
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import bearer, create_token
from tests.fakes.events import EventFactory

TOPIC = "kitchen/v1/home/node/n/events"


def _at(f: EventFactory, day: str) -> EventFactory:
    f.timestamp = f"{day}T12:00:00.000Z"
    return f


async def _known_household(pool: asyncpg.Pool) -> dict[str, str]:
    f = EventFactory("node-a")
    milk = f.product("Milk", category="Dairy")
    carrots = f.product("Carrots", category="Vegetables")
    salt = f.product("Salt")
    milk_lot, carrot_lot, salt_lot, milk_lot_2 = new_id(), new_id(), new_id(), new_id()
    events = [milk, carrots, salt]

    def buy(product: str, lot: str, amount: float, price: float | None = None) -> None:
        lot_fields: dict[str, Any] = {"source": "receipt" if price else "scan"}
        if price is not None:
            lot_fields["price"] = price
        events.append(
            f.make(
                ev.STOCK_PURCHASED,
                lot,
                {"product_id": product, "amount": amount, "lot": lot_fields},
            )
        )

    buy(milk.entity_id, milk_lot, 10, price=15.0)  # 1.50 per litre
    buy(carrots.entity_id, carrot_lot, 5)
    buy(salt.entity_id, salt_lot, 1)
    buy(milk.entity_id, milk_lot_2, 2)  # no price: at milk's latest known one

    def use(kind: str, product: str, lot: str, amount: float, day: str) -> Any:
        event = _at(f, day).make(
            kind, new_id(), {"product_id": product, "lots": [{"lot_id": lot, "amount": amount}]}
        )
        events.append(event)
        return event

    # Week of Monday 2026-11-02: 2 milk used. Week of 2026-11-09: 1 milk, 1 carrot spoiled,
    # 1 carrot used; an undone consume; one made on a node whose clock read 1970.
    use(ev.STOCK_CONSUMED, milk.entity_id, milk_lot, 2, "2026-11-04")
    use(ev.STOCK_CONSUMED, milk.entity_id, milk_lot, 1, "2026-11-09")
    use(ev.STOCK_SPOILED, carrots.entity_id, carrot_lot, 1, "2026-11-15")
    use(ev.STOCK_CONSUMED, carrots.entity_id, carrot_lot, 1, "2026-11-10")
    undone = use(ev.STOCK_CONSUMED, milk.entity_id, milk_lot, 3, "2026-11-11")
    use(ev.STOCK_CONSUMED, salt.entity_id, salt_lot, 0.5, "1970-01-01")
    undo = _at(f, "2026-11-11").make(
        ev.JOURNAL_UNDONE, undone.event_id, {"target": undone.event_id, "lot_ids": [milk_lot]}
    )
    store = EventStore(pool)
    await store.commit([undo], TOPIC)  # the undo first: order must not matter
    await store.commit(events, TOPIC)
    receipts = [
        ("confirmed", {"merchant": "REWE", "date": "2026-10-30", "total": "12.50"}, False),
        ("confirmed", {"merchant": "ALDI", "date": "2026-11-03", "total": "7.25"}, False),
        ("confirmed", {"merchant": "REWE", "date": "2026-11-20", "total": "3.00"}, False),
        ("confirmed", {"merchant": "REWE", "date": "2025-01-20", "total": "99"}, False),
        ("completed", {"merchant": "LIDL", "date": "2026-11-21", "total": "5"}, False),
        ("confirmed", {"merchant": "LIDL", "date": "2026-11-22", "total": "5"}, True),
        ("confirmed", {"merchant": "EDEKA", "date": "2026-02-30", "total": "x"}, False),
    ]
    for status, draft, deleted in receipts:
        await pool.execute(
            "INSERT INTO receipts (id, origin, status, draft, deleted)"
            " VALUES ($1, 'central', $2, $3::jsonb, $4)",
            new_id(),
            status,
            json.dumps({**draft, "currency": "EUR"}),
            deleted,
        )
    return {"milk": milk.entity_id, "carrots": carrots.entity_id, "salt": salt.entity_id}


async def _get(pool: asyncpg.Pool, aiohttp_client: Any, query: str) -> tuple[int, Any]:
    token = await create_token(pool, f"stats-{new_id()[-12:]}", "read")
    client = await aiohttp_client(create_app(pool, Hub(), None, dict), headers=bearer(token))
    async with client.get(f"/api/dashboard/statistics?{query}") as resp:
        return resp.status, await resp.json()


async def test_statistics_of_a_known_household(pool: asyncpg.Pool, aiohttp_client: Any) -> None:
    ids = await _known_household(pool)
    status, body = await _get(pool, aiohttp_client, "from=2026-10-26&to=2026-11-29")
    assert status == 200, body
    weeks = {w["week"]: w for w in body["weekly"]}
    assert list(weeks) == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert (weeks["2026-11-02"]["consumed"], weeks["2026-11-02"]["spoiled"]) == (2.0, 0.0)
    assert (weeks["2026-11-09"]["consumed"], weeks["2026-11-09"]["spoiled"]) == (2.0, 1.0)
    assert weeks["2026-11-09"]["consumed_actions"] == 2
    assert weeks["2026-11-09"]["iso_week"] == "2026-W46"
    assert weeks["2026-11-16"]["consumed"] == 0.0
    assert body["undated"] == 1

    rates = {p["product_id"]: p for p in body["spoil_rate_by_product"]}
    assert list(rates) == [ids["carrots"]]
    assert rates[ids["carrots"]]["rate"] == 0.5
    categories = {c["category"]: c for c in body["spoil_rate_by_category"]}
    assert categories["Dairy"] == {
        "category": "Dairy",
        "consumed": 3.0,
        "spoiled": 0.0,
        "rate": 0.0,
    }
    assert categories["Vegetables"]["rate"] == 0.5
    assert [p["product_id"] for p in body["most_used"]] == [ids["milk"], ids["carrots"]]
    assert body["most_used"][0]["actions"] == 2

    assert body["spending_by_month"] == [
        {"month": "2026-10", "total": 12.5, "receipts": 1},
        {"month": "2026-11", "total": 10.25, "receipts": 2},
    ]
    assert body["spending_by_shop"] == [
        {"shop": "REWE", "total": 15.5, "receipts": 2},
        {"shop": "ALDI", "total": 7.25, "receipts": 1},
    ]
    assert body["currency"] == "EUR"
    # Milk: 10 - 3 = 7 litres at 1.50 plus the unpriced lot's 2 at milk's price; carrots (3
    # left) and salt (0.5 left) have no price.
    assert body["stock_value"] == {
        "value": 13.5,
        "lots_priced": 2,
        "lots_total": 4,
        "currency": "EUR",
    }


async def test_the_default_period_is_the_last_12_months(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    status, body = await _get(pool, aiohttp_client, "")
    assert status == 200
    today = household.household_today()
    assert body["to"] == today.isoformat()
    start = body["from"]
    assert start.endswith("-01") and len(body["weekly"]) >= 48
    for query in ("from=2026-12-01&to=2026-11-01", "from=2000-01-01&to=2026-01-01", "from=x"):
        status, problem = await _get(pool, aiohttp_client, query)
        assert status == 422, query
        assert problem["detail"]


async def test_read_tables_rebuilt_from_stored_events_match(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    await _known_household(pool)
    query = "from=2026-10-26&to=2026-11-29"
    _, before = await _get(pool, aiohttp_client, query)
    counts = await household.counts(pool, household.household_today(), 3)
    # As on a database that held data before migration 006.
    await pool.execute(
        "TRUNCATE dash_lots, dash_products, dash_usage, dash_undone;"
        " UPDATE dash_state SET built = false"
    )
    assert await stock_rows.rebuild(pool)
    assert not await stock_rows.rebuild(pool)
    _, after = await _get(pool, aiohttp_client, query)
    assert after == before
    assert await household.counts(pool, household.household_today(), 3) == counts
