"""Product pictures in the web app: the node's own copy (never the internet) in the list and
on the product page; a clean placeholder for a product without one."""

from __future__ import annotations

import io

from conftest import OpenApp
from PIL import Image
from playwright.async_api import expect
from realnode import InProcessNode

from appliance.api.keys import KITCHEN


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def test_picture_from_the_node_or_a_placeholder(
    node: InProcessNode, app_page: OpenApp
) -> None:
    """Nutella has a picture on the node; Salt has none and shows its initial."""
    nutella = await node.api.product("Nutella")
    salt = await node.api.product("Salt")
    await node.api.stock(nutella["id"], 1)
    await node.api.stock(salt["id"], 1)
    await node.app[KITCHEN].store.save_picture(nutella["id"], _jpeg())
    page = await app_page("/#/stock")
    row = page.locator(f'#stock-rows li[data-product-id="{nutella["id"]}"]')
    img = row.locator("img.picture")
    await expect(img).to_have_attribute("alt", "Picture of Nutella")
    assert await img.evaluate("(el) => el.naturalWidth") == 64
    plain = page.locator(f'#stock-rows li[data-product-id="{salt["id"]}"] .picture.placeholder')
    await expect(plain).to_have_text("S")
    await expect(plain).to_have_attribute("aria-label", "No picture")

    await page.goto(f"/#/product/{nutella['id']}")
    await expect(page.locator(".product-picture img.picture.large")).to_be_visible()
    await page.goto(f"/#/product/{salt['id']}")
    await expect(page.locator(".product-picture .placeholder")).to_have_text("S")
