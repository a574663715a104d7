"""The index of Grocy's integer ids (``grocy_ids``): kept as entities are written.

Grocy clients name things by integers (``appliance.core.grocy_ids``). The integer of a key
is almost always its first candidate, derived from the key alone; this table holds what was
given, so an integer can be read back into a UUID and a collision is settled once, the same
way on every node (see ``grocy_ids.assign``). Rows are never deleted: a deleted product
keeps its number, and nothing else can take it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable

from appliance.core import grocy_ids
from appliance.core.entities import Entity, Kind, entity_from_json

log = logging.getLogger(__name__)

_INSERT = "INSERT INTO grocy_ids VALUES (?,?,?) ON CONFLICT (kind, key) DO NOTHING"
Row = tuple[grocy_ids.Kind, str, int]


def rows_for(entities: Iterable[Entity]) -> list[Row]:
    """The index rows the entities need (see ``grocy_ids.index_rows``)."""
    return grocy_ids.index_rows(entities)


def record(c: sqlite3.Connection, entities: Iterable[Entity]) -> None:
    """Index the entities written in this transaction (on the writer's thread).

    The usual case is one statement: a key already indexed is left alone, a new key takes
    its first candidate. A first candidate held by another key (the UNIQUE constraint
    says so) goes the slow way, key by key.
    """
    rows = rows_for(entities)
    if not rows:
        return
    try:
        c.executemany(_INSERT, rows)
    except sqlite3.IntegrityError:
        for kind, key, _ in rows:
            add(c, kind, key)


def add(c: sqlite3.Connection, kind: grocy_ids.Kind, key: str) -> None:
    """Index one key, settling a collision as ``grocy_ids.assign`` does."""
    if c.execute("SELECT 1 FROM grocy_ids WHERE kind = ? AND key = ?", (kind, key)).fetchone():
        return
    existing = dict(c.execute("SELECT key, int_id FROM grocy_ids WHERE kind = ?", (kind,)))
    changes = grocy_ids.add_key(kind, existing, key)
    moved = [k for k in changes if k != key]
    for other in moved:
        log.warning(
            "Grocy id %d of %s %s now belongs to %s; it moves to %d",
            existing[other], kind, other, key, changes[other],
        )  # fmt: skip
    c.executemany("DELETE FROM grocy_ids WHERE kind = ? AND key = ?", [(kind, k) for k in moved])
    c.executemany(
        "INSERT INTO grocy_ids VALUES (?,?,?)", [(kind, k, v) for k, v in changes.items()]
    )


def backfill(c: sqlite3.Connection) -> int:
    """Index every entity a database held before the index existed (migration 11).

    All keys of a kind at once (``assign``), so the result is what indexing them one by
    one would have given, in any order.
    """
    keys: dict[grocy_ids.Kind, set[str]] = {}
    for kind, table in _TABLES:
        for entity_id, state in c.execute(f"SELECT id, state FROM {table}").fetchall():
            entity = entity_from_json(kind, entity_id, json.loads(state))
            for row_kind, key, _ in rows_for([entity]):
                keys.setdefault(row_kind, set()).add(key)
    rows = [
        (kind, key, value)
        for kind, kind_keys in sorted(keys.items())
        for key, value in grocy_ids.assign(kind, kind_keys).items()
    ]
    c.executemany(_INSERT, rows)
    return len(rows)


_TABLES: tuple[tuple[Kind, str], ...] = (
    ("product", "products"),
    ("location", "locations"),
    ("lot", "lots"),
    ("shopping", "shopping"),
)
