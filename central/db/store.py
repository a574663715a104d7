"""The event store on PostgreSQL: idempotent inserts, quarantine and the folded projection.

One transaction per batch writes the new events (``ON CONFLICT DO NOTHING`` on the event id
and on (origin, seq)), quarantines reused ids with a different payload, and folds the new
events into ``entities`` with the same ``apply_event`` the nodes use. Touched entity rows are
created and locked in (kind, id) order so concurrent batches (two central processes, several
workers) serialise per entity without deadlocking.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.entities import Entity, Kind, LotState, ShoppingState, entity_from_json
from appliance.core.events import Event, parse_event
from appliance.core.fold import EntityKey, apply_event, touched
from appliance.core.ids import new_id
from appliance.core.messages import utc_timestamp
from appliance.sync.protocol import CENTRAL_ORIGIN
from central.db import grocy_index, stock_rows

log = logging.getLogger(__name__)

_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


@dataclass(slots=True)
class Rejection:
    """An event refused at the gate: dead-lettered (``quarantine=False``) or quarantined."""

    event_id: str | None
    reason: str
    raw: Any
    quarantine: bool = False
    existing: Any = None


@dataclass(slots=True)
class CommitResult:
    """What one batch transaction did."""

    new: list[Event] = field(default_factory=list)
    duplicates: list[Event] = field(default_factory=list)
    quarantined: list[Rejection] = field(default_factory=list)

    @property
    def accepted_ids(self) -> list[str]:
        """Ids now in PostgreSQL with exactly the payload that was sent."""
        return [e.event_id for e in self.new] + [e.event_id for e in self.duplicates]


def is_active(entity: Entity) -> bool:
    """Whether an entity belongs in the read API's lists."""
    if isinstance(entity, LotState):
        return entity.active
    if isinstance(entity, ShoppingState):
        return entity.present
    return not entity.deleted


class EventStore:
    """Writes of central: events, projection, quarantine, dead letter, presence."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def commit(self, events: Sequence[Event], topic: str) -> CommitResult:
        """Store a batch of valid events in one transaction; retried on a deadlock."""
        for attempt in range(5):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await self._commit(conn, events, topic)
            except _RETRYABLE as exc:
                log.info("batch transaction retried after %s (attempt %d)", exc, attempt + 1)
                await asyncio.sleep(0.01 * (attempt + 1))
        async with self.pool.acquire() as conn, conn.transaction():
            return await self._commit(conn, events, topic)

    async def _commit(
        self, conn: asyncpg.Connection, events: Sequence[Event], topic: str
    ) -> CommitResult:
        result = CommitResult()
        unique: dict[str, Event] = {}
        for event in events:
            first = unique.setdefault(event.event_id, event)
            if first is not event and first.to_dict() != event.to_dict():
                result.quarantined.append(
                    Rejection(
                        event.event_id,
                        "event id repeated in the batch with a different payload",
                        event.to_dict(),
                        quarantine=True,
                        existing=first.to_dict(),
                    )
                )
        batch = list(unique.values())
        inserted = await _insert_events(conn, batch)
        for event in batch:
            if event.event_id in inserted:
                result.new.append(event)
        await self._sort_conflicts(conn, [e for e in batch if e.event_id not in inserted], result)
        if result.quarantined:
            await _quarantine(conn, topic, result.quarantined)
        if result.new:
            await fold_into_projection(conn, result.new)
            await _queue_enrichment(conn, result.new)
        return result

    async def _sort_conflicts(
        self, conn: asyncpg.Connection, conflicts: list[Event], result: CommitResult
    ) -> None:
        """Tell an exact duplicate (fine) from a reused id or seq (quarantined)."""
        if not conflicts:
            return
        rows = await conn.fetch(
            """SELECT event_id::text AS event_id, origin, seq, payload::text AS payload
               FROM events WHERE event_id = ANY($1::uuid[])
                  OR (origin, seq) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))""",
            [e.event_id for e in conflicts],
            [e.origin for e in conflicts],
            [e.seq for e in conflicts],
        )
        by_id = {r["event_id"]: r for r in rows}
        by_key = {(r["origin"], r["seq"]): r for r in rows}
        for event in conflicts:
            row = by_id.get(event.event_id)
            if row is not None:
                existing = json.loads(row["payload"])
                if existing == event.to_dict():
                    result.duplicates.append(event)
                    continue
                reason = "event id reused with a different payload"
            else:
                row = by_key.get((event.origin, event.seq))
                if row is None:  # cannot happen: the insert conflicted on something
                    raise RuntimeError(f"insert of {event.event_id} conflicted on nothing")
                existing = json.loads(row["payload"])
                reason = f"seq {event.seq} of {event.origin} already used by {row['event_id']}"
            result.quarantined.append(
                Rejection(event.event_id, reason, event.to_dict(), True, existing)
            )

    async def emit_central(self, event_type: str, entity_id: str, data: dict[str, Any]) -> Event:
        """Create, store and fold an event of central's own (origin ``central``)."""
        async with self.pool.acquire() as conn, conn.transaction():
            # The counter row lock serialises central's writers and keeps the seq gap-free:
            # a rolled-back transaction rolls its number back too.
            seq = await conn.fetchval(
                "UPDATE origin_counters SET seq = seq + 1 WHERE origin = $1 RETURNING seq",
                CENTRAL_ORIGIN,
            )
            lamport = await conn.fetchval("SELECT coalesce(max(lamport), 0) + 1 FROM events")
            event = parse_event(
                Event(
                    event_id=new_id(),
                    origin=CENTRAL_ORIGIN,
                    seq=seq,
                    lamport=lamport,
                    type=event_type,
                    entity_id=entity_id,
                    data=data,
                    timestamp=utc_timestamp(),
                ).to_dict()
            )
            await _insert_events(conn, [event])
            await fold_into_projection(conn, [event])
            return event

    async def dead_letter(
        self, topic: str, reason: str, raw: bytes, event_id: str | None = None, keep: int = 65536
    ) -> None:
        """Record a message or event that was refused (the raw bytes truncated to ``keep``)."""
        await self.pool.execute(
            "INSERT INTO dead_letter (topic, reason, event_id, raw, size) VALUES ($1,$2,$3,$4,$5)",
            topic,
            reason[:1000],
            event_id if isinstance(event_id, str) and len(event_id) <= 100 else None,
            raw[:keep],
            len(raw),
        )

    async def set_node_status(self, node: str, status: str) -> bool:
        """Record a node's presence; return whether it changed."""
        previous = await self.pool.fetchval("SELECT status FROM nodes WHERE node = $1", node)
        await self.pool.execute(
            """INSERT INTO nodes (node, status, last_seen, updated_at) VALUES ($1, $2, now(), now())
               ON CONFLICT (node) DO UPDATE
               SET status = EXCLUDED.status, last_seen = now(), updated_at = now()""",
            node,
            status,
        )
        return bool(previous != status)

    async def touch_node(self, node: str) -> None:
        """A node was heard from (it sent a batch or a request)."""
        await self.pool.execute(
            """INSERT INTO nodes (node, status, last_seen) VALUES ($1, 'online', now())
               ON CONFLICT (node) DO UPDATE SET last_seen = now()""",
            node,
        )


#: An event central makes itself: (event id, type, entity id, data).
OwnEvent = tuple[str, str, str, dict[str, Any]]


async def emit_own(conn: asyncpg.Connection, specs: Sequence[OwnEvent]) -> list[Event]:
    """Store and fold events of central's own (origin ``central``) in ``conn``'s transaction.

    Each gets the next number of central's gap-free seq (the counter row's lock serialises
    central's writers; a rolled-back transaction rolls its numbers back too) and a Lamport
    clock above every event stored. Ids already stored are skipped, so a retried request
    does not leave a hole in the seq. Returns the new events, to publish after COMMIT.
    """
    if not specs:
        return []
    existing = {
        r["id"]
        for r in await conn.fetch(
            "SELECT event_id::text AS id FROM events WHERE event_id = ANY($1::uuid[])",
            [s[0] for s in specs],
        )
    }
    fresh = [s for s in specs if s[0] not in existing]
    if not fresh:
        return []
    last = await conn.fetchval(
        "UPDATE origin_counters SET seq = seq + $2 WHERE origin = $1 RETURNING seq",
        CENTRAL_ORIGIN,
        len(fresh),
    )
    lamport = await conn.fetchval("SELECT coalesce(max(lamport), 0) + 1 FROM events")
    stamp = utc_timestamp()
    events = [
        parse_event(
            Event(
                event_id=event_id,
                origin=CENTRAL_ORIGIN,
                seq=last - len(fresh) + 1 + n,
                lamport=lamport + n,
                type=event_type,
                entity_id=entity_id,
                data=data,
                timestamp=stamp,
            ).to_dict()
        )
        for n, (event_id, event_type, entity_id, data) in enumerate(fresh)
    ]
    await _insert_events(conn, events)
    await fold_into_projection(conn, events)
    return events


async def _insert_events(conn: asyncpg.Connection, events: Sequence[Event]) -> set[str]:
    if not events:
        return set()
    rows = await conn.fetch(
        """INSERT INTO events (event_id, origin, seq, lamport, type, entity_id, payload)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                                $6::uuid[], $7::jsonb[])
           ON CONFLICT DO NOTHING
           RETURNING event_id::text""",
        [e.event_id for e in events],
        [e.origin for e in events],
        [e.seq for e in events],
        [e.lamport for e in events],
        [e.type for e in events],
        [e.entity_id for e in events],
        [json.dumps(e.to_dict(), ensure_ascii=False) for e in events],
    )
    return {r["event_id"] for r in rows}


async def fold_into_projection(conn: asyncpg.Connection, events: Sequence[Event]) -> None:
    """Apply new events to their entities (same fold as the nodes), rows locked in key order."""
    keys = sorted({key for event in events for key in touched(event)})
    kinds = [k for k, _ in keys]
    ids = [i for _, i in keys]
    await conn.execute(
        """INSERT INTO entities (kind, id, state, view)
           SELECT k, i, 'null', 'null' FROM unnest($1::text[], $2::uuid[]) AS t(k, i)
           ORDER BY k, i
           ON CONFLICT DO NOTHING""",
        kinds,
        ids,
    )
    rows = await conn.fetch(
        """SELECT kind, id::text AS id, state::text AS state FROM entities
           WHERE (kind, id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))
           ORDER BY kind, id FOR UPDATE""",
        kinds,
        ids,
    )
    loaded: dict[EntityKey, Entity | None] = {}
    for row in rows:
        state = json.loads(row["state"])
        kind: Kind = row["kind"]
        loaded[(kind, row["id"])] = (
            None if state is None else entity_from_json(kind, row["id"], state)
        )
    for event in events:
        for entity in apply_event(event, lambda kind, eid: loaded.get((kind, eid))):
            loaded[(entity.kind, entity.id)] = entity
    changed = [e for e in loaded.values() if e is not None]
    await conn.execute(
        """UPDATE entities AS e
           SET state = u.state, view = u.view, active = u.active, updated_at = now()
           FROM unnest($1::text[], $2::uuid[], $3::jsonb[], $4::jsonb[], $5::bool[])
                AS u(kind, id, state, view, active)
           WHERE e.kind = u.kind AND e.id = u.id""",
        [e.kind for e in changed],
        [e.id for e in changed],
        [json.dumps(e.to_json(), ensure_ascii=False) for e in changed],
        [json.dumps(e.view(), ensure_ascii=False) for e in changed],
        [is_active(e) for e in changed],
    )
    await grocy_index.record(conn, changed)
    await stock_rows.refresh(conn, changed)
    await stock_rows.record_usage(conn, events)


async def _queue_enrichment(conn: asyncpg.Connection, events: Sequence[Event]) -> None:
    """Remember products that asked for an Open Food Facts lookup (same transaction)."""
    jobs = []
    for event in events:
        # created with an unknown barcode, or a node asking again (POST /api/products/enrich)
        wants = event.type in (ev.PRODUCT_CREATED, ev.PRODUCT_UPDATED)
        fields = event.data.get("fields", {}) if wants else {}
        barcodes = fields.get("barcodes") or []
        if fields.get("needs_enrichment") and barcodes:
            jobs.append((event.entity_id, barcodes[0]))
    if jobs:
        await conn.executemany(
            "INSERT INTO enrich_jobs (product_id, barcode) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            jobs,
        )


async def _quarantine(conn: asyncpg.Connection, topic: str, items: list[Rejection]) -> None:
    await conn.executemany(
        """INSERT INTO quarantine (event_id, origin, seq, topic, reason, payload, existing)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)""",
        [
            (
                r.event_id,
                r.raw.get("origin"),
                r.raw.get("seq"),
                topic,
                r.reason,
                json.dumps(r.raw, ensure_ascii=False),
                json.dumps(r.existing, ensure_ascii=False) if r.existing is not None else None,
            )
            for r in items
        ],
    )
