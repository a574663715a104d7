"""A flooded node refuses excess writes at once with 503, loses no 2xx and applies no 503."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from appliance.api.admission import BUSY_FROM, LoopLag, WriteGate
from appliance.api.keys import KITCHEN
from appliance.app import WRITE_GATE
from appliance.core.ids import product_id_for_code
from tests.fakes.harness import until
from tests.node.helpers import Node, NodeFactory
from tests.perf.dataset import ean13


async def _scan(node: Node, code: str) -> tuple[int, dict[str, Any], str | None]:
    body = {"code": code, "station_id": f"flood-{code[-3:]}"}
    async with node.client.post("/api/scanner/scan", json=body, headers=node.headers) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers.get("Retry-After")


async def _total(node: Node, code: str) -> float | None:
    """A barcode's stock, or None when no product has it (nothing of it was applied)."""
    status, data = await node.call("GET", f"/api/products/by-barcode/{code}")
    return None if status == 404 else float(data["total"])


async def test_writes_beyond_the_gate_are_refused_at_once_and_reads_still_answer(
    make_node: NodeFactory,
) -> None:
    http = {"max_pending_writes": 4, "max_write_wait_ms": 60_000, "retry_after_seconds": 2}
    node = await make_node(http=http)
    gate = node.app[WRITE_GATE]
    codes = [ean13(f"200{i:09d}") for i in range(10)]
    await node.get("/api/inventory")  # the token's first use records it (a write): done now
    # Hold the one writer: the first four scans wait for it and fill the gate.
    async with node.app[KITCHEN].change():
        waiting = [asyncio.create_task(_scan(node, code)) for code in codes[:4]]
        try:
            await until(lambda: gate.in_progress == 4, 10, "four writes waiting")
            # While they wait, the next writes are refused at once, and reads answer.
            refused = await asyncio.gather(*(_scan(node, code) for code in codes[4:]))
            assert await node.get("/api/health")
            assert "items" in await node.get("/api/inventory")
            status, _ = await node.call("POST", "/api/products", {"name": "Tea"})
            assert status == 503
        except BaseException:
            for task in waiting:
                task.cancel()
            raise
    accepted = await asyncio.gather(*waiting)
    assert [status for status, _, _ in accepted] == [200] * 4
    for status, problem, retry_after in refused:
        assert status == 503
        assert retry_after == "2"
        assert "nothing was applied" in problem["detail"]
    for code in codes[:4]:
        assert await _total(node, code) == 1
    for code in codes[4:]:
        assert await _total(node, code) is None
    assert gate.in_progress == 0
    assert gate.refused == len(codes) - 4 + 1


async def test_a_late_event_loop_refuses_writes_at_once() -> None:
    """Regression: with the loop saturated (fan-out to many WebSockets) writes were admitted
    and waited behind that work for a second; a late loop now refuses them from two on."""
    lag = LoopLag(period=0.01)
    lag.start()
    try:
        await asyncio.sleep(0.02)  # ok: the monitor's first tick
        time.sleep(0.2)  # noqa: ASYNC251  # ok: blocks the loop, as a burst of CPU work does
        await asyncio.sleep(0.02)  # ok: the next tick measures how late it woke
        assert lag.lag >= 0.1
    finally:
        await lag.close()
    gate = WriteGate(32, 0.1, 1, clock=Clock(), lag=lag)
    assert gate.enter() is not None and gate.enter() is not None  # below BUSY_FROM: admitted
    assert gate.enter() is None
    lag.lag = 0.0
    assert gate.enter() is not None


async def test_a_flood_loses_no_accepted_scan_and_applies_no_refused_one(
    make_node: NodeFactory,
) -> None:
    """200 scans at once against a gate of 8: every 2xx is in stock, every 503 is not."""
    node = await make_node(http={"max_pending_writes": 8})
    codes = [ean13(f"201{i:09d}") for i in range(200)]
    answers = await asyncio.gather(*(_scan(node, code) for code in codes))
    statuses = {status for status, _, _ in answers}
    assert statuses == {200, 503}, statuses
    journal = await node.get("/api/journal", params={"limit": 500})
    journal_products = {entry["product_id"] for entry in journal["items"]}
    for code, (status, _, _) in zip(codes, answers, strict=True):
        total = await _total(node, code)
        if status == 200:
            assert total == 1, code
            assert product_id_for_code(code) in journal_products, code
        else:
            assert total is None, code
            assert product_id_for_code(code) not in journal_products, code
    accepted = sum(1 for status, _, _ in answers if status == 200)
    assert len(journal["items"]) == accepted


async def test_openapi_documents_the_503_on_every_write(node: Node) -> None:
    doc = await node.get("/api/openapi.json")
    operations = [(m, op) for item in doc["paths"].values() for m, op in item.items()]
    writes = [op for method, op in operations if method in ("post", "put", "patch", "delete")]
    assert writes
    for op in writes:
        assert "Retry-After" in op["responses"]["503"]["headers"], op["operationId"]
    # Reads never meet the gate: their 503 (a database that is unavailable) has no Retry-After.
    for method, op in operations:
        if method == "get" and "503" in op["responses"]:
            assert "headers" not in op["responses"]["503"], op["operationId"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_gate_follows_how_fast_writes_drain() -> None:
    """Beyond BUSY_FROM, a write is admitted only if the writes ahead drain within the wait."""
    clock = Clock()
    gate = WriteGate(limit=32, max_wait=0.1, retry_after=1, clock=clock)
    # A quiet kitchen: however slow, the first BUSY_FROM writes always go ahead.
    gate.interval = 10.0
    first = [gate.enter() for _ in range(BUSY_FROM)]
    assert None not in first
    assert gate.enter() is None
    # Writes that drain back to back, 1 ms apart (two always in progress).
    tickets = first
    for _ in range(60):
        clock.now += 0.001
        gate.leave(tickets.pop(0))  # type: ignore[arg-type]
        tickets.append(gate.enter())
    assert None not in tickets
    assert gate.interval < 0.002
    # Now ~100 of them fit in the wait: the count limit is what stops them.
    admitted = [gate.enter() for _ in range(40)]
    assert gate.in_progress == 32
    assert admitted.count(None) == 40 - 30
    # The oldest write stuck for longer than the wait: new ones are refused at once.
    for ticket in tickets + admitted:
        if ticket is not None:
            gate.leave(ticket)
    stuck = [gate.enter() for _ in range(BUSY_FROM)]
    clock.now += 0.2
    assert gate.enter() is None
    for ticket in stuck:
        gate.leave(ticket)  # type: ignore[arg-type]
    assert gate.in_progress == 0
    assert gate.enter() is not None
