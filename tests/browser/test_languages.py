"""English and German: chosen from the browser's language, switched in settings; amounts and
dates in the locale's format."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import OpenApp
from playwright.async_api import Page, expect
from realnode import IPAD_PORTRAIT, InProcessNode

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_german_browser_gets_german_with_its_formats(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """A German browser: German texts, "1,5 kg", "01.12.2027"."""
    flour = await node.api.product("Mehl", unit="kg", min_stock=2)
    await node.api.stock(flour["id"], 1.5, best_before="2027-12-01")
    page = await app_page("/#/stock", locale="de-DE", viewport=IPAD_PORTRAIT)
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator('nav.tabs a[data-tab="stock"]')).to_have_text("Vorrat")
    row = page.locator("#stock-list li.row", has_text="Mehl")
    await expect(row.locator(".qty")).to_have_text("1,5 kg")
    await expect(row.locator(".badge.min")).to_have_text("min. 2 kg")
    await expect(page.locator("#stock-overview")).to_contain_text("1 unter Mindestbestand")
    await page.click(f'a[href="#/product/{flour["id"]}"]')
    await expect(page.locator("#product-summary")).to_contain_text("Vorrat: 1,5 kg")
    lot = page.locator("#lots li.row").first
    await expect(lot).to_contain_text("MHD 01.12.2027")
    await expect(lot.locator("button.use")).to_have_text("Verbrauchen…")
    await screenshot(page, "product-de")


async def test_language_switch_in_settings_is_remembered(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """An English browser switches to German in settings; a reload keeps it."""
    page = await app_page("/#/settings")
    await expect(page.locator("h1")).to_have_text("Settings")
    await page.get_by_label("Language").select_option("de")
    await expect(page.locator("h1")).to_have_text("Einstellungen")
    await expect(page.locator('nav.tabs a[data-tab="shopping"]')).to_have_text("Einkauf")
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Einstellungen")
    await page.get_by_label("Sprache").select_option("en")
    await expect(page.locator("h1")).to_have_text("Settings")
