"""The scan box: scanner, display, buttons and feedback of one station, wired to the node.

Inputs (scans, button actions) go through one queue and one worker task, so they reach the
node in the order they happened, and shutdown can finish the scan in progress. Output
comes back as node messages: the box is an ``Outlet`` that hands them to display and
feedback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from appliance.core.messages import Message
from appliance.hardware.buttons import Buttons
from appliance.hardware.display import Display, make_device
from appliance.hardware.feedback import Feedback
from appliance.hardware.scanner import DeviceOpener, EvdevScanner, StdinScanner
from appliance.ports import StationControl

if TYPE_CHECKING:
    from appliance.config import NodeConfig

log = logging.getLogger(__name__)

PairingRequest = Callable[[str], Awaitable[Any]]
#: Print the label of the station's last lot; returns the product's name.
PrintRequest = Callable[[str], Awaitable[str]]
Job = Callable[[], Awaitable[None]]


class ScanBox:
    """One station's hardware; build it with ``build_scan_box``."""

    def __init__(
        self,
        config: NodeConfig,
        control: StationControl,
        *,
        pairing: PairingRequest | None = None,
        print_label: PrintRequest | None = None,
        pin_factory: Any = None,
        display_device: Any = None,
        scanner_opener: DeviceOpener | None = None,
        stdin_fd: int | None = None,
    ) -> None:
        self.config = config
        self.control = control
        self.station_id = config.scanner.station_id
        self._pairing = pairing
        self._print_label = print_label
        self._pin_factory = pin_factory
        self._own_factory: Any = None
        self._display_device = display_device
        self._scanner_opener = scanner_opener
        self._stdin_fd = stdin_fd
        self.display: Display | None = None
        self.buttons: Buttons | None = None
        self.feedback: Feedback | None = None
        self.scanner: EvdevScanner | StdinScanner | None = None
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the devices in order: display, feedback, buttons, then the scanner."""
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        if cfg.display.type != "none":
            device = self._display_device or make_device(cfg.display)
            self.display = Display(cfg.display, self.station_id, device, language=cfg.node.language)
            await self.display.start()
            with contextlib.suppress(Exception):
                self.display.set_mode(await self.control.get_mode(self.station_id))
        if cfg.feedback.type != "none":
            self.feedback = Feedback(
                cfg.feedback, self.station_id, self._factory(cfg.feedback.type)
            )
        if cfg.buttons.type != "none":
            self.buttons = Buttons(
                cfg.buttons,
                self._factory(cfg.buttons.type),
                self._on_button,
                loop,
                debounce=cfg.buttons.type == "gpio",
            )
        self._worker = asyncio.create_task(self._work(), name="scanbox-worker")
        gs = cfg.modes.group_separator_substitute
        if cfg.scanner.type == "evdev":
            self.scanner = EvdevScanner(
                cfg.scanner, self.submit_scan, self._on_scanner_status,
                gs_substitute=gs, opener=self._scanner_opener,
            )  # fmt: skip
        elif cfg.scanner.type == "stdin":
            self.scanner = StdinScanner(
                cfg.scanner, self.submit_scan, self._on_scanner_status,
                gs_substitute=gs, fd=self._stdin_fd,
            )  # fmt: skip
        if self.scanner is not None:
            await self.scanner.start()
        log.info(
            "scan box %s: scanner=%s display=%s buttons=%s feedback=%s",
            self.station_id, cfg.scanner.type, cfg.display.type,
            cfg.buttons.type, cfg.feedback.type,
        )  # fmt: skip

    def _factory(self, kind: str) -> Any:
        if kind != "mock":
            return None  # gpiozero's default: lgpio on a Raspberry Pi
        if self._pin_factory is None:
            from gpiozero.pins.mock import MockFactory

            self._own_factory = self._pin_factory = MockFactory()
        return self._pin_factory

    async def close(self, drain_timeout: float = 5.0) -> None:
        """Stop input, finish the queued work (bounded), then release every device."""
        if self._closed:
            return
        self._closed = True
        if self.scanner is not None:
            await self.scanner.close()
        if self.buttons is not None:
            self.buttons.close()
        if self._worker is not None:
            try:
                async with asyncio.timeout(drain_timeout):
                    await self._queue.join()
            except TimeoutError:
                log.warning("scan box: gave up waiting for %d queued inputs", self._queue.qsize())
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.feedback is not None:
            self.feedback.close()
        if self.display is not None:
            await self.display.close()
        if self._own_factory is not None:
            self._own_factory.reset()
            self._own_factory.close()
            self._own_factory = None

    async def idle(self) -> None:
        """Wait until every queued scan and button action has been handled."""
        await self._queue.join()

    # -- Outlet ----------------------------------------------------------------------------

    def deliver(self, message: Message) -> None:
        """Hand a node message to the display and feedback; never raises, never blocks."""
        for outlet in (self.display, self.feedback):
            if outlet is not None:
                outlet.deliver(message)

    # -- inputs ----------------------------------------------------------------------------

    def submit_scan(self, text: str) -> None:
        """Queue one raw scan for the node (called on the loop by the scanner)."""
        if not self._closed:
            self._queue.put_nowait(lambda: self._scan(text))

    def _on_button(self, name: str, action: str) -> None:
        if not self._closed:
            self._queue.put_nowait(lambda: self._action(action))

    def _on_scanner_status(self, connected: bool, name: str | None) -> None:
        status = {"scanner_connected": connected, "scanner": name or self.config.scanner.type}
        try:
            self.control.set_station_status(self.station_id, **status)
        except Exception:
            log.exception("scan box: cannot record scanner status")
        if self.display is not None:
            self.display.set_scanner_connected(connected)

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception as exc:
                log.exception("scan box: input failed")
                if self.display is not None:
                    self.display.show_error(f"Failed: {exc}")
                if self.feedback is not None:
                    self.feedback.error()
            finally:
                self._queue.task_done()

    async def _scan(self, text: str) -> None:
        # The outcome comes back as a scanner.scan message, which display and feedback show.
        await self.control.scan(text, self.station_id)

    async def _action(self, action: str) -> None:
        station = self.station_id
        if action.startswith("mode:"):
            mode = await self.control.set_mode(station, action[5:])
            if self.display is not None:
                self.display.show_mode(mode)
        elif action == "cycle":
            mode = await self.control.cycle_mode(station)
            if self.display is not None:
                self.display.show_mode(mode)
        elif action == "undo":
            result = await self.control.undo_last_scan(station)
            message = str(result.get("message") or "")
            if self.display is not None:
                if result.get("undone"):
                    self.display.show_notice("undone", message)
                else:
                    self.display.show_error(message or "Nothing to undo")
        elif action == "pairing":
            await self._ask_pairing(station)
        elif action == "print":
            await self._print(station)

    async def _print(self, station: str) -> None:
        """A press of the print button: the label of the lot the last scan added or opened."""
        if self._print_label is None:
            if self.display is not None:
                self.display.show_error("Label printing is not available on this node")
            return
        try:
            product = await self._print_label(station)
        except Exception as exc:  # no printer, no lot yet, printer unreachable: say which
            detail = getattr(exc, "detail", None) or str(exc)
            log.warning("scan box %s: label not printed: %s", station, detail)
            if self.display is not None:
                self.display.show_error(detail[:1].upper() + detail[1:])
            if self.feedback is not None:
                self.feedback.error()
            return
        if self.display is not None:
            self.display.show_notice("printed", product)
        if self.feedback is not None:
            self.feedback.success()

    async def _ask_pairing(self, station: str) -> None:
        """A press of the pairing button; the node answers with a pairing.code message."""
        if self._pairing is None:
            log.warning("scan box %s: pairing button pressed, but pairing is off", station)
            if self.display is not None:
                self.display.show_error("Pairing is not available on this node")
            return
        try:
            await self._pairing(station)
        except Exception as exc:
            # One clear line (the press must yield a code; this is a bug to report).
            log.error("scan box %s: no pairing code could be made: %s: %s",
                      station, type(exc).__name__, exc)  # fmt: skip
            if self.display is not None:
                self.display.show_error("No pairing code: see the node's log")
            if self.feedback is not None:
                self.feedback.error()


def build_scan_box(
    config: NodeConfig,
    control: StationControl,
    *,
    pairing: PairingRequest | None = None,
    print_label: PrintRequest | None = None,
    **overrides: Any,
) -> ScanBox:
    """Build the scan box the configuration describes (not started: ``await box.start()``)."""
    return ScanBox(config, control, pairing=pairing, print_label=print_label, **overrides)
