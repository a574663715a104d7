"""A long press on the scan box prints the label of the lot its last scan added (MockFactory
buttons, a real node, a real webhook receiver)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from gpiozero.pins.mock import MockFactory

from appliance.api.keys import TOKENS
from appliance.app import BOX, build_app
from appliance.config import build_config
from appliance.core.grocy_ids import stock_id
from appliance.core.lotcode import lot_code

PRINT_PIN = 23


def box_config(data_dir: Path, webhook: str | None) -> Any:
    labels = {"webhook": webhook} if webhook else {}
    return build_config(
        {
            "node": {"id": "box"},
            "storage": {"data_dir": str(data_dir)},
            "scanner": {"type": "none", "station_id": "box"},
            "display": {"type": "dummy", "result_seconds": 60},
            "buttons": {
                "type": "mock",
                "buttons": [
                    {"name": "add", "pin": 17, "press": "mode:add", "hold": "print"},
                ],
                "hold_seconds": 0.05,
            },
            "labels": labels,
        }
    )


async def hold_until_shown(factory: MockFactory, box: Any, screen: str) -> None:
    """Hold the button until the display shows ``screen`` (gpiozero's hold thread acts)."""
    pin = factory.pin(17)
    version = box.display.version
    pin.drive_low()
    try:
        for _ in range(100):  # ok: bounded wait for gpiozero's hold thread and the box's queue
            if box.display.version != version and box.display.state.screen == screen:
                return
            await box.display.wait_changed(box.display.version, 0.1)
        raise AssertionError(f"the display never showed {screen}: {box.display.state}")
    finally:
        pin.drive_high()
        await box.idle()


async def test_long_press_prints_the_last_added_lot(tmp_path: Path) -> None:
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def printer(request: web.Request) -> web.Response:
        received.put_nowait(await request.json())
        return web.Response(text="ok")

    receiver_app = web.Application()
    receiver_app.router.add_post("/print", printer)
    receiver = TestServer(receiver_app, host="127.0.0.1")
    await receiver.start_server()
    factory = MockFactory()
    app = await build_app(
        box_config(tmp_path, str(receiver.make_url("/print"))), pin_factory=factory
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        _, token = await app[TOKENS].create("test")
        auth = {"Authorization": f"Bearer {token}"}
        box: Any = app[BOX]
        # Nothing scanned yet: the box says so, and nothing is sent.
        await hold_until_shown(factory, box, "error")
        assert "scan something first" in box.display.state.message.lower()
        assert received.empty()

        resp = await client.post(
            "/api/scanner/scan",
            json={"code": "4006381333931", "station_id": "box", "mode": "add"},
            headers=auth,
        )
        lot = (await resp.json())["lot"]
        await box.idle()
        await hold_until_shown(factory, box, "result")
        assert box.display.state.outcome == "printed"
        body = await asyncio.wait_for(received.get(), 5)
        assert body["grocycode"].endswith(f":{stock_id(lot['id'])}")
        assert body["lot_code"] == lot_code(lot["id"])
        assert received.empty()  # one long press, one label
    finally:
        await client.close()
        await receiver.close()
        factory.reset()
        factory.close()


async def test_long_press_without_a_printer_says_so(tmp_path: Path) -> None:
    factory = MockFactory()
    app = await build_app(box_config(tmp_path, None), pin_factory=factory)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        _, token = await app[TOKENS].create("test")
        box: Any = app[BOX]
        await client.post(
            "/api/scanner/scan",
            json={"code": "4006381333931", "station_id": "box", "mode": "add"},
            headers={"Authorization": f"Bearer {token}"},
        )
        await box.idle()
        await hold_until_shown(factory, box, "error")
        assert "no label printer is configured" in box.display.state.message.lower()
    finally:
        await client.close()
        factory.reset()
        factory.close()
