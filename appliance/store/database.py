"""The node's SQLite database: connections, migrations, the writer lock, sync primitives.

Two connections: one writer (all writes are serialised through ``transaction()``) and one
reader, so reads never wait for a write and never see "database is locked" (WAL mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from appliance.core.events import Event, parse_event
from appliance.core.messages import utc_timestamp
from appliance.store import grocy_index
from appliance.store.group import MAX_GROUP, Group
from appliance.store.merges import MergesSeen
from appliance.store.migrations import MIGRATIONS, SCHEMA_VERSION
from appliance.store.readcache import ReadCache
from appliance.store.sql import fetch_all, run_in_thread
from appliance.store.transaction import WriteTx

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Steps in Python that complete a migration, in its transaction (by migration number).
AFTER_MIGRATION: dict[int, Callable[[sqlite3.Connection], object]] = {
    11: grocy_index.backfill,
}


class StoreError(Exception):
    """The database cannot be used (newer schema, unreadable file, ...)."""


async def _connect(path: Path, *, synchronous: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute("PRAGMA busy_timeout = 10000")
        await conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit the user was told about survives a power cut (a Pi has no UPS).
        await conn.execute(f"PRAGMA synchronous = {synchronous}")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException as exc:
        # A connection left open keeps aiosqlite's thread, and so the process, alive.
        await conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise StoreError(f"{path} is not a readable SQLite database: {exc}") from None
        raise
    return conn


class Store:
    """Owns the database file; open with ``await Store.open(path, node_id)``."""

    def __init__(
        self,
        path: Path,
        node_id: str,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
    ) -> None:
        self.path = path
        self.node_id = node_id
        self.writer = writer
        self.reader = reader
        #: The big lists' answers on the reader, until the next commit (see readcache.py).
        self.read_cache = ReadCache(reader)
        self._writer_lock = asyncio.Lock()
        #: For statements outside ``transaction()``: what a group wrote is committed first.
        self._lock = _Exclusive(self)
        self._counters: tuple[int, int] | None = None  # (seq, lamport) as last written
        self._group: Group | None = None  # transactions waiting for one COMMIT
        self._waiting = 0  # transactions waiting for the lock
        self._flusher: asyncio.Task[None] | None = None
        # Whether any product is merged (None: not looked yet): while none is, commits skip
        # re-pointing rows at survivors altogether.
        self._merges = MergesSeen()

    @classmethod
    async def open(cls, path: Path, node_id: str, *, synchronous: str = "FULL") -> Store:
        """Open (creating if needed) and migrate the database."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, synchronous=synchronous)
        try:
            await _migrate(writer, path)
            reader = await _connect(path, synchronous=synchronous)
        except BaseException:
            await writer.close()
            raise
        return cls(path, node_id, writer, reader)

    async def close(self) -> None:
        """Wait for the write in progress, then close both connections."""
        if self._flusher is not None:
            await self._flusher
        async with self._lock:
            for conn in (self.reader, self.writer):
                await conn.close()
                # close() returns once the worker thread has sent its last answer, a moment
                # before the thread ends. Joining it here (microseconds; blocking is fine at
                # shutdown) means a closed store leaves no thread behind.
                thread = getattr(conn, "_thread", None)
                if thread is not None:
                    thread.join(timeout=2)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[WriteTx]:
        """Run a unit of work; it commits when the block ends without an exception.

        It returns once its COMMIT went through, which it may share with the transactions
        queued behind it (group commit, see ``appliance.store.group``).
        """
        self._waiting += 1
        try:
            await self._writer_lock.acquire()
        except BaseException:
            self._waiting -= 1
            self._flush_soon()
            raise
        self._waiting -= 1
        durable: asyncio.Future[None] | None = None
        try:
            group = self._group = self._group or Group()
            # BEGIN goes out with the transaction's first read or write (see WriteTx.run).
            tx = WriteTx(self.writer, self.node_id, self._counters, group)
            tx.merges = self._merges
            try:
                yield tx
            except BaseException as exc:
                await self._abandon(tx, exc)
                left = self._group
                if left is not None and left.unfinished and not self._waiting:
                    # What the group's earlier members wrote is theirs: COMMIT it now.
                    try:
                        await self._finish(WriteTx(self.writer, self.node_id, self._counters, left))
                    except Exception:
                        log.exception("Could not commit the writes of a transaction group")
                raise
            if self._waiting and group.size < MAX_GROUP - 1 and not group.broken:
                # Another transaction waits: it carries these writes, the group's last COMMITs.
                durable = group.add(tx)
                self._counters = tx.counters or self._counters
            else:
                durable = await self._finish(tx)
        finally:
            self._writer_lock.release()
        if durable is not None:
            await durable

    async def _finish(self, tx: WriteTx) -> asyncio.Future[None] | None:
        """Write and COMMIT ``tx`` and its group; returns what to await to report in order."""
        group = tx.group
        try:
            await tx.commit()
        except BaseException as exc:
            await self._abandon(tx, exc)
            raise
        self._group = None
        self._counters = tx.counters or self._counters
        # The group's members ended before this one: they report first.
        last = group.add(tx) if group.size else None
        group.take_pending()
        group.committed()
        return last

    async def _abandon(self, tx: WriteTx, exc: BaseException) -> None:
        """``tx`` failed: undo its own statements, or its whole group if they cannot be told
        apart; a cancel that came while COMMIT ran on the thread finds it done."""
        if not tx.begun:
            return

        def undo(c: sqlite3.Connection) -> str:
            # Runs after the call the cancel interrupted (one queue per connection): the
            # flags that call set on the thread are final.
            if tx.durable:
                return "committed"
            if tx.savepoint_open:
                c.execute(f"ROLLBACK TO {tx.savepoint}")
                return "own"
            if c.in_transaction:
                c.execute("ROLLBACK")
            return "all"

        try:
            outcome = await run_in_thread(self.writer, undo)
        except sqlite3.Error:
            # Not even that worked: end whatever is open, and with it the whole group.
            with contextlib.suppress(sqlite3.Error):
                await self.writer.execute("ROLLBACK")
            outcome = "all"
        if outcome == "own":
            return
        group, self._group = tx.group, None
        # The counters (and whether merges exist) are read again from the database, the truth.
        self._counters = None
        self._merges.present = None
        if outcome == "committed":
            group.committed()
        else:
            group.fail(exc)

    def _flush_soon(self) -> None:
        """A waiter gave up: if nobody is left to COMMIT what its group wrote, do it now."""
        group = self._group
        if group is None or not group.unfinished or self._waiting or self._writer_lock.locked():
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        async with self._lock:
            pass

    async def _settle(self) -> None:
        """Commit what an unfinished group wrote (the writer lock is held)."""
        group = self._group
        if group is not None and group.unfinished:
            await self._finish(WriteTx(self.writer, self.node_id, self._counters, group))

    # --- small key/value state ---------------------------------------------------------------

    async def kv_get(self, key: str) -> str | None:
        """Return a stored value."""
        rows = await fetch_all(self.reader, "SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    async def kv_set(self, key: str, value: str) -> None:
        """Store a value."""
        async with self._lock:
            await self.writer.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    async def run_write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in a transaction of its own on the writer's thread (one round trip).

        For the node's side tables (receipts) that are not folded from events.
        """

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        async with self._lock:
            return await run_in_thread(self.writer, transaction)

    # --- sync primitives -----------------------------------------------------------------------

    async def outbox_batch(self, limit: int) -> list[dict[str, Any]]:
        """Own events not yet acknowledged by central, oldest first."""
        rows = await fetch_all(
            self.reader, "SELECT payload FROM outbox ORDER BY seq LIMIT ?", (limit,)
        )
        return [json.loads(row[0]) for row in rows]

    async def outbox_ack(self, event_ids: list[str]) -> int:
        """Forget acknowledged events (after central's commit, never on a broker PUBACK)."""
        if not event_ids:
            return 0
        async with self._lock:
            cursor = await self.writer.executemany(
                "DELETE FROM outbox WHERE event_id = ?", [(i,) for i in event_ids]
            )
            return cursor.rowcount

    async def outbox_depth(self) -> int:
        """How many own events wait for central's acknowledgement."""
        rows = await fetch_all(self.reader, "SELECT count(*) FROM outbox")
        return int(rows[0][0])

    async def apply_remote(self, events: list[Event]) -> list[Event]:
        """Apply events from central exactly once; return those that were new."""
        if not events:
            return []
        async with self.transaction() as tx:
            return await tx.receive(events)

    async def apply_snapshot(self, entities: list[Any], vector: dict[str, int] | None) -> int:
        """Merge a page of central's snapshot ``[kind, id, state]``; see ``WriteTx``."""
        async with self.transaction() as tx:
            return await tx.merge_snapshot(entities, vector)

    async def state_checksum(self) -> str:
        """The canonical hash of every entity state: equal on node and central."""
        from appliance.core.checksum import state_checksum

        return state_checksum([item async for item in self.entity_states()])

    async def save_picture(self, product_id: str, jpeg: bytes) -> None:
        """Keep (or, given nothing, forget) a product's picture."""
        async with self.transaction() as tx:
            if jpeg:
                tx.later(
                    "INSERT OR REPLACE INTO pictures VALUES (?, ?, ?)",
                    (product_id, jpeg, utc_timestamp()),
                )
            else:
                tx.later("DELETE FROM pictures WHERE product_id = ?", (product_id,))

    async def picture(self, product_id: str) -> bytes | None:
        """A product's picture (following a merge to the survivor's own when it has none)."""
        rows = await fetch_all(
            self.reader,
            "SELECT jpeg FROM pictures WHERE product_id = ? UNION ALL"
            " SELECT p.jpeg FROM merges m JOIN pictures p ON p.product_id = m.source"
            " WHERE m.target = ? LIMIT 1",
            (product_id, product_id),
        )
        return bytes(rows[0][0]) if rows else None

    async def entity_count(self) -> int:
        """How many entities (products, locations, lots, shopping entries) the node holds."""
        rows = await fetch_all(
            self.reader,
            "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM locations)"
            " + (SELECT count(*) FROM lots) + (SELECT count(*) FROM shopping)"
            " + (SELECT count(*) FROM settings)",
        )
        return int(rows[0][0])

    async def version_vector(self) -> dict[str, int]:
        """Per origin, the highest sequence applied with nothing missing below it."""
        rows = await fetch_all(self.reader, "SELECT origin, contiguous FROM origins")
        return {row[0]: int(row[1]) for row in rows}

    async def entity_states(self) -> AsyncIterator[tuple[str, str, str]]:
        """Every entity's (kind, id, JSON state), for checksums and snapshots."""
        for kind, table in (
            ("location", "locations"),
            ("lot", "lots"),
            ("match", "receipt_matches"),
            ("product", "products"),
            ("setting", "settings"),
            ("shopping", "shopping"),
        ):
            async with self.reader.execute(f"SELECT id, state FROM {table} ORDER BY id") as cur:
                async for row in cur:
                    yield kind, row[0], row[1]

    async def events_since(self, pos: int, limit: int = 1000) -> list[tuple[int, Event]]:
        """Applied events after local position ``pos`` (journal and tools)."""
        rows = await fetch_all(
            self.reader,
            "SELECT pos, event_id, origin, seq, lamport, type, entity_id, timestamp, data"
            " FROM events WHERE pos > ? ORDER BY pos LIMIT ?",
            (pos, limit),
        )
        return [(row[0], event_from_row(row[1:])) for row in rows]


class _Exclusive:
    """``async with store._lock``: the writer for statements of their own (outside
    ``transaction()``), in autocommit mode; what an unfinished group wrote is committed
    first, so such a statement never lands inside a group's open transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def __aenter__(self) -> None:
        await self._store._writer_lock.acquire()
        try:
            await self._store._settle()
        except BaseException:
            self._store._writer_lock.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._store._writer_lock.release()


def event_from_row(row: Any) -> Event:
    """Rebuild an event from ``events`` columns (event_id ... data)."""
    return parse_event(
        {
            "v": 1,
            "event_id": row[0],
            "origin": row[1],
            "seq": row[2],
            "lamport": row[3],
            "type": row[4],
            "entity_id": row[5],
            "timestamp": row[6],
            "data": json.loads(row[7]),
        }
    )


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    try:
        version = (await fetch_all(conn, "PRAGMA user_version"))[0][0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a readable SQLite database: {exc}") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer version (schema {version}, this one reads "
            f"up to {SCHEMA_VERSION}); upgrade the software"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        log.info("Migrating %s to schema version %d", path, number)
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[number - 1]):
                await conn.execute(statement)
            if number in AFTER_MIGRATION:
                await run_in_thread(conn, AFTER_MIGRATION[number])
            await conn.execute(f"PRAGMA user_version = {number}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT on its own; run statement by statement inside our BEGIN.
    parts, buffer = [], ""
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        buffer += code + "\n"
        if sqlite3.complete_statement(buffer):
            parts.append(buffer.strip())
            buffer = ""
    return [p for p in parts if p]
