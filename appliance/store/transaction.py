"""One write transaction: emit or receive events, fold them, write everything at COMMIT.

Commands run inside a transaction while holding the store's single writer lock, so what
they read cannot change under them. Nothing is visible, and nobody is told, before COMMIT.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite
import orjson

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
from appliance.store import grocy_index, merges, queries
from appliance.store.group import Group, GroupFailed
from appliance.store.projection import TABLES, UPSERTS, LotNames, dumps, row_of
from appliance.store.sql import run_in_thread

T = TypeVar("T")
_SAVEPOINTS = itertools.count(1)
_COUNTERS_SQL = "SELECT key, value FROM meta WHERE key IN ('seq', 'lamport')"


@dataclass(frozen=True, slots=True)
class Executed:
    """What a statement run through ``WriteTx.conn`` left behind."""

    rowcount: int
    rows: list[Any]


class TxConnection:
    """``tx.conn``: run a statement inside the transaction (its BEGIN in the same call)."""

    def __init__(self, tx: WriteTx) -> None:
        self._tx = tx

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Executed:
        """Run one statement; returns its row count and rows."""
        values = tuple(params)

        def work(c: sqlite3.Connection) -> Executed:
            cursor = c.execute(sql, values)
            return Executed(cursor.rowcount, cursor.fetchall())

        return await self._tx.run(work)


class WriteTx:
    """A unit of work on the writer connection.

    Its BEGIN is not a call of its own: it goes to SQLite with the transaction's first read
    or write, whichever comes first (one round trip between threads fewer per transaction),
    and a transaction that touched nothing costs no call at all. With it go the writes of
    the transactions of its group that ended before it (see ``appliance.store.group``).
    """

    def __init__(
        self,
        writer: aiosqlite.Connection,
        node_id: str,
        counters: tuple[int, int] | None,
        group: Group,
    ) -> None:
        self.writer = writer
        self.group = group
        self.conn = TxConnection(self)
        self.node_id = node_id
        # (seq, lamport) as last committed; None: read with the first call (after a failure).
        self._counters_known = counters is not None
        self.seq, self.lamport = counters or (0, 0)
        #: A call went (or may have gone) to SQLite: it must end in COMMIT or ROLLBACK.
        self.begun = False
        #: Joining an open group, its statements come after this SAVEPOINT (undone alone).
        self.savepoint: str | None = None
        # Set on the writer's thread: the SAVEPOINT was taken; the COMMIT went through.
        self.savepoint_open = False
        self.durable = False
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
        #: Whether any product is merged; the store shares one between its transactions.
        self.merges = merges.MergesSeen()
        self._deficits: dict[str, bool] = {}  # product -> a lot below zero, as committed
        # Products that had no row when this transaction first read them: no barcode row can
        # name them yet, so writing theirs needs no DELETE first (a new barcode's scan).
        self._unstored: set[str] = set()
        # Products that had no lot when this transaction read them (as committed): lots this
        # transaction writes take their names from its own states, none other has to follow.
        self._lotless: set[str] = set()

    # --- reading ---------------------------------------------------------------------------

    async def load(self, kind: Kind, ids: list[str]) -> dict[str, Entity | None]:
        """Return the current states of ``ids`` (None where unknown), from cache or DB."""
        missing = [i for i in dict.fromkeys(ids) if (kind, i) not in self._cache]
        if missing:
            marks = ",".join("?" * len(missing))
            sql = f"SELECT id, state FROM {TABLES[kind]} WHERE id IN ({marks})"
            found = {
                row[0]: entity_from_json(kind, row[0], orjson.loads(row[1]))
                for row in await self.fetch(sql, tuple(missing))
            }
            for entity_id in missing:
                self._cache[(kind, entity_id)] = state = found.get(entity_id)
                if state is None and kind == "product":
                    self._unstored.add(entity_id)
        return {i: self._cache[(kind, i)] for i in ids}

    async def product_by_code(
        self, code: str, *, fallback_id: str | None = None, locations: Iterable[str] = ()
    ) -> str | None:
        """The live product with this barcode (as committed before this transaction); its
        state comes in the same round trip, unless this transaction holds it already.

        In that same round trip (a scan's one read): without a live product, the state of
        ``fallback_id`` (the product a scan would create); and the states of ``locations``
        and of the product's default location (where a scan puts new stock).
        """
        wanted = [i for i in dict.fromkeys(locations) if ("location", i) not in self._cache]

        def work(c: sqlite3.Connection) -> tuple[Any, Any, list[Any]]:
            found = c.execute(queries.PRODUCT_BY_CODE, (code,)).fetchone()
            fallback = None
            if found is None and fallback_id is not None:
                # Its lots may be below zero even while the product is unknown here (a
                # consume from another node can arrive before the product does).
                # And whether it has lots at all: a product created with none needs no
                # rename of its lots' names at COMMIT.
                fallback = c.execute(
                    "SELECT ?, (SELECT state FROM products WHERE id = ?), coalesce((SELECT"
                    " negative FROM product_stock WHERE product_id = ?), 0) > 0,"
                    " EXISTS (SELECT 1 FROM lots WHERE product_id = ?)",
                    (fallback_id, fallback_id, fallback_id, fallback_id),
                ).fetchone()
            places = list(wanted)
            if found is not None and found[2] and found[2] not in places:
                places.append(found[2])
            rows: list[Any] = []
            if places:
                marks = ",".join("?" * len(places))
                sql = f"SELECT id, state FROM locations WHERE id IN ({marks})"
                rows = c.execute(sql, places).fetchall()
                rows += [(i, None) for i in set(places) - {row[0] for row in rows}]
            return found, fallback, rows

        found, fallback, places = await self.run(work)
        for location_id, state in places:
            self._remember("location", location_id, state)
        if found is None:
            if fallback is not None:
                if ("product", fallback_id) not in self._cache:
                    self._deficits[fallback[0]] = bool(fallback[2])
                    if not fallback[3]:
                        self._lotless.add(fallback[0])
                self._remember("product", fallback[0], fallback[1])
            return None
        if ("product", found[0]) not in self._cache:
            self._deficits[found[0]] = bool(found[3])
        self._remember("product", found[0], found[1])
        return str(found[0])

    def _remember(self, kind: Kind, entity_id: str, state: str | None) -> None:
        """Cache a state read in this transaction, unless it holds a newer one already."""
        key: EntityKey = (kind, entity_id)
        if key not in self._cache:
            if state is None:
                self._cache[key] = None
                if kind == "product":
                    self._unstored.add(entity_id)
            else:
                self._cache[key] = entity_from_json(kind, entity_id, orjson.loads(state))

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
        view = entity.view()  # a new dict: what the reader would give, without a JSON trip
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
        """Run a read query on the writer connection (sees this transaction's writes)."""
        return await self.run(lambda c: c.execute(sql, params).fetchall())

    async def run(self, work: Callable[[sqlite3.Connection], T], *, final: bool = False) -> T:
        """Run ``work`` on the writer's thread inside this transaction, in one call.

        Before ``work``, the same call sends what is due: BEGIN when no transaction is open,
        the writes of the group's transactions that ended before this one, this
        transaction's SAVEPOINT when it joins a group (not in the ``final`` call, whose
        COMMIT follows at once), and the counters when they are unknown.
        """
        group = self.group
        begin = not group.open
        pending = group.take_pending()
        first = not self.begun
        if first and not final and (group.open or pending):
            self.savepoint = f"tx{next(_SAVEPOINTS)}"
        savepoint = self.savepoint if first else None
        counters = not self._counters_known
        # Set before the call: a cancel may land while it runs on the thread anyway.
        self.begun = group.open = True

        def job(c: sqlite3.Connection) -> tuple[dict[str, str] | None, T]:
            if begin:
                c.execute("BEGIN IMMEDIATE")
            for earlier in pending:
                try:
                    earlier.write_all(c)
                except Exception as exc:
                    raise GroupFailed(f"an earlier transaction's writes failed: {exc}") from exc
            if savepoint is not None:
                c.execute(f"SAVEPOINT {savepoint}")
                self.savepoint_open = True
            meta = dict(c.execute(_COUNTERS_SQL).fetchall()) if counters else None
            return meta, work(c)

        try:
            meta, result = await run_in_thread(self.writer, job)
        except GroupFailed:
            group.broken = True
            raise
        if meta is not None and not self._counters_known:
            self.seq, self.lamport = int(meta.get("seq", 0)), int(meta.get("lamport", 0))
            self._counters_known = True
        return result

    @property
    def counters(self) -> tuple[int, int] | None:
        """(seq, lamport) as this transaction leaves them; None when it never learnt them."""
        return (self.seq, self.lamport) if self._counters_known else None

    async def _know_counters(self) -> None:
        """Read the sequence and Lamport counters if this transaction does not hold them."""
        if not self._counters_known:
            await self.run(lambda c: None)

    # --- writing ---------------------------------------------------------------------------

    async def emit(
        self, event_type: str, entity_id: str, data: dict[str, Any], *, fresh: bool = False
    ) -> Event:
        """Create a new event of this node, validate it and fold it into the projection.

        ``fresh``: ``entity_id`` was generated just now (``new_id()``), so no state of it can
        exist and it is not looked up (one SQLite round trip fewer on the scan path).
        """
        ev.validate_data(event_type, data)
        await self._know_counters()
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
        await self._know_counters()
        ids = [e.event_id for e in events]
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self.fetch(
                f"SELECT event_id FROM events WHERE event_id IN ({marks})", tuple(chunk)
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

        await self._know_counters()
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

    @property
    def has_writes(self) -> bool:
        """Anything for ``write_all`` to send."""
        return bool(self.applied or self._dirty or self._vector or self._later)

    async def commit(self) -> None:
        """Write events, projection, outbox, counters and queued bookkeeping, read the touched
        products' totals, and COMMIT (this and what the group's earlier members wrote).

        All of it is one call on the writer's thread: each awaited aiosqlite call costs a
        round trip between threads, and this runs while the write lock is held.
        """
        if self.group.broken:
            raise GroupFailed("an earlier transaction of this group failed to write")
        if not (self.begun or self.has_writes or self.group.unfinished):
            return  # nothing was read or written: no BEGIN went out, nothing to end

        def job(c: sqlite3.Connection) -> None:
            self.write_all(c)
            c.execute("COMMIT")
            self.durable = True

        await self.run(job, final=True)

    def write_all(self, c: sqlite3.Connection) -> None:
        """The writes of this transaction, on the writer's thread (COMMIT is not among them)."""
        if self.applied or self._dirty or self._vector:
            self.lot_names = self._write(c)
        for sql, params in self._later:
            c.execute(sql, params)
        if self.applied:
            self.product_totals = self._product_totals(c)

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
        # The sums the lots' triggers keep (migration 13), as this transaction leaves them.
        sql = f"""SELECT p.id, p.name, p.unit, coalesce(s.total, 0), coalesce(s.negative, 0) > 0
                  FROM products p LEFT JOIN product_stock s ON s.product_id = p.id
                  WHERE p.id IN ({marks})"""
        totals = {}
        for row in c.execute(sql, sorted(ids)):
            totals[row[0]] = (row[1], row[2], int(row[3]))
            self.product_recount[row[0]] = bool(row[4])
        return totals

    def _write(self, c: sqlite3.Connection) -> dict[str, LotNames]:
        """The writes of ``commit``, on the writer's thread; returns the lots' names."""
        # Each event's data is serialised once, for its row and for its outbox payload.
        data_json = {e.event_id: dumps(e.data) for e in self.applied}
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
                    data_json[e.event_id],
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
        grocy_index.record(c, self._dirty.values())
        self._rename_in_lots(c)
        products = [e for (k, _), e in self._dirty.items() if k == "product"]
        if products:
            c.executemany(
                "DELETE FROM barcodes WHERE product_id = ?",
                [(p.id,) for p in products if p.id not in self._unstored],
            )
            c.executemany(
                "INSERT OR IGNORE INTO barcodes VALUES (?, ?)",
                [(code, p.id) for p in products for code in p.view()["barcodes"]],
            )
        # Merged products: what names them reads as their survivor (see store/merges.py).
        self.merges.present = merges.refresh(
            c,
            {
                p.id: merged
                for p in products
                if isinstance(p, ProductState) and (merged := p.fields.get("merged_into"))
            },
            known=self.merges.present,
        )
        if self._own:
            c.executemany(
                "INSERT INTO outbox (seq, event_id, payload) VALUES (?,?,?)",
                [(e.seq, e.event_id, _payload(e, data_json[e.event_id])) for e in self._own],
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
            if isinstance(entity, ProductState)
            and entity.fields.values
            and entity.id not in self._lotless
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


def _payload(event: Event, data_json: str) -> str:
    """``dumps(event.to_dict())`` around data already serialised: ``data`` sorts first."""
    envelope = event.to_dict()
    del envelope["data"]
    return '{"data":' + data_json + "," + dumps(envelope)[1:]
