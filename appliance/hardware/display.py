"""The OLED as an outlet: node messages in, frames out to a luma device.

Frames are drawn on the loop (about a millisecond) but written by one thread of our own,
because a full frame over I2C at 100 kHz takes tens of milliseconds the loop cannot spare.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from typing import Any

from PIL import Image

from appliance.core.messages import Message
from appliance.hardware.config import DisplayConfig
from appliance.hardware.screens import DisplayState, Screen, amount_line, render

log = logging.getLogger(__name__)

_TRANSIENT_SCREENS = {"mode", "result", "unknown", "error", "pairing"}
_CLEAR_PAIRING = {"pairing.completed", "pairing.expired", "pairing.cancelled"}


def make_device(config: DisplayConfig) -> Any | None:
    """Open the configured luma device; None when there is none or it cannot be reached."""
    if config.type == "none":
        return None
    if config.type == "dummy":
        from luma.core.device import dummy

        return dummy(width=128, height=64, rotate=config.rotate, mode="1")
    try:
        from luma.core.interface.serial import i2c
        from luma.oled.device import sh1106, ssd1306

        serial = i2c(port=config.i2c_port, address=config.i2c_address)
        cls = ssd1306 if config.type == "ssd1306" else sh1106
        device = cls(serial, width=128, height=64, rotate=config.rotate)
        device.contrast(config.contrast)
        return device
    except Exception as exc:  # luma raises its own errors and plain OSError alike
        # The node works without its display: scans still reach the web app.
        log.error(
            "display: no %s at i2c-%d address 0x%02x: %s",
            config.type,
            config.i2c_port,
            config.i2c_address,
            exc,
        )
        return None


def amount_text(total: float | None, unit: str | None) -> str:
    """'3 pcs in stock', '250 g in stock', 'none left' (English; see ``amount_line``)."""
    return amount_line("en", total, unit)


class _FrameWriter(threading.Thread):
    """Writes the newest frame to the device; older unwritten frames are skipped."""

    def __init__(self, device: Any, loop: asyncio.AbstractEventLoop, written: Any) -> None:
        super().__init__(name="display-writer", daemon=True)
        self._device = device
        self._loop = loop
        self._written = written
        self._cond = threading.Condition()
        self._frame: tuple[int, Image.Image] | None = None
        self._stopping = False

    def submit(self, version: int, image: Image.Image) -> None:
        with self._cond:
            self._frame = (version, image)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.join()

    def run(self) -> None:
        while True:
            with self._cond:
                while self._frame is None and not self._stopping:
                    self._cond.wait()
                if self._frame is None:
                    return
                (version, image), self._frame = self._frame, None
            try:
                self._device.display(image)
            except Exception:
                log.exception("display: writing a frame failed")
            with contextlib.suppress(RuntimeError):  # the loop closed under us at shutdown
                self._loop.call_soon_threadsafe(self._written, version)


class Display:
    """Keeps the OLED showing the station's mode, last scan, and status; an ``Outlet``."""

    def __init__(
        self, config: DisplayConfig, station_id: str, device: Any | None, language: str = "en"
    ) -> None:
        self._config = config
        self._device = device
        self.state = DisplayState(station=station_id, language=language)
        self.image: Image.Image = render(self.state)
        self.version = 0
        self._written_version = -1
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._writer: _FrameWriter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def station_id(self) -> str:
        """The station this display belongs to."""
        return self.state.station

    async def start(self) -> None:
        """Start the writer thread and show the first frame."""
        self._loop = asyncio.get_running_loop()
        if self._device is not None:
            self._writer = _FrameWriter(self._device, self._loop, self._on_written)
            self._writer.start()
            self._writer.submit(self.version, self.image)

    async def close(self) -> None:
        """Stop the timer and writer thread; blank and release a real panel."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writer is not None:
            # Joining waits for at most the one frame being written.
            self._writer.stop()
            self._writer = None
        for _, waiter in self._flush_waiters:
            waiter.cancel()
        self._flush_waiters.clear()
        if self._device is not None and self._config.type in ("ssd1306", "sh1106"):
            with contextlib.suppress(Exception):
                self._device.cleanup()

    async def flush(self) -> None:
        """Wait until the current frame has reached the device."""
        if self._writer is None or self._written_version >= self.version:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((self.version, waiter))
        await waiter

    async def wait_changed(self, version: int, within: float) -> int:
        """Return the frame version once it differs from ``version`` (or after ``within`` s)."""
        if self.version == version:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await self._changed.wait()
        return self.version

    # -- what the box and the node tell the display --------------------------------------

    def deliver(self, message: Message) -> None:
        """Update from a node message (Outlet); never raises."""
        try:
            self._deliver(message)
        except Exception:
            log.exception("display: cannot show %s", message.type)

    def _deliver(self, message: Message) -> None:
        data = message.data
        if message.type == "scanner.scan" and data.get("station_id", self.station_id) == (
            self.station_id
        ):
            self.show_outcome(data)
        elif message.type == "scanner.mode" and data.get("station_id") == self.station_id:
            self.show_mode(str(data.get("mode", self.state.mode)))
        elif message.type == "product.updated":
            self._rename(data.get("product") or {})
        elif message.type == "sync.status":
            depth = data.get("outbox_depth", data.get("outbox")) or 0
            self.set_sync(bool(data.get("connected")), int(depth))
        elif message.type == "pairing.code":
            self.show_pairing(
                str(data.get("code", "")),
                float(data.get("expires_in", 300)),
                str(data.get("url") or ""),
            )
        elif message.type in _CLEAR_PAIRING and self.state.screen == "pairing":
            self._end_transient()

    def show_outcome(self, outcome: dict[str, Any]) -> None:
        """Show a scan outcome: result, unknown product, error, or a mode change."""
        kind = str(outcome.get("outcome", "error"))
        if kind == "mode_changed":
            self.show_mode(str(outcome.get("mode") or self.state.mode))
            return
        product = outcome.get("product") or {}
        lot = outcome.get("lot") or {}
        name = " ".join(str(p) for p in (product.get("name"), product.get("brand")) if p)
        if kind == "unknown":
            screen: Screen = "unknown"
        elif kind == "error":
            screen = "error"
        else:
            screen = "result"
        self._transient(
            screen,
            self._config.result_seconds,
            outcome=kind,
            product=name,
            product_id=str(product.get("id") or ""),
            detail=amount_line(self.state.language, outcome.get("total"), product.get("unit")),
            best_before=str(lot.get("best_before") or ""),
            code=str(outcome.get("code") or ""),
            message=str(outcome.get("message") or ""),
        )

    def _rename(self, product: dict[str, Any]) -> None:
        """The product on screen got its real name (enrichment): show it, keep the timer."""
        if product.get("id") and product.get("id") == self.state.product_id:
            name = " ".join(str(p) for p in (product.get("name"), product.get("brand")) if p)
            if name and name != self.state.product:
                self._update(dataclasses.replace(self.state, product=name))

    def show_error(self, text: str) -> None:
        """Show an error that did not come as a scan outcome."""
        self._transient("error", self._config.result_seconds, message=text)

    def show_notice(self, title: str, text: str) -> None:
        """Show a short result-like notice (e.g. 'UNDONE')."""
        self._transient(
            "result", self._config.result_seconds, outcome=title, product=text, detail=""
        )

    def show_mode(self, mode: str) -> None:
        """Announce the station's mode in large letters for a moment."""
        self._transient("mode", self._config.mode_seconds, mode=mode)

    def set_mode(self, mode: str) -> None:
        """Record the mode without announcing it (start-up)."""
        self._update(dataclasses.replace(self.state, mode=mode))

    def show_pairing(self, code: str, expires_in: float, url: str = "") -> None:
        """Show a pairing code (and a QR code of ``url`` when given) until it expires."""
        minutes = max(1, round(expires_in / 60))
        self._transient(
            "pairing", expires_in, pairing_code=code, pairing_minutes=minutes, pairing_url=url
        )

    def set_scanner_connected(self, connected: bool) -> None:
        """Show or clear the 'scanner disconnected' screen."""
        state = dataclasses.replace(self.state, scanner_connected=connected)
        if self.state.screen in ("idle", "disconnected"):
            state = dataclasses.replace(state, screen=self._base(connected))
        self._update(state)

    def set_sync(self, connected: bool, outbox: int) -> None:
        """Show whether the node reaches central and how much waits to be sent."""
        self._update(dataclasses.replace(self.state, sync_connected=connected, outbox=outbox))

    def set_expiring(self, lines: list[str]) -> None:
        """Lines for the idle screen, e.g. what expires soon."""
        self._update(dataclasses.replace(self.state, expiring=tuple(lines)))

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _base(scanner_connected: bool) -> Screen:
        return "idle" if scanner_connected else "disconnected"

    def _transient(self, screen: Screen, seconds: float, **fields: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._update(dataclasses.replace(self.state, screen=screen, **fields))
        if self._loop is not None:
            self._timer = self._loop.call_later(seconds, self._end_transient)

    def _end_transient(self) -> None:
        self._timer = None
        if self.state.screen in _TRANSIENT_SCREENS:
            self._update(
                dataclasses.replace(self.state, screen=self._base(self.state.scanner_connected))
            )

    def _update(self, state: DisplayState) -> None:
        if state == self.state:
            return
        self.state = state
        self.image = render(state)
        self.version += 1
        if self._writer is not None:
            self._writer.submit(self.version, self.image)
        self._changed.set()
        self._changed = asyncio.Event()

    def _on_written(self, version: int) -> None:
        self._written_version = max(self._written_version, version)
        still_waiting = []
        for target, waiter in self._flush_waiters:
            if target <= self._written_version:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still_waiting.append((target, waiter))
        self._flush_waiters = still_waiting
