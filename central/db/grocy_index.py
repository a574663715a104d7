"""Central's index of Grocy's integer ids (``grocy_ids``, migration 009), kept as the fold
writes entities: the same rule as the node's (``appliance.store.grocy_index``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import asyncpg

from appliance.core import grocy_ids
from appliance.core.entities import Entity, Kind, entity_from_json

log = logging.getLogger(__name__)

#: One advisory lock for settling collisions (rare), so two ingest transactions settle
#: them one after the other.
_LOCK_KEY = 0x67726379  # "grcy"


async def record(conn: asyncpg.Connection, entities: Iterable[Entity]) -> None:
    """Index written entities, in the caller's transaction.

    Usually one statement: a key indexed already stays, a new key takes its first
    candidate. Every key here belongs to one entity, whose row the fold holds locked, so
    two transactions do not insert the same key at once. ``ON CONFLICT DO NOTHING`` covers
    the integer's unique constraint too (an error would abort the ingest transaction);
    keys it left out collided, and are settled one by one.
    """
    # Quantity units are shared by products: a row for one would make unrelated ingest
    # transactions wait on each other, so central derives them when it reads (``units``).
    rows = [r for r in grocy_ids.index_rows(entities) if r[0] != "quantity_unit"]
    if not rows:
        return
    kinds, keys, values = ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    await conn.execute(
        """INSERT INTO grocy_ids (kind, key, int_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ORDER BY 1, 2
           ON CONFLICT DO NOTHING""",
        kinds,
        keys,
        values,
    )
    missing = await conn.fetch(
        """SELECT t.kind, t.key FROM unnest($1::text[], $2::text[]) AS t(kind, key)
           WHERE NOT EXISTS (SELECT 1 FROM grocy_ids g WHERE g.kind = t.kind AND g.key = t.key)""",
        kinds,
        keys,
    )
    if missing:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        for row in missing:
            await _add(conn, row["kind"], row["key"])


async def _add(conn: asyncpg.Connection, kind: grocy_ids.Kind, key: str) -> None:
    existing = {
        r["key"]: int(r["int_id"])
        for r in await conn.fetch("SELECT key, int_id FROM grocy_ids WHERE kind = $1", kind)
    }
    changes = grocy_ids.add_key(kind, existing, key)
    moved = [k for k in changes if k != key]
    for other in moved:
        log.warning(
            "Grocy id %d of %s %s now belongs to %s; it moves to %d",
            existing[other], kind, other, key, changes[other],
        )  # fmt: skip
    await conn.execute(
        "DELETE FROM grocy_ids WHERE kind = $1 AND key = ANY($2::text[])", kind, moved
    )
    await conn.executemany(
        "INSERT INTO grocy_ids (kind, key, int_id) VALUES ($1, $2, $3)",
        [(kind, k, v) for k, v in changes.items()],
    )


_KINDS: tuple[Kind, ...] = ("product", "location", "lot", "shopping")


async def backfill(conn: asyncpg.Connection) -> int:
    """Index the entities a household had before migration 009 (all keys of a kind at once,
    which gives what indexing them one by one in any order would)."""
    keys: dict[grocy_ids.Kind, set[str]] = {}
    rows = await conn.fetch(
        "SELECT kind, id::text AS id, state::text AS state FROM entities"
        " WHERE kind = ANY($1::text[]) AND state <> 'null'::jsonb",
        list(_KINDS),
    )
    for row in rows:
        entity = entity_from_json(row["kind"], row["id"], json.loads(row["state"]))
        for kind, key, _ in grocy_ids.index_rows([entity]):
            if kind != "quantity_unit":
                keys.setdefault(kind, set()).add(key)
    values = [
        (kind, key, value)
        for kind, kind_keys in sorted(keys.items())
        for key, value in grocy_ids.assign(kind, kind_keys).items()
    ]
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO grocy_ids (kind, key, int_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            values,
        )
    return len(values)


async def units(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, int]:
    """The integer ids of the household's unit names: the order-free assignment over every
    unit any product has had, which is what the nodes' index holds for them."""
    rows = await db.fetch(
        "SELECT DISTINCT view->>'unit' AS unit FROM entities"
        " WHERE kind = 'product' AND view->>'unit' IS NOT NULL"
    )
    keys = {grocy_ids.unit_key(str(row["unit"])) for row in rows} | {"piece"}
    return grocy_ids.assign("quantity_unit", keys)
