"""Pairing from the browser: ask for a code, type what the node shows, get an HttpOnly cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import LaunchBrowser, PageErrors
from playwright.async_api import Page, expect

from appliance.api.pairing_routes import SESSION_COOKIE, setup_pairing
from appliance.api.webapp_routes import setup_webapp
from appliance.core.messages import Message


class MemoryTokens:
    """A token store with the interface of appliance.security.tokens.TokenStore."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def create(self, name: str) -> str:
        self.names.append(name)
        return f"device-token-{len(self.names)}"

    def list(self) -> list[dict[str, str]]:
        return [{"id": str(i), "name": n} for i, n in enumerate(self.names)]

    def revoke(self, token_id: str) -> bool:
        return False


async def test_pair_with_the_code_from_the_display(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Callable[[Page, str], Awaitable[Path]],
) -> None:
    """The code shown on the node pairs the browser; the session cookie is HttpOnly."""
    shown: list[Message] = []
    tokens = MemoryTokens()
    app = web.Application()
    setup_webapp(app)
    setup_pairing(app, tokens, shown.append)
    server = await aiohttp_server(app)
    browser = await launch_browser()
    context = await browser.new_context()
    page = page_errors.watch(await context.new_page())
    await page.goto(str(server.make_url("/#/pair")))
    async with page.expect_response("**/api/pairing/start"):
        await page.click("#pair-start")
    await expect(page.locator("#pair-note")).to_contain_text("display")
    await page.fill("#pair-code", shown[-1].data["code"])
    await page.fill("#pair-name", "Kitchen iPad")
    await screenshot(page, "pair")
    await page.click("form.pair button[type=submit]")
    await page.wait_for_url("**/#/stock")
    (cookie,) = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert tokens.names == ["Kitchen iPad"]
    assert await page.evaluate("document.cookie") == ""
