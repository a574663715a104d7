"""One write transaction: emit or receive events, fold them, write everything at COMMIT.

Commands run inside a transaction while holding the store's single writer lock, so what
they read cannot change under them. Nothing is visible, and nobody is told, before COMMIT.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

import aiosqlite

from appliance.core import events as ev
from appliance.core.amounts import from_milli
from appliance.core.entities import (
    Entity,
    Kind,
    LocationState,
    LotState,
    ProductState,
    ShoppingState,
    entity_from_json,
)
from appliance.core.events import Event
from appliance.core.fold import EntityKey, apply_event, touched
from appliance.core.ids import new_id
from appliance.core.messages import utc_timestamp
from appliance.store import merges, queries
from appliance.store.projection import TABLES, UPSERTS, LotNames, dumps, row_of
from appliance.store.sql import fetch_all, run_in_thread


class WriteTx:
    """A unit of work on the writer connection."""

    def __init__(self, conn: aiosqlite.Connection, node_id: str, seq: int, lamport: int) -> None:
        self.conn = conn
        self.node_id = node_id
        self.seq = seq
        self.lamport = lamport
        self._cache: dict[EntityKey, Entity | None] = {}
        self._dirty: dict[EntityKey, Entity] = {}
        self.applied: list[Event] = []  # own and foreign, in application order
        self._own: list[Event] = []
        # (product name, unit, location name) of each lot written, for the messages after COMMIT
        self.lot_names: dict[str, LotNames] = {}
        # Name, unit and stock (thousandths) of each product this transaction touched, read
        # just before COMMIT, for the messages sent after it.
        self.product_totals: dict[str, tuple[str | None, str, int]] = {}
        self.product_recount: dict[str, bool] = {}  # ... and whether a lot is below zero
        self._later: list[tuple[str, tuple[Any, ...]]] = []
        self._vector: dict[str, int] | None = None  # from a snapshot: progress it covers
        self.merges_present: bool | None = None  # any merged product? (None: unknown)
        self._deficits: dict[str, bool] = {}  # product -> a lot below zero, as committed

    # --- reading ---------------------------------------------------------------------------

    async def load(self, kind: Kind, ids: list[str]) -> dict[str, Entity | None]:
        """Return the current states of ``ids`` (None where unknown), from cache or DB."""
        missing = [i for i in dict.fromkeys(ids) if (kind, i) not in self._cache]
        if missing:
            marks = ",".join("?" * len(missing))
            sql = f"SELECT id, state FROM {TABLES[kind]} WHERE id IN ({marks})"
            found = {
                row[0]: entity_from_json(kind, row[0], json.loads(row[1]))
                for row in await fetch_all(self.conn, sql, missing)
            }
            for entity_id in missing:
                self._cache[(kind, entity_id)] = found.get(entity_id)
        return {i: self._cache[(kind, i)] for i in ids}

    async def product_by_code(self, code: str) -> str | None:
        """The live product with this barcode (as committed before this transaction); its
        state comes in the same round trip, unless this transaction holds it already."""
        found = await queries.product_by_code(self.conn, code)
        if found is None:
            return None
        product_id, state, deficit = found
        key: EntityKey = ("product", product_id)
        if key not in self._cache:
            self._cache[key] = entity_from_json("product", product_id, json.loads(state))
            self._deficits[product_id] = deficit
        return product_id

    def may_have_deficit(self, product_id: str) -> bool:
        """False when it is known (from the committed state this transaction started on, and
        nothing here changed its lots) that no lot of the product is below zero."""
        if self._deficits.get(product_id, True):
            return True
        return any(
            isinstance(e, LotState) and e.product_id == product_id for e in self._dirty.values()
        )

    async def get(self, kind: Kind, entity_id: str) -> Entity | None:
        """Return one entity's state or None."""
        return (await self.load(kind, [entity_id]))[entity_id]

    def product_view(self, product_id: str) -> dict[str, Any] | None:
        """After COMMIT: a product's view with its total, as committed, when this transaction
        read its total (it changed the product or its stock); else None."""
        known = self.product_totals.get(product_id)
        entity = self._cache.get(("product", product_id))
        if known is None or not isinstance(entity, ProductState):
            return None
        view: dict[str, Any] = json.loads(dumps(entity.view()))  # as the reader would give it
        view["total"] = from_milli(known[2])
        view["merged_into"] = None  # a merged product is never the one a scan changes
        view["needs_recount"] = self.product_recount.get(product_id, False)
        return view

    def later(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run a write statement with the others at COMMIT (in the same call, no round trip).

        For bookkeeping that nothing in this transaction reads back.
        """
        self._later.append((sql, params))

    async def fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run a read query on the writer connection (sees committed data only)."""
        return list(await fetch_all(self.conn, sql, params))

    # --- writing ---------------------------------------------------------------------------

    async def emit(
        self, event_type: str, entity_id: str, data: dict[str, Any], *, fresh: bool = False
    ) -> Event:
        """Create a new event of this node, validate it and fold it into the projection.

        ``fresh``: ``entity_id`` was generated just now (``new_id()``), so no state of it can
        exist and it is not looked up (one SQLite round trip fewer on the scan path).
        """
        ev.validate_data(event_type, data)
        self.seq += 1
        self.lamport += 1
        event = Event(
            event_id=new_id(),
            origin=self.node_id,
            seq=self.seq,
            lamport=self.lamport,
            type=event_type,
            entity_id=entity_id,
            data=data,
            timestamp=utc_timestamp(),
        )
        if fresh:
            for key in touched(event):
                if key[1] == entity_id:
                    self._cache.setdefault(key, None)
        await self._apply(event)
        self._own.append(event)
        return event

    async def receive(self, events: list[Event]) -> list[Event]:
        """Apply foreign events not applied before; return the new ones."""
        ids = [e.event_id for e in events]
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await fetch_all(
                self.conn, f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
            )
            known.update(row[0] for row in rows)
        known.update(e.event_id for e in self.applied)
        fresh: list[Event] = []
        for event in events:
            if event.event_id in known:
                continue
            known.add(event.event_id)
            # Lamport: our clock runs ahead of everything we have seen.
            self.lamport = max(self.lamport, event.lamport)
            await self._apply(event)
            fresh.append(event)
        return fresh

    async def merge_snapshot(self, entities: list[Any], vector: dict[str, int] | None) -> int:
        """Join entity states from central's snapshot into ours; returns how many changed.

        States are joins of event sets, so merging is safe whatever we already hold. With
        ``vector`` (the last page), our per-origin progress moves up to what it covers.
        """
        from appliance.core.merge import max_lamport, merge_json

        for kind, entity_id, state in entities:
            current = await self.get(kind, entity_id)
            merged = merge_json(
                kind, entity_id, None if current is None else current.to_json(), state
            )
            # As with received events: our clock runs ahead of every write we now hold.
            self.lamport = max(self.lamport, max_lamport(merged))
            key = (merged.kind, merged.id)
            self._cache[key] = merged
            self._dirty[key] = merged
        if vector:
            self._vector = dict(vector)
        return len(entities)

    async def _apply(self, event: Event) -> None:
        by_kind: dict[Kind, list[str]] = defaultdict(list)
        for kind, entity_id in touched(event):
            by_kind[kind].append(entity_id)
        for kind, ids in by_kind.items():
            await self.load(kind, ids)
        for entity in apply_event(event, lambda k, i: self._cache.get((k, i))):
            key = (entity.kind, entity.id)
            self._cache[key] = entity
            self._dirty[key] = entity
        self.applied.append(event)

    # --- commit ----------------------------------------------------------------------------

    @property
    def dirty(self) -> list[Entity]:
        """Entities changed in this transaction, in their final state."""
        return list(self._dirty.values())

    async def commit(self) -> None:
        """Write events, projection, outbox, counters and queued bookkeeping, read the touched
        products' totals, and COMMIT.

        All of it is one call on the writer's thread: each awaited aiosqlite call costs a
        round trip between threads, and this runs while the write lock is held.
        """
        await run_in_thread(self.conn, self._commit)

    def _commit(self, c: sqlite3.Connection) -> None:
        if self.applied or self._dirty or self._vector:
            self.lot_names = self._write(c)
        for sql, params in self._later:
            c.execute(sql, params)
        if self.applied:
            self.product_totals = self._product_totals(c)
        c.execute("COMMIT")

    def _product_totals(self, c: sqlite3.Connection) -> dict[str, tuple[str | None, str, int]]:
        """Name, unit and stock of the products the changed entities belong to."""
        ids: set[str] = set()
        for entity in self._dirty.values():
            if isinstance(entity, ProductState):
                ids.add(entity.id)
            elif isinstance(entity, LotState) and entity.product_id:
                ids.add(entity.product_id)
            elif isinstance(entity, ShoppingState) and (product_id := entity.view()["product_id"]):
                ids.add(product_id)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        sql = f"""SELECT p.id, p.name, p.unit, (SELECT coalesce(sum(amount), 0) FROM lots
                                                WHERE product_id = p.id AND active = 1),
                         EXISTS (SELECT 1 FROM lots WHERE active = 1 AND product_id = p.id
                                 AND amount < 0)
                  FROM products p WHERE p.id IN ({marks})"""
        totals = {}
        for row in c.execute(sql, sorted(ids)):
            totals[row[0]] = (row[1], row[2], int(row[3]))
            self.product_recount[row[0]] = bool(row[4])
        return totals

    def _write(self, c: sqlite3.Connection) -> dict[str, LotNames]:
        """The writes of ``commit``, on the writer's thread; returns the lots' names."""
        c.executemany(
            "INSERT INTO events (event_id, origin, seq, lamport, type, entity_id, product_id,"
            " station_id, timestamp, data) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    e.event_id,
                    e.origin,
                    e.seq,
                    e.lamport,
                    e.type,
                    e.entity_id,
                    e.data.get("product_id"),
                    e.data.get("station_id"),
                    e.timestamp,
                    dumps(e.data),
                )
                for e in self.applied
            ],
        )
        undos = [
            (e.data["target"], e.event_id) for e in self.applied if e.type == ev.JOURNAL_UNDONE
        ]
        if undos:
            c.executemany("INSERT OR IGNORE INTO undone VALUES (?,?)", undos)
        names = self._lot_names(c)
        rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for entity in self._dirty.values():
            rows[entity.kind].append(row_of(entity, names.get(entity.id)))
        for table_kind, kind_rows in rows.items():
            c.executemany(UPSERTS[table_kind], kind_rows)
        self._rename_in_lots(c)
        products = [e for (k, _), e in self._dirty.items() if k == "product"]
        if products:
            c.executemany("DELETE FROM barcodes WHERE product_id = ?", [(p.id,) for p in products])
            c.executemany(
                "INSERT OR IGNORE INTO barcodes VALUES (?, ?)",
                [(code, p.id) for p in products for code in p.view()["barcodes"]],
            )
        # Merged products: what names them reads as their survivor (see store/merges.py).
        self.merges_present = merges.refresh(
            c,
            {
                p.id: merged
                for p in products
                if isinstance(p, ProductState) and (merged := p.fields.get("merged_into"))
            },
            known=self.merges_present,
        )
        if self._own:
            c.executemany(
                "INSERT INTO outbox (seq, event_id, payload) VALUES (?,?,?)",
                [(e.seq, e.event_id, dumps(e.to_dict())) for e in self._own],
            )
        if self.applied:
            self._advance_origins(c)
        if self._vector:
            self._raise_origins(c, self._vector)
        c.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("seq", str(self.seq)), ("lamport", str(self.lamport))],
        )
        return names

    def _lot_names(self, c: sqlite3.Connection) -> dict[str, LotNames]:
        """Product and location names for the lots this transaction changed."""
        lots = [e for e in self._dirty.values() if isinstance(e, LotState)]
        if not lots:
            return {}
        # Names come from the states this transaction already holds (loaded or changed: changed
        # ones are in the cache too; a scan has loaded its product and location), and from the
        # tables only for the rest.
        products: dict[str, tuple[str, str]] = {}
        locations: dict[str, str] = {}
        for entity in self._cache.values():
            if isinstance(entity, ProductState) and entity.fields.values:
                view = entity.view()
                products[entity.id] = (view["name"], view["unit"])
            elif isinstance(entity, LocationState) and entity.fields.values:
                locations[entity.id] = entity.view()["name"]
        wanted = sorted({lot.product_id for lot in lots if lot.product_id} - set(products))
        if wanted:
            marks = ",".join("?" * len(wanted))
            sql = f"SELECT id, name, unit FROM products WHERE id IN ({marks})"
            for row in c.execute(sql, wanted):
                products[row[0]] = (row[1], row[2])
        places = {lot.attr("location_id") for lot in lots} - {None} - set(locations)
        if places:
            marks = ",".join("?" * len(places))
            sql = f"SELECT id, name FROM locations WHERE id IN ({marks})"
            for row in c.execute(sql, sorted(places)):
                locations[row[0]] = row[1]
        names: dict[str, LotNames] = {}
        for lot in lots:
            product = products.get(lot.product_id or "")
            location = lot.attr("location_id")
            names[lot.id] = (
                product[0] if product else None,
                product[1] if product else "piece",
                locations.get(location) if location else None,
            )
        return names

    def _rename_in_lots(self, c: sqlite3.Connection) -> None:
        """Products and locations changed here: their names in every lot's view follow."""
        products = [
            (view["name"], view["unit"], entity.id)
            for entity in self._dirty.values()
            if isinstance(entity, ProductState) and entity.fields.values
            for view in (entity.view(),)
        ]
        if products:
            c.executemany(
                "UPDATE lots SET view = json_set(view, '$.product_name', ?, '$.unit', ?)"
                " WHERE product_id = ?",
                products,
            )
        locations = [
            (entity.view()["name"], entity.id)
            for entity in self._dirty.values()
            if isinstance(entity, LocationState) and entity.fields.values
        ]
        if locations:
            c.executemany(
                "UPDATE lots SET view = json_set(view, '$.location_name', ?) WHERE location_id = ?",
                locations,
            )

    def _raise_origins(self, c: sqlite3.Connection, vector: dict[str, int]) -> None:
        """A snapshot covers each origin up to ``vector``: nothing below is missing any more."""
        rows = {
            row[0]: (int(row[1]), set(json.loads(row[2])))
            for row in c.execute("SELECT origin, contiguous, pending FROM origins")
        }
        updates = []
        for origin, covered in vector.items():
            contiguous, pending = rows.get(origin, (0, set()))
            contiguous = max(contiguous, int(covered))
            pending = {s for s in pending if s > contiguous}
            while contiguous + 1 in pending:
                contiguous += 1
                pending.discard(contiguous)
            updates.append((origin, contiguous, json.dumps(sorted(pending))))
        c.executemany("INSERT OR REPLACE INTO origins VALUES (?,?,?)", updates)

    def _advance_origins(self, c: sqlite3.Connection) -> None:
        """Keep, per origin, the highest seq applied with no gap below it."""
        seqs: dict[str, list[int]] = defaultdict(list)
        for e in self.applied:
            seqs[e.origin].append(e.seq)
        if list(seqs) == [self.node_id]:
            # Only our own events: our sequence never has gaps, no need to read anything.
            c.execute(
                "INSERT OR REPLACE INTO origins VALUES (?, ?, '[]')", (self.node_id, self.seq)
            )
            return
        origins = list(seqs)
        marks = ",".join("?" * len(origins))
        current = {
            row[0]: (row[1], set(json.loads(row[2])))
            for row in c.execute(
                f"SELECT origin, contiguous, pending FROM origins WHERE origin IN ({marks})",
                origins,
            )
        }
        updates = []
        for origin, new in seqs.items():
            contiguous, pending = current.get(origin, (0, set()))
            pending.update(s for s in new if s > contiguous)
            while contiguous + 1 in pending:
                contiguous += 1
                pending.discard(contiguous)
            updates.append((origin, contiguous, json.dumps(sorted(pending))))
        c.executemany("INSERT OR REPLACE INTO origins VALUES (?,?,?)", updates)
