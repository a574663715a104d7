"""Fixtures of the central tests: a real PostgreSQL database per module, central's app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from central.db.pool import open_pool
from central.http import create_app
from central.hub import Hub
from tests.fakes.leaks import no_leaks
from tests.fakes.postgres import reset, temporary_database

__all__ = ["no_leaks"]


@pytest.fixture(scope="module")
def central_dsn() -> Iterator[str]:
    """A fresh database for the module, dropped afterwards."""
    with temporary_database("kitchen_central") as dsn:
        yield dsn


@pytest.fixture
async def pool(central_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A migrated, emptied database and a pool on it."""
    pool = await open_pool(central_dsn, 1, 6)
    try:
        await reset(central_dsn)
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def client(pool: asyncpg.Pool, aiohttp_client: Any) -> TestClient:
    """Central's HTTP app on the test database (MQTT reported connected); a module that
    needs another app defines its own ``client``."""
    app = create_app(pool, Hub(), None, lambda: {"mqtt": {"connected": True}})
    result: TestClient = await aiohttp_client(app)
    return result
