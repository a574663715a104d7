"""The fake scan box page: the display's picture and clickable buttons drive the real node."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from conftest import LaunchBrowser, PageErrors
from gpiozero.pins.mock import MockFactory
from playwright.async_api import Page, expect

from appliance.api.keys import TOKENS
from appliance.app import build_app
from tests.fakes.scanbox import scan_box_config
from tests.fakes.ws import next_message


async def test_buttons_and_display_in_the_browser(
    tmp_path: Path,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Callable[[Page, str], Awaitable[Path]],
) -> None:
    factory = MockFactory()
    config = scan_box_config(tmp_path)
    app = await build_app(config, pin_factory=factory)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        _, token = await app[TOKENS].create("browser")
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{url}/api/ws?token={token}")
            browser = await launch_browser()
            page = page_errors.watch(await browser.new_page())
            await page.goto(f"{url}/hardware#token={token}")
            picture = page.locator("img")
            # The picture is fetched with the token and shown from a blob once the script runs.
            await expect(picture.first).to_have_attribute("src", re.compile(r"^blob:"))
            await page.get_by_role("button", name="consume (mode:consume)").click()
            mode = await next_message(ws, "scanner.mode")
            assert mode["data"]["mode"] == "consume"
            await page.fill("input", "4006381333931")
            await page.keyboard.press("Enter")
            scan = await next_message(ws, "scanner.scan")
            assert scan["data"]["outcome"] == "unknown"  # consume mode, product not known yet
            await screenshot(page, "hardware")
            await ws.close()
        assert not page_errors.errors, page_errors.errors
        assert not [c for c in page_errors.console if "Content Security Policy" in c]
    finally:
        await runner.cleanup()
        factory.reset()
