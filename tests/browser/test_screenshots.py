"""Screenshots of every view at iPad portrait size (810x1080), in English and German, of a
kitchen with realistic data, for a person to look at (``artifacts/screenshots/``). Each view
is also checked to have no text cut off sideways (nothing wider than the screen)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from conftest import EAN13, OpenApp
from playwright.async_api import Page, expect
from realnode import IPAD_PORTRAIT, PHONE_VIEWPORT, InProcessNode

from appliance.core.ids import seed_location_id

Shot = Callable[..., Awaitable[Path]]


async def _kitchen(node: InProcessNode) -> dict[str, str]:
    """A few products, lots in several places, a shopping list and some history."""
    api = node.api
    places = {key: seed_location_id(key) for key in ("fridge", "freezer", "pantry")}
    milk = await api.product(
        "Vollmilch 3,5 %",
        brand="Weihenstephan",
        barcodes=[EAN13],
        unit="ml",
        pack_size=1000,
        category="Milchprodukte",
        min_stock=2000,
        default_location_id=places["fridge"],
        default_best_before_days=10,
    )
    await api.stock(milk["id"], 1000, days=1, location_id=places["fridge"], batch="L2611")
    await api.stock(milk["id"], 500, days=6, location_id=places["fridge"])
    flour = await api.product("Weizenmehl Type 405", unit="kg", category="Backen")
    await api.stock(flour["id"], 1.5, days=200, location_id=places["pantry"], price=0.89)
    peas = await api.product("Erbsen, tiefgekühlt", unit="g", category="Tiefkühl")
    await api.stock(peas["id"], 450, days=-2, location_id=places["freezer"])
    eggs = await api.product("Eier (Freiland)", category="Frisch", min_stock=6)
    await api.stock(eggs["id"], 4, days=12, location_id=places["fridge"])
    await api.call("POST", "/api/shopping", {"product_id": eggs["id"], "amount": 10}, 201)
    await api.call(
        "POST", "/api/shopping", {"text": "Backpapier", "priority": "urgent", "note": "breit"}, 201
    )
    await api.call("POST", "/api/shopping", {"product_id": flour["id"], "priority": "low"}, 201)
    await api.scan(EAN13, station_id="kitchen-box")
    await api.call("POST", "/api/scanner/undo", {"station_id": "kitchen-box"})
    return {"milk": milk["id"]}


VIEWS = [
    ("stock", "/#/stock", "#stock-rows li.row"),
    ("stock-by-location", "/#/stock/location", "section.location"),
    ("product", "/#/product/{milk}", "#lots li.row"),
    ("shopping", "/#/shopping", "#shopping-list li.row"),
    ("history", "/#/history", "#history-list li.entry"),
    ("locations", "/#/locations", "#locations-list li.row"),
    ("settings", "/#/settings", "#settings-modes li.row"),
    ("devices", "/#/devices", "#unpair-self"),
    ("scan", "/#/scan", ".modes button.active"),
]


async def _no_sideways_overflow(page: Page) -> None:
    """Nothing is wider than the screen (cut-off text, a row pushed off the edge)."""
    wide = await page.evaluate(
        """() => [...document.querySelectorAll("main *")]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5)
            .map((el) => `${el.tagName}.${el.className}: ${el.textContent.slice(0, 40)}`)"""
    )
    assert not wide, f"wider than the screen: {wide}"


@pytest.mark.parametrize(("locale", "node_language"), [("en-US", "en"), ("de-DE", "de")])
async def test_every_view_at_ipad_portrait(
    node: InProcessNode,
    app_page: OpenApp,
    videos: dict[str, Path],
    screenshot: Shot,
    locale: str,
) -> None:
    """Each view, filled with data, in both languages (a German household's node is German:
    its first locations are Kühlschrank, Gefrierschrank, Vorratsschrank); the add-stock dialog
    too."""
    ids = await _kitchen(node)
    lang = locale[:2]
    page = await app_page("/#/stock", video=videos["blank"], viewport=IPAD_PORTRAIT, locale=locale)
    for name, path, ready in VIEWS:
        await page.goto(path.format(**ids))
        await expect(page.locator(ready).first).to_be_visible()
        await _no_sideways_overflow(page)
        await screenshot(page, f"{lang}-{name}")
    await page.goto("/#/stock")
    await page.click("#stock-add")
    await expect(page.locator("dialog")).to_be_visible()
    await screenshot(page, f"{lang}-add-stock-dialog", full_page=False)


async def test_stock_and_product_on_a_phone(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """A phone in portrait: tabs on their own row, nothing cut off."""
    ids = await _kitchen(node)
    page = await app_page("/#/stock", viewport=PHONE_VIEWPORT, locale="de-DE")
    await expect(page.locator("#stock-rows li.row").first).to_be_visible()
    await _no_sideways_overflow(page)
    await screenshot(page, "phone-stock")
    await page.goto(f"/#/product/{ids['milk']}")
    await expect(page.locator("#lots li.row").first).to_be_visible()
    await _no_sideways_overflow(page)
    await screenshot(page, "phone-product")


async def test_large_text_still_fits(
    node: InProcessNode, app_page: OpenApp, screenshot: Shot
) -> None:
    """With the text half as large again (the iPad's larger text sizes), rows grow and wrap:
    nothing on the stock list, product page or shopping list is cut off sideways."""
    ids = await _kitchen(node)
    page = await app_page("/#/settings", viewport=IPAD_PORTRAIT)
    # Through the CSSOM (the app's CSP refuses inline <style>): the root size all rems follow.
    await page.evaluate("document.documentElement.style.fontSize = '27px'")
    for path, ready in (
        ("/#/stock", "#stock-rows li.row"),
        (f"/#/product/{ids['milk']}", "#lots li.row"),
        ("/#/shopping", "#shopping-list li.row"),
    ):
        await page.goto(path)  # the same document: the larger text stays
        await expect(page.locator(ready).first).to_be_visible()
        await _no_sideways_overflow(page)
    await screenshot(page, "large-text-shopping")
