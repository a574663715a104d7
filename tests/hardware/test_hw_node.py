"""The scan box inside a real node: a button press changes the mode for WebSocket clients and
the display, and a scan shows its result on the display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from gpiozero.pins.mock import MockFactory

from appliance.api.keys import TOKENS
from appliance.app import BOX, build_app
from tests.fakes.scanbox import scan_box_config
from tests.fakes.ws import next_message


async def test_button_and_scan_reach_clients_and_display(tmp_path: Path) -> None:
    factory = MockFactory()
    config = scan_box_config(tmp_path)
    app = await build_app(config, pin_factory=factory)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        _, token = await app[TOKENS].create("test")
        auth = {"Authorization": f"Bearer {token}"}
        ws = await client.ws_connect("/api/ws", headers=auth)
        box: Any = app[BOX]

        pin = factory.pin(27)
        pin.drive_low()  # press: the mock pins run the gpiozero callback in this thread
        pin.drive_high()
        mode = await next_message(ws, "scanner.mode")
        assert mode["data"] == {"station_id": "box", "mode": "consume", "default": "add"}
        got = await (await client.get("/api/scanner/mode?station_id=box", headers=auth)).json()
        assert got["mode"] == "consume"
        await box.idle()
        assert box.display.state.mode == "consume"

        # A scan at this station in add mode (given explicitly) lands on the display.
        await client.post(
            "/api/scanner/scan",
            json={"code": "4006381333931", "station_id": "box", "mode": "add"},
            headers=auth,
        )
        await next_message(ws, "scanner.scan")
        await box.idle()
        assert box.display.state.outcome == "added"
        assert "4006381333931" in box.display.state.product
        # Holding the pair button shows a code and a QR code of the pairing page.
        held = factory.pin(22)

        async def hold_for_a_code(previous: str) -> str:
            held.drive_low()
            for _ in range(100):
                if box.display.state.pairing_code not in ("", previous):
                    break
                await box.display.wait_changed(box.display.version, 0.1)
            held.drive_high()
            assert box.display.state.screen == "pairing"
            code = str(box.display.state.pairing_code)
            assert len(code) == 6 and code != previous
            assert box.display.state.pairing_url.endswith(f"/#/pair?code={code}")
            return code

        first_code = await hold_for_a_code("")
        # Nobody else's request replaces it: anonymous calls are refused, and a paired
        # device's request gets a code of its own, not shown on the display.
        anonymous = await client.post("/api/pairing/start", json={})
        assert anonymous.status == 401
        started = await client.post("/api/pairing/start", json={}, headers=auth)
        assert started.status == 201
        assert (await started.json())["code"] != first_code
        await box.idle()
        assert box.display.state.pairing_code == first_code
        # Holding again gives a fresh code from the box itself.
        await hold_for_a_code(first_code)
        png = await client.get("/api/hardware/display.png", headers=auth)
        assert png.status == 200 and png.content_type == "image/png"
        await ws.close()
    finally:
        await client.close()
        factory.reset()


async def test_display_follows_a_changed_household_default(tmp_path: Path) -> None:
    """The box showed ADD while its scans consumed, after the household default changed."""
    factory = MockFactory()
    app = await build_app(scan_box_config(tmp_path), pin_factory=factory)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        _, token = await app[TOKENS].create("test")
        auth = {"Authorization": f"Bearer {token}"}
        box: Any = app[BOX]
        assert box.display.state.mode == "add"
        answer = await client.post("/api/scanner/mode", json={"mode": "consume"}, headers=auth)
        assert answer.status == 200
        await box.idle()
        got = await (await client.get("/api/scanner/mode?station_id=box", headers=auth)).json()
        assert got["mode"] == "consume"
        assert box.display.state.mode == "consume"
        # A station with a mode of its own keeps it when the default changes again.
        factory.pin(17).drive_low()
        factory.pin(17).drive_high()
        await box.idle()
        for _ in range(50):
            if box.display.state.mode == "add":
                break
            await box.display.wait_changed(box.display.version, 0.1)
        assert box.display.state.mode == "add"
        await client.post("/api/scanner/mode", json={"mode": "lookup"}, headers=auth)
        got = await (await client.get("/api/scanner/mode?station_id=box", headers=auth)).json()
        assert got["mode"] == "add"
        assert box.display.state.mode == "add"
        # Back to following: the box chooses the default, then the default moves on.
        await client.post(
            "/api/scanner/mode", json={"mode": "lookup", "station_id": "box"}, headers=auth
        )
        await client.post("/api/scanner/mode", json={"mode": "open"}, headers=auth)
        assert box.display.state.mode == "open"
    finally:
        await client.close()
        factory.reset()
