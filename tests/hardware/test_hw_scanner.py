"""The evdev reader (with a stand-in for the kernel device) and the stdin reader."""

from __future__ import annotations

import asyncio
import errno
import os
from typing import Any

from evdev import InputEvent, ecodes
from hwfakes import FakeDevice

from appliance.hardware.config import ScannerConfig
from appliance.hardware.keymap import text_to_events
from appliance.hardware.scanner import EvdevScanner, StdinScanner, find_device


class Recorder:
    def __init__(self) -> None:
        self.scans: asyncio.Queue[str] = asyncio.Queue()
        self.status: asyncio.Queue[tuple[bool, str | None]] = asyncio.Queue()

    def on_scan(self, text: str) -> None:
        self.scans.put_nowait(text)

    def on_status(self, connected: bool, name: str | None) -> None:
        self.status.put_nowait((connected, name))


async def next_of(queue: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(queue.get(), 5)


async def test_reads_scans_and_grabs_the_device() -> None:
    device, rec = FakeDevice(), Recorder()
    scanner = EvdevScanner(ScannerConfig(type="evdev"), rec.on_scan, rec.on_status,
                           opener=lambda: device)  # fmt: skip
    await scanner.start()
    try:
        assert await next_of(rec.status) == (True, "USB Barcode Scanner")
        assert device.grabbed
        device.push(*text_to_events("]E04006381333931"), *text_to_events("MODE:CONSUME"))
        assert await next_of(rec.scans) == "]E04006381333931"
        assert await next_of(rec.scans) == "MODE:CONSUME"
    finally:
        await scanner.close()
    assert device.closed.is_set()


async def test_unplug_mid_scan_then_replug_without_restart() -> None:
    first, second, rec = FakeDevice(), FakeDevice(), Recorder()
    plugged: list[FakeDevice | None] = [first, None, None, second]

    def opener() -> FakeDevice | None:
        return plugged.pop(0) if plugged else None

    config = ScannerConfig(type="evdev", reconnect_seconds=0.01)
    scanner = EvdevScanner(config, rec.on_scan, rec.on_status, opener=opener)
    await scanner.start()
    try:
        assert await next_of(rec.status) == (True, "USB Barcode Scanner")
        half = text_to_events("4006381333931")[:12]  # a few keys, no Enter
        first.push(*half, OSError(errno.ENODEV, "No such device"))
        assert await next_of(rec.status) == (False, None)
        await asyncio.wait_for(first.closed.wait(), 5)
        assert await next_of(rec.status) == (True, "USB Barcode Scanner")
        second.push(*text_to_events("4012345678901"))
        # The half-read scan died with the first device; nothing of it leaks into the next.
        assert await next_of(rec.scans) == "4012345678901"
        assert rec.scans.empty()
    finally:
        await scanner.close()


async def test_quiet_scanner_without_enter_ends_scan_by_timeout() -> None:
    device, rec = FakeDevice(), Recorder()
    config = ScannerConfig(type="evdev", inter_key_timeout_ms=20)
    scanner = EvdevScanner(config, rec.on_scan, rec.on_status, opener=lambda: device)
    await scanner.start()
    try:
        device.push(*text_to_events("12345670")[:-6])  # drop the Enter key events
        assert await next_of(rec.scans) == "12345670"
    finally:
        await scanner.close()


async def test_a_device_someone_else_holds_is_retried() -> None:
    device, rec = FakeDevice(), Recorder()
    attempts = []

    def grab() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError(errno.EBUSY, "Device or resource busy")

    device.grab = grab  # type: ignore[method-assign]
    config = ScannerConfig(type="evdev", reconnect_seconds=0.01)
    scanner = EvdevScanner(config, rec.on_scan, rec.on_status, opener=lambda: device)
    await scanner.start()
    try:
        assert await next_of(rec.status) == (False, None)
        assert await next_of(rec.status) == (True, "USB Barcode Scanner")
        assert len(attempts) == 2
    finally:
        await scanner.close()


def test_find_device_for_a_missing_path_is_none(tmp_path: Any) -> None:
    config = ScannerConfig(type="evdev", device=str(tmp_path / "kitchen-scanner"))
    assert find_device(config) is None


async def test_stdin_lines_become_scans_with_gs_substitute() -> None:
    read_fd, write_fd = os.pipe()
    rec = Recorder()
    scanner = StdinScanner(ScannerConfig(type="stdin"), rec.on_scan, rec.on_status,
                           gs_substitute="~", fd=read_fd)  # fmt: skip
    await scanner.start()
    try:
        assert await next_of(rec.status) == (True, "stdin")
        os.write(write_fd, b"4006381333931\n\n]d2010400638133393117270315~10LOT")
        assert await next_of(rec.scans) == "4006381333931"
        os.write(write_fd, b"42\r\n")
        assert await next_of(rec.scans) == "]d2010400638133393117270315\x1d10LOT42"
        os.close(write_fd)
        await asyncio.wait_for(scanner.eof.wait(), 5)
    finally:
        await scanner.close()
        os.close(read_fd)


async def test_stdin_that_cannot_be_watched_is_reported(tmp_path: Any) -> None:
    path = tmp_path / "scans.txt"
    path.write_text("123\n")
    rec = Recorder()
    with path.open("rb") as file:
        scanner = StdinScanner(ScannerConfig(type="stdin"), rec.on_scan, rec.on_status,
                               fd=file.fileno())  # fmt: skip
        await scanner.start()
        await scanner.close()
    assert await next_of(rec.status) == (False, None)


def test_event_helpers_are_real_evdev_events() -> None:
    events = text_to_events("A")
    assert all(isinstance(e, InputEvent) for e in events)
    assert {e.type for e in events} == {ecodes.EV_KEY, ecodes.EV_MSC, ecodes.EV_SYN}
