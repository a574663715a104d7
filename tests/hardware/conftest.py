"""Fixtures for the scan box tests: a fake StationControl and checks for leaked threads/tasks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import luma.oled.device  # noqa: F401  (importing it starts luma's process-wide thread pool)
import pytest
from hwfakes import FakeControl


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """A test that leaves a thread running (display writer, gpiozero) fails."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> Any:
    """A test that leaves an asyncio task running fails."""
    yield
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not left, f"tasks left running: {left}"
