"""Versioned schema migrations, applied at start under an advisory lock.

Two central processes may start at once; the lock makes one of them apply the migrations while
the other waits and then finds nothing to do. The Open Food Facts cache table comes from
``central.off`` (its own idempotent DDL) as a migration step of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.resources import files

import asyncpg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6B697463  # "kitc": one advisory lock id for schema changes


def _sql(name: str) -> Callable[[], str]:
    return lambda: files("central.db").joinpath("migrations", name).read_text(encoding="utf-8")


def _off_schema() -> str:
    try:
        from central.off.cache import SCHEMA_SQL
    except ImportError:  # the OFF package is optional; its table then comes later
        return "SELECT 1"
    return SCHEMA_SQL


#: (version, description, SQL source). Append only; never edit a released step.
MIGRATIONS: list[tuple[int, str, Callable[[], str]]] = [
    (1, "events, entities, quarantine, dead letter, nodes", _sql("001_events.sql")),
    (2, "Open Food Facts cache (central/off/schema.sql)", _off_schema),
    (3, "receipts: files, drafts and the reading queue", _sql("002_receipts.sql")),
    (4, "product pictures", _sql("004_pictures.sql")),
    (5, "dashboard accounts, sessions and API tokens", _sql("005_auth.sql")),
    (6, "dashboard: stock read tables, node reports", _sql("006_dashboard.sql")),
    (9, "Grocy integer ids", _sql("009_grocy.sql")),
]


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the missing migrations; return the versions applied now."""
    applied_now: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version     integer     PRIMARY KEY,
                   description text        NOT NULL,
                   applied_at  timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, description, source in MIGRATIONS:
            if version in done:
                continue
            log.info("applying migration %d: %s", version, description)
            await conn.execute(source())
            await conn.execute(
                "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                version,
                description,
            )
            applied_now.append(version)
    return applied_now
