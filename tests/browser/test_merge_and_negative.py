"""Merge two products, the negative-stock prompt and the recount that fixes an overdraw,
driven in the web app against a real node."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_merge_moves_stock_and_barcodes_to_the_kept_product(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """ "Unknown product" and "Milk" were the same: merged, the page shows Milk with both."""
    placeholder = (await node.api.scan(EAN13, station_id="kitchen-box"))["product"]
    milk = await node.api.product("Milk", barcodes=["96385074"])
    await node.api.stock(milk["id"], 2)
    page = await app_page(f"/#/product/{placeholder['id']}")
    await page.click("#merge-product")
    dialog = page.locator("dialog")
    await expect(dialog).to_contain_text("Stock, barcodes, shopping entries and history")
    await dialog.get_by_label("Find the product to keep").fill("Mil")
    await dialog.locator("button.suggestion", has_text="Milk").click()
    await screenshot(page, "merge-confirm")
    await page.locator("dialog button.ok").click()
    await expect(page.locator("#toast")).to_contain_text("Merged into Milk")
    await expect(page).to_have_url(f"{node.url}/#/product/{milk['id']}")
    await expect(page.locator("#product-name")).to_have_text("Milk")
    await expect(page.locator("#product-summary")).to_contain_text("In stock: 3")
    await expect(page.locator("#barcodes li.barcode")).to_have_count(2)
    await expect(page.locator("#toast")).to_contain_text("Merged into Milk")
    assert await node.api.total(milk["id"]) == 3


async def test_none_in_stock_asks_before_recording_and_recount_fixes(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """Use 1 of nothing: "none in stock", nothing changes unless recorded anyway; the page
    then says plainly it needs a recount, and the recount sets what is there."""
    butter = await node.api.product("Butter")
    page = await app_page(f"/#/product/{butter['id']}")
    summary = page.locator("#product-summary")
    await expect(summary).to_contain_text("In stock: 0")
    await page.click("#use-product")
    dialog = page.locator("dialog")
    await expect(dialog).to_contain_text("None in stock")
    await expect(dialog).to_contain_text("no Butter in stock")
    await screenshot(page, "negative-prompt")
    await dialog.locator("button.cancel").click()
    await expect(dialog).to_have_count(0)
    assert await node.api.total(butter["id"]) == 0
    entries = (await node.api.call("GET", f"/api/journal?product_id={butter['id']}"))["items"]
    assert entries == []

    await page.click("#use-product")
    await dialog.locator("button.ok").click()
    await expect(summary).to_contain_text("In stock: -1")
    await expect(page.locator("#recount-note")).to_be_visible()
    assert await node.api.total(butter["id"]) == -1

    await page.click("#recount-product")
    await dialog.locator('input[name="amount"]').fill("2")
    await dialog.locator("button.ok").click()
    await expect(summary).to_contain_text("In stock: 2")
    await expect(page.locator("#recount-note")).to_be_hidden()
    assert await node.api.total(butter["id"]) == 2


async def test_scan_consume_of_nothing_asks_in_the_scan_view(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path]
) -> None:
    """A consume scan with nothing in stock: the same question; Cancel changes nothing."""
    milk = await node.api.product("Milk", barcodes=[EAN13])
    page = await app_page("/#/scan", video=videos["blank"])
    await page.click('.modes button[data-mode="consume"]')
    await expect(page.locator(".modes button.active")).to_have_attribute("data-mode", "consume")
    await page.fill("#manual-code", EAN13)
    await page.press("#manual-code", "Enter")
    dialog = page.locator("dialog")
    await expect(dialog).to_contain_text("None in stock")
    await dialog.locator("button.cancel").click()
    result = page.locator("#scan-result")
    await expect(result).to_have_attribute("data-outcome", "none_in_stock")
    assert await node.api.total(milk["id"]) == 0
    await page.fill("#manual-code", EAN13)
    await page.press("#manual-code", "Enter")
    await dialog.locator("button.ok").click()
    await expect(result).to_have_attribute("data-outcome", "consumed")
    assert await node.api.total(milk["id"]) == -1
