"""Opening the PostgreSQL pool, with the schema brought up to date first."""

from __future__ import annotations

import logging

import asyncpg

from central.db import grocy_index
from central.db.migrations import migrate

log = logging.getLogger(__name__)


async def open_pool(dsn: str, min_size: int = 2, max_size: int = 8) -> asyncpg.Pool:
    """Connect, apply missing migrations, and return a pool; raise when PostgreSQL is down."""
    conn = await asyncpg.connect(dsn)
    try:
        applied = await migrate(conn)
        if applied:
            log.info("database migrated to version %d", max(applied))
        if 9 in applied:
            indexed = await grocy_index.backfill(conn)
            log.info("Grocy ids given to %d existing keys", indexed)
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        # A stuck statement must not hold a batch (and its node's ack) forever.
        command_timeout=30,
    )
    assert pool is not None
    return pool
