"""Central's lifecycle: parts started in a fixed order and stopped in reverse.

Order: PostgreSQL (migrations) → HTTP port bound (a busy port fails fast) → enrichment worker →
MQTT. Stopping: MQTT (drains handlers), enrichment, WebSockets, HTTP, pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp import web

from appliance.api.https import Listening, listen
from appliance.api.webapp_routes import CENTRAL_CA_PAGE
from appliance.core import events as ev
from appliance.core.events import Event
from appliance.core.messages import Message
from appliance.serving import ConnectionGuard, bound_port
from central.auth.middleware import Auth
from central.config import CentralConfig
from central.dashboard.nodes import NodeBoard
from central.db import stock_rows
from central.db.pool import open_pool
from central.db.store import EventStore
from central.enrich import Enricher
from central.homeassistant.bridge import HomeAssistantBridge
from central.http import create_app
from central.hub import Hub
from central.notify.gather import gather
from central.notify.routes import topic as notification_topic
from central.notify.service import Clock, Notifier, Tuning
from central.receipts.service import ReceiptService
from central.service import SyncService

log = logging.getLogger(__name__)


class Central:
    """One central process. ``await start()``, then ``await close()``."""

    def __init__(
        self,
        config: CentralConfig,
        off_client: Any | None = None,
        reader: Any | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.off_client = off_client
        # The receipt reader (``central.receipts.worker.ReceiptReader``); built at start if
        # none is given and the configuration asks for workers.
        self.reader = reader
        self._owned_reader: Any = None
        self.receipts: ReceiptService | None = None
        self.board: NodeBoard | None = None
        self._watch: asyncio.Task[None] | None = None
        self.homeassistant: HomeAssistantBridge | None = None
        self.hub = Hub(config.http.ws_queue_limit)
        self.pool: asyncpg.Pool | None = None
        self.sync: SyncService | None = None
        self.enricher: Enricher | None = None
        self._runner: web.AppRunner | None = None
        self._listening: Listening | None = None
        self.guard: ConnectionGuard | None = None
        self.urls: list[str] = []
        self._owned_off: Any = None
        self.port: int | None = None
        self.lan: Any = None
        # Where notifications take "now" from (tests pass a fake clock).
        self.clock = clock
        self.notifier: Notifier | None = None

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
        if await stock_rows.rebuild(self.pool):
            log.info("filled the dashboard's read tables from the stored events")
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
        if c.notify.enabled:
            self.notifier = Notifier(
                self.pool,
                c.central.household,
                c.central.instance,
                gather,
                publish=self._publish_notification,
                clock=self.clock,
                tuning=_notify_tuning(c),
            )
        names = [
            *c.http.names,
            *c.tls.hostnames,
            *(str(a) for a in c.tls.addresses),
            *([c.http.host] if c.http.host not in ("0.0.0.0", "::") else []),
        ]
        if c.lan.browse:
            from appliance.lan.browse import LanWatch

            self.lan = LanWatch(c.lan.interfaces)
        app = create_app(
            self.pool,
            self.hub,
            self.enricher,
            self.health,
            names,
            receipts=self.receipts,
            lan=self.lan,
            household=c.central.household,
            board=self.board,
            publish=self.sync.publish_stream,
            auth=Auth(self.pool, c.auth),
            notifier=self.notifier,
        )
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        # As a node listens: the same limits per client and in total, requests timed (see
        # serving), and HTTPS with the household CA plus a plain-HTTP CA page when TLS is on.
        self._listening = await listen(
            self._runner,
            host=c.http.host,
            port=c.http.port,
            limits=c.http.limits(),
            tls=c.tls,
            data_dir=c.central.data_dir,
            label="central HTTP",
            ca_page=CENTRAL_CA_PAGE,
        )
        self.guard = self._listening.guard
        self.urls = list(self._listening.urls)
        self.port = bound_port(self._listening.sites[0])
        if not c.tls.enabled and not _loopback(c.http.host):
            log.warning(
                "listening on %s without TLS: passwords and session cookies cross the "
                "network in clear; turn [tls] on",
                c.http.host,
            )
        if self.lan is not None:
            await _start_lan(self.lan)
        self.enricher.start()
        self.enricher.wake()  # jobs left by a previous run
        self.sync.start()
        await self.receipts.start(self.sync.mqtt)
        self._watch = asyncio.create_task(self.board.watch(self.pool), name="node-reports")
        if self.notifier is not None:
            self.notifier.start()
        log.info("central %s serving HTTP on port %s", c.central.instance, self.port)

    async def _publish_notification(self, payload: bytes) -> None:
        assert self.sync is not None
        topic = notification_topic(self.config.central.household)
        await self.sync.mqtt.publish(topic, payload, qos=1, retain=False)

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
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self.notifier is not None:
            await self.notifier.close()
            self.notifier = None
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
        if self.lan is not None:
            await self.lan.close()
            self.lan = None
        if self._listening is not None:
            await self._listening.close()  # also closes the guard
            self._listening = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
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


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


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


async def _start_lan(watch: Any) -> None:
    """Start browsing the LAN; without multicast central works on, it just finds nothing."""
    try:
        await watch.start()
    except (OSError, RuntimeError) as exc:
        log.warning("not browsing the LAN for nodes: %s", exc)


def _notify_tuning(config: CentralConfig) -> Tuning:
    n = config.notify
    return Tuning(
        interval=n.interval_seconds,
        retry=timedelta(seconds=n.retry_seconds),
        retry_max=timedelta(seconds=n.retry_max_seconds),
        max_attempts=n.max_attempts,
        send_timeout=n.send_timeout,
        config_urls=tuple(u.get_secret_value() for u in n.urls),
        vapid_subject=n.vapid_subject,
    )


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
    """Run until SIGTERM or SIGINT, telling systemd (``Type=notify``) when it is ready, that
    it is alive (the watchdog, from the event loop) and when it stops."""
    from appliance.sdnotify import Notifier, watchdog_task

    notifier = Notifier()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    central = Central(config)
    await central.start()
    try:
        # READY once the database is migrated and the HTTP port bound (MQTT connects on).
        notifier.ready(f"serving on {', '.join(central.urls)}")
        async with watchdog_task(notifier):
            await stop.wait()
        notifier.stopping("shutting down")
        log.info("stopping")
    finally:
        await central.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
