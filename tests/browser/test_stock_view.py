"""The stock overview against a real node: by product and by location, search, expiring soon,
below minimum, and live updates when another client scans."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_stock_by_product_updates_live_and_marks_expiry_and_min(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """Rows per product; soon-expiring highlighted, below-min marked; a scan elsewhere shows."""
    milk = await node.api.product("Milk", barcodes=[EAN13], min_stock=3, brand="Alpenhof")
    await node.api.stock(milk["id"], 1, days=1)
    rice = await node.api.product("Rice", unit="g")
    await node.api.stock(rice["id"], 500, days=300)
    yogurt = await node.api.product("Yogurt")
    await node.api.stock(yogurt["id"], 2, days=-2)

    page = await app_page("/#/stock")
    milk_row = page.locator(f'li[data-product-id="{milk["id"]}"]')
    await expect(milk_row).to_contain_text("Milk")
    await expect(milk_row).to_have_class("row expiring below-min")
    await expect(milk_row.locator(".badge.min")).to_have_text("min 3")
    await expect(milk_row.locator(".bbd")).to_have_text("best before tomorrow")
    rice_row = page.locator(f'li[data-product-id="{rice["id"]}"]')
    await expect(rice_row.locator(".qty")).to_have_text("500 g")
    await expect(rice_row).not_to_have_class("expiring")
    await expect(page.locator(f'li[data-product-id="{yogurt["id"]}"]')).to_have_class(
        "row expired "
    )
    await expect(page.locator("#stock-overview")).to_contain_text("1 expiring within 3 days")
    await expect(page.locator("#stock-overview")).to_contain_text("1 below minimum")

    # Another client scans the milk twice: the total follows without a reload.
    await node.api.scan(EAN13)
    await node.api.scan(EAN13)
    await expect(milk_row.locator(".qty")).to_have_text("3")
    await expect(milk_row).not_to_have_class("below-min")
    await expect(page.locator("#stock-overview")).not_to_contain_text("below minimum")

    # A product that exists only through a scan appears too.
    await node.api.scan("4006381333986")
    await expect(page.locator("#stock-list li.row")).to_have_count(4)
    await screenshot(page, "stock-by-product")

    await page.fill("#stock-search", "ric")
    await expect(page.locator("#stock-list li.row")).to_have_count(1)
    await expect(page.locator("#stock-list li.row")).to_contain_text("Rice")


async def test_stock_by_location_groups_lots_and_updates_live(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """Lots grouped under their location; a lot added by another client appears live."""
    locations = {
        loc["name"]: loc["id"] for loc in (await node.api.call("GET", "/api/locations"))["items"]
    }
    butter = await node.api.product("Butter")
    await node.api.stock(butter["id"], 2, days=2, location_id=locations["Fridge"])
    peas = await node.api.product("Peas")
    await node.api.stock(peas["id"], 1, days=200, location_id=locations["Freezer"])

    page = await app_page("/#/stock/location")
    fridge = page.locator('section.location[data-location="Fridge"]')
    await expect(fridge.locator("li.row")).to_have_count(1)
    await expect(fridge.locator("li.row")).to_have_class("row expiring")
    await expect(page.locator('section.location[data-location="Freezer"]')).to_contain_text("Peas")

    await node.api.stock(peas["id"], 3, days=100, location_id=locations["Fridge"], batch="B7")
    await expect(fridge.locator("li.row")).to_have_count(2)
    await expect(fridge).to_contain_text("lot B7")
    await screenshot(page, "stock-by-location")

    await page.fill("#stock-search", "fridge")
    await expect(page.locator("section.location")).to_have_count(1)
    await page.click('section.location li.row:has-text("Butter") a')
    await expect(page.locator("#product-name")).to_have_text("Butter")
