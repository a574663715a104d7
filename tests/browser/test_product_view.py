"""Product detail against a real node: lots with best-before dates, the journal with undo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_lots_journal_and_undo_update_live(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """A scan elsewhere adds a lot and a journal entry live; Undo withdraws it."""
    milk = await node.api.product("Milk", barcodes=[EAN13], min_stock=2)
    first = await node.api.stock(milk["id"], 1, days=1, batch="L1")

    page = await app_page(f"/#/product/{milk['id']}")
    await expect(page.locator("#product-name")).to_have_text("Milk")
    await expect(page.locator("#product-summary")).to_contain_text("In stock: 1")
    await expect(page.locator("#product-summary .badge.min")).to_have_text("below min 2")
    lot = page.locator(f'#lots li[data-lot-id="{first["id"]}"]')
    await expect(lot).to_have_class("row expiring")
    await expect(lot).to_contain_text("best before tomorrow")
    await expect(lot).to_contain_text("lot L1")

    outcome = await node.api.scan("]C1" + "01" + "0" + EAN13 + "17270315" + "10LOT42")
    await expect(page.locator("#lots li.row")).to_have_count(2)
    new_lot = page.locator(f'#lots li[data-lot-id="{outcome["lot"]["id"]}"]')
    await expect(new_lot).to_contain_text("best before 03/15/2027")
    await expect(new_lot).to_contain_text("lot LOT42")
    await expect(page.locator("#product-summary")).to_contain_text("In stock: 2")
    newest = page.locator("#journal li.entry").first
    await expect(newest).to_contain_text("Added 1")
    await expect(newest).to_contain_text("on other-ipad")
    await screenshot(page, "product")

    await newest.locator("button.undo").click()
    await expect(newest).to_have_class("entry kind-purchase undone")
    await expect(page.locator("#lots li.row")).to_have_count(1)
    await expect(page.locator("#product-summary")).to_contain_text("In stock: 1")
    assert await node.api.total(milk["id"]) == 1

    await lot.locator("button.consume").click()
    await expect(page.locator("#product-summary")).to_contain_text("In stock: 0")
    await expect(page.locator("#journal li.entry").first).to_contain_text("Used 1")
