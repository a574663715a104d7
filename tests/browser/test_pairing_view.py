"""Pairing against a real node: an unpaired browser is sent to pairing (not "reconnecting"),
the code the node's display shows pairs it with an HttpOnly cookie, a paired device makes a
code for another, and an owner lists and revokes devices."""

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
    """Unpaired: the pairing view, no offline banner; the display's code pairs (kitchen role)."""
    browser = await launch_browser()
    context = await browser.new_context(base_url=node.url, viewport=IPAD_VIEWPORT)
    page = page_errors.watch(await context.new_page())
    await page.goto("/#/stock")
    await page.wait_for_url("**/#/pair")
    await expect(page.locator("body")).to_have_attribute("data-live", "unpaired")
    await expect(page.locator("#banner")).to_be_hidden()
    # Nothing on the page can make a code: the button on the node does.
    await expect(page.locator("#pair-start")).to_have_count(0)
    await expect(page.locator("#pair-note")).to_contain_text("pairing button")

    node.press_pairing_button()
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

    # A kitchen device sees only itself in the devices view, and can make a code for another.
    await node.token("Old phone")
    await page.click('nav.tabs a[data-tab="settings"]')
    await page.click('a[href="#/devices"]')
    await expect(page.locator("#devices")).to_contain_text("Only an owner")
    await expect(page.locator("#unpair-self")).to_be_visible()
    await page.click("#pair-another")
    offered = await page.locator("#offered-code").inner_text()
    assert len(offered) == 6 and offered.isdigit()
    phone = await browser.new_context(base_url=node.url, viewport=IPAD_VIEWPORT)
    second = page_errors.watch(await phone.new_page())
    await second.goto("/#/pair")
    await second.fill("#pair-code", offered)
    await second.fill("#pair-name", "Phone")
    await second.click("form.pair button[type=submit]")
    await second.wait_for_url("**/#/stock")

    # An owner promotes the iPad: now it lists every device and revokes another.
    (ipad,) = [
        d
        for d in (await node.api.call("GET", "/api/devices"))["items"]
        if d["name"] == "Kitchen iPad"
    ]
    assert ipad["role"] == "kitchen"
    await node.api.call("PATCH", f"/api/devices/{ipad['id']}", {"role": "owner"})
    await page.reload()
    devices = page.locator("#devices li.row")
    await expect(devices.filter(has_text="Kitchen iPad")).to_contain_text("(this device)")
    await expect(devices).to_have_count(4)  # this iPad, the old phone, the phone, the API client
    await screenshot(page, "devices")
    page.once("dialog", lambda dialog: dialog.accept())
    await devices.filter(has_text="Old phone").locator("button.remove").click()
    await expect(devices).to_have_count(3)
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
    await expect(page.locator("#pair-code")).to_be_visible()
    # One more round trip: every event of the page's earlier requests has arrived by its end.
    assert await page.evaluate("fetch('/api/pairing/status').then((r) => r.status)") == 200
    api = sorted({u.split("?")[0].removeprefix(node.url) for u in asked if "/api/" in u})
    assert api == ["/api/health", "/api/pairing/status"], api
    assert not refused and not sockets
