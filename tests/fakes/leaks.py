"""Fail a test that leaves paho threads or asyncio tasks behind (a leak is a bug)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest


@pytest.fixture(autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    """After the test: no paho network thread alive, no task but this fixture's own."""
    before = set(asyncio.all_tasks())
    yield
    current = asyncio.current_task()
    # aiohttp and asyncpg finish closing on the next loop iterations.
    for _ in range(5):
        await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if t is not current and t not in before and not t.done()]
    assert not left, f"tasks left running: {left}"
    threads = [t.name for t in threading.enumerate() if t.name.startswith("paho-mqtt-client")]
    assert not threads, f"paho threads left running: {threads}"
