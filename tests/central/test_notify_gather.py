"""What the rules read from PostgreSQL: the household's lots, products and receipts
through the shared queries, and node presence on central's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg

from central.db.store import EventStore
from central.notify.gather import gather, node_presence
from central.notify.rules import findings
from central.notify.settings import NotifySettings
from tests.central.household_data import Household, build

TODAY = date(2026, 12, 1)
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOPIC = "kitchen/v1/home/node/x/events"


async def test_a_repeated_status_does_not_restart_the_offline_clock(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.set_node_status("pantry", "offline")
    await pool.execute("UPDATE nodes SET changed_at = changed_at - interval '2 hours'")
    (before,) = await node_presence(pool)
    # Central restarts and reads the retained "offline" again; the node also sends a batch.
    await store.set_node_status("pantry", "offline")
    (after,) = await node_presence(pool)
    assert not after.online and after.since == before.since
    await store.set_node_status("pantry", "online")
    (back,) = await node_presence(pool)
    assert back.online and back.since is not None and before.since is not None
    assert back.since > before.since


async def test_a_node_first_heard_through_a_batch_counts_as_online_from_then(
    pool: asyncpg.Pool,
) -> None:
    await EventStore(pool).touch_node("cellar")
    (cellar,) = await node_presence(pool)
    assert cellar.online and cellar.since is not None


async def _seed(pool: asyncpg.Pool, seed: int, today: date) -> Household:
    h = build(seed, today)
    store = EventStore(pool)
    for start in range(0, len(h.events), 25):
        await store.commit(h.events[start : start + 25], TOPIC)
    return h


async def test_the_rules_see_what_the_household_holds(pool: asyncpg.Pool) -> None:
    h = await _seed(pool, 7, TODAY)
    facts = await gather(pool, NOON, NotifySettings())
    assert facts.horizon_days == h.horizon
    found = findings(NotifySettings(), facts, NOON)
    lots = h.live_lots()
    assert {i.data["lot_id"] for i in found["expiring"]} == {
        k for k, v in lots.items() if h.state(v) == "due_soon"
    }
    assert {i.data["lot_id"]: i.data["state"] for i in found["expired"]} == {
        k: h.state(v) for k, v in lots.items() if h.state(v) in ("expired", "overdue")
    }
    assert len(found["below_min"]) == h.counts()["below_min"]
    # the settings' own horizon replaces the household's
    wide = NotifySettings(horizon_days=30)
    found_wide = findings(wide, await gather(pool, NOON, wide), NOON)
    assert len(found_wide["expiring"]) >= len(found["expiring"])


async def test_a_receipt_waiting_for_review_is_a_fact(pool: asyncpg.Pool) -> None:
    await pool.execute(
        """INSERT INTO receipts (id, origin, status, draft)
           VALUES ('0190d6a4-0000-7000-8000-000000000001', 'node-a', 'completed',
                   '{"merchant": "REWE", "total": "23.4"}')"""
    )
    facts = await gather(pool, NOON, NotifySettings())
    (receipt,) = facts.receipts
    assert (receipt.shop, receipt.total) == ("REWE", "23.40")
    (item,) = findings(NotifySettings(), facts, NOON)["receipt_review"]
    assert item.text == "Receipt from REWE (23.40) is ready for review"
