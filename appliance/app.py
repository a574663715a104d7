"""The node application: builds every part in a fixed order and stops them in reverse.

``build_app`` is the factory tests call; ``serve`` runs it under systemd or on a laptop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from appliance import __version__
from appliance.api import (
    catalog_routes,
    inventory_routes,
    label_routes,
    receipt_routes,
    scanner_routes,
    settings_routes,
    shopping_routes,
    system_routes,
)
from appliance.api.admission import LoopLag, WriteGate, admission_middleware
from appliance.api.auth import auth_middleware, host_middleware, install_headers, node_names
from appliance.api.keys import CONFIG, DISPATCHER, KITCHEN, STATIONS, STATUS, TOKENS
from appliance.api.pairing_routes import setup_pairing
from appliance.api.problem import problem_middleware
from appliance.api.registry import RouteSpec
from appliance.api.system_routes import HUB, SPECS
from appliance.api.websocket import WebSocketHub
from appliance.config import ConfigError, NodeConfig
from appliance.core.messages import Message
from appliance.grocy.http import grocy_error_middleware
from appliance.grocy.routes import setup_grocy
from appliance.labels.service import Labels
from appliance.labels.webhook import PrinterError
from appliance.memory import (
    release_free_memory,
    release_periodically,
    trim_library_tables,
    tune_allocator,
)
from appliance.receipts.book import ReceiptBook
from appliance.security.pairing import DISPLAY, PairingCodes
from appliance.security.tokens import TokenStore
from appliance.services import catalog
from appliance.services.dispatcher import Dispatcher
from appliance.services.errors import CommandError
from appliance.services.expiry_watch import ExpiryWatch
from appliance.services.kitchen import Kitchen
from appliance.services.scanning import Stations
from appliance.serving import bound_port
from appliance.store import Store

log = logging.getLogger(__name__)

API_MODULES = (
    system_routes,
    catalog_routes,
    inventory_routes,
    shopping_routes,
    scanner_routes,
    receipt_routes,
    settings_routes,
    label_routes,
)
BOX = web.AppKey("scan_box", object)
WRITE_GATE = web.AppKey("write_gate", WriteGate)


async def build_app(config: NodeConfig, **hardware_overrides: Any) -> web.Application:
    """Open the database and assemble the node's web application (not yet serving).

    ``hardware_overrides`` reach the scan box (tests pass a MockFactory or a dummy device).
    """
    trim_library_tables()
    store = await Store.open(config.database_path, config.node.id)
    try:
        return await _assemble(config, store, hardware_overrides)
    except BaseException:
        await store.close()
        raise


async def _assemble(
    config: NodeConfig, store: Store, hardware_overrides: dict[str, Any]
) -> web.Application:
    dispatcher = Dispatcher()
    hub = WebSocketHub(config.http.ws_queue_limit)
    dispatcher.add(hub)
    kitchen = Kitchen(store, dispatcher, gs_substitute=config.modes.group_separator_substitute)
    async with kitchen.change() as tx:
        await catalog.seed_locations(tx, config.node.language)
    stations = Stations(
        kitchen,
        default_mode=config.modes.default,
        revert_after_seconds=config.modes.revert_after_seconds,
        revert_after_scan=config.modes.revert_after_scan,
        cycle=list(config.modes.cycle),
    )
    receipts = ReceiptBook(
        store, config.storage.data_dir / "receipts", config.node.id, dispatcher.dispatch
    )
    receipts.clean_incoming()
    tokens = TokenStore(store)
    tokens.on_revoke.append(hub.disconnect_token)
    codes = PairingCodes()

    def announce(message: Message) -> None:
        # The display shows the code and a QR code of the page that takes it.
        if message.type == "pairing.code":
            url = pairing_url(config, str(message.data.get("code", "")))
            message = Message(message.type, message.entity_id, {**message.data, "url": url})
            log.info("Pairing page for this code: %s", url)
        dispatcher.dispatch(message)

    async def pair_from_display(station_id: str) -> None:
        # A long press on the scan box: the display's code is never refused (no limit an
        # attacker can reach applies to it) and replaces only the display's previous code.
        offer = codes.start(DISPLAY)
        log.warning(
            "Pairing code %s on the display of station %s (valid for %d s)",
            offer.code, station_id, int(codes.ttl),
        )  # fmt: skip
        announce(Message("pairing.code", None, {"code": offer.code, "expires_in": int(codes.ttl)}))

    labels = Labels(store, config.labels, config.node.language)

    async def print_from_box(station_id: str) -> str:
        # A long press on the scan box: the label of the lot its last scan added or opened.
        lot_id = stations.last_lot(station_id)
        if lot_id is None:
            raise PrinterError("scan something first: there is no lot to print a label for")
        payload = await labels.print(lot_id)
        return str(payload.get("product") or "")

    box = _hardware(
        config,
        stations,
        {"pairing": pair_from_display, "print_label": print_from_box, **hardware_overrides},
    )
    # First of all: under a flood, a write that finds the gate full costs no token check.
    lag = LoopLag()
    gate = WriteGate(
        config.http.max_pending_writes,
        config.http.max_write_wait_ms / 1000,
        config.http.retry_after_seconds,
        lag=lag,
    )
    if box is not None:
        stations.register(config.scanner.station_id)  # the box's station is the config's

    app = web.Application(
        middlewares=[
            grocy_error_middleware,  # outermost: Grocy's clients read Grocy's error body
            admission_middleware(gate),
            problem_middleware,
            host_middleware(allowed_hosts(config)),
            auth_middleware(lambda path: path == "/hardware"),
        ],
        client_max_size=config.http.max_body_bytes,
    )
    install_headers(app)
    app[CONFIG] = config
    app[KITCHEN] = kitchen
    app[STATIONS] = stations
    app[TOKENS] = tokens
    app[DISPATCHER] = dispatcher
    app[HUB] = hub
    app[WRITE_GATE] = gate
    app[receipt_routes.RECEIPTS] = receipts
    app[label_routes.LABELS] = labels
    app[STATUS] = {"sync": {"enabled": config.sync.enabled, "connected": False}}
    specs: list[RouteSpec] = []
    for module in API_MODULES:
        module.api.install(app)
        specs.extend(module.api.specs)
    app[SPECS] = specs
    setup_grocy(app)
    setup_pairing(app, tokens, announce, codes, lambda code: pairing_url(config, code))
    if box is not None:
        from appliance.hardware.web import setup_hardware_routes

        setup_hardware_routes(app, box)
        app[BOX] = box
    from appliance.api.webapp_routes import setup_webapp

    setup_webapp(app)

    async def lifecycle(app: web.Application) -> Any:
        # Start order: hardware, then sync; stop in reverse, the database last.
        watch = None
        sync = None
        if config.sync.enabled:
            from appliance.sync.client import SyncClient
            from appliance.sync.node_topics import NodeTopics

            node_topics = NodeTopics(
                config.node.id,
                config.node.household,
                StationCommands(stations, tokens),
                version=__version__,
                min_interval=config.sync.info_interval,
                refresh_interval=config.sync.info_refresh,
            )

            def on_status(data: dict[str, Any]) -> None:
                app[STATUS]["sync"] = {"enabled": True, **data}
                dispatcher.dispatch(Message("sync.status", None, data))

            # Kitchen is the sync client's store: what it applies is broadcast like any change.
            sync = SyncClient(
                config.sync,
                config.node.id,
                config.node.household,
                kitchen,
                on_applied=lambda events: None,
                on_status=on_status,
                receipts=receipts,
                node_topics=node_topics,
            )
            kitchen.on_commit.append(sync.notify)
            dispatcher.add(node_topics)
            await sync.start()
        if box is not None:
            await box.start()
            dispatcher.add(box)
            if box.display is not None:
                watch = ExpiryWatch(store, box.display.set_expiring)
                dispatcher.add(watch)
                await watch.start()
        lag.start()
        try:
            async with tokens.watching():
                yield
        finally:
            await lag.close()
            if watch is not None:
                dispatcher.remove(watch)
                await watch.close()
            if box is not None:
                dispatcher.remove(box)
                await box.close()
            if sync is not None:
                kitchen.on_commit.remove(sync.notify)
                if sync.node_topics is not None:
                    dispatcher.remove(sync.node_topics)
                await sync.close()
            await stations.close()

    async def close_clients(app: web.Application) -> None:
        await hub.close_all()

    async def close_store(app: web.Application) -> None:
        gate.close()
        await store.close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_clients)
    app.on_cleanup.append(close_store)
    return app


class StationCommands:
    """What central's and Home Assistant's commands may do: the stations' modes and undo.

    The same services as the HTTP API, so a change is broadcast (and shown) like any other;
    a refusal is a ``ValueError`` with the reason.
    """

    def __init__(self, stations: Stations, tokens: TokenStore) -> None:
        self._stations = stations
        self._tokens = tokens

    async def stations(self) -> list[dict[str, Any]]:
        """Every station with its name (a paired device's) and mode."""
        names = await self._tokens.station_names()
        return [
            {"id": s["id"], "name": names.get(s["id"]) or s["id"], "mode": s["mode"]}
            for s in await self._stations.list()
        ]

    async def station_exists(self, station_id: str) -> bool:
        """Whether the station is known."""
        return await self._stations.exists(station_id)

    async def set_mode(self, station_id: str, mode: str) -> str:
        """Switch the station's mode."""
        try:
            return await self._stations.set_mode(station_id, mode)
        except CommandError as exc:
            raise ValueError(exc.detail) from None

    async def undo_last_scan(self, station_id: str) -> dict[str, Any]:
        """Undo the station's last scan."""
        try:
            return await self._stations.undo_last_scan(station_id)
        except CommandError as exc:
            raise ValueError(exc.detail) from None


def allowed_hosts(config: NodeConfig) -> frozenset[str]:
    """The Host names and addresses the node answers to (against DNS rebinding).

    Configured names (``http.names``, ``tls.hostnames``, ``tls.addresses``), the hostname and
    ``hostname.local``, the LAN addresses found at start, loopback; the address a client
    connected to is accepted too (see ``appliance.core.hosts``).
    """
    from appliance.security.addresses import local_addresses

    configured = [*config.http.names, *config.tls.hostnames, *map(str, config.tls.addresses)]
    if config.http.host not in ("0.0.0.0", "::", ""):
        configured.append(config.http.host)
    try:
        detected = [str(a) for a in local_addresses()]
    except OSError:
        detected = []
    return node_names([*configured, *detected])


def pairing_url(config: NodeConfig, code: str) -> str:
    """The address a device opens to pair with ``code`` (what the display's QR code holds).

    Built from where the node really listens: a node bound to one address (127.0.0.1 on a
    laptop) names that address; one that listens on every address names its
    ``<hostname>.local``, which iPad Safari resolves (and the certificate covers).
    """
    bound = config.http.host
    if bound in ("0.0.0.0", "::", ""):
        host = f"{socket.gethostname().split('.')[0]}.local"
    elif ":" in bound:
        host = f"[{bound}]"
    else:
        host = bound
    if config.tls.enabled:
        return f"https://{host}:{config.tls.port}/#/pair?code={code}"
    return f"http://{host}:{config.http.port}/#/pair?code={code}"


def _hardware(config: NodeConfig, stations: Stations, overrides: dict[str, Any]) -> Any:
    kinds = (config.scanner.type, config.display.type, config.buttons.type, config.feedback.type)
    if all(kind == "none" for kind in kinds):
        return None
    from appliance.hardware.box import build_scan_box

    return build_scan_box(config, stations, **overrides)


def apply_reload(app: web.Application, new: NodeConfig) -> list[str]:
    """Apply what can change while running (scan modes); return sections needing a restart."""
    old = app[CONFIG]
    stations = app[STATIONS]
    stations.configure(
        default_mode=new.modes.default,
        revert_after_seconds=new.modes.revert_after_seconds,
        revert_after_scan=new.modes.revert_after_scan,
        cycle=list(new.modes.cycle),
    )
    app[KITCHEN].gs_substitute = new.modes.group_separator_substitute
    live = {"modes"}
    return [
        name
        for name in type(new).model_fields
        if name not in live and getattr(old, name) != getattr(new, name)
    ]


async def serve(
    config: NodeConfig,
    *,
    stop: asyncio.Event | None = None,
    reload: Callable[[], NodeConfig] | None = None,
) -> None:
    """Run the node until ``stop`` is set (or SIGTERM/SIGINT arrive); SIGHUP reloads."""
    from appliance.api.https import start_sites
    from appliance.sdnotify import Notifier, watchdog_task

    notifier = Notifier()
    tune_allocator()
    app = await build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_hangup() -> None:
        if reload is None:
            log.info("SIGHUP ignored: the node was started without a configuration file")
            return
        notifier.reloading()
        try:
            new = reload()
        except ConfigError as exc:
            log.error("Configuration not reloaded: %s", exc)
        else:
            restart = apply_reload(app, new)
            log.info("Configuration reloaded")
            if restart:
                log.warning("Changes to %s take effect after a restart", ", ".join(restart))
        notifier.ready()

    for sig, handler in (
        (signal.SIGTERM, stop.set),
        (signal.SIGINT, stop.set),
        (signal.SIGHUP, on_hangup),
    ):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler)
    try:
        listening = await start_sites(runner, config)
        announcer = None
        try:
            log.info("Node %s serving on %s", config.node.id, ", ".join(listening.urls))
            announcer = await _announce(config, bound_port(listening.sites[0]))
            # Start-up's garbage is freed by now; glibc would keep its pages (~10 MiB).
            release_free_memory()
            notifier.ready(f"serving on {', '.join(listening.urls)}")
            releaser = asyncio.create_task(release_periodically(), name="release-memory")
            try:
                async with watchdog_task(notifier):
                    await stop.wait()
            finally:
                releaser.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await releaser
            notifier.stopping("shutting down")
            log.info("Stopping node %s", config.node.id)
        finally:
            if announcer is not None:
                await announcer.close()
            await listening.close()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runner.cleanup()


async def _announce(config: NodeConfig, port: int) -> Any:
    """Announce the node over mDNS as ``[mdns]`` says (None when off or it failed)."""
    if config.mdns.mode == "off":
        return None
    from appliance.lan.announce import node_announcement, start_announcer

    mdns = config.mdns
    if mdns.mode == "auto" and config.http.host in ("127.0.0.1", "::1", "localhost"):
        # Nobody on the LAN can reach a node bound to loopback: nothing worth announcing
        # (mode = "zeroconf" announces it on loopback anyway, for tests and demos).
        return None
    if not mdns.interfaces and config.http.host not in ("0.0.0.0", "::", ""):
        # Bound to one address: announce that address, on its interface only.
        mdns = mdns.model_copy(update={"interfaces": [config.http.host]})
    ann = node_announcement(
        mdns,
        name=config.node.name,
        node_id=config.node.id,
        household=config.node.household,
        port=port,
        tls=config.tls.enabled,
    )
    return await start_announcer(mdns, ann)
