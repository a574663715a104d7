"""Catch-up is complete even when writers commit out of sequence order.

The walk is keyed on (origin, seq) above the node's version vector; a cursor over a plain
sequence (``events.pos``) is shown to skip an event that commits late, the walk is not.
"""

from __future__ import annotations

import asyncio
import json
import random

import asyncpg

from appliance.core.fold import Household
from appliance.sync.protocol import SyncRequest
from central.catchup import answer
from central.db import queries
from central.db.store import EventStore, fold_into_projection
from tests.fakes.events import EventFactory


class Walker:
    """A node's side of catch-up: applies pages once, keeps a contiguous version vector."""

    def __init__(self) -> None:
        self.seen: dict[str, set[int]] = {}
        self.applied: list[str] = []
        self.household = Household()

    @property
    def vector(self) -> dict[str, int]:
        out = {}
        for origin, seqs in self.seen.items():
            top = 0
            while top + 1 in seqs:
                top += 1
            out[origin] = top
        return out

    def take(self, raw_events: list[dict]) -> None:
        from appliance.core.events import parse_event

        for raw in raw_events:
            event = parse_event(raw)
            if self.household.apply(event):
                self.applied.append(event.event_id)
                self.seen.setdefault(event.origin, set()).add(event.seq)

    async def walk(self, pool: asyncpg.Pool, page: int = 7, snapshot_ok: bool = False) -> int:
        vector = self.vector
        after = None
        pages = 0
        while True:
            response = await answer(
                pool,
                SyncRequest("r", vector, after, page, snapshot_ok=snapshot_ok),
                page_size=page,
                snapshot_threshold=10**9,
            )
            pages += 1
            self.take(response.events)
            after = response.after
            if not response.more:
                return pages


async def _insert_uncommitted(conn: asyncpg.Connection, events) -> None:
    """Insert like the store does, inside a transaction the caller holds open."""
    for event in events:
        await conn.execute(
            """INSERT INTO events (event_id, origin, seq, lamport, type, entity_id, payload)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)""",
            event.event_id,
            event.origin,
            event.seq,
            event.lamport,
            event.type,
            event.entity_id,
            json.dumps(event.to_dict()),
        )
    await fold_into_projection(conn, events)


async def test_late_commit_is_skipped_by_a_sequence_cursor_but_not_by_the_walk(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    slow, fast = EventFactory("slow"), EventFactory("fast")
    late = slow.product("Late")
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await _insert_uncommitted(conn, [late])  # takes the lower pos, commits last
        early = fast.product("Early")
        await store.commit([early], "t")
        walker = Walker()
        await walker.walk(pool)
        cursor = await pool.fetchval("SELECT max(pos) FROM events")
        await tx.commit()

    naive = await pool.fetch("SELECT event_id::text FROM events WHERE pos > $1", cursor)
    assert naive == []  # the plain sequence cursor has moved past the late event for good

    await walker.walk(pool)
    assert set(walker.applied) == {late.event_id, early.event_id}


async def test_walks_during_concurrent_writers_miss_nothing(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    rng = random.Random(4)
    writers = [EventFactory(f"node-{i}") for i in range(4)]
    streams = {w.origin: w.scans(60) for w in writers}
    batches = {o: [events[i : i + 6] for i in range(0, 60, 6)] for o, events in streams.items()}
    walker = Walker()
    done = asyncio.Event()

    async def write(origin: str) -> None:
        for batch in batches[origin]:
            # Hold the transaction open a random while so that commits interleave out of order.
            async with pool.acquire() as conn, conn.transaction():
                await _insert_uncommitted(conn, batch)
                await asyncio.sleep(rng.random() * 0.02)  # ok: holds a commit open

    async def walk_repeatedly() -> int:
        walks = 0
        while not done.is_set():
            await walker.walk(pool)
            walks += 1
        return walks

    reader = asyncio.create_task(walk_repeatedly())
    await asyncio.gather(*(write(w.origin) for w in writers))
    done.set()
    walks = await reader
    await walker.walk(pool)  # the anti-entropy walk every node also does periodically

    expected = {e.event_id for b in batches.values() for batch in b for e in batch}
    assert walks > 1
    assert len(walker.applied) == len(expected) == len(set(walker.applied))
    assert set(walker.applied) == expected
    assert walker.vector == {w.origin: 60 for w in writers}
    digest, _, _ = await queries.checksum(pool)
    from appliance.core.checksum import state_checksum

    mine = state_checksum((k, i, s.to_json()) for (k, i), s in walker.household.entities.items())
    assert digest == mine
    del store


async def test_two_writers_of_central_events_keep_the_sequence_gap_free(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    node = EventFactory("node-a")
    product = node.product("Milk")
    await store.commit([product], "t")

    async def emit(i: int) -> int:
        event = await store.emit_central(
            "product.updated", product.entity_id, {"fields": {"brand": f"B{i}"}}
        )
        return event.seq

    seqs = await asyncio.gather(*(emit(i) for i in range(40)))
    assert sorted(seqs) == list(range(1, 41))
    assert await queries.contiguous_vector(pool) == {"central": 40, "node-a": 1}


async def test_snapshot_then_tail_reaches_the_same_state(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    node = EventFactory("node-a")
    events = node.scans(50)
    await store.commit(events[:30], "t")
    await store.commit(events[35:], "t")  # 31..35 still in transit: a gap in the log

    first = await answer(
        pool, SyncRequest("s", {}, snapshot_ok=True), page_size=8, snapshot_threshold=10
    )
    assert first.kind == "snapshot"
    assert first.vector == {"node-a": 30}
    states = list(first.entities)
    response = first
    while response.more:
        response = await answer(
            pool,
            SyncRequest("s", first.vector, mode="snapshot", cursor=response.cursor),
            page_size=8,
            snapshot_threshold=10,
        )
        states += response.entities
    tail = await answer(pool, SyncRequest("t", first.vector), page_size=100, snapshot_threshold=10)
    assert [e["seq"] for e in tail.events] == list(range(36, 51))
    digest, count, _ = await queries.checksum(pool)
    from appliance.core.checksum import state_checksum

    assert count == len(states)
    assert state_checksum((k, i, s) for k, i, s in states) == digest
