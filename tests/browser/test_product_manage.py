"""Managing products in the web app against a real node: create without a barcode, edit
every field, add and remove barcodes, delete stating what happens to the stock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_create_without_barcode_and_edit_every_field(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """A product made in the app has no barcode; its edits reach the node and show live."""
    fridge = next(
        loc
        for loc in (await node.api.call("GET", "/api/locations"))["items"]
        if loc["name"] == "Fridge"
    )
    page = await app_page("/#/stock")
    await page.click("#product-new")
    dialog = page.locator("dialog")
    await dialog.locator('input[name="name"]').fill("Oat milk")
    await dialog.locator('select[name="unit"]').select_option("ml")
    await page.keyboard.press("Enter")  # the keyboard submits the form
    await expect(page.locator("#product-name")).to_have_text("Oat milk")
    await expect(page.locator("#barcodes")).to_contain_text("No barcode yet.")
    (product,) = (await node.api.call("GET", "/api/products?search=Oat"))["items"]
    assert product["barcodes"] == [] and product["unit"] == "ml"

    await page.click("#edit-product")
    await dialog.get_by_label("Brand").fill("Oatly")
    await dialog.get_by_label("Pack size").fill("1000")
    await dialog.get_by_label("Category").fill("Drinks")
    await dialog.get_by_label("Minimum stock").fill("500")
    await dialog.get_by_label("Default location").select_option(fridge["id"])
    await dialog.get_by_label("Best before, days after purchase").fill("90")
    await screenshot(page, "edit-dialog")
    await dialog.locator("button.ok").click()
    await expect(page.locator("#toast")).to_contain_text("Saved")
    saved = await node.api.call("GET", f"/api/products/{product['id']}")
    assert saved["brand"] == "Oatly" and saved["category"] == "Drinks"
    assert saved["pack_size"] == 1000 and saved["min_stock"] == 500
    assert saved["default_location_id"] == fridge["id"]
    assert saved["default_best_before_days"] == 90
    await expect(page.locator("#product-facts")).to_contain_text("Drinks")
    await expect(page.locator("#product-facts")).to_contain_text("1,000 ml")

    # Another client renames it: the page follows live.
    await node.api.call("PATCH", f"/api/products/{product['id']}", {"name": "Oat drink"})
    await expect(page.locator("#product-name")).to_have_text("Oat drink")


async def test_barcodes_add_and_remove(node: InProcessNode, app_page: OpenApp) -> None:
    """Several barcodes per product; each can be removed."""
    milk = await node.api.product("Milk", barcodes=[EAN13])
    page = await app_page(f"/#/product/{milk['id']}")
    codes = page.locator("#barcodes li.barcode")
    await expect(codes).to_have_count(1)
    await page.get_by_label("Add barcode").fill("96385074")
    await page.press("#barcode-new", "Enter")
    await expect(codes).to_have_count(2)
    assert len((await node.api.call("GET", f"/api/products/{milk['id']}"))["barcodes"]) == 2
    found = await node.api.call("GET", "/api/products/by-barcode/96385074")
    assert found["id"] == milk["id"]

    await page.get_by_role("button", name=f"Remove barcode {EAN13}").click()
    await expect(codes).to_have_count(1)
    await expect(page.locator("#toast")).to_contain_text(f"Barcode {EAN13} removed")
    assert (await node.api.call("GET", f"/api/products/{milk['id']}"))["barcodes"] != [EAN13]


async def test_delete_states_what_happens_to_the_stock(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """The question names the stock that goes with the product; Cancel keeps it."""
    jam = await node.api.product("Jam")
    await node.api.stock(jam["id"], 2)
    page = await app_page(f"/#/product/{jam['id']}")
    await expect(page.locator("#product-summary")).to_contain_text("In stock: 2")
    await page.click("#delete-product")
    dialog = page.locator("dialog")
    await expect(dialog).to_contain_text("Delete Jam?")
    await expect(dialog).to_contain_text("Its stock of 2 is removed with it")
    await dialog.locator("button.cancel").click()
    await expect(dialog).to_have_count(0)
    assert await node.api.total(jam["id"]) == 2

    await page.click("#delete-product")
    await dialog.locator("button.ok").click()
    await page.wait_for_url("**/#/stock")
    await expect(page.locator("#toast")).to_contain_text("Jam deleted")
    await node.api.call("GET", f"/api/products/{jam['id']}", expect=404)
