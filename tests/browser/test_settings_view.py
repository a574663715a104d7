"""Settings in the web app against a real node: the household's one "due soon" horizon (the
same number in every tab), the node's name, scan modes per station and the household default
(the scan view shows the station's effective mode when the default changes)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_due_soon_horizon_is_one_number_everywhere(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """With lots due in 1, 2 and 5 days of one product and 2 days of another, both tabs say
    the same; a wider horizon set here changes both (regression: 1 in one tab, 3 in the other)."""
    milk = await node.api.product("Milk")
    cream = await node.api.product("Cream")
    for days in (1, 2, 5):
        await node.api.stock(milk["id"], 1, days=days)
    await node.api.stock(cream["id"], 1, days=5)
    page = await app_page("/#/stock")
    overview = page.locator("#stock-overview")
    await expect(overview).to_have_text("1 expiring within 3 days")
    await page.click("#by-location")
    await expect(page.locator("section.location")).to_have_count(1)
    await expect(overview).to_have_text("1 expiring within 3 days")

    await page.click('nav.tabs a[data-tab="settings"]')
    due = page.get_by_label("“Due soon” means within this many days")
    await expect(due).to_have_value("3")
    await due.fill("7")
    await page.click("#settings-save")
    await expect(page.locator("#toast")).to_contain_text("Settings saved")
    settings = await node.api.call("GET", "/api/settings")
    assert settings["household"]["due_soon_days"] == 7
    await screenshot(page, "settings")

    await page.click('nav.tabs a[data-tab="stock"]')
    await expect(overview).to_have_text("2 expiring within 7 days")
    await page.click("#by-location")
    await expect(overview).to_have_text("2 expiring within 7 days")
    # Another device narrows it: this one follows live.
    await node.api.call("PATCH", "/api/settings", {"due_soon_days": 1})
    await expect(overview).to_have_text("1 expiring within a day")


async def test_node_name_and_station_modes(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path]
) -> None:
    """The node's name is saved; a station's mode and the household default change here."""
    await node.api.product("Milk", barcodes=[EAN13])
    await node.api.scan(EAN13, station_id="kitchen-box")  # the box is now a known station
    page = await app_page("/#/settings")
    await page.get_by_label("This node's name").fill("Pantry Pi")
    await page.click("#settings-save")
    await expect(page.locator("#toast")).to_contain_text("Settings saved")
    assert (await node.api.call("GET", "/api/settings"))["node"]["name"] == "Pantry Pi"

    async with page.expect_response("**/api/scanner/mode"):
        await page.get_by_label("Mode of kitchen-box").select_option("consume")
    mode = await node.api.call("GET", "/api/scanner/mode?station_id=kitchen-box")
    assert mode["mode"] == "consume"


async def test_scan_view_shows_the_effective_mode_after_the_default_changes(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path]
) -> None:
    """A station without a mode of its own follows the household default: when another device
    changes the default, the scan view's selector shows the mode scans now use."""
    page = await app_page("/#/scan", video=videos["blank"])
    active = page.locator(".modes button.active")
    await expect(active).to_have_attribute("data-mode", "add")
    await node.api.call("POST", "/api/scanner/mode", {"mode": "consume"})
    await expect(active).to_have_attribute("data-mode", "consume")
    note = page.locator(".station-note")
    await expect(note).to_have_attribute("data-station", re.compile(r".+"))
    station = await note.get_attribute("data-station")
    mode = await node.api.call("GET", f"/api/scanner/mode?station_id={station}")
    assert mode["mode"] == "consume"
