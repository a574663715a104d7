"""The scan view against a real node: the mode selector kept in step with the station's mode,
feedback per outcome for typed codes, and scans of other stations shown live."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def station_of(page: Page) -> str:
    """The station id this browser scans as: the node names it after the paired device."""
    note = page.locator(".station-note")
    await expect(note).to_have_attribute("data-station", re.compile(r".+"))
    station = await note.get_attribute("data-station")
    assert isinstance(station, str) and station.startswith("test-ipad-")
    assert await page.evaluate("localStorage.getItem('kitchen.station_id')") == station
    return station


async def test_mode_selector_follows_the_station_both_ways(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path], screenshot: Shot
) -> None:
    """A tap switches the station on the node; a switch elsewhere moves the selector."""
    page = await app_page("/#/scan", video=videos["blank"])
    active = page.locator(".modes button.active")
    await expect(active).to_have_attribute("data-mode", "add")
    station = await station_of(page)

    await page.click('.modes button[data-mode="consume"]')
    await expect(active).to_have_attribute("data-mode", "consume")
    mode = await node.api.call("GET", f"/api/scanner/mode?station_id={station}")
    assert mode["mode"] == "consume"

    # Another client (or the scan box's button) switches this station: the selector follows.
    await node.api.call("POST", "/api/scanner/mode", {"station_id": station, "mode": "spoiled"})
    await expect(active).to_have_attribute("data-mode", "spoiled")
    await expect(active).to_have_attribute("aria-checked", "true")
    # Another station's switch leaves this one alone (a later scan there proves it arrived).
    await node.api.call("POST", "/api/scanner/mode", {"station_id": "box", "mode": "lookup"})
    await node.api.scan(EAN13, station_id="box")
    await expect(page.locator('#scan-history li[data-station="box"]')).to_have_count(1)
    await expect(active).to_have_attribute("data-mode", "spoiled")
    # A mode barcode typed here switches too.
    await page.fill("#manual-code", "MODE:LOOKUP")
    await page.press("#manual-code", "Enter")
    await expect(active).to_have_attribute("data-mode", "lookup")
    await expect(page.locator("#scan-result")).to_have_attribute("data-outcome", "mode_changed")
    await screenshot(page, "scan-modes")


async def test_typed_codes_give_feedback_per_outcome_and_undo(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path], screenshot: Shot
) -> None:
    """Added, unknown, refused and undone each show their own result; other scans show live."""
    milk = await node.api.product("Milk", barcodes=[EAN13])
    page = await app_page("/#/scan", video=videos["blank"])
    result = page.locator("#scan-result")

    await page.fill("#manual-code", EAN13)
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "added")
    await expect(result.locator(".result-title")).to_have_text("Added")
    await expect(result.locator(".result-message")).to_have_text("Milk")
    await expect(result.locator(".result-total")).to_have_text("In stock: 1")
    assert await node.api.total(milk["id"]) == 1

    await page.click("#undo-scan")
    await expect(result).to_have_attribute("data-outcome", "undone")
    assert await node.api.total(milk["id"]) == 0

    await page.click('.modes button[data-mode="consume"]')
    await expect(page.locator(".modes button.active")).to_have_attribute("data-mode", "consume")
    await page.fill("#manual-code", "4006381333986")
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "unknown")
    await expect(result).to_contain_text("Unknown product")

    await page.fill("#manual-code", "4006381333932")  # wrong check digit
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "error")
    await expect(result).to_contain_text("Not accepted")
    await screenshot(page, "scan-error")

    # A scan at another station appears in the history, labelled with that station.
    await node.api.scan(EAN13, station_id="kitchen-box")
    other = page.locator('#scan-history li[data-station="kitchen-box"]')
    await expect(other).to_contain_text("Added Milk")
    await expect(page.locator("#scan-history li")).to_have_count(4)


async def test_recent_scans_show_the_product_and_strike_through_undone(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path]
) -> None:
    """A GS1 scan reads as "Added Milk", not its element string; undone scans are struck
    through, here and for another station (regression: the raw code was listed)."""
    await node.api.product("Milk", barcodes=[EAN13])
    page = await app_page("/#/scan", video=videos["blank"])
    gs1 = "]C1" + "01" + "0" + EAN13 + "17270315" + "10LOT42"
    await page.fill("#manual-code", gs1)
    await page.press("#manual-code", "Enter")
    mine = page.locator("#scan-history li").first
    await expect(mine).to_contain_text("Added Milk")
    await expect(mine).not_to_contain_text("0104006381333931")
    await page.click("#undo-scan")
    await expect(mine).to_have_class("outcome-added undone")
    await expect(mine.locator(".what")).to_have_css("text-decoration-line", "line-through")

    await node.api.scan(EAN13, station_id="kitchen-box")
    other = page.locator('#scan-history li[data-station="kitchen-box"]')
    await expect(other).to_contain_text("Added Milk")
    await expect(other).to_contain_text("on kitchen-box")
    await node.api.call("POST", "/api/scanner/undo", {"station_id": "kitchen-box"})
    await expect(other).to_have_class("outcome-added undone")


async def test_unknown_code_offers_create_product_then_carries_on(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path]
) -> None:
    """Look up an unknown code: create it there and then, and the look-up goes on; in add
    mode the placeholder the node made can be named on the spot."""
    page = await app_page("/#/scan", video=videos["blank"])
    result = page.locator("#scan-result")
    await page.click('.modes button[data-mode="lookup"]')
    await expect(page.locator(".modes button.active")).to_have_attribute("data-mode", "lookup")
    await page.fill("#manual-code", "4006381333986")
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "unknown")
    await page.click("#create-product")
    dialog = page.locator("dialog")
    await expect(dialog.locator('input[name="barcode"]')).to_have_value("4006381333986")
    await dialog.locator('input[name="name"]').fill("Sparkling water")
    await dialog.locator("button.ok").click()
    await expect(result).to_have_attribute("data-outcome", "looked_up")
    await expect(result.locator(".result-message")).to_have_text("Sparkling water")
    found = await node.api.call("GET", "/api/products/by-barcode/4006381333986")
    assert found["name"] == "Sparkling water"

    # Add mode asks too, and the purchase goes on once the product exists.
    await page.click('.modes button[data-mode="add"]')
    await expect(page.locator(".modes button.active")).to_have_attribute("data-mode", "add")
    await page.fill("#manual-code", "96385074")
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "unknown")
    await page.click("#create-product")
    await dialog.locator('input[name="name"]').fill("Crackers")
    await dialog.locator("button.ok").click()
    await expect(result).to_have_attribute("data-outcome", "added")
    await expect(result.locator(".result-message")).to_have_text("Crackers")
    found = await node.api.call("GET", "/api/products/by-barcode/96385074")
    assert found["name"] == "Crackers" and await node.api.total(found["id"]) == 1

    # The scan box (no screen to ask on) made a placeholder: the app offers to name it.
    await node.api.scan("4008400401621", station_id="kitchen-box")
    await page.fill("#manual-code", "4008400401621")
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "added")
    await page.click("#name-product")
    await dialog.locator('input[name="name"]').fill("Chocolate")
    await dialog.locator("button.ok").click()
    await expect(result.locator(".result-message")).to_have_text("Chocolate")
    found = await node.api.call("GET", "/api/products/by-barcode/4008400401621")
    assert found["name"] == "Chocolate" and await node.api.total(found["id"]) == 2
