"""What the rules read from PostgreSQL: node presence on central's clock."""

from __future__ import annotations

import asyncpg

from central.db.store import EventStore
from central.notify.gather import node_presence


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
