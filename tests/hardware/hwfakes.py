"""Fakes and helpers for the scan box tests (a module name no other test folder uses)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from evdev import InputEvent
from PIL import Image, ImageChops

from appliance.core.messages import Message

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def assert_golden(image: Image.Image, name: str) -> None:
    """Compare with tests/golden/NAME.png; UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / f"{name}.png"
    image = image.convert("1")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        return
    assert path.exists(), f"{path} is missing: run the tests with UPDATE_GOLDEN=1 once"
    expected = Image.open(path).convert("1")
    assert expected.size == image.size
    diff = ImageChops.difference(expected.convert("L"), image.convert("L")).getbbox()
    if diff is not None:
        image.save(path.with_suffix(".actual.png"))
    assert diff is None, f"{name} differs from the golden image in {diff} (see .actual.png)"


class FakeControl:
    """An in-test StationControl that records calls and echoes messages like the node."""

    def __init__(self) -> None:
        self.mode = "add"
        self.cycle = ["add", "consume", "lookup"]
        self.calls: list[tuple[Any, ...]] = []
        self.status: dict[str, dict[str, Any]] = {}
        self.messages: list[Message] = []  # what the WebSocket clients would get
        self.outlets: list[Any] = []
        self.called = asyncio.Event()
        self.scan_outcome: dict[str, Any] | None = None
        self.fail_scan: Exception | None = None

    def _emit(self, message: Message) -> None:
        self.messages.append(message)
        for outlet in self.outlets:
            outlet.deliver(message)

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        self.called.set()

    async def scan(self, code: str, station_id: str) -> dict[str, Any]:
        self._record("scan", code, station_id)
        if self.fail_scan is not None:
            raise self.fail_scan
        outcome = self.scan_outcome or {
            "outcome": "added",
            "station_id": station_id,
            "mode": self.mode,
            "code": code,
            "product": {"id": "p1", "name": "Milch", "brand": None, "unit": "pcs"},
            "lot": {"id": "l1", "amount": 1, "best_before": None},
            "total": 2.0,
            "message": "Added Milch",
        }
        self._emit(Message("scanner.scan", station_id, outcome))
        return outcome

    async def get_mode(self, station_id: str) -> str:
        return self.mode

    async def set_mode(self, station_id: str, mode: str) -> str:
        self._record("set_mode", station_id, mode)
        self.mode = mode
        self._emit(Message("scanner.mode", station_id, {"station_id": station_id, "mode": mode}))
        return mode

    async def cycle_mode(self, station_id: str) -> str:
        index = self.cycle.index(self.mode) if self.mode in self.cycle else -1
        mode = self.cycle[(index + 1) % len(self.cycle)]
        self.mode = mode
        self._record("cycle_mode", station_id, mode)
        self._emit(Message("scanner.mode", station_id, {"station_id": station_id, "mode": mode}))
        return mode

    async def undo_last_scan(self, station_id: str) -> dict[str, Any]:
        self._record("undo_last_scan", station_id)
        return {"undone": True, "message": "Milch: add undone"}

    def set_station_status(self, station_id: str, **status: Any) -> None:
        self._record("status", station_id, status)
        self.status.setdefault(station_id, {}).update(status)

    async def wait_for(
        self, kind: str, count: int = 1, within: float = 5.0
    ) -> list[tuple[Any, ...]]:
        """Wait until ``count`` calls of ``kind`` were recorded."""

        async def enough() -> list[tuple[Any, ...]]:
            while True:
                found = [c for c in self.calls if c[0] == kind]
                if len(found) >= count:
                    return found
                self.called.clear()
                await self.called.wait()

        return await asyncio.wait_for(enough(), within)


class FakeDevice:
    """Replays synthetic InputEvents like evdev's async_read_loop; an OSError is an unplug."""

    def __init__(self, name: str = "USB Barcode Scanner") -> None:
        self.name = name
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.grabbed = False
        self.closed = asyncio.Event()

    def push(self, *items: InputEvent | BaseException) -> None:
        for item in items:
            self.queue.put_nowait(item)

    def async_read_loop(self) -> FakeDevice:
        return self

    def __aiter__(self) -> FakeDevice:
        return self

    async def __anext__(self) -> InputEvent:
        item = await self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def grab(self) -> None:
        self.grabbed = True

    def leds(self, verbose: bool = False) -> list[int]:
        return []

    def close(self) -> None:
        self.closed.set()
