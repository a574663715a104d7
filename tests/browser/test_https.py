"""HTTPS as the iPad meets it: Chromium trusting only the household CA opens a TLS node by a
name that is not localhost, so the page is a secure context only because the certificate is
good. There it pairs (Secure cookie), goes live over wss, gets its service worker and the
camera, and a camera scan reaches the node. A browser that never installed the CA is refused,
and plain HTTP offers the CA.

The CA is added to an NSS database in a HOME of the test's own (``certutil``, Debian's
libnss3-tools, which ``make test`` installs); that is where Chromium on Linux keeps the
certificates a person trusts, as an iPad keeps the installed profile.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from conftest import EAN13, LaunchBrowser, PageErrors
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, expect
from realnode import IPAD_VIEWPORT, Api, wait_online

from appliance.api.https import start_sites
from appliance.api.keys import TOKENS
from appliance.api.pairing_routes import PAIRING_KEY, SESSION_COOKIE
from appliance.app import build_app
from appliance.config import build_config
from appliance.security.tls import TlsPaths, client_ssl_context
from tests.fakes.ports import free_port

# The name the iPad would use (in a household, <hostname>.local); Chromium maps it to loopback.
HOST = "kitchen-pi.test"
RESOLVE = [f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]
SCAN_TIMEOUT_MS = 30_000
Shot = Callable[[Page, str], Awaitable[Path]]


@dataclass
class TlsNode:
    """A node serving HTTPS on ``https_port`` and the CA page on ``http_port``."""

    app: web.Application
    paths: TlsPaths
    https_url: str
    http_url: str
    api: Api

    def pairing_code(self) -> str:
        """Offer a pairing code, as a press on the box's button would, and return it."""
        pairing = self.app[PAIRING_KEY]
        pairing.start()
        offer = pairing.current
        assert offer is not None
        code: str = offer.code
        return code


@pytest.fixture
async def tls_node(tmp_path: Path) -> AsyncIterator[TlsNode]:
    """A real node with TLS on, its certificate naming ``HOST``."""
    data_dir = tmp_path / "node"
    https_port, http_port = free_port(), free_port()
    config = build_config(
        {
            "node": {"id": "https-test", "name": "Test kitchen"},
            "http": {"host": "127.0.0.1", "port": http_port},
            "storage": {"data_dir": str(data_dir)},
            "tls": {
                "enabled": True,
                "port": https_port,
                "hostnames": [HOST],
                "detect_addresses": False,
            },
        }
    )
    app = await build_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    listening = await start_sites(runner, config)
    try:
        paths = TlsPaths.for_config(config.tls, data_dir)
        token = (await app[TOKENS].create("test client", kind="cli"))[1]
        connector = aiohttp.TCPConnector(ssl=client_ssl_context(paths))
        async with aiohttp.ClientSession(
            base_url=f"https://127.0.0.1:{https_port}",
            headers={"Authorization": f"Bearer {token}"},
            connector=connector,
        ) as session:
            yield TlsNode(
                app,
                paths,
                f"https://{HOST}:{https_port}",
                f"http://{HOST}:{http_port}",
                Api(session),
            )
    finally:
        await listening.close()
        await runner.cleanup()


@pytest.fixture
def trusting_home(tmp_path: Path, tls_node: TlsNode) -> Path:
    """A HOME whose NSS certificate database trusts the household CA (and nothing else)."""
    home = tmp_path / "home"
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{db}",
            "-n",
            "Kitchen household CA",
            "-t",
            "C,,",
            "-i",
            str(tls_node.paths.ca_cert),
        ],
        check=True,
    )
    return home


async def test_a_browser_trusting_the_household_ca_gets_the_whole_app_over_https(
    tls_node: TlsNode,
    trusting_home: Path,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    videos: dict[str, Path],
    screenshot: Shot,
) -> None:
    """Secure context by certificate: pairing, wss, service worker and the camera all work."""
    milk = await tls_node.api.product("Milk", barcodes=[EAN13])
    browser = await launch_browser(videos["ean13"], home=trusting_home, extra=RESOLVE)
    context = await browser.new_context(base_url=tls_node.https_url, viewport=IPAD_VIEWPORT)
    page = page_errors.watch(await context.new_page())
    await page.goto("/#/stock")  # raises on any certificate error
    await page.wait_for_url("**/#/pair")
    assert await page.evaluate("window.isSecureContext") is True
    assert await page.evaluate("location.hostname") == HOST

    # The code comes from the box's button (nothing on the page can make one).
    await page.fill("#pair-code", tls_node.pairing_code())
    await page.fill("#pair-name", "Kitchen iPad")
    await page.click("form.pair button[type=submit]")
    await page.wait_for_url("**/#/stock")
    await wait_online(page)  # the WebSocket is up, over wss
    (cookie,) = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Safari gives these only to a secure context; here they come from the certificate alone.
    active = await page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")
    assert active is True
    assert await page.evaluate("typeof navigator.mediaDevices?.getUserMedia") == "function"

    await page.goto("/#/scan")
    result = page.locator("#scan-result")
    await expect(result).to_have_attribute("data-outcome", "added", timeout=SCAN_TIMEOUT_MS)
    assert await tls_node.api.total(milk["id"]) == 1
    await screenshot(page, "https-scan")


async def test_without_the_ca_the_browser_refuses_and_plain_http_offers_it(
    tls_node: TlsNode, tmp_path: Path, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """A fresh browser rejects the node's certificate; the plain-HTTP page leads to the CA."""
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    browser = await launch_browser(home=empty_home, extra=RESOLVE)
    context = await browser.new_context(viewport=IPAD_VIEWPORT)
    page = page_errors.watch(await context.new_page())
    with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
        await page.goto(f"{tls_node.https_url}/")

    # A fresh tab: the refused one is still on its way to Chromium's error page.
    page = page_errors.watch(await context.new_page())
    await page.goto(f"{tls_node.http_url}/#/stock")
    await expect(page.locator("body")).to_contain_text("Trust the kitchen node")
    assert await page.evaluate("window.isSecureContext") is False
    link = page.locator("a[href$='ca.crt']").first
    assert await link.count() == 1
