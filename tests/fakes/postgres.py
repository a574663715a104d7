"""Throw-away databases on the real PostgreSQL of the test machine (trust auth as postgres).

``KITCHEN_TEST_PG_DSN`` names the server (its database part is replaced); each test module
gets a database of its own, created from scratch and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SERVER_DSN = os.environ.get("KITCHEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

TABLES = (
    "events",
    "entities",
    "quarantine",
    "dead_letter",
    "nodes",
    "enrich_jobs",
    "off_data",
    "receipts",
    "receipt_files",
    "receipt_chunks",
    "receipt_jobs",
    "receipt_matches",
    "dash_lots",
    "dash_products",
    "node_info",
    "dash_usage",
    "dash_undone",
    "accounts",
    "auth_sessions",
    "api_tokens",
    "grocy_ids",
)


def dsn_for(database: str) -> str:
    """The server DSN pointing at ``database``."""
    parts = urlsplit(SERVER_DSN)
    return urlunsplit(parts._replace(path="/" + database))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(dsn_for("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def temporary_database(prefix: str = "kitchen_test") -> Iterator[str]:
    """Create a uniquely named database, yield its DSN, drop it (forcibly) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield dsn_for(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def reset(dsn: str) -> None:
    """Empty every table central writes (schema kept), and its own counter."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        await conn.execute("UPDATE origin_counters SET seq = 0")
    finally:
        await conn.close()
