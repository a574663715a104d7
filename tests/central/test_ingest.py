"""Central's gate on the real PostgreSQL: commit, ack, dead letter, quarantine, idempotency."""

from __future__ import annotations

import json

import asyncpg

from appliance.core.fold import Household
from appliance.sync.protocol import Batch, Topics
from central.db import queries
from central.db.store import EventStore
from central.ingest import ingest
from tests.fakes.events import EventFactory

TOPICS = Topics("home")
LIMITS = {"max_bytes": 64 * 1024, "max_events": 500}


async def _send(store: EventStore, node: str, payload: bytes, topic_node: str | None = None):
    topic = TOPICS.events(topic_node or node)
    return await ingest(store, topic, topic_node or node, payload, **LIMITS)


def _batch(events, batch_id: str = "b1") -> bytes:
    return Batch(batch_id, [e.to_dict() if hasattr(e, "to_dict") else e for e in events]).to_bytes()


async def test_batch_is_committed_folded_and_acked(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    node = EventFactory("node-a")
    events = node.scans(10)

    outcome = await _send(store, "node-a", _batch(events))

    assert outcome.ack is not None
    assert outcome.ack.batch_id == "b1"
    assert outcome.ack.accepted == [e.event_id for e in events]
    assert outcome.ack.rejected == []
    assert [e.event_id for e in outcome.to_fan_out] == [e.event_id for e in events]
    reference = Household()
    reference.apply_all(events)
    digest, _, count = await queries.checksum(pool)
    assert count == 10
    from appliance.core.checksum import state_checksum

    expected = state_checksum((k, i, s.to_json()) for (k, i), s in reference.entities.items())
    assert digest == expected


async def test_resend_is_acked_again_without_a_second_row(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    events = EventFactory("node-a").scans(5)
    await _send(store, "node-a", _batch(events))
    before = await queries.checksum(pool)

    again = await _send(store, "node-a", _batch(events[2:] + events[:2], "b2"))

    assert sorted(again.ack.accepted) == sorted(e.event_id for e in events)
    assert again.commit.new == []
    assert len(again.commit.duplicates) == 5
    assert await queries.checksum(pool) == before


async def test_reused_id_with_other_payload_is_quarantined(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    node = EventFactory("node-a")
    first = node.product("Milk")
    await _send(store, "node-a", _batch([first]))
    forged = first.to_dict()
    forged["data"] = {"fields": {"name": "Not milk"}}
    reused_seq = node.product("Butter").to_dict()
    reused_seq["seq"] = first.seq

    outcome = await _send(store, "node-a", _batch([forged, reused_seq], "b2"))

    assert outcome.ack.accepted == []
    reasons = dict(outcome.ack.rejected)
    assert "different payload" in reasons[first.event_id]
    assert "already used" in reasons[reused_seq["event_id"]]
    rows = await pool.fetch("SELECT event_id, reason, existing FROM quarantine ORDER BY id")
    assert [r["event_id"] for r in rows] == [first.event_id, reused_seq["event_id"]]
    assert json.loads(rows[0]["existing"])["data"] == first.data
    assert await pool.fetchval("SELECT count(*) FROM events") == 1
    view = await pool.fetchval("SELECT view->>'name' FROM entities WHERE kind = 'product'")
    assert view == "Milk"


async def test_bad_input_goes_to_dead_letter_with_a_reason(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    node = EventFactory("node-a")
    good = node.product("Milk")
    other_origin = EventFactory("node-b").product("Tea").to_dict()
    bad_schema = node.product("Eggs").to_dict()
    bad_schema["data"] = {"fields": {"name": 42}}
    future_version = node.product("Bread").to_dict()
    future_version["v"] = 2

    outcome = await _send(store, "node-a", _batch([good, other_origin, bad_schema, future_version]))
    malformed = await _send(store, "node-a", b'{"v": 1, "batch_id": "x", "events": [')
    unknown_protocol = await _send(store, "node-a", b'{"v": 9, "batch_id": "b9", "events": []}')
    oversized = await _send(store, "node-a", b" " * (LIMITS["max_bytes"] + 1))
    deep = await _send(
        store, "node-a", b'{"v": 1, "batch_id": "d", "events": [' + b"[" * 30_000 + b"]}"
    )

    assert outcome.ack.accepted == [good.event_id]
    reasons = dict(outcome.ack.rejected)
    assert "does not match the node topic" in reasons[other_origin["event_id"]]
    assert "name" in reasons[bad_schema["event_id"]]
    assert "schema version" in reasons[future_version["event_id"]]
    assert malformed.ack is None
    assert unknown_protocol.ack is not None and unknown_protocol.ack.accepted == []
    assert oversized.ack is None
    assert deep.ack is None  # nothing in it can be trusted, not even its ids
    rows = await pool.fetch("SELECT reason, size FROM dead_letter ORDER BY id")
    joined = " | ".join(r["reason"] for r in rows)
    for needle in (
        "does not match",
        "name",
        "schema version",
        "malformed JSON",
        "version 9",
        "nested deeper than 32",
    ):
        assert needle in joined
    assert any(r["reason"].startswith("oversized") for r in rows)
    assert await pool.fetchval("SELECT count(*) FROM events") == 1


async def test_central_events_have_a_gap_free_sequence(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    node = EventFactory("node-a")
    product = node.product("Milk", needs_enrichment=True)
    await _send(store, "node-a", _batch([product]))

    assert await pool.fetchval("SELECT count(*) FROM enrich_jobs") == 1
    emitted = [
        await store.emit_central(
            "product.updated", product.entity_id, {"fields": {"brand": f"B{i}"}}
        )
        for i in range(3)
    ]

    assert [e.seq for e in emitted] == [1, 2, 3]
    assert all(e.lamport > product.lamport for e in emitted)
    brand = await pool.fetchval("SELECT view->>'brand' FROM entities WHERE kind = 'product'")
    assert brand == "B2"
