"""A local HTTP endpoint behind an Apprise ``json://`` URL: records what Apprise posts.

Answers can be scripted (``failures``) to exercise retries. Never the internet.
"""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

from aiohttp import web

from appliance.serving import bound_port


class Receiver:
    """``async with Receiver() as r``: ``r.url("/path")`` is an Apprise URL posting here."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        # Per path: status codes to answer with before answering 200 again.
        self.failures: dict[str, list[int]] = {}
        self.arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        """An Apprise URL that posts JSON here."""
        return f"json://127.0.0.1:{self.port}{path}"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        scripted = self.failures.get(request.path)
        if scripted:
            return web.Response(status=scripted.pop(0), text="scripted failure")
        self.received.append(json.loads(body))
        self.paths.append(request.path)
        async with self.arrived:
            self.arrived.notify_all()
        return web.json_response({"ok": True})

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = bound_port(site)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
