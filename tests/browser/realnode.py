"""Real kitchen nodes for the browser tests: in-process (``build_app`` + ``AppRunner``) or as a
``kitchen-node run`` subprocess that a test can stop and start again (the offline tests).

Both use a temporary data directory and listen on 127.0.0.1 only. ``Api`` is "another client":
it calls the node's HTTP API with a bearer token, the way a second iPad or a script would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, expect

from appliance.api.keys import TOKENS
from appliance.api.pairing_routes import PAIRING_KEY, SESSION_COOKIE
from appliance.app import build_app
from appliance.config import NodeConfig, build_config
from appliance.security.tokens import TokenStore
from appliance.store import Store

START_TIMEOUT_S = 15
IPAD_VIEWPORT = {"width": 1024, "height": 768}
# iPad (10.2") in portrait: the size of the screenshots a person looks at.
IPAD_PORTRAIT = {"width": 810, "height": 1080}
PHONE_VIEWPORT = {"width": 390, "height": 844}


class ApiFailed(AssertionError):
    """The node answered with an unexpected status."""


class Api:
    """The node's HTTP API as another client sees it (bearer token, no browser)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        """Send a request; return the JSON answer, failing unless the status is ``expect``."""
        async with self.session.request(method, path, json=body) as resp:
            data = await resp.json() if resp.content_type.endswith("json") else None
            if resp.status != expect:
                raise ApiFailed(f"{method} {path}: {resp.status} {data}")
            return data

    async def product(self, name: str, **fields: Any) -> dict[str, Any]:
        """Create a product."""
        result: dict[str, Any] = await self.call(
            "POST", "/api/products", {"name": name, **fields}, 201
        )
        return result

    async def stock(
        self, product_id: str, amount: float = 1, *, days: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Add a lot, best before ``days`` from today when given."""
        body = {"product_id": product_id, "amount": amount, **fields}
        if days is not None:
            body["best_before"] = (date.today() + timedelta(days=days)).isoformat()
        result: dict[str, Any] = await self.call("POST", "/api/inventory", body, 201)
        return result

    async def scan(self, code: str, station_id: str = "other-ipad", **extra: Any) -> Any:
        """Scan as another station."""
        return await self.call(
            "POST", "/api/scanner/scan", {"code": code, "station_id": station_id, **extra}
        )

    async def total(self, product_id: str) -> float:
        """A product's stock."""
        return float((await self.call("GET", f"/api/products/{product_id}"))["total"])


@dataclass
class InProcessNode:
    """A node served from this test's event loop."""

    app: web.Application
    runner: web.AppRunner
    url: str
    api: Api

    async def token(self, name: str = "browser") -> str:
        """A fresh device token, as pairing would give one."""
        return (await self.app[TOKENS].create(name, kind="paired"))[1]

    def press_pairing_button(self) -> str:
        """What holding the scan box's pairing button does: a fresh code on the display."""
        return self.app[PAIRING_KEY].start().code

    def pairing_code(self) -> str:
        """The code the node would show on its display now."""
        offer = self.app[PAIRING_KEY].current
        assert offer is not None, "no pairing code on offer"
        return offer.code


def node_config(
    data_dir: Path,
    port: int = 8080,
    node_id: str = "browser-test",
    sync: dict[str, Any] | None = None,
    labels: dict[str, Any] | None = None,
    language: str = "en",
) -> NodeConfig:
    """A laptop node without hardware, on 127.0.0.1 (syncing when ``sync`` is given, with a
    label printer when ``labels`` names its webhook), in ``language``."""
    raw: dict[str, Any] = {
        "node": {"id": node_id, "name": "Test kitchen", "language": language},
        "http": {"host": "127.0.0.1", "port": port},
        "storage": {"data_dir": str(data_dir)},
    }
    if sync is not None:
        raw["sync"] = sync
    if labels is not None:
        raw["labels"] = labels
    return build_config(raw)


@contextlib.asynccontextmanager
async def in_process_node(
    data_dir: Path,
    node_id: str = "browser-test",
    sync: dict[str, Any] | None = None,
    labels: dict[str, Any] | None = None,
    language: str = "en",
) -> Any:
    """Start a node on a free port; yield an ``InProcessNode``; stop it and close its store."""
    config = node_config(data_dir, node_id=node_id, sync=sync, labels=labels, language=language)
    app = await build_app(config)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}"
        token = (await app[TOKENS].create("test client", kind="cli"))[1]
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
            yield InProcessNode(app, runner, url, Api(session))
    finally:
        await runner.cleanup()


async def create_token(data_dir: Path, name: str) -> str:
    """Create a device token in a node's database while the node is not running."""
    config = node_config(data_dir)
    config.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(config.database_path, config.node.id)
    try:
        return (await TokenStore(store).create(name, kind="paired"))[1]
    finally:
        await store.close()


class NodeProcess:
    """``kitchen-node run`` in a subprocess on a fixed port, so it can stop and come back."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.config = data_dir / "node.toml"
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the node and wait until it logs that it is serving."""
        assert self.process is None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f'[node]\nid = "offline-test"\n[http]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f'[storage]\ndata_dir = "{self.data_dir}"\n',
            encoding="utf-8",
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "appliance",
            "run",
            "--config",
            str(self.config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stderr is not None
        seen: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while True:
                    line = (await self.process.stderr.readline()).decode(errors="replace")
                    if not line:
                        raise AssertionError("the node exited:\n" + "".join(seen))
                    seen.append(line)
                    # app.py's "serving on http://..." or https.py's "serving the web app on"
                    if "serving" in line and "://" in line:
                        break
        except BaseException:
            await self.stop()
            raise
        # Keep reading its log so a full pipe can never block the node.
        self._drain = asyncio.create_task(self._discard(self.process.stderr))

    @staticmethod
    async def _discard(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def stop(self) -> None:
        """Stop the node (SIGTERM, then SIGKILL after 10 s) and reap it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._drain is not None:
            await self._drain
            self._drain = None


async def paired_context(
    browser: Browser,
    url: str,
    token: str,
    *,
    viewport: dict[str, int] | None = None,
    locale: str = "en-US",
) -> BrowserContext:
    """A browser context that already holds a session cookie (as if it had paired)."""
    context = await browser.new_context(
        base_url=url, viewport=cast(Any, viewport or IPAD_VIEWPORT), locale=locale
    )
    await context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": token,
                "url": url,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    return context


async def wait_online(page: Page) -> None:
    """Wait until the page's live connection (WebSocket) is up and no banner shows."""
    await expect(page.locator("body")).to_have_attribute("data-live", "online")
    await expect(page.locator("#banner")).to_be_hidden()
