"""Dashboard figures (not a test): ``python -m tests.perf.central_dashboard``.

A household of 3 nodes, 5,000 products, 20,000 lots and a year of use (about 26,000 consume
and spoil events) is folded in memory with the shared fold, copied into a real PostgreSQL
(``COPY``), and the dashboard's read tables are filled by central's own rebuild. Then the
overview, the stock list's first page (two orders, one filter) and the statistics over the year
are asked over real HTTP with a token, sequentially, and their latencies reported.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from appliance.core import events as ev
from appliance.core.events import Event
from appliance.core.fold import Household
from appliance.core.ids import new_id
from central.db import stock_rows
from central.db.pool import open_pool
from central.db.store import is_active
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import bearer, create_token
from tests.fakes.events import EventFactory, gtin13

PRODUCTS, LOTS, USES, NODES = 5000, 20_000, 26_000, 3
Record = Callable[[str, float, str, str, bool | None], None]


def household_events(today: date, seed: int = 7) -> list[Event]:
    """Every event of the benchmark household, built as nodes build them."""
    rng = random.Random(seed)
    nodes = [EventFactory(f"node-{n}") for n in range(NODES)]
    events: list[Event] = []
    locations = []
    for name in ("Fridge", "Freezer", "Pantry"):
        location = new_id()
        locations.append(location)
        events.append(nodes[0].make(ev.LOCATION_CREATED, location, {"fields": {"name": name}}))
    products = []
    for n in range(PRODUCTS):
        fields: dict[str, Any] = {"category": f"Category {n % 40}"}
        if n % 7 == 0:
            fields["min_stock"] = float(rng.randint(1, 6))
        event = nodes[n % NODES].product(f"Product {n:05d} {rng.choice('ABCDEFG')}", gtin13(n + 1))
        event.data["fields"].update(fields)
        events.append(event)
        products.append(event.entity_id)
    lots = []
    for n in range(LOTS):
        f = nodes[n % NODES]
        product = rng.choice(products)
        lot = new_id()
        lot_fields: dict[str, Any] = {
            "source": "scan",
            "location_id": rng.choice(locations),
            "best_before": (today + timedelta(days=rng.randint(-30, 300))).isoformat(),
        }
        if n % 5 == 0:
            lot_fields["use_by"] = (today + timedelta(days=rng.randint(-10, 30))).isoformat()
        if n % 3 == 0:
            lot_fields["price"] = round(rng.uniform(0.5, 9.0), 2)
        events.append(
            f.make(
                ev.STOCK_PURCHASED,
                lot,
                {"product_id": product, "amount": rng.randint(5, 20), "lot": lot_fields},
            )
        )
        lots.append((product, lot))
    start = today - timedelta(days=364)
    for n in range(USES):
        f = nodes[n % NODES]
        product, lot = rng.choice(lots)
        f.timestamp = f"{start + timedelta(days=n * 365 // USES)}T18:00:00.000Z"
        kind = ev.STOCK_SPOILED if n % 9 == 0 else ev.STOCK_CONSUMED
        events.append(
            f.make(kind, new_id(), {"product_id": product, "lots": [{"lot_id": lot, "amount": 1}]})
        )
    return events


async def seed(pool: Any, events: list[Event]) -> float:
    """Fold in memory, COPY events and entities, rebuild the read tables; seconds taken."""
    started = time.monotonic()
    state = Household()
    state.apply_all(events)
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "events",
            columns=["event_id", "origin", "seq", "lamport", "type", "entity_id", "payload"],
            records=[
                (
                    e.event_id,
                    e.origin,
                    e.seq,
                    e.lamport,
                    e.type,
                    e.entity_id,
                    json.dumps(e.to_dict()),
                )
                for e in events
            ],
        )
        await conn.copy_records_to_table(
            "entities",
            columns=["kind", "id", "state", "view", "active"],
            records=[
                (
                    kind,
                    eid,
                    json.dumps(entity.to_json()),
                    json.dumps(entity.view()),
                    is_active(entity),
                )
                for (kind, eid), entity in state.entities.items()
            ],
        )
        await conn.execute("UPDATE dash_state SET built = false; ANALYZE")
    await stock_rows.rebuild(pool)
    await pool.execute("ANALYZE")
    return time.monotonic() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def _latencies(http: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        async with http.get(url) as resp:
            await resp.read()
            assert resp.status == 200, await resp.text()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(dsn: str) -> dict[str, Any]:
    """Seed the household and time the dashboard's reads; figures in ms."""
    pool = await open_pool(dsn, 1, 6)
    runner: web.AppRunner | None = None
    try:
        today = date.today()
        seed_s = await seed(pool, household_events(today))
        token = await create_token(pool, "bench", "read")
        runner = web.AppRunner(create_app(pool, Hub(), None, dict))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}/api/dashboard"
        figures: dict[str, Any] = {"seed_s": round(seed_s, 1)}
        async with aiohttp.ClientSession(headers=bearer(token)) as http:
            cases = {
                "overview": (f"{base}/overview", 200),
                "stock_first_page": (f"{base}/stock", 200),
                "stock_by_best_before": (f"{base}/stock?sort=best_before&order=desc", 200),
                "stock_due_soon_filter": (f"{base}/stock?state=due_soon&sort=amount", 200),
                "statistics_year": (f"{base}/statistics", 20),
            }
            for name, (url, n) in cases.items():
                await _latencies(http, url, 3)  # warm: first plans, lazy imports
                times = await _latencies(http, url, n)
                figures[name] = {"p50_ms": _pct(times, 50), "p99_ms": _pct(times, 99)}
        return figures
    finally:
        if runner is not None:
            await runner.cleanup()
        await pool.close()


def run(record: Record) -> None:
    """The dashboard's section of ``make bench``."""
    from tests.fakes.postgres import temporary_database

    with temporary_database("kitchen_bench_dash") as dsn:
        figures = asyncio.run(measure(dsn))
    record("dashboard: seed 3 nodes, 5,000 products, 20,000 lots", figures["seed_s"], "s", "", None)
    budgets = {
        "overview": 50,
        "stock_first_page": 50,
        "stock_by_best_before": 50,
        "stock_due_soon_filter": 50,
        "statistics_year": 500,
    }
    for name, budget in budgets.items():
        p99 = figures[name]["p99_ms"]
        record(f"dashboard {name.replace('_', ' ')}, p99", p99, "ms", f"<= {budget}", p99 <= budget)


if __name__ == "__main__":
    from tests.fakes.postgres import temporary_database

    with temporary_database("kitchen_bench_dash") as bench_dsn:
        print(json.dumps(asyncio.run(measure(bench_dsn)), indent=2))
    sys.exit(0)
