"""The fake-hardware page: live display picture and clickable buttons over HTTP."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hwfakes import FakeControl
from PIL import Image

from appliance.config import build_config
from appliance.hardware.box import ScanBox, build_scan_box
from appliance.hardware.web import setup_hardware_routes


@pytest.fixture
async def box(control: FakeControl) -> AsyncIterator[ScanBox]:
    cfg = build_config({
        "scanner": {"type": "none"},
        "display": {"type": "dummy"},
        "buttons": {"type": "mock", "hold_seconds": 0.05},
    })  # fmt: skip
    scan_box = build_scan_box(cfg, control)
    control.outlets.append(scan_box)
    await scan_box.start()
    yield scan_box
    await scan_box.close()


@pytest.fixture
async def client(aiohttp_client: Any, box: ScanBox) -> Any:
    app = web.Application()
    setup_hardware_routes(app, box)
    return await aiohttp_client(app)


async def test_page_is_self_contained(client: Any) -> None:
    resp = await client.get("/hardware")
    assert resp.status == 200
    html = await resp.text()
    assert "/api/hardware/display.png" in html and "Authorization" in html
    assert "http://" not in html and "https://" not in html  # no external assets


async def test_display_png_is_the_current_frame(client: Any, box: ScanBox) -> None:
    resp = await client.get("/api/hardware/display.png")
    assert resp.status == 200 and resp.content_type == "image/png"
    image = Image.open(io.BytesIO(await resp.read()))
    assert image.size == (128, 64)
    assert box.display is not None
    assert image.convert("1").tobytes() == box.display.image.tobytes()


async def test_clicking_a_button_changes_mode_and_wakes_the_long_poll(
    client: Any, box: ScanBox, control: FakeControl
) -> None:
    state = await (await client.get("/api/hardware/state")).json()
    assert [b["name"] for b in state["buttons"]] == ["add", "consume", "cycle"]
    assert state["clickable"] is True
    version = state["version"]
    resp = await client.post("/api/hardware/buttons/consume/press")
    assert resp.status == 200
    await control.wait_for("set_mode")
    await box.idle()
    changed = await (await client.get(f"/api/hardware/state?after={version}")).json()
    assert changed["version"] > version and changed["mode"] == "consume"
    assert changed["screen"] == "mode"


async def test_holding_a_button_runs_its_hold_action(client: Any, control: FakeControl) -> None:
    resp = await client.post("/api/hardware/buttons/add/hold")
    assert resp.status == 200
    await control.wait_for("undo_last_scan")
    assert not [c for c in control.calls if c[0] == "set_mode"]


async def test_unknown_button_and_bad_scan_are_problems(client: Any) -> None:
    resp = await client.post("/api/hardware/buttons/nope/press")
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    resp = await client.post("/api/hardware/scan", json={"code": ""})
    assert resp.status == 422
    resp = await client.post(
        "/api/hardware/scan", data="not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    resp = await client.post("/api/hardware/scan", data="not json")
    assert resp.status == 415 and resp.content_type == "application/problem+json"


async def test_scan_from_the_page(client: Any, control: FakeControl) -> None:
    resp = await client.post("/api/hardware/scan", json={"code": "4006381333931"})
    assert resp.status == 202
    [call] = await control.wait_for("scan")
    assert call == ("scan", "4006381333931", "kitchen")


async def test_real_buttons_are_not_clickable(aiohttp_client: Any, control: FakeControl) -> None:
    cfg = build_config({"display": {"type": "dummy"}})
    scan_box = build_scan_box(cfg, control)
    await scan_box.start()
    try:
        app = web.Application()
        setup_hardware_routes(app, scan_box)
        client = await aiohttp_client(app)
        resp = await client.post("/api/hardware/buttons/add/press")
        assert resp.status == 409
    finally:
        await scan_box.close()
