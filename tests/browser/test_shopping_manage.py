"""Managing the shopping list: edit an entry, the priority returns to normal after an add,
groups by category or location with the urgent ones first."""

from __future__ import annotations

from conftest import OpenApp
from playwright.async_api import expect
from realnode import InProcessNode


async def test_priority_returns_to_normal_after_an_add(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """One urgent entry must not make the next one urgent too (regression)."""
    page = await app_page("/#/shopping")
    await page.select_option("#shopping-priority", "urgent")
    await page.fill("#shopping-text", "Nappies")
    await page.press("#shopping-text", "Enter")
    rows = page.locator("#shopping-list li.row")
    await expect(rows).to_have_count(1)
    await expect(page.locator("#shopping-priority")).to_have_value("normal")
    await page.fill("#shopping-text", "Tea")
    await page.press("#shopping-text", "Enter")
    await expect(rows).to_have_count(2)
    items = {
        i["text"]: i["priority"] for i in (await node.api.call("GET", "/api/shopping"))["items"]
    }
    assert items == {"Nappies": "urgent", "Tea": "normal"}


async def test_edit_text_amount_priority_and_note(node: InProcessNode, app_page: OpenApp) -> None:
    """The edit dialog changes the entry on the node; the list shows it."""
    entry = await node.api.call("POST", "/api/shopping", {"text": "Bred"}, 201)
    page = await app_page("/#/shopping")
    row = page.locator(f'#shopping-list li[data-item-id="{entry["id"]}"]')
    await row.get_by_role("button", name="Change Bred").click()
    dialog = page.locator("dialog")
    await dialog.get_by_label("Text").fill("Bread")
    await dialog.get_by_label("Amount").fill("2")
    await dialog.get_by_label("Priority").select_option("urgent")
    await dialog.get_by_label("Note").fill("wholemeal")
    await dialog.locator("button.ok").click()
    await expect(row).to_contain_text("Bread")
    await expect(row).to_contain_text("wholemeal")
    await expect(row.locator(".qty")).to_have_text("2")
    await expect(row).to_have_attribute("data-priority", "urgent")
    saved = await node.api.call("GET", f"/api/shopping/{entry['id']}")
    assert (saved["text"], saved["amount"], saved["priority"], saved["note"]) == (
        "Bread",
        2,
        "urgent",
        "wholemeal",
    )


async def test_grouped_by_category_urgent_groups_first(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """By category: each product under its category, the group holding an urgent entry first."""
    apples = await node.api.product("Apples", category="Fruit")
    cheese = await node.api.product("Cheese", category="Dairy")
    pears = await node.api.product("Pears", category="Fruit")
    for product, priority in ((apples, "normal"), (pears, "low"), (cheese, "urgent")):
        body = {"product_id": product["id"], "priority": priority}
        await node.api.call("POST", "/api/shopping", body, 201)
    page = await app_page("/#/shopping")
    await page.select_option("#shopping-group", "category")
    groups = page.locator("#shopping-list section.group")
    await expect(groups).to_have_count(2)
    await expect(groups.first).to_have_attribute("data-group", "Dairy")
    fruit = page.locator('section.group[data-group="Fruit"] li.row')
    await expect(fruit).to_have_count(2)
    await expect(fruit.first).to_contain_text("Apples")  # normal before low
