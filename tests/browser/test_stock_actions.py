"""Stock actions in the web app against a real node: add by hand (search or create), use an
amount or all, open, spoiled, move, correct a lot; each toast says what happened, with Undo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from conftest import OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def _location(node: InProcessNode, name: str) -> dict[str, Any]:
    items = (await node.api.call("GET", "/api/locations"))["items"]
    return next(loc for loc in items if loc["name"] == name)


async def test_add_stock_by_hand_with_search_and_create(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """From the stock view: a product found by search, amount stepped by its unit, location,
    best-before and price; then one created on the spot."""
    await node.api.product("Basmati rice", unit="g")
    pantry = await _location(node, "Pantry")
    page = await app_page("/#/stock")
    await page.click("#stock-add")
    dialog = page.locator("dialog")
    await dialog.get_by_label("Search a product").fill("basm")
    await dialog.locator("button.suggestion", has_text="Basmati rice").click()
    amount = dialog.locator('input[name="amount"]')
    await expect(amount).to_have_value("100")
    await dialog.get_by_role("button", name="More g").click()  # grams step by 50
    await expect(amount).to_have_value("150")
    await dialog.get_by_label("Location").select_option(pantry["id"])
    await dialog.get_by_label("Best before").fill("2027-12-01")
    await dialog.get_by_label("Price").fill("2.49")
    await screenshot(page, "add-stock")
    await dialog.locator("button.ok").click()
    await expect(page.locator("#toast")).to_contain_text("Added 150 g Basmati rice")
    row = page.locator("#stock-list li.row", has_text="Basmati rice")
    await expect(row.locator(".qty")).to_have_text("150 g")
    (lot,) = (await node.api.call("GET", "/api/inventory"))["items"]
    assert lot["location_id"] == pantry["id"] and lot["best_before"] == "2027-12-01"
    assert lot["price"] == 2.49

    await page.click("#stock-add")
    await dialog.get_by_label("Search a product").fill("Tahini")
    await dialog.locator("button.suggestion.create").click()
    product_dialog = page.locator("dialog").last
    await expect(product_dialog.locator('input[name="name"]')).to_have_value("Tahini")
    await product_dialog.locator("button.ok").click()
    await expect(page.locator("#add-chosen")).to_have_text("Tahini")
    await page.locator("dialog button.ok").click()
    await expect(page.locator("#stock-list li.row", has_text="Tahini")).to_have_count(1)


async def test_lot_actions_use_open_spoil_move_correct(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """Every lot action reaches the node; Undo in the toast withdraws the last one."""
    yogurt = await node.api.product("Yogurt")
    fridge = await _location(node, "Fridge")
    freezer = await _location(node, "Freezer")
    lot = await node.api.stock(yogurt["id"], 6, location_id=fridge["id"])
    page = await app_page(f"/#/product/{yogurt['id']}")
    row = page.locator(f'#lots li[data-lot-id="{lot["id"]}"]')
    summary = page.locator("#product-summary")
    dialog = page.locator("dialog")

    await row.locator("button.consume").click()
    await expect(summary).to_contain_text("In stock: 5")
    toast = page.locator("#toast")
    await expect(toast).to_contain_text("Used 1")
    await toast.locator("button.toast-action").click()  # Undo
    await expect(summary).to_contain_text("In stock: 6")

    await row.locator("button.use").click()
    await dialog.locator('input[name="amount"]').fill("2")
    await dialog.locator("button.ok").click()
    await expect(summary).to_contain_text("In stock: 4")

    await row.locator("button.spoil").click()
    await dialog.locator('input[name="amount"]').fill("1")
    await dialog.locator("button.ok").click()
    await expect(summary).to_contain_text("In stock: 3")
    await expect(page.locator("#journal li.entry").first).to_contain_text("Spoiled 1")

    await row.locator("button.open").click()
    await expect(row).to_contain_text("opened")

    await row.locator("button.correct").click()
    await dialog.locator('input[name="amount"]').fill("4")
    await dialog.get_by_label("Best before").fill("2027-01-31")
    await dialog.locator("button.ok").click()
    await expect(summary).to_contain_text("In stock: 4")
    await expect(row).to_contain_text("best before 01/31/2027")

    await row.locator("button.move").click()
    await dialog.get_by_label("Location").select_option(freezer["id"])
    await dialog.locator('input[name="amount"]').fill("1")
    await dialog.locator("button.ok").click()
    await expect(page.locator("#lots li.row")).to_have_count(2)
    await expect(page.locator("#lots li.row", has_text="Freezer")).to_contain_text("1")
    lots = (await node.api.call("GET", f"/api/inventory?product_id={yogurt['id']}"))["items"]
    assert sorted((x["location_name"], x["amount"]) for x in lots) == [
        ("Freezer", 1),
        ("Fridge", 3),
    ]

    # Use all: the lot's whole amount in one go.
    fridge_row = page.locator("#lots li.row", has_text="Fridge")
    await fridge_row.locator("button.use").click()
    await dialog.locator("button.use-all").click()
    await expect(summary).to_contain_text("In stock: 1")
