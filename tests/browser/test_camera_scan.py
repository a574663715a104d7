"""The camera path: the node's own static web app reads a fake-camera video with zxing-wasm and
posts symbology identifier + raw text to ``/api/scanner/scan``.

The server here is a real aiohttp app serving the built assets plus a route that records what
the page posts (the end-to-end tests against a real node live beside this file).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import EAN13, GS1_ELEMENTS, LaunchBrowser, PageErrors
from playwright.async_api import Page, expect

from appliance.api.webapp_routes import setup_webapp

SCAN_TIMEOUT_S = 30


def capture_app(bodies: asyncio.Queue[dict[str, Any]]) -> web.Application:
    """An app serving the web app and recording every scan body it is sent."""
    app = web.Application()
    setup_webapp(app)

    async def scan(request: web.Request) -> web.Response:
        body = await request.json()
        await bodies.put(body)
        return web.json_response(
            {
                "outcome": "added",
                "station_id": body.get("station_id"),
                "mode": "add",
                "code": body["code"],
                "product": {"name": "Captured product", "unit": "pcs"},
                "lot": {"best_before": "2027-03-15"},
                "total": bodies.qsize(),
                "message": "Added",
            }
        )

    async def mode(request: web.Request) -> web.Response:
        station = request.query.get("station_id")
        return web.json_response({"station_id": station, "mode": "add", "default": "add"})

    app.router.add_post("/api/scanner/scan", scan)
    app.router.add_get("/api/scanner/mode", mode)
    return app


async def open_scan_view(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    video: Path,
) -> tuple[Page, asyncio.Queue[dict[str, Any]]]:
    """Serve the capture app, start Chromium with ``video`` as its camera, open the scan view."""
    bodies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    server = await aiohttp_server(capture_app(bodies))
    browser = await launch_browser(video)
    page = page_errors.watch(await browser.new_page(viewport={"width": 1024, "height": 768}))
    await page.goto(str(server.make_url("/#/scan")))
    return page, bodies


async def test_camera_reads_ean13_once_while_held(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    videos: dict[str, Path],
    screenshot: Callable[[Page, str], Awaitable[Path]],
) -> None:
    """An EAN-13 in view is posted as ``]E0`` + digits, once, however long it is held."""
    page, bodies = await open_scan_view(
        aiohttp_server, launch_browser, page_errors, videos["ean13"]
    )
    body = await asyncio.wait_for(bodies.get(), SCAN_TIMEOUT_S)
    assert body["code"] == "]E0" + EAN13
    assert body["station_id"].startswith("cam-")
    await expect(page.locator("#scan-result")).to_contain_text("Captured product")
    await expect(page.locator("#scan-result")).to_have_class("result outcome-added")

    # The video loops with the barcode always in view: 25 more decoded frames (about 3 s,
    # twice the hold time) must not post it again.
    frames = int(await page.locator("#camera-box").get_attribute("data-frames") or "0")
    await page.wait_for_function(
        "n => Number(document.getElementById('camera-box').dataset.frames) >= n",
        arg=frames + 25,
        timeout=SCAN_TIMEOUT_S * 1000,
    )
    assert bodies.empty()
    await expect(page.locator("#scan-history li")).to_have_count(1)
    await screenshot(page, "scan-ean13")


async def test_camera_reads_gs1_datamatrix_with_group_separator(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    videos: dict[str, Path],
    screenshot: Callable[[Page, str], Awaitable[Path]],
) -> None:
    """A GS1 DataMatrix is posted as ``]d2`` + the element string with ASCII 29 kept."""
    page, bodies = await open_scan_view(
        aiohttp_server, launch_browser, page_errors, videos["gs1_datamatrix"]
    )
    body = await asyncio.wait_for(bodies.get(), SCAN_TIMEOUT_S)
    assert body["code"] == "]d2" + GS1_ELEMENTS
    assert "\x1d" in body["code"]
    await expect(page.locator("#scan-result")).to_contain_text("best before 2027-03-15")
    await screenshot(page, "scan-gs1-datamatrix")


async def test_manual_entry_posts_the_typed_code(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    videos: dict[str, Path],
) -> None:
    """With nothing in front of the camera, a typed barcode is posted without an identifier."""
    page, bodies = await open_scan_view(
        aiohttp_server, launch_browser, page_errors, videos["blank"]
    )
    await page.fill("#manual-code", "4006381333931")
    await page.press("#manual-code", "Enter")
    body = await asyncio.wait_for(bodies.get(), SCAN_TIMEOUT_S)
    assert body["code"] == EAN13
    await expect(page.locator("#scan-history li")).to_have_count(1)
