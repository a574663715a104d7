"""Listing the nodes that answer on the LAN (``kitchen-node discover``, central's LAN page)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from appliance.lan.records import KITCHEN_TYPE, FoundNode, read_found

log = logging.getLogger(__name__)
_RESOLVE_MS = 3000


def open_zeroconf(interfaces: list[str]) -> Any:
    """An ``AsyncZeroconf`` on ``interfaces`` (addresses; empty: every interface)."""
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    if not interfaces:
        return AsyncZeroconf()
    v6 = any(":" in a for a in interfaces)
    v4 = any(":" not in a for a in interfaces)
    version = IPVersion.All if v4 and v6 else IPVersion.V6Only if v6 else IPVersion.V4Only
    return AsyncZeroconf(interfaces=interfaces, ip_version=version)


async def _resolve(zc: Any, name: str) -> FoundNode | None:
    from zeroconf.asyncio import AsyncServiceInfo

    info = AsyncServiceInfo(KITCHEN_TYPE, name)
    if not await info.async_request(zc, _RESOLVE_MS):
        return None
    return read_found(
        name=name,
        server=info.server,
        port=info.port,
        properties=dict(info.properties),
        addresses=info.parsed_addresses(),
    )


class LanWatch:
    """Keeps the set of nodes announcing ``_kitchen._tcp``, updated as they come and go."""

    def __init__(
        self, interfaces: list[str] | None = None, on_change: Callable[[], None] | None = None
    ) -> None:
        self._interfaces = list(interfaces or [])
        self._on_change = on_change
        self._zc: Any = None
        self._browser: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.nodes: dict[str, FoundNode] = {}  # by DNS-SD instance name
        self._changes = asyncio.Event()

    async def start(self) -> None:
        """Start browsing (the first answers arrive within a second or so)."""
        from zeroconf.asyncio import AsyncServiceBrowser

        self._zc = open_zeroconf(self._interfaces)
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, [KITCHEN_TYPE], handlers=[self._changed]
        )

    def _changed(self, zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        from zeroconf import ServiceStateChange

        if state_change is ServiceStateChange.Removed:
            if self.nodes.pop(name, None) is not None:
                self._changed_now()
            return
        task = asyncio.get_running_loop().create_task(self._add(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add(self, name: str) -> None:
        try:
            found = await _resolve(self._zc.zeroconf, name)
        except (OSError, ValueError) as exc:  # a garbled answer from someone on the LAN
            log.debug("could not resolve %r: %s", name, exc)
            return
        if found is None:
            return
        self.nodes[name] = found
        self._changed_now()

    def _changed_now(self) -> None:
        self._changes.set()
        if self._on_change:
            self._on_change()

    async def wait_for(self, predicate: Callable[[dict[str, FoundNode]], bool]) -> None:
        """Return once ``predicate(self.nodes)`` holds (callers bound this with a timeout)."""
        while not predicate(self.nodes):
            self._changes.clear()
            await self._changes.wait()

    def found(self) -> list[FoundNode]:
        """The nodes seen, ordered by household and node id."""
        return sorted(self.nodes.values(), key=lambda n: (n.household, n.node_id, n.instance))

    async def close(self) -> None:
        """Stop browsing and close the sockets; safe to call twice."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self._zc is not None:
            await self._zc.async_close()
            self._zc = None


async def discover(seconds: float, interfaces: list[str] | None = None) -> list[FoundNode]:
    """Browse for ``seconds`` and return the nodes that answered."""
    watch = LanWatch(interfaces)
    await watch.start()
    try:
        await asyncio.sleep(seconds)  # ok: browsing is "listen for a while"; nothing to await
    finally:
        await watch.close()
    return watch.found()
