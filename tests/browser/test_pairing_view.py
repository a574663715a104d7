"""Pairing against a real node: an unpaired browser is sent to pairing (not "reconnecting"),
the code the node shows pairs it with an HttpOnly cookie, and paired devices can be revoked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import LaunchBrowser, PageErrors
from playwright.async_api import Page, expect
from realnode import IPAD_VIEWPORT, InProcessNode, wait_online

from appliance.api.pairing_routes import SESSION_COOKIE

Shot = Callable[[Page, str], Awaitable[Path]]


async def test_unpaired_browser_pairs_with_the_code_from_the_node(
    node: InProcessNode,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
) -> None:
    """Unpaired: the pairing view, no offline banner; the shown code pairs; devices listed."""
    browser = await launch_browser()
    context = await browser.new_context(base_url=node.url, viewport=IPAD_VIEWPORT)
    page = page_errors.watch(await context.new_page())
    await page.goto("/#/stock")
    await page.wait_for_url("**/#/pair")
    await expect(page.locator("body")).to_have_attribute("data-live", "unpaired")
    await expect(page.locator("#banner")).to_be_hidden()

    async with page.expect_response("**/api/pairing/start"):
        await page.click("#pair-start")
    await expect(page.locator("#pair-note")).to_contain_text("display")
    await page.fill("#pair-code", node.pairing_code())
    await page.fill("#pair-name", "Kitchen iPad")
    await screenshot(page, "pair")
    await page.click("form.pair button[type=submit]")
    await page.wait_for_url("**/#/stock")
    await wait_online(page)

    (cookie,) = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert await page.evaluate("document.cookie") == ""

    # Live from here on: a product scanned by another client appears in the stock view.
    await node.api.scan("4006381333931")
    await expect(page.locator("#stock-list li.row")).to_have_count(1)

    # The devices view lists every device, this one marked, and revokes another.
    await node.token("Old phone")
    await page.click('nav.tabs a[data-tab="settings"]')
    await page.click('a[href="#/devices"]')
    devices = page.locator("#devices li.row")
    await expect(devices.filter(has_text="Kitchen iPad")).to_contain_text("(this device)")
    await expect(devices).to_have_count(3)  # this iPad, the old phone, the test's API client
    await screenshot(page, "devices")
    await devices.filter(has_text="Old phone").locator("button.remove").click()
    await page.click("dialog button.ok")
    await expect(devices).to_have_count(2)
    names = [d["name"] for d in (await node.api.call("GET", "/api/devices"))["items"]]
    assert "Old phone" not in names


async def test_revoked_browser_goes_back_to_pairing(
    node: InProcessNode, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """A browser whose device was revoked elsewhere is sent to pairing on its next load."""
    token = await node.token("Lost iPad")
    browser = await launch_browser()
    context = await browser.new_context(base_url=node.url, viewport=IPAD_VIEWPORT)
    await context.add_cookies(
        [{"name": SESSION_COOKIE, "value": token, "url": node.url, "httpOnly": True}]
    )
    page = page_errors.watch(await context.new_page())
    await page.goto("/#/shopping")
    await wait_online(page)
    (device,) = [
        d for d in (await node.api.call("GET", "/api/devices"))["items"] if d["name"] == "Lost iPad"
    ]
    await node.api.call("DELETE", f"/api/devices/{device['id']}", expect=204)
    await page.reload()
    await page.wait_for_url("**/#/pair")
    await expect(page.locator("#banner")).to_be_hidden()


async def test_before_pairing_no_request_that_can_only_get_401(
    node: InProcessNode, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """An unpaired device asks only public things (status, health, the app): no view fetches,
    no WebSocket handshake, no 401 (regression: the stock view fetched before the redirect)."""
    browser = await launch_browser()
    context = await browser.new_context(base_url=node.url, viewport=IPAD_VIEWPORT)
    page = page_errors.watch(await context.new_page())
    asked: list[str] = []
    refused: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.on("response", lambda r: refused.append(r.url) if r.status == 401 else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto("/#/stock")
    await page.wait_for_url("**/#/pair")
    await expect(page.locator("#pair-start")).to_be_visible()
    # One more round trip: every event of the page's earlier requests has arrived by its end.
    assert await page.evaluate("fetch('/api/pairing/status').then((r) => r.status)") == 200
    api = sorted({u.split("?")[0].removeprefix(node.url) for u in asked if "/api/" in u})
    assert api == ["/api/health", "/api/pairing/status"], api
    assert not refused and not sockets
