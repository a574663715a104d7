"""Read queries of central: catch-up pages, snapshots, the read API and the checksum.

Catch-up walks the unique (origin, seq) index with a keyset cursor while the node's version
vector stays fixed. Whether an event is returned depends only on its own key, never on the
order in which transactions committed, so no committed event can be skipped (a cursor over
``events.pos`` could: a lower pos may commit after a higher one was read).
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from appliance.core.checksum import state_checksum

_VECTOR_JOIN = """
    FROM events e
    LEFT JOIN unnest($1::text[], $2::bigint[]) AS v(origin, seq) ON v.origin = e.origin
    WHERE e.seq > coalesce(v.seq, 0)
"""


def _vector_args(vector: dict[str, int]) -> tuple[list[str], list[int]]:
    origins = sorted(vector)
    return origins, [vector[o] for o in origins]


async def events_after(
    db: asyncpg.Pool | asyncpg.Connection,
    vector: dict[str, int],
    after: tuple[str, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Events above ``vector``, ordered by (origin, seq), strictly after key ``after``."""
    origins, seqs = _vector_args(vector)
    after_origin, after_seq = after if after else ("", 0)
    rows = await db.fetch(
        f"""SELECT e.payload::text AS payload {_VECTOR_JOIN}
            AND (e.origin, e.seq) > ($3::text, $4::bigint)
            ORDER BY e.origin, e.seq LIMIT $5""",
        origins,
        seqs,
        after_origin,
        after_seq,
        limit,
    )
    return [json.loads(r["payload"]) for r in rows]


async def count_missing(
    db: asyncpg.Pool | asyncpg.Connection, vector: dict[str, int], cap: int
) -> int:
    """How many events lie above ``vector`` (counting stops at ``cap``)."""
    origins, seqs = _vector_args(vector)
    value = await db.fetchval(
        f"SELECT count(*) FROM (SELECT 1 {_VECTOR_JOIN} LIMIT $3) AS t", origins, seqs, cap
    )
    return int(value)


async def contiguous_vector(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, int]:
    """Per origin, the highest seq with every seq below it present (0 when seq 1 is missing)."""
    rows = await db.fetch(
        """SELECT origin, min(seq) AS top FROM events e
           WHERE NOT EXISTS (SELECT 1 FROM events n WHERE n.origin = e.origin AND n.seq = e.seq + 1)
           GROUP BY origin"""
    )
    firsts = {
        r["origin"]: r["first"]
        for r in await db.fetch("SELECT origin, min(seq) AS first FROM events GROUP BY origin")
    }
    return {r["origin"]: (int(r["top"]) if firsts[r["origin"]] == 1 else 0) for r in rows}


async def snapshot_page(
    db: asyncpg.Pool | asyncpg.Connection, cursor: tuple[str, str] | None, limit: int
) -> list[list[Any]]:
    """Entity states as ``[kind, id, state]`` after key ``cursor``, ordered by (kind, id)."""
    kind, entity_id = cursor if cursor else ("", "00000000-0000-0000-0000-000000000000")
    rows = await db.fetch(
        """SELECT kind, id::text AS id, state::text AS state FROM entities
           WHERE (kind, id) > ($1::text, $2::uuid) ORDER BY kind, id LIMIT $3""",
        kind,
        entity_id,
        limit,
    )
    return [[r["kind"], r["id"], json.loads(r["state"])] for r in rows]


async def checksum(db: asyncpg.Pool | asyncpg.Connection) -> tuple[str, int, int]:
    """The household state checksum, the number of entities and of events."""
    rows = await db.fetch("SELECT kind, id::text AS id, state::text AS state FROM entities")
    count = await db.fetchval("SELECT count(*) FROM events")
    return state_checksum((r["kind"], r["id"], r["state"]) for r in rows), len(rows), int(count)


async def views(
    db: asyncpg.Pool | asyncpg.Connection, kind: str, active_only: bool = True
) -> list[dict[str, Any]]:
    """The client views of one kind of entity."""
    rows = await db.fetch(
        "SELECT view::text AS view FROM entities WHERE kind = $1 AND (active OR NOT $2) "
        "ORDER BY id",
        kind,
        active_only,
    )
    return [json.loads(r["view"]) for r in rows]


async def inventory(db: asyncpg.Pool | asyncpg.Connection) -> list[dict[str, Any]]:
    """Lots in stock (or below zero), each with its product's name and unit."""
    rows = await db.fetch(
        """SELECT l.view::text AS lot, p.view->>'name' AS name, p.view->>'unit' AS unit,
                  loc.view->>'name' AS location
           FROM entities l
           LEFT JOIN entities p ON p.kind = 'product' AND p.id = (l.view->>'product_id')::uuid
           LEFT JOIN entities loc ON loc.kind = 'location'
                AND loc.id = (l.view->>'location_id')::uuid
           WHERE l.kind = 'lot' AND l.active
           ORDER BY p.view->>'name', l.id"""
    )
    items = []
    for row in rows:
        lot = json.loads(row["lot"])
        lot["product_name"] = row["name"]
        lot["unit"] = row["unit"]
        lot["location_name"] = row["location"]
        items.append(lot)
    return items


async def nodes(db: asyncpg.Pool | asyncpg.Connection) -> list[dict[str, Any]]:
    """Nodes with their presence, last contact and number of events."""
    rows = await db.fetch(
        """SELECT n.node, n.status, n.last_seen,
                  (SELECT count(*) FROM events e WHERE e.origin = n.node) AS events
           FROM nodes n ORDER BY n.node"""
    )
    return [
        {
            "node": r["node"],
            "online": r["status"] == "online",
            "status": r["status"],
            "last_seen": r["last_seen"].isoformat() if r["last_seen"] else None,
            "events": int(r["events"]),
        }
        for r in rows
    ]


async def product_for_barcode(db: asyncpg.Pool | asyncpg.Connection, barcode: str) -> str | None:
    """The id of a product listing ``barcode``, if any."""
    value = await db.fetchval(
        "SELECT id::text FROM entities WHERE kind = 'product' AND view->'barcodes' ? $1 LIMIT 1",
        barcode,
    )
    return str(value) if value is not None else None
