"""Many requests at once: no "database is locked", nothing acknowledged lost, clean sequences."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from appliance.api.keys import KITCHEN, STATIONS
from tests.node.helpers import EAN13, OTHER_EAN, Node


async def test_concurrent_scans_and_edits(node: Node) -> None:
    tea = await node.product("Tea", barcodes=[EAN13], min_stock=50)
    stock = await node.lot(tea["id"], 100)

    async def scan(i: int) -> tuple[str, Any]:
        code = EAN13 if (i // 6) % 2 else OTHER_EAN  # the second one is unknown: a placeholder
        status, body = await node.scan(code, station_id=f"station-{i % 7}", mode="add")
        assert status == 200, body
        return "lot", body["lot"]["id"]

    async def consume(i: int) -> tuple[str, Any]:
        status, body = await node.call(
            "POST", f"/api/inventory/{stock['id']}/consume", {"amount": 1}
        )
        assert status == 200, body
        return "consume", body["journal_id"]

    async def add_lot(i: int) -> tuple[str, Any]:
        status, body = await node.call(
            "POST", "/api/inventory", {"product_id": tea["id"], "amount": 2}
        )
        assert status == 201, body
        return "lot", body["id"]

    async def shop(i: int) -> tuple[str, Any]:
        status, body = await node.call("POST", "/api/shopping", {"text": f"item {i}"})
        assert status == 201, body
        return "shopping", body["id"]

    async def product(i: int) -> tuple[str, Any]:
        status, body = await node.call("POST", "/api/products", {"name": f"Product {i}"})
        assert status == 201, body
        return "product", body["id"]

    async def read(i: int) -> tuple[str, Any]:
        for path in ("/api/inventory", "/api/inventory/summary", "/api/journal"):
            status, body = await node.call("GET", path)
            assert status == 200, body
        return "read", None

    kinds = [scan, consume, add_lot, shop, product, read]
    results = await asyncio.gather(*(kinds[i % len(kinds)](i) for i in range(120)))

    lots = [value for kind, value in results if kind == "lot"]
    assert len(set(lots)) == len(lots)
    for lot_id in lots:
        status, lot = await node.call("GET", f"/api/inventory/{lot_id}")
        assert status == 200 and lot["amount"] > 0, lot
    consumed = {value for kind, value in results if kind == "consume"}
    journal = {e["id"] for e in (await node.get("/api/journal", params={"limit": 1000}))["items"]}
    assert consumed <= journal
    assert (await node.get(f"/api/inventory/{stock['id']}"))["amount"] == 100 - len(consumed)
    listed = {e["id"] for e in (await node.get("/api/shopping"))["items"]}
    assert {value for kind, value in results if kind == "shopping"} <= listed
    names = {p["id"] for p in (await node.get("/api/products", params={"limit": 5000}))["items"]}
    assert {value for kind, value in results if kind == "product"} <= names

    scans_of_tea = sum(1 for i in range(0, 120, len(kinds)) if (i // 6) % 2)
    assert scans_of_tea == 10
    lots_added = sum(1 for kind, _ in results if kind == "lot") - 20  # 20 scans in all
    expected = 100 - len(consumed) + scans_of_tea + 2 * lots_added
    assert (await node.get(f"/api/products/{tea['id']}"))["total"] == expected

    await check_sequences(node)


async def check_sequences(node: Node) -> None:
    """Own events: seq 1..n without a gap, Lamport clocks rising with seq, outbox complete."""
    reader = node.app[KITCHEN].store.reader
    rows = list(
        await reader.execute_fetchall(
            "SELECT seq, lamport, event_id FROM events WHERE origin = 'kitchen' ORDER BY seq"
        )
    )
    seqs = [row[0] for row in rows]
    assert seqs == list(range(1, len(rows) + 1))
    lamports = [row[1] for row in rows]
    assert all(a < b for a, b in itertools.pairwise(lamports))
    outbox = list(await reader.execute_fetchall("SELECT seq, event_id FROM outbox ORDER BY seq"))
    assert [(row[0], row[2]) for row in rows] == [(row[0], row[1]) for row in outbox]
    vector = await node.app[KITCHEN].store.version_vector()
    assert vector["kitchen"] == len(rows)


async def test_concurrent_scans_on_one_station_keep_undo_exact(node: Node) -> None:
    await node.product("Tea", barcodes=[EAN13])
    outcomes = await asyncio.gather(
        *(node.scan(EAN13, station_id="box", mode="add") for _ in range(30))
    )
    assert all(status == 200 for status, _ in outcomes)
    totals = sorted(body["total"] for _, body in outcomes)
    assert totals == [float(n) for n in range(1, 31)]  # each scan saw the one before
    await node.post("/api/scanner/undo", {"station_id": "box"})
    tea = await node.get(f"/api/products/by-barcode/{EAN13}")
    assert tea["total"] == 29.0
    await check_sequences(node)


async def test_scans_at_many_stations_run_side_by_side_and_leave_no_locks(node: Node) -> None:
    """Each station scans one at a time, stations side by side; no lock outlives its scans."""
    await node.product("Tea", barcodes=[EAN13])
    outcomes = await asyncio.gather(
        *(node.scan(EAN13, station_id=f"box-{i % 7}", mode="add") for i in range(42))
    )
    assert all(status == 200 for status, _ in outcomes)
    assert sorted(body["total"] for _, body in outcomes) == [float(n) for n in range(1, 43)]
    assert node.app[STATIONS]._station_locks == {}
    await check_sequences(node)
