"""Fault 9: node clocks set to 1970 and to next year reach the same final state.

Order comes from Lamport clocks and origins, never from wall time: a later edit made on a
node whose clock says 1970 still wins over an earlier one stamped next year.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from appliance.core.messages import utc_timestamp
from appliance.store import transaction
from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import Node
from tests.sync.checks import assert_converged

EPOCH = datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)
NEXT_YEAR = datetime(datetime.now(UTC).year + 1, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("clock_a", "clock_b"), [(EPOCH, NEXT_YEAR), (NEXT_YEAR, EPOCH)])
async def test_wall_clocks_do_not_decide(
    tmp_path: Path,
    dsn: str,
    broker: Broker,
    central: Central,
    monkeypatch: pytest.MonkeyPatch,
    clock_a: datetime,
    clock_b: datetime,
) -> None:
    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr(transaction, "utc_timestamp", lambda: utc_timestamp(moment))

    a = Node("node-a", tmp_path / "a", broker)
    b = Node("node-b", tmp_path / "b", broker)
    await broker.reload()
    try:
        await a.start()
        await b.start()
        set_clock(clock_a)
        created = await a.scan(0)
        product = created.entity_id
        await assert_converged(dsn, [a, b], 1)
        set_clock(clock_b)
        await b.emit("product.updated", product, {"fields": {"name": "Name from B"}})
        bought = await b.emit(
            "stock.purchased",
            "0190a000-0000-7000-8000-000000000002",
            {"product_id": product, "amount": 2, "lot": {"source": "scan"}},
        )
        await assert_converged(dsn, [a, b], 3)
        set_clock(clock_a)
        await a.emit("product.updated", product, {"fields": {"name": "Name from A"}})
        await a.emit(
            "stock.consumed",
            "0190a000-0000-7000-8000-000000000001",
            {"product_id": product, "lots": [{"lot_id": bought.entity_id, "amount": 0.5}]},
        )
        await assert_converged(dsn, [a, b], 5)

        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            name = await pool.fetchval(
                "SELECT view->>'name' FROM entities WHERE kind = 'product' AND id = $1", product
            )
            amount = await pool.fetchval(
                "SELECT view->>'amount' FROM entities WHERE kind = 'lot' AND id = $1",
                bought.entity_id,
            )
        finally:
            await pool.close()
        assert name == "Name from A"  # the causally later edit, whatever its wall clock said
        assert float(amount) == 1.5
    finally:
        await a.stop()
        await b.stop()
