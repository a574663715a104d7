"""The stock list with 5,000 products: only the rows on screen are in the page, and
scrolling (or a search) reaches any of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from conftest import LaunchBrowser, PageErrors
from playwright.async_api import expect
from realnode import InProcessNode, in_process_node, paired_context, wait_online

from tests.perf.dataset import populate

Shot = Callable[..., Awaitable[Path]]


@pytest.fixture
async def big_node(tmp_path: Path) -> AsyncIterator[InProcessNode]:
    """A node holding 5,000 products in 6,000 lots (the bench's data set, smaller)."""
    data = tmp_path / "node"
    data.mkdir()
    await populate(data, 5000, 6000)
    async with in_process_node(data) as node:
        yield node


async def test_five_thousand_products_render_only_what_is_visible(
    big_node: InProcessNode,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
) -> None:
    """Fewer than 100 rows in the DOM for thousands of products; the end is reachable."""
    summary = (await big_node.api.call("GET", "/api/inventory/summary"))["items"]
    assert len(summary) > 3000
    browser = await launch_browser()
    context = await paired_context(browser, big_node.url, await big_node.token("iPad"))
    page = page_errors.watch(await context.new_page())
    await page.goto("/#/stock")
    await wait_online(page)
    rows = page.locator("#stock-rows > li.row")
    await expect(rows.first).to_contain_text(summary[0]["name"])
    assert await rows.count() < 100
    assert await page.locator("#stock-rows").get_attribute("aria-rowcount") == str(len(summary))

    await page.keyboard.press("End")
    last = page.locator(f'#stock-rows li[data-product-id="{summary[-1]["product_id"]}"]')
    await expect(last).to_be_visible()
    assert await rows.count() < 100
    await screenshot(page, "end-of-5000", full_page=False)

    await page.fill("#stock-search", summary[1234]["name"])
    await expect(rows).to_have_count(1)
