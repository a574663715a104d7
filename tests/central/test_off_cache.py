"""The ``off_data`` cache on the real PostgreSQL, with the client talking to the fake OFF server.

Each test session works in its own schema of the ``test`` database and drops it afterwards.
``KITCHEN_TEST_PG_DSN`` overrides the server (default: trust auth as postgres on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import asyncpg
import pytest

from central.off.cache import SCHEMA_FILE, SCHEMA_SQL, get_or_fetch
from central.off.client import OffClient
from central.off.result import OffStatus
from tests.fakes.off_server import (
    GERMAN_PRODUCT,
    STRING_QUANTITY_PRODUCT,
    FakeClock,
    FakeOffServer,
    FakeResponse,
)

DSN = os.environ.get("KITCHEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
GERMAN = GERMAN_PRODUCT["code"]
UNKNOWN = "4012345999990"


async def _execute(sql: str) -> None:
    connection = await asyncpg.connect(DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    name = f"off_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(_execute(f'DROP SCHEMA "{name}" CASCADE'))


@pytest.fixture
async def pool(pg_schema: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(
        DSN, min_size=1, max_size=2, server_settings={"search_path": pg_schema}
    )
    try:
        await pool.execute(SCHEMA_SQL)
        await pool.execute("TRUNCATE off_data")
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def off() -> AsyncIterator[FakeOffServer]:
    async with FakeOffServer() as server:
        server.add_product(GERMAN_PRODUCT)
        server.add_product(STRING_QUANTITY_PRODUCT)
        yield server


@pytest.fixture
async def client(off: FakeOffServer) -> AsyncIterator[OffClient]:
    clock = FakeClock()
    async with OffClient(off.base_url, timeout=2.0, clock=clock, sleep=clock.sleep) as client:
        yield client


async def _age(pool: asyncpg.Pool, barcode: str, days: int) -> None:
    await pool.execute(
        "UPDATE off_data SET fetched_at = now() - make_interval(days => $2) WHERE barcode = $1",
        barcode,
        days,
    )


def test_schema_file_is_shipped_with_the_package() -> None:
    assert SCHEMA_FILE == "schema.sql"
    assert "CREATE TABLE IF NOT EXISTS off_data" in SCHEMA_SQL


async def test_found_answer_is_cached(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    first = await get_or_fetch(pool, client, GERMAN, timedelta(days=30))
    second = await get_or_fetch(pool, client, GERMAN, timedelta(days=30))

    assert first.status is OffStatus.FOUND
    assert not first.from_cache
    assert second.from_cache
    assert not second.stale
    assert second.product == first.product
    assert second.off_data == first.off_data
    assert len(off.requests) == 1
    row = await pool.fetchrow(
        "SELECT status, payload::text FROM off_data WHERE barcode = $1", GERMAN
    )
    assert row["status"] == "found"
    assert json.loads(row["payload"])["product"]["name"] == "Apfelschorle naturtrüb"


async def test_not_found_is_cached_too(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    first = await get_or_fetch(pool, client, UNKNOWN, timedelta(days=30))
    second = await get_or_fetch(pool, client, UNKNOWN, timedelta(days=30))

    assert first.status is second.status is OffStatus.NOT_FOUND
    assert second.from_cache
    assert len(off.requests) == 1
    status = await pool.fetchval("SELECT status FROM off_data WHERE barcode = $1", UNKNOWN)
    assert status == "not_found"


async def test_not_found_is_refreshed_sooner_than_found(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    await get_or_fetch(pool, client, GERMAN, timedelta(days=30))
    await get_or_fetch(pool, client, UNKNOWN, timedelta(days=30))
    await _age(pool, GERMAN, 2)
    await _age(pool, UNKNOWN, 2)

    found = await get_or_fetch(pool, client, GERMAN, timedelta(days=30))
    missing = await get_or_fetch(pool, client, UNKNOWN, timedelta(days=30))

    assert found.from_cache
    assert not missing.from_cache
    assert len(off.requests_for(GERMAN)) == 1
    assert len(off.requests_for(UNKNOWN)) == 2


async def test_found_is_refreshed_after_max_age(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    await get_or_fetch(pool, client, GERMAN, timedelta(days=30))
    await _age(pool, GERMAN, 31)

    result = await get_or_fetch(pool, client, GERMAN, timedelta(days=30))

    assert not result.from_cache
    assert len(off.requests_for(GERMAN)) == 2
    age = await pool.fetchval("SELECT now() - fetched_at FROM off_data WHERE barcode = $1", GERMAN)
    assert age < timedelta(minutes=1)


async def test_a_product_added_to_off_later_replaces_not_found(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    code = "4012345000047"
    assert (await get_or_fetch(pool, client, code)).status is OffStatus.NOT_FOUND
    off.add_product({**STRING_QUANTITY_PRODUCT, "code": code})
    await _age(pool, code, 2)

    result = await get_or_fetch(pool, client, code)

    assert result.status is OffStatus.FOUND
    assert await pool.fetchval("SELECT status FROM off_data WHERE barcode = $1", code) == "found"


async def test_errors_are_not_cached(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    off.script(GERMAN, FakeResponse(200, b"{not json"))

    result = await get_or_fetch(pool, client, GERMAN)

    assert result.status is OffStatus.ERROR
    assert await pool.fetchval("SELECT count(*) FROM off_data") == 0


async def test_failed_refresh_serves_the_stale_answer(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    fresh = await get_or_fetch(pool, client, GERMAN)
    await _age(pool, GERMAN, 40)
    off.script(GERMAN, FakeResponse(429, b"", {"Retry-After": "3600"}))

    result = await get_or_fetch(pool, client, GERMAN)

    assert result.status is OffStatus.FOUND
    assert result.from_cache
    assert result.stale
    assert result.product == fresh.product
    assert result.retry_after == 3600.0
    assert result.reason == "HTTP 429 from OFF"


async def test_force_skips_a_fresh_entry(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    await get_or_fetch(pool, client, GERMAN)

    result = await get_or_fetch(pool, client, GERMAN, force=True)

    assert not result.from_cache
    assert len(off.requests_for(GERMAN)) == 2


async def test_nul_characters_do_not_break_jsonb(
    pool: asyncpg.Pool, off: FakeOffServer, client: OffClient
) -> None:
    code = "4012345000054"
    off.add_product({**GERMAN_PRODUCT, "code": code, "product_name": "Tee\x00 Mischung"})

    fresh = await get_or_fetch(pool, client, code)
    cached = await get_or_fetch(pool, client, code)

    assert cached.from_cache
    assert cached.product is not None
    assert cached.product == fresh.product
    assert cached.product["name"] == "Tee Mischung"
    assert cached.off_data is not None
    assert cached.off_data["product_name"] == "Tee Mischung"
