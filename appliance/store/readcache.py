"""The answers of the big list queries, kept until the database changes.

An inventory summary of 5,000 products takes SQLite 25-40 ms on a 2-core machine (more on a
Pi), and every screen that shows it asks again: each iPad, the dashboard, after every
reconnect. Between two commits the answer cannot change, so it is kept and given again.

Whether anything was committed since is SQLite's own ``PRAGMA data_version`` on the reader
connection: it changes whenever another connection (the node's writer, the CLI in another
process) commits. The check and the query run in one call on the reader's thread. Should a
commit land between the check and the query, the newer answer is kept under the older
version and dropped at the next call, which sees the new version: nothing stale is given.

Only answers up to ``max_entry_bytes`` are kept, at most ``max_bytes`` in all (least
recently used go first): the cache must not cost the RSS budget what it saves in time.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from typing import Any

import aiosqlite

from appliance.store.sql import run_in_thread

Key = tuple[str, tuple[Any, ...]]


def _size(rows: list[Any]) -> int:
    return sum(len(value) for row in rows for value in row if isinstance(value, str | bytes))


class ReadCache:
    """Rows of read queries on one connection, valid while ``PRAGMA data_version`` holds."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        max_bytes: int = 4 << 20,
        max_entry_bytes: int = 2 << 20,
    ) -> None:
        self.conn = conn
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._version: int | None = None
        self._entries: OrderedDict[Key, list[Any]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    async def fetch_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of ``sql``, from the cache when nothing was committed since they were read.

        The rows are shared between callers: read them, do not change them.
        """
        key: Key = (sql, params)

        def job(c: sqlite3.Connection) -> list[Any]:
            version = int(c.execute("PRAGMA data_version").fetchone()[0])
            if version != self._version:
                self._entries.clear()
                self._bytes = 0
                self._version = version
            rows = self._entries.get(key)
            if rows is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return rows
            self.misses += 1
            rows = c.execute(sql, params).fetchall()
            self._keep(key, rows)
            return rows

        return await run_in_thread(self.conn, job)

    def _keep(self, key: Key, rows: list[Any]) -> None:
        size = _size(rows)
        if size > self.max_entry_bytes:
            return
        self._entries[key] = rows
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, old = self._entries.popitem(last=False)
            self._bytes -= _size(old)
