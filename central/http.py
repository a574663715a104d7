"""Central's HTTP API (reads, the enrichment trigger, login), as an aiohttp app factory.

Errors are ``application/problem+json`` with a ``detail``. It serves the dashboard's data:
inventory, products, shopping list, nodes, health, the state checksum and a WebSocket of
committed events; every route but health and the login needs a session or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import asyncpg
from aiohttp import web

from appliance.core.hosts import host_allowed, normal_names
from appliance.core.ids import product_id_for_code
from appliance.grocy.http import grocy_error_middleware
from central.auth import routes as auth_routes
from central.auth.middleware import AUTH, Auth, auth_middleware
from central.db import queries
from central.enrich import Enricher
from central.grocy import setup_grocy
from central.hub import Hub
from central.webapp import setup_dashboard

POOL = web.AppKey("pool", asyncpg.Pool)
HUB = web.AppKey("hub", Hub)
ENRICHER = web.AppKey("enricher", Enricher)
HealthProbe = Callable[[], dict[str, Any]]
HEALTH: web.AppKey[HealthProbe] = web.AppKey("health")

# ASCII digits only: \d also matches other scripts' digits, and $ a final line break.
_BARCODE_RE = re.compile(r"[0-9]{8,14}")
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def problem(status: int, title: str, detail: str) -> web.Response:
    """An RFC 9457 problem response."""
    return web.Response(
        status=status,
        text=json.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail}
        ),
        content_type="application/problem+json",
    )


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/problem+json":
            raise  # already a problem (ProblemError from the shared request helpers)
        return problem(exc.status, exc.reason, exc.text or exc.reason)
    except _DB_ERRORS as exc:
        return problem(503, "Service Unavailable", f"the database is unavailable: {exc}")


async def _inventory(request: web.Request) -> web.Response:
    return _json({"items": await queries.inventory(request.app[POOL])})


async def _products(request: web.Request) -> web.StreamResponse:
    if request.query:  # the web app's product search: ?search=&limit= (the node's query)
        from central.dashboard.routes import search_products

        return await search_products(request)
    return _json({"items": await queries.views(request.app[POOL], "product")})


async def _shopping(request: web.Request) -> web.Response:
    return _json({"items": await queries.views(request.app[POOL], "shopping")})


async def _nodes(request: web.Request) -> web.Response:
    return _json({"items": await queries.nodes(request.app[POOL])})


async def _checksum(request: web.Request) -> web.Response:
    digest, entities, events = await queries.checksum(request.app[POOL])
    return _json({"checksum": digest, "entities": entities, "events": events})


async def _health(request: web.Request) -> web.Response:
    health = request.app[HEALTH]()
    try:
        await request.app[POOL].fetchval("SELECT 1")
        health["database"] = "ok"
    except _DB_ERRORS as exc:
        health["database"] = f"unavailable: {exc}"
    from central.receipts.routes import RECEIPTS

    if RECEIPTS in request.app:
        # Reading receipts is reported on its own: without OCR central still does its job.
        health["receipts"] = await request.app[RECEIPTS].health()
    connected = health.get("mqtt", {}).get("connected")
    ok = health["database"] == "ok" and bool(connected)
    return web.json_response({"status": "ok" if ok else "degraded", **health})


async def _enrich(request: web.Request) -> web.Response:
    barcode = request.query.get("barcode", "").strip()
    if not _BARCODE_RE.fullmatch(barcode):
        return problem(422, "Unprocessable Content", "barcode must be 8 to 14 digits")
    enricher = request.app.get(ENRICHER)
    if enricher is None or enricher.client is None:
        return problem(503, "Service Unavailable", "Open Food Facts enrichment is disabled")
    pool = request.app[POOL]
    product_id = await queries.product_for_barcode(pool, barcode)
    if product_id is None:
        product_id = product_id_for_code(barcode)
        if not await pool.fetchval(
            "SELECT true FROM entities WHERE kind = 'product' AND id = $1", product_id
        ):
            return problem(404, "Not Found", f"no product has the barcode {barcode}")
    result = await enricher.enrich(product_id, barcode, force=True)
    status = 502 if result.status == "error" else 200
    return web.json_response(
        {
            "barcode": barcode,
            "product_id": product_id,
            "status": str(result.status),
            "product": result.product,
            "reason": result.reason,
            "from_cache": result.from_cache,
        },
        status=status,
    )


async def _ws(request: web.Request) -> web.StreamResponse:
    return await request.app[HUB].serve(request)


def _host_check(names: frozenset[str]) -> Any:
    """Refuse a Host that is not central's own name or address (DNS rebinding), as the node."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        local = str(sockname[0]) if isinstance(sockname, tuple) and sockname else None
        if not host_allowed(request.headers.get("Host"), names, local):
            return problem(
                421, "Misdirected request", "this server does not answer to that Host name"
            )
        response: web.StreamResponse = await handler(request)
        return response

    return middleware


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = "kitchen-central"  # not aiohttp's "Python/3.x aiohttp/3.x"
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def _revocation_watch(app: web.Application) -> AsyncIterator[None]:
    """While serving: end the WebSockets of tokens and sessions removed by another process."""
    auth = app[AUTH]
    task = asyncio.create_task(
        auth.sockets.watch(auth.pool, auth.settings.revocation_check_seconds),
        name="revocation-watch",
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    pool: asyncpg.Pool,
    hub: Hub,
    enricher: Enricher | None,
    health: HealthProbe,
    names: Iterable[str] = (),
    receipts: Any | None = None,
    lan: Any | None = None,
    household: str = "",
    board: Any | None = None,
    publish: Any | None = None,
    auth: Auth | None = None,
    notifier: Any | None = None,
) -> web.Application:
    """The HTTP application; ``health`` returns the service's part of ``/api/health``.

    ``names`` are extra Host names it answers to, besides loopback and the hostname;
    ``receipts`` (a ``ReceiptService``) adds the receipt API; ``lan`` (a ``LanWatch``) the
    list of nodes found on the LAN; ``board`` (a
    ``central.dashboard.nodes.NodeBoard``) is the dashboard's view of the nodes, ``publish``
    (``SyncService.publish_stream``) sends central's own events to the nodes, ``notifier`` (a
    ``central.notify.service.Notifier``) adds the notification API. Every route but a few
    public ones needs a session or an API token (``central.auth``); ``auth`` defaults to the
    default settings on ``pool``.
    """
    host = socket.gethostname().lower()
    short = host.split(".")[0]
    allowed = normal_names([*names, host, short, f"{short}.local"])
    app = web.Application(
        middlewares=[grocy_error_middleware, _host_check(allowed), _errors, auth_middleware],
        client_max_size=64 * 1024,
    )
    app.on_response_prepare.append(_headers)
    app[POOL] = pool
    app[HUB] = hub
    app[HEALTH] = health
    app[AUTH] = auth or Auth(pool)
    app.cleanup_ctx.append(_revocation_watch)
    if enricher is not None:
        app[ENRICHER] = enricher
    app.router.add_get("/api/health", _health)
    app.router.add_get("/api/inventory", _inventory)
    app.router.add_get("/api/products", _products)
    app.router.add_get("/api/shopping", _shopping)
    app.router.add_get("/api/nodes", _nodes)
    app.router.add_get("/api/state/checksum", _checksum)
    app.router.add_get("/api/ws", _ws)
    app.router.add_post("/api/products/enrich", _enrich)
    auth_routes.add_routes(app)
    setup_grocy(app, pool)
    if receipts is not None:
        from central.receipts.routes import add_routes

        add_routes(app, receipts)
    if lan is not None:
        from central import lan as lan_routes

        lan_routes.add_routes(app, lan, household)
    from central.dashboard import routes as dashboard
    from central.dashboard.nodes import NodeBoard

    dashboard.add_routes(
        app, pool, board if board is not None else NodeBoard(hub.broadcast), publish
    )
    if notifier is not None:
        from central.notify.routes import add_routes as add_notify_routes

        add_notify_routes(app, notifier)
    setup_dashboard(app)
    return app
