"""The whole scan box on fake hardware: evdev stand-in, luma dummy, gpiozero MockFactory."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

from gpiozero.pins.mock import MockFactory
from hwfakes import FakeControl, FakeDevice, assert_golden

from appliance.config import NodeConfig, build_config
from appliance.core.messages import Message
from appliance.hardware.box import ScanBox, build_scan_box
from appliance.hardware.keymap import text_to_events

HOLD = 0.05


def config(**sections: dict[str, Any]) -> NodeConfig:
    data: dict[str, Any] = {
        "scanner": {"type": "evdev", "station_id": "kitchen", "reconnect_seconds": 0.01},
        "display": {"type": "dummy", "result_seconds": 60, "mode_seconds": 60},
        "buttons": {"type": "mock", "hold_seconds": HOLD},
        "feedback": {"type": "none"},
    }
    data.update(sections)
    return build_config(data)


async def started(box: ScanBox, control: FakeControl) -> ScanBox:
    control.outlets.append(box)
    await box.start()
    return box


async def test_scan_reaches_node_and_result_shows(control: FakeControl) -> None:
    device = FakeDevice()
    box = build_scan_box(config(), control, scanner_opener=lambda: device)
    await started(box, control)
    try:
        await control.wait_for("status")
        assert control.status["kitchen"] == {"scanner_connected": True,
                                             "scanner": "USB Barcode Scanner"}  # fmt: skip
        control.scan_outcome = {
            "outcome": "added", "station_id": "kitchen", "mode": "add",
            "code": "]d2010400638133393117270315", "total": 3.0, "message": "",
            "product": {"id": "p", "name": "Gouda mittelalt Scheiben", "unit": "pcs"},
            "lot": {"id": "l", "amount": 1, "best_before": "2027-03-15"},
        }  # fmt: skip
        device.push(*text_to_events("]d2010400638133393117270315"))
        [call] = await control.wait_for("scan")
        assert call == ("scan", "]d2010400638133393117270315", "kitchen")
        await box.idle()
        assert box.display is not None
        await box.display.flush()
        assert_golden(box.display.image, "screen_result_added")
    finally:
        await box.close()


async def test_unplug_shows_disconnected_and_reports_status(control: FakeControl) -> None:
    first, second = FakeDevice(), FakeDevice()
    plugged: list[FakeDevice | None] = [first, None, second]
    box = build_scan_box(config(), control,
                         scanner_opener=lambda: plugged.pop(0) if plugged else None)  # fmt: skip
    await started(box, control)
    try:
        await control.wait_for("status", 1)
        first.push(*text_to_events("40063")[:9], OSError(errno.ENODEV, "No such device"))
        await control.wait_for("status", 2)
        assert control.status["kitchen"]["scanner_connected"] is False
        assert box.display is not None and box.display.state.screen == "disconnected"
        await box.display.flush()
        assert_golden(box.display.image, "box_disconnected")
        await control.wait_for("status", 3)
        assert control.status["kitchen"]["scanner_connected"] is True
        assert box.display.state.screen == "idle"
        second.push(*text_to_events("4006381333931"))
        [call] = await control.wait_for("scan")
        assert call[1] == "4006381333931"
    finally:
        await box.close()


async def test_mode_buttons_switch_mode(control: FakeControl) -> None:
    box = await started(build_scan_box(config(scanner={"type": "none"}), control), control)
    try:
        assert box.buttons is not None and box.display is not None
        pin = box.buttons.pin("consume")
        pin.drive_low()
        pin.drive_high()  # released before the hold time: a press
        await control.wait_for("set_mode")
        await box.idle()
        assert control.mode == "consume"
        assert [m.type for m in control.messages] == ["scanner.mode"]
        assert box.display.state.screen == "mode" and box.display.state.mode == "consume"
        await box.display.flush()
        assert_golden(box.display.image, "screen_mode_consume")
        cycle = box.buttons.pin("cycle")
        cycle.drive_low()  # no hold action: it acts on the press itself
        cycle.drive_high()
        await control.wait_for("cycle_mode")
        await box.idle()
        assert control.mode == "lookup" and box.display.state.mode == "lookup"
    finally:
        await box.close()


async def test_long_press_undoes_and_asks_for_pairing(control: FakeControl) -> None:
    paired: asyncio.Queue[str] = asyncio.Queue()

    async def pairing(station_id: str) -> None:
        paired.put_nowait(station_id)
        box.deliver(Message("pairing.code", None, {"code": "482913", "expires_in": 300}))

    factory = MockFactory()
    box = build_scan_box(config(scanner={"type": "none"}), control,
                         pairing=pairing, pin_factory=factory)  # fmt: skip
    await started(box, control)
    try:
        assert box.buttons is not None and box.display is not None
        add = factory.pin(17)  # the "add" button's pin, reached through the factory passed in
        add.drive_low()
        await control.wait_for("undo_last_scan")  # fired by gpiozero's hold thread
        add.drive_high()
        await box.idle()
        assert [c[0] for c in control.calls] == ["undo_last_scan"]  # the press did not also fire
        assert box.display.state.outcome == "undone"
        consume = box.buttons.pin("consume")
        consume.drive_low()
        assert await asyncio.wait_for(paired.get(), 5) == "kitchen"
        consume.drive_high()
        await box.idle()
        assert box.display.state.screen == "pairing"
        assert control.mode == "add"
    finally:
        await box.close()
        factory.close()


async def test_feedback_beeps_short_on_success_long_on_error(control: FakeControl) -> None:
    cfg = config(
        scanner={"type": "none"},
        buttons={"type": "none"},
        feedback={"type": "mock", "buzzer_pin": 23, "led_pin": 24,
                  "success_seconds": 0.01, "error_seconds": 0.03},
    )  # fmt: skip
    box = await started(build_scan_box(cfg, control), control)
    try:
        assert box.feedback is not None
        buzzer = box.feedback.buzzer
        await control.scan("4006381333931", "kitchen")
        buzzer._blink_thread.join(5)  # gpiozero's pattern thread; ends after n=1
        on = [s for s in buzzer.pin.states if s.state]
        assert len(on) == 1
        buzzer.pin.clear_states()
        box.deliver(
            Message("scanner.scan", "kitchen", {"outcome": "error", "station_id": "kitchen"})
        )
        buzzer._blink_thread.join(5)
        durations = [s.timestamp for s in buzzer.pin.states]
        assert durations[-1] >= 0.03  # the off edge came at least error_seconds after the on
    finally:
        await box.close()


async def test_failing_node_call_shows_error(control: FakeControl) -> None:
    control.fail_scan = RuntimeError("database is locked")
    box = await started(build_scan_box(config(scanner={"type": "none"}), control), control)
    try:
        box.submit_scan("4006381333931")
        await box.idle()
        assert box.display is not None and box.display.state.screen == "error"
        assert "database is locked" in box.display.state.message
    finally:
        await box.close()


async def test_close_finishes_queued_scans_then_stops(control: FakeControl) -> None:
    box = await started(build_scan_box(config(scanner={"type": "none"}), control), control)
    box.submit_scan("1")
    box.submit_scan("2")
    await box.close()
    assert [c[1] for c in control.calls if c[0] == "scan"] == ["1", "2"]
    box.submit_scan("3")  # after close: ignored, not queued forever
    await box.close()


async def test_all_none_builds_nothing(control: FakeControl) -> None:
    box = await started(build_scan_box(build_config({}), control), control)
    assert (box.display, box.buttons, box.feedback, box.scanner) == (None, None, None, None)
    box.deliver(Message("scanner.scan", "kitchen", {"outcome": "added"}))
    await box.close()
