"""The node serves the built web app itself: types, cache policy, security headers, PWA pieces."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import STATIC_DIR, LaunchBrowser, PageErrors
from playwright.async_api import Page, expect
from yarl import URL

from appliance.api.webapp_routes import IMMUTABLE, setup_webapp

Server = Callable[[web.Application], Awaitable[TestServer]]


def built(pattern: str) -> str:
    """The URL of the one built asset matching ``pattern`` (e.g. ``zxing_reader.*.wasm``)."""
    (path,) = (STATIC_DIR / "app").glob(pattern)
    return f"/app/{path.name}"


async def test_assets_have_types_cache_policy_and_headers(aiohttp_server: Server) -> None:
    """wasm and manifest types, immutable hashed assets, no-cache shell, CSP without inline."""
    app = web.Application()
    setup_webapp(app)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        async with session.get("/") as resp:
            assert resp.content_type == "text/html"
            assert resp.headers["Cache-Control"] == "no-cache"
            csp = resp.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
            assert "'wasm-unsafe-eval'" in csp and " 'unsafe-eval'" not in csp
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Referrer-Policy"] == "no-referrer"
        async with session.get(built("zxing_reader.*.wasm")) as resp:
            assert resp.content_type == "application/wasm"
            assert resp.headers["Cache-Control"] == IMMUTABLE
            assert resp.headers["Content-Encoding"] in {"gzip", "br"}
            assert (await resp.read())[:4] == b"\0asm"
        async with session.get("/manifest.webmanifest") as resp:
            assert resp.content_type == "application/manifest+json"
            manifest = json.loads(await resp.read())
            assert manifest["display"] == "standalone"
            for icon in manifest["icons"]:
                async with session.get(icon["src"]) as icon_resp:
                    assert icon_resp.content_type == "image/png"
        async with session.get("/sw.js") as resp:
            assert resp.headers["Cache-Control"] == "no-cache"
            assert resp.headers["Service-Worker-Allowed"] == "/"
            assert "text/javascript" in resp.content_type
        for bad in ("/app/..%2Fsw.js", "/app/%2e%2e%2fbuild-info.json", "/app/build-info.json"):
            async with session.get(server.make_url("/").join(URL(bad, encoded=True))) as resp:
                assert resp.status == 404, bad


def test_build_reports_first_load_size() -> None:
    """The build wrote its size report; the shell without the scanner stays small."""
    info = json.loads((STATIC_DIR / "build-info.json").read_text())
    assert info["first_load"]["gzip"] < 60 * 1024
    assert any(url.endswith(".wasm") for url in info["scan_view_extra"]["urls"])


async def test_shell_registers_service_worker_and_precaches(
    aiohttp_server: Server,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Callable[[Page, str], Awaitable[Path]],
) -> None:
    """On 127.0.0.1 (a secure context) the service worker installs and caches shell + wasm."""
    app = web.Application()
    setup_webapp(app)
    server = await aiohttp_server(app)
    browser = await launch_browser()
    page = page_errors.watch(await browser.new_page())
    await page.goto(str(server.make_url("/")))
    await expect(page.locator("nav.tabs a.active")).to_have_text("Stock")
    await page.wait_for_function("navigator.serviceWorker.ready.then(() => true)")
    cached = await page.evaluate(
        """async () => {
            const names = await caches.keys();
            const shell = await caches.open(names.find((n) => n.startsWith("shell-")));
            return (await shell.keys()).map((r) => new URL(r.url).pathname);
        }"""
    )
    assert "/" in cached
    assert built("zxing_reader.*.wasm") in cached
    await screenshot(page, "shell")
