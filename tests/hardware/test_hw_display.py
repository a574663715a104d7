"""OLED screens: pure rendering against golden PNGs, and the display outlet on luma's dummy."""

from __future__ import annotations

import asyncio

import pytest
import zxingcpp
from hwfakes import assert_golden
from luma.core.device import dummy
from PIL import Image

from appliance.core.messages import Message
from appliance.hardware.config import DisplayConfig
from appliance.hardware.display import Display, amount_text, make_device
from appliance.hardware.screens import DisplayState, font, render, shorten, wrap

SCREENS = {
    "mode_consume": DisplayState(screen="mode", mode="consume"),
    "mode_shopping_offline": DisplayState(
        screen="mode", mode="shopping", sync_connected=False, outbox=12
    ),
    "idle": DisplayState(screen="idle", mode="add", sync_connected=True),
    "idle_expiring": DisplayState(
        screen="idle",
        mode="add",
        expiring=("Joghurt Natur · today", "Bärlauch-Pesto · in 2 days", "Crème fraîche · 3 d"),
    ),
    "result_added": DisplayState(
        screen="result",
        outcome="added",
        product="Gouda mittelalt Scheiben",
        detail="3 pcs in stock",
        best_before="2027-03-15",
    ),
    "result_long_umlauts": DisplayState(
        screen="result",
        outcome="consumed",
        product="Größter Bio-Frischkäse Kräuter Knoblauch Schnittlauch Doppelrahmstufe",
        detail="none left",
    ),
    "unknown": DisplayState(
        screen="unknown",
        code="4012345678901",
        message="Not known yet. Look it up in the web app.",
    ),
    "error": DisplayState(screen="error", message="Check digit wrong: 4006381333932"),
    "pairing": DisplayState(screen="pairing", pairing_code="482913", pairing_minutes=5),
    "disconnected": DisplayState(screen="disconnected", scanner_connected=False),
}


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_matches_golden(name: str) -> None:
    image = render(SCREENS[name])
    assert image.size == (128, 64) and image.mode == "1"
    assert_golden(image, f"screen_{name}")


def test_umlauts_have_their_dots() -> None:
    # The shipped font has the glyphs: "Ä" is wider than a replacement box would be and differs
    # from a plain "A" in pixels.
    plain = render(DisplayState(screen="result", outcome="added", product="A"))
    umlaut = render(DisplayState(screen="result", outcome="added", product="Ä"))
    assert plain.tobytes() != umlaut.tobytes()


def test_shorten_and_wrap() -> None:
    face = font(12, bold=True)
    assert shorten("Milch", face, 128) == "Milch"
    cut = shorten("Vollmilch 3,5 % Fett länger haltbar aus der Region", face, 128)
    assert cut.endswith("…") and face.getlength(cut) <= 128
    lines = wrap("Vollmilch 3,5 % Fett länger haltbar aus der Region", face, 128, 2)
    assert len(lines) == 2 and lines[0].startswith("Vollmilch") and lines[1].endswith("…")
    assert all(face.getlength(line) <= 128 for line in lines)
    # One unbroken word wider than the screen is broken, not dropped.
    long_code = wrap("40063813339314006381333931400638", face, 128, 2)
    assert len(long_code) == 2 and long_code[0].startswith("4006")
    assert wrap("", face, 128, 2) == []


def test_amount_text() -> None:
    assert amount_text(3.0, "pcs") == "3 pcs in stock"
    assert amount_text(250, "g") == "250 g in stock"
    assert amount_text(0, "pcs") == "none left"
    assert amount_text(-1, None) == "-1 pcs (recount)"
    assert amount_text(None, "pcs") == ""


def test_make_device_dummy_and_none() -> None:
    device = make_device(DisplayConfig(type="dummy"))
    assert isinstance(device, dummy) and device.mode == "1"
    assert make_device(DisplayConfig(type="none")) is None


def test_make_device_without_i2c_bus_is_none() -> None:
    # This machine has no /dev/i2c-*: the node must carry on without its display.
    assert make_device(DisplayConfig(type="ssd1306", i2c_port=250)) is None


async def test_outlet_shows_scan_result_on_the_device() -> None:
    device = dummy(width=128, height=64, mode="1")
    display = Display(DisplayConfig(type="dummy"), "kitchen", device)
    await display.start()
    try:
        outcome = {
            "outcome": "added",
            "station_id": "kitchen",
            "mode": "add",
            "code": "]d2010400638133393117270315",
            "product": {"id": "p", "name": "Gouda mittelalt Scheiben", "unit": "pcs"},
            "lot": {"id": "l", "amount": 1, "best_before": "2027-03-15"},
            "total": 3.0,
            "message": "",
        }
        display.deliver(Message("scanner.scan", "kitchen", outcome))
        await display.flush()
        assert display.state.screen == "result"
        assert_golden(device.image, "screen_result_added")
        # Another station's scan is not ours to show.
        version = display.version
        other = {**outcome, "station_id": "pantry", "outcome": "error"}
        display.deliver(Message("scanner.scan", "pantry", other))
        assert display.version == version
    finally:
        await display.close()


async def test_transient_screens_fall_back_to_idle_or_disconnected() -> None:
    config = DisplayConfig(type="dummy", result_seconds=0.02, mode_seconds=0.02)
    display = Display(config, "kitchen", dummy(width=128, height=64, mode="1"))
    await display.start()
    try:
        display.deliver(Message("scanner.mode", "kitchen", {"station_id": "kitchen",
                                                             "mode": "consume"}))  # fmt: skip
        assert display.state.screen == "mode" and display.state.mode == "consume"
        await display.wait_changed(display.version, 5)
        assert display.state.screen == "idle"
        display.set_scanner_connected(False)
        assert display.state.screen == "disconnected"
        display.show_error("Database locked")
        await display.wait_changed(display.version, 5)
        assert display.state.screen == "disconnected"
        display.set_scanner_connected(True)
        assert display.state.screen == "idle"
    finally:
        await display.close()


async def test_pairing_sync_and_unknown_messages() -> None:
    device = dummy(width=128, height=64, mode="1")
    display = Display(DisplayConfig(type="dummy"), "kitchen", device)
    await display.start()
    try:
        display.deliver(Message("sync.status", None, {"connected": False, "outbox": 12}))
        assert display.state.sync_connected is False and display.state.outbox == 12
        display.deliver(Message("pairing.code", None, {"code": "482913", "expires_in": 300}))
        await display.flush()
        assert display.state.screen == "pairing"
        assert_golden(device.image, "outlet_pairing_offline")
        display.deliver(Message("pairing.completed", None, {}))
        assert display.state.screen == "idle"
        display.deliver(Message("scanner.scan", "kitchen", {
            "outcome": "unknown", "station_id": "kitchen", "code": "4012345678901",
            "product": None, "lot": None, "total": None,
            "message": "Not known yet. Look it up in the web app.",
        }))  # fmt: skip
        await display.flush()
        assert display.state.screen == "unknown"
        # A malformed message is logged, never raised into the node's dispatcher.
        display.deliver(Message("sync.status", None, {"connected": True, "outbox": "many"}))
    finally:
        await display.close()


async def test_wait_changed_returns_after_timeout_when_nothing_happens() -> None:
    display = Display(DisplayConfig(type="dummy"), "kitchen", None)
    await display.start()
    try:
        assert await display.wait_changed(display.version, 0.01) == display.version
        waiter = asyncio.create_task(display.wait_changed(display.version, 5))
        await asyncio.sleep(0)
        display.show_mode("lookup")
        assert await asyncio.wait_for(waiter, 5) == display.version
    finally:
        await display.close()


def test_pairing_screen_carries_a_qr_code_a_phone_can_read() -> None:
    url = "https://kitchen.local:8443/#/pair?code=482913"
    state = DisplayState(
        screen="pairing", pairing_code="482913", pairing_minutes=5, pairing_url=url
    )
    image = render(state)
    assert_golden(image, "screen_pairing_qr")
    # Read it back the way a camera would: enlarged, grey, with the panel's surroundings.
    photo = image.convert("L").resize((128 * 4, 64 * 4), Image.Resampling.NEAREST)
    results = zxingcpp.read_barcodes(photo)
    assert [r.text for r in results] == [url]


async def test_a_name_from_enrichment_replaces_the_placeholder_on_screen() -> None:
    device = dummy(width=128, height=64, mode="1")
    display = Display(DisplayConfig(type="dummy"), "kitchen", device)
    await display.start()
    try:
        outcome = {
            "outcome": "added",
            "station_id": "kitchen",
            "product": {"id": "p1", "name": "Unknown product 4012345000016", "unit": "piece"},
            "lot": {"best_before": None},
            "total": 1.0,
        }
        display.deliver(Message("scanner.scan", None, outcome))
        renamed = {"id": "p1", "name": "Apfelschorle", "brand": "Mühlbach"}
        display.deliver(Message("product.updated", "p1", {"product": renamed}))
        other = {"id": "p2", "name": "Something else"}
        display.deliver(Message("product.updated", "p2", {"product": other}))
        await display.flush()
        assert display.state.screen == "result"
        assert display.state.product == "Apfelschorle Mühlbach"
    finally:
        await display.close()
