"""The shopping list against a real node: urgent first, add text or a product, check off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_urgent_first_add_and_check_off_into_stock(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """Urgent entries lead; a product added from the suggestions goes into stock when checked."""
    coffee = await node.api.product("Coffee beans", unit="g")
    await node.api.call("POST", "/api/shopping", {"text": "Candles", "priority": "low"}, 201)
    await node.api.call("POST", "/api/shopping", {"text": "Bread"}, 201)

    page = await app_page("/#/shopping")
    rows = page.locator("#shopping-list li.row")
    await expect(rows).to_have_count(2)

    # Another client adds something urgent: it appears on top without a reload.
    await node.api.call("POST", "/api/shopping", {"text": "Baby food", "priority": "urgent"}, 201)
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("Baby food")
    await expect(rows.first).to_have_attribute("data-priority", "urgent")
    await expect(rows.last).to_contain_text("Candles")

    # Free text from the form.
    await page.fill("#shopping-text", "Matches")
    await page.press("#shopping-text", "Enter")
    await expect(rows).to_have_count(4)

    # A product, picked from the suggestions, with an amount.
    await page.fill("#shopping-amount", "250")
    await page.fill("#shopping-text", "coff")
    await page.click(f'#shopping-suggestions button[data-product-id="{coffee["id"]}"]')
    coffee_row = rows.filter(has_text="Coffee beans")
    await expect(coffee_row.locator(".qty")).to_have_text("250 g")
    await screenshot(page, "shopping")

    await coffee_row.locator("button.check").click()
    # The amount bought is asked, the entry's amount offered.
    await expect(page.locator('dialog input[name="amount"]')).to_have_value("250")
    await page.click("dialog button.ok")
    await expect(coffee_row).to_have_count(0)
    await expect(page.locator("#toast")).to_contain_text("250 g into stock")
    assert await node.api.total(coffee["id"]) == 250
    items = (await node.api.call("GET", "/api/shopping?purchased=true"))["items"]
    assert [item["product_id"] for item in items] == [coffee["id"]]

    await rows.filter(has_text="Candles").locator("button.remove").click()
    await expect(rows).to_have_count(3)
