"""The household journal in the web app: newest first, filters, undo."""

from __future__ import annotations

from conftest import EAN13, OpenApp
from playwright.async_api import expect
from realnode import InProcessNode


async def test_history_filters_by_kind_and_product_and_undoes(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """Every stock change is listed; a product filter narrows it; Undo strikes one through."""
    milk = await node.api.product("Milk", barcodes=[EAN13])
    bread = await node.api.product("Bread")
    await node.api.stock(milk["id"], 2)
    await node.api.stock(bread["id"], 1)
    page = await app_page("/#/history")
    entries = page.locator("#history-list li.entry")
    await expect(entries).to_have_count(2)
    await node.api.scan(EAN13, station_id="kitchen-box")  # live
    await expect(entries).to_have_count(3)
    await expect(entries.first).to_contain_text("Added 1 Milk")
    await expect(entries.first).to_contain_text("on kitchen-box")

    await page.get_by_label("Product").fill("Bre")
    await page.locator("#view button.suggestion", has_text="Bread").click()
    await expect(entries).to_have_count(1)
    await expect(entries.first).to_contain_text("Bread")
    await entries.first.locator("button.undo").click()
    await expect(entries.first).to_have_class("entry kind-purchase undone")
    assert await node.api.total(bread["id"]) == 0
    await page.click("#history-product-clear")
    await expect(entries).to_have_count(3)
