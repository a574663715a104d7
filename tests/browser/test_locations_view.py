"""Locations in the web app against a real node: create, rename, reorder, mark as freezer
(a lot moved into it gets its freezer date), delete moving the stock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

from conftest import OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def _names(node: InProcessNode) -> list[str]:
    return [loc["name"] for loc in (await node.api.call("GET", "/api/locations"))["items"]]


async def test_create_rename_reorder_freezer_and_delete(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """Each change reaches the node; the list follows its order."""
    page = await app_page("/#/locations")
    rows = page.locator("#locations-list li.row")
    before = await _names(node)
    await expect(rows).to_have_count(len(before))

    await page.get_by_label("New location").fill("Cellr")
    await page.press("#location-name", "Enter")
    await expect(rows).to_have_count(len(before) + 1)
    await page.get_by_role("button", name="Rename Cellr").click()
    await page.locator("dialog").get_by_label("Name").fill("Cellar")
    await page.locator("dialog button.ok").click()
    cellar = page.locator("#locations-list li.row", has_text="Cellar")
    await expect(cellar).to_have_count(1)
    assert "Cellar" in await _names(node)

    # Up to the top, one step at a time.
    for step in range(len(before)):
        await cellar.locator("button.up").click()
        await expect(rows.nth(len(before) - 1 - step)).to_contain_text("Cellar")
    await expect(rows.first).to_contain_text("Cellar")
    assert (await _names(node))[0] == "Cellar"
    await expect(cellar.locator("button.up")).to_be_disabled()

    await cellar.get_by_label("Freezer").check()
    await expect(cellar).to_have_class("row is-freezer")
    await screenshot(page, "locations")

    # Delete the cellar with stock in it: the stock moves where the person says.
    jam = await node.api.product("Jam")
    cellar_id = await cellar.get_attribute("data-location-id")
    await node.api.stock(jam["id"], 2, location_id=cellar_id)
    await expect(cellar).to_contain_text("lots: 1")
    await cellar.locator("button.remove").click()
    dialog = page.locator("dialog")
    pantry = next(
        loc
        for loc in (await node.api.call("GET", "/api/locations"))["items"]
        if loc["name"] == "Pantry"
    )
    await dialog.get_by_label("Its stock moves to").select_option(pantry["id"])
    await dialog.locator("button.ok").click()
    await expect(cellar).to_have_count(0)
    (lot,) = (await node.api.call("GET", f"/api/inventory?product_id={jam['id']}"))["items"]
    assert lot["location_id"] == pantry["id"] and lot["amount"] == 2


async def test_moving_into_a_freezer_sets_the_freezer_date(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """Grocy's rule, seen in the app: a lot moved into a freezer is best before today plus
    the product's freezer days."""
    peas = await node.api.product("Peas", default_best_before_days_after_freezing=180)
    locations = (await node.api.call("GET", "/api/locations"))["items"]
    fridge = next(loc for loc in locations if loc["name"] == "Fridge")
    freezer = next(loc for loc in locations if loc["name"] == "Freezer")
    if not freezer["freezer"]:
        await node.api.call("PATCH", f"/api/locations/{freezer['id']}", {"freezer": True})
    lot = await node.api.stock(peas["id"], 1, days=2, location_id=fridge["id"])
    page = await app_page(f"/#/product/{peas['id']}")
    row = page.locator(f'#lots li[data-lot-id="{lot["id"]}"]')
    await row.locator("button.move").click()
    dialog = page.locator("dialog")
    await expect(dialog).to_contain_text("A freezer location sets the freezer date.")
    await dialog.get_by_label("Location").select_option(freezer["id"])
    await dialog.locator("button.ok").click()
    frozen = (date.today() + timedelta(days=180)).strftime("%m/%d/%Y")
    await expect(page.locator("#lots li.row", has_text="Freezer")).to_contain_text(frozen)
