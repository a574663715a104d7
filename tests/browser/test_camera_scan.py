"""Camera scanning end to end against a real node: Chromium's fake camera plays a Y4M video of
a barcode, zxing-wasm in the page reads symbology identifier + raw text, the page posts it to
``/api/scanner/scan``, and the node's stock changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]
SCAN_TIMEOUT_MS = 30_000
GTIN14 = "0" + EAN13


async def test_ean13_in_view_adds_one_however_long_it_is_held(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path], screenshot: Shot
) -> None:
    """An EAN-13 held in front of the camera is posted as ``]E0`` + digits, once: stock +1."""
    milk = await node.api.product("Milk", barcodes=[EAN13])
    await node.api.stock(milk["id"], 2)
    page = await app_page("/#/scan", video=videos["ean13"])
    result = page.locator("#scan-result")
    await expect(result).to_have_attribute("data-outcome", "added", timeout=SCAN_TIMEOUT_MS)
    await expect(result.locator(".result-total")).to_have_text("In stock: 3")
    await expect(page.locator("#scan-history li")).to_have_attribute("data-code", "]E0" + EAN13)

    # The video loops with the barcode always in view: 25 more decoded frames (about 3 s,
    # twice the hold time) must not post it again.
    # (An observer, not page.wait_for_function: that evaluates a string, which the CSP forbids.)
    waiting = page.evaluate(
        """(more) => new Promise((resolve) => {
             const box = document.getElementById("camera-box");
             const target = Number(box.dataset.frames) + more;
             const check = () => Number(box.dataset.frames) >= target && resolve(true);
             new MutationObserver(check).observe(box, {attributes: true});
             check();
           })""",
        25,
    )
    await asyncio.wait_for(waiting, SCAN_TIMEOUT_MS / 1000)
    await expect(page.locator("#scan-history li")).to_have_count(1)
    assert await node.api.total(milk["id"]) == 3
    journal = (await node.api.call("GET", f"/api/journal?product_id={milk['id']}"))["items"]
    assert [entry["kind"] for entry in journal] == ["purchase", "purchase"]
    await screenshot(page, "scan-ean13")


async def test_gs1_datamatrix_adds_a_lot_with_its_best_before_date(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path], screenshot: Shot
) -> None:
    """A GS1 DataMatrix (``]d2``, ASCII 29 kept) makes a lot with the code's date and batch."""
    milk = await node.api.product("Milk", barcodes=[EAN13])
    page = await app_page("/#/scan", video=videos["gs1_datamatrix"])
    result = page.locator("#scan-result")
    await expect(result).to_have_attribute("data-outcome", "added", timeout=SCAN_TIMEOUT_MS)
    await expect(result.locator(".result-bbd")).to_have_text("best before 03/15/2027")
    await expect(result.locator(".result-batch")).to_have_text("Lot LOT42")
    code = await page.locator("#scan-history li").get_attribute("data-code")
    assert code is not None and code.startswith("]d2") and "\x1d" in code

    lots = (await node.api.call("GET", f"/api/inventory?product_id={milk['id']}"))["items"]
    assert [(lot["amount"], lot["best_before"], lot["batch"]) for lot in lots] == [
        (1.0, "2027-03-15", "LOT42")
    ]
    assert lots[0]["net_weight"] == 0.5
    await screenshot(page, "scan-gs1-datamatrix")
