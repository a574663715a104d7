"""Central's lifecycle: parts started in a fixed order and stopped in reverse.

Order: PostgreSQL (migrations) → HTTP port bound (a busy port fails fast) → enrichment worker →
MQTT. Stopping: MQTT (drains handlers), enrichment, WebSockets, HTTP, pool.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp import web

from appliance.core import events as ev
from appliance.core.events import Event
from appliance.core.messages import Message
from appliance.serving import ConnectionGuard, GuardedSite, bound_port
from central.config import CentralConfig
from central.dashboard.nodes import NodeBoard
from central.db.pool import open_pool
from central.db.store import EventStore
from central.enrich import Enricher
from central.homeassistant.bridge import HomeAssistantBridge
from central.http import create_app
from central.hub import Hub
from central.receipts.service import ReceiptService
from central.service import SyncService

log = logging.getLogger(__name__)


class Central:
    """One central process. ``await start()``, then ``await close()``."""

    def __init__(
        self, config: CentralConfig, off_client: Any | None = None, reader: Any | None = None
    ) -> None:
        self.config = config
        self.off_client = off_client
        # The receipt reader (``central.receipts.worker.ReceiptReader``); built at start if
        # none is given and the configuration asks for workers.
        self.reader = reader
        self._owned_reader: Any = None
        self.receipts: ReceiptService | None = None
        self.board: NodeBoard | None = None
        self.homeassistant: HomeAssistantBridge | None = None
        self.hub = Hub(config.http.ws_queue_limit)
        self.pool: asyncpg.Pool | None = None
        self.sync: SyncService | None = None
        self.enricher: Enricher | None = None
        self._runner: web.AppRunner | None = None
        self.guard: ConnectionGuard | None = None
        self._owned_off: Any = None
        self.port: int | None = None

    async def start(self) -> None:
        """Start every part; raise (after undoing what started) when one cannot."""
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        c = self.config
        self.pool = await open_pool(
            c.database.resolved_dsn(), c.database.min_connections, c.database.max_connections
        )
        store = EventStore(self.pool)
        if self.off_client is None and c.off.enabled:
            self.off_client = self._owned_off = _make_off_client(c)
        if self.reader is None and c.receipts.workers > 0:
            self.reader = self._owned_reader = await _make_reader(c)
        self.receipts = ReceiptService(
            c, self.pool, self.reader, self._broadcast, store.dead_letter
        )
        self.board = NodeBoard(self.hub.broadcast)
        self.homeassistant = _make_homeassistant(c, self.pool)
        self.sync = SyncService(
            c,
            store,
            self._committed,
            self.hub.broadcast,
            receipts=self.receipts,
            board=self.board,
            homeassistant=self.homeassistant,
        )
        self.receipts.stream = self.sync.publish_stream
        self.enricher = Enricher(
            store,
            self.off_client,
            self.sync.publish_stream,
            max_age=timedelta(days=c.off.max_age_days),
            retry=timedelta(seconds=c.off.retry_seconds),
            publish_picture=self.sync.publish_picture if c.off.pictures else None,
        )
        self.receipts.lookup = self.enricher.preview
        names = [*c.http.names, *([c.http.host] if c.http.host not in ("0.0.0.0", "::") else [])]
        app = create_app(
            self.pool,
            self.hub,
            self.enricher,
            self.health,
            names,
            receipts=self.receipts,
            board=self.board,
        )
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        # The same limits as a node's: per client and in total, requests timed (see serving).
        self.guard = ConnectionGuard(c.http.limits(), "central HTTP")
        site = GuardedSite(self._runner, c.http.host, c.http.port, self.guard)
        await site.start()
        self.port = bound_port(site)
        self.enricher.start()
        self.enricher.wake()  # jobs left by a previous run
        self.sync.start()
        await self.receipts.start(self.sync.mqtt)
        log.info("central %s serving HTTP on port %s", c.central.instance, self.port)

    def _broadcast(self, message: Message) -> None:
        self.hub.broadcast(message)
        if self.homeassistant is not None and message.type.startswith("receipt."):
            self.homeassistant.changed()  # "receipts to review" may have changed

    def _committed(self, events: list[Event]) -> None:
        if self.homeassistant is not None:
            self.homeassistant.changed()
        if self.enricher is not None and any(
            e.type in (ev.PRODUCT_CREATED, ev.PRODUCT_UPDATED)
            and e.data["fields"].get("needs_enrichment")
            for e in events
        ):
            self.enricher.wake()

    def health(self) -> dict[str, Any]:
        """What ``/api/health`` reports besides the database."""
        return {
            "instance": self.config.central.instance,
            "mqtt": {"connected": self.sync is not None and self.sync.mqtt.connected},
            "websocket_clients": self.hub.client_count,
        }

    async def close(self) -> None:
        """Stop in reverse order; safe to call twice or after a failed start."""
        if self.receipts is not None:
            await self.receipts.close()
        if self.sync is not None:
            await self.sync.close()
            self.sync = None
            self.homeassistant = None
        if self.enricher is not None:
            await self.enricher.close()
            self.enricher = None
        self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.guard is not None:
            self.guard.close()
            self.guard = None
        if self._owned_off is not None:
            await self._owned_off.aclose()
            self._owned_off = None
        self.receipts = None
        if self._owned_reader is not None:
            await self._owned_reader.close()
            self._owned_reader = self.reader = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


async def _make_reader(config: CentralConfig) -> Any:
    """The receipt reader, its model loaded once; None when it cannot start (receipts are
    then kept and wait, and health says so)."""
    r = config.receipts
    try:
        from central.receipts.worker import ReceiptReader

        reader = ReceiptReader(
            limits=r.upload_limits(),
            memory_cap=r.memory_cap_bytes,
            timeout=r.read_timeout,
            ocr=r.ocr,
        )
        await reader.start()
    except Exception as exc:
        log.error("receipt reading unavailable: %s", exc)
        return None
    return reader


def _make_homeassistant(config: CentralConfig, pool: asyncpg.Pool) -> HomeAssistantBridge | None:
    """The Home Assistant bridge, unless ``[homeassistant] enabled = false``."""
    ha = config.homeassistant
    if not ha.enabled:
        return None
    from appliance import __version__
    from central.homeassistant.counts import household_counts

    async def counts() -> dict[str, tuple[int, list[dict[str, Any]]]]:
        return await household_counts(pool, ha.max_items)

    return HomeAssistantBridge(
        config.central.household,
        prefix=ha.prefix,
        version=__version__,
        counts=counts,
        debounce=ha.debounce,
        refresh=ha.refresh,
        max_items=ha.max_items,
    )


def _make_off_client(config: CentralConfig) -> Any:
    from central.off.client import OffClient, build_user_agent

    return OffClient(
        config.off.base_url,
        user_agent=build_user_agent(config.off.contact),
        timeout=config.off.timeout,
    )


async def run(config: CentralConfig) -> None:
    """Run until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    central = Central(config)
    await central.start()
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        await central.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
