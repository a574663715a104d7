"""Small helpers over aiosqlite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import aiosqlite

T = TypeVar("T")


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """Run a query and return all rows as a list (one awaited call)."""
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def run_in_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work`` with the plain sqlite3 connection on the connection's own thread.

    Many statements in one round trip: each awaited aiosqlite call costs a hop between
    threads (about 100 µs on a 2-core machine, more under load), which adds up inside a write
    transaction that holds the node's write lock.
    """
    # aiosqlite has no public call for this; ``_execute`` is how each of its own methods runs
    # on the thread, and ``_conn`` is the sqlite3 connection (the version range is pinned in
    # pyproject.toml, and tests/node/test_persistence.py checks this runs on that thread).
    run = cast(Any, conn)._execute
    return cast(T, await run(lambda: work(cast(Any, conn)._conn)))
