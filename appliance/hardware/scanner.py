"""Scan inputs: a USB keyboard-wedge scanner through evdev, or lines from the terminal.

Both hand each finished scan (raw text, AIM identifier kept) to ``on_scan`` on the event
loop thread, and report whether the scanner is there through ``on_status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from appliance.hardware.config import ScannerConfig
from appliance.hardware.keymap import GS, ScanDecoder

log = logging.getLogger(__name__)

ScanCallback = Callable[[str], None]
StatusCallback = Callable[[bool, str | None], None]


class InputDeviceLike(Protocol):
    """The part of ``evdev.InputDevice`` the reader uses."""

    name: str

    def async_read_loop(self) -> Any:
        """Return an async iterator of input events."""

    def grab(self) -> None:
        """Take the device exclusively."""

    def leds(self, verbose: bool = False) -> Any:
        """Return the LEDs that are lit."""

    def close(self) -> None:
        """Release the device."""


DeviceOpener = Callable[[], InputDeviceLike | None]


def _is_keyboard(device: Any) -> bool:
    from evdev import ecodes

    keys = device.capabilities().get(ecodes.EV_KEY, [])
    return ecodes.KEY_ENTER in keys or ecodes.KEY_KPENTER in keys


def find_device(config: ScannerConfig) -> InputDeviceLike | None:
    """Open the configured scanner: by path, else by USB vendor:product, else by name."""
    import evdev

    if config.device:
        if not os.path.exists(config.device):
            return None
        return evdev.InputDevice(config.device)
    wanted = [needle.lower() for needle in config.name_contains]
    for path in sorted(evdev.list_devices()):
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue  # vanished meanwhile, or not ours to read
        if config.usb_id:
            usb_id = f"{device.info.vendor:04x}:{device.info.product:04x}"
            match = usb_id == config.usb_id
        else:
            match = any(needle in device.name.lower() for needle in wanted)
        # A scanner often shows up as several nodes (keyboard, consumer keys): take the keyboard.
        if match and _is_keyboard(device):
            return device
        device.close()
    return None


class _Scanner:
    """What every scanner holds: its config, where scans and status go, the GS substitute."""

    def __init__(
        self,
        config: ScannerConfig,
        on_scan: ScanCallback,
        on_status: StatusCallback,
        gs_substitute: str | None,
    ) -> None:
        self._config = config
        self._on_scan = on_scan
        self._on_status = on_status
        self._gs_substitute = gs_substitute


class EvdevScanner(_Scanner):
    """Read a keyboard-wedge scanner; survive unplug and replug without a restart."""

    def __init__(
        self,
        config: ScannerConfig,
        on_scan: ScanCallback,
        on_status: StatusCallback,
        *,
        gs_substitute: str | None = None,
        opener: DeviceOpener | None = None,
    ) -> None:
        super().__init__(config, on_scan, on_status, gs_substitute)
        self._opener: DeviceOpener = opener or (lambda: find_device(config))
        self._task: asyncio.Task[None] | None = None
        self._connected: bool | None = None
        self.decoder: ScanDecoder | None = None

    async def start(self) -> None:
        """Start looking for the scanner and reading it."""
        self._task = asyncio.create_task(self._run(), name="scanner-evdev")

    async def close(self) -> None:
        """Stop reading and release the device."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _status(self, connected: bool, name: str | None) -> None:
        if connected != self._connected:
            self._connected = connected
            self._on_status(connected, name)

    def _open(self) -> InputDeviceLike | None:
        try:
            device = self._opener()
        except OSError as exc:
            log.warning("scanner: cannot open device: %s", exc)
            return None
        if device is None:
            return None
        if self._config.grab:
            try:
                device.grab()
            except OSError as exc:
                # Someone else holds it (another instance?): try again on the next round.
                log.warning("scanner: cannot grab %s: %s", device.name, exc)
                device.close()
                return None
        return device

    async def _run(self) -> None:
        while True:
            device = self._open()
            if device is None:
                self._status(False, None)
                await asyncio.sleep(self._config.reconnect_seconds)
                continue
            log.info("scanner: reading %s", device.name)
            self._status(True, device.name)
            try:
                await self._read(device)
            except OSError as exc:
                log.warning(
                    "scanner: %s went away (%s); waiting for it to return", device.name, exc
                )
            finally:
                with contextlib.suppress(OSError):
                    device.close()
            self._status(False, None)

    async def _read(self, device: InputDeviceLike) -> None:
        caps = False
        with contextlib.suppress(OSError, AttributeError):
            from evdev import ecodes

            caps = ecodes.LED_CAPSL in device.leds()
        decoder = self.decoder = ScanDecoder(
            timeout=self._config.inter_key_timeout_ms / 1000,
            gs_substitute=self._gs_substitute,
            max_length=self._config.max_length,
            caps_lock=caps,
        )
        events: AsyncIterator[Any] = device.async_read_loop().__aiter__()
        # Not wait_for: cancelling evdev's read future would leave its callback to fail later.
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(events.__anext__())
                timeout = decoder.timeout if decoder.pending else None
                done, _ = await asyncio.wait({pending}, timeout=timeout)
                if not done:
                    self._deliver(decoder.flush())
                    continue
                event, pending = pending.result(), None
                self._deliver(decoder.feed(event))
        finally:
            if pending is not None:
                pending.cancel()
            # A half-read scan is lost with the device; the next one starts clean.
            decoder.reset()

    def _deliver(self, scans: list[str]) -> None:
        for text in scans:
            self._on_scan(text)


class StdinScanner(_Scanner):
    """Read scans as lines from the terminal (a laptop with no scanner)."""

    def __init__(
        self,
        config: ScannerConfig,
        on_scan: ScanCallback,
        on_status: StatusCallback,
        *,
        gs_substitute: str | None = None,
        fd: int | None = None,
    ) -> None:
        super().__init__(config, on_scan, on_status, gs_substitute)
        self._fd = fd
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = b""
        self._reading = False
        self.eof = asyncio.Event()

    async def start(self) -> None:
        """Watch the terminal for lines, without blocking the loop."""
        fd = self._fd if self._fd is not None else sys.stdin.fileno()
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        try:
            # add_reader leaves the terminal's blocking mode alone (connect_read_pipe would not).
            self._loop.add_reader(fd, self._readable)
        except (OSError, ValueError) as exc:
            log.warning("scanner: cannot read scans from stdin: %s", exc)
            self._on_status(False, None)
            self.eof.set()
            return
        self._reading = True
        self._on_status(True, "stdin")

    async def close(self) -> None:
        """Stop watching the terminal."""
        self._stop()

    def _stop(self) -> None:
        if self._reading and self._loop is not None and self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _readable(self) -> None:
        assert self._fd is not None
        try:
            chunk = os.read(self._fd, 4096)
        except OSError as exc:
            log.warning("scanner: stdin failed: %s", exc)
            chunk = b""
        if not chunk:
            self._stop()
            self._emit(self._buffer)
            self._buffer = b""
            self.eof.set()
            return
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._emit(line)
        if len(self._buffer) > self._config.max_length:
            log.warning("scanner: dropped %d bytes of input without a line end", len(self._buffer))
            self._buffer = b""

    def _emit(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip("\r\n")
        if not text.strip():
            return
        if len(text) > self._config.max_length:
            log.warning("scanner: dropped a line of %d characters", len(text))
            return
        if self._gs_substitute:
            text = text.replace(self._gs_substitute, GS)
        self._on_scan(text)
