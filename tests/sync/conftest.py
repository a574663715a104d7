"""Fixtures of the sync tests: a real PostgreSQL database and a real Mosquitto per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from central.app import Central
from central.db.pool import open_pool
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.fakes.leaks import no_leaks
from tests.fakes.off_server import GERMAN_PRODUCT, STRING_QUANTITY_PRODUCT, FakeOffServer
from tests.fakes.postgres import reset, temporary_database

__all__ = ["no_leaks"]


@pytest.fixture(scope="module")
def module_dsn() -> Iterator[str]:
    """A fresh database for the module, dropped afterwards."""
    with temporary_database("kitchen_sync") as dsn:
        yield dsn


@pytest.fixture
async def dsn(module_dsn: str) -> str:
    """The module's database, migrated and emptied for this test."""
    pool = await open_pool(module_dsn, 1, 1)
    await pool.close()
    await reset(module_dsn)
    return module_dsn


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    """A running mosquitto with central's login; nodes add theirs before starting."""
    broker = Broker(tmp_path / "broker")
    try:
        await broker.start()
        yield broker
    finally:
        broker.close()


@pytest.fixture
async def off() -> AsyncIterator[FakeOffServer]:
    """A local Open Food Facts with a few products (never the internet)."""
    async with FakeOffServer(serve_images=True) as server:
        server.add_product(GERMAN_PRODUCT)
        server.add_product(STRING_QUANTITY_PRODUCT)
        yield server


@pytest.fixture
async def central(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    """Central in this process (Open Food Facts off)."""
    central = Central(central_config(dsn, broker))
    try:
        await central.start()
        yield central
    finally:
        await central.close()


@pytest.fixture
async def enriching_central(dsn: str, broker: Broker, off: FakeOffServer) -> AsyncIterator[Central]:
    """Central in this process, enriching from the local Open Food Facts."""
    central = Central(central_config(dsn, broker, off_url=off.base_url))
    try:
        await central.start()
        yield central
    finally:
        await central.close()
