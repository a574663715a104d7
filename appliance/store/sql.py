"""Small helpers over aiosqlite."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiosqlite


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """Run a query and return all rows as a list (one awaited call)."""
    return list(await conn.execute_fetchall(sql, tuple(params)))
