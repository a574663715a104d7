"""The dashboard's read API on central: overview, nodes, stock, facets, pictures.

Routes are declared in one ``Api`` table (the node's registry) so they can be listed and
described like the node's; ``add_routes`` installs them on central's app.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from appliance.api.bodies import ProductsQuery
from appliance.api.problem import ProblemError
from appliance.api.registry import Api, RouteSpec, read_query
from appliance.core.events import Event
from appliance.core.ids import is_uuid
from central.dashboard import statistics, stock, writes
from central.dashboard.nodes import NodeBoard
from central.db import household
from central.service import event_message

api = Api()
BOARD = web.AppKey("dashboard_board", NodeBoard)
DB = web.AppKey("dashboard_pool", asyncpg.Pool)


class NoQuery(BaseModel):
    """Routes that take no query parameters refuse unknown ones (a typo is an error)."""

    model_config = ConfigDict(extra="forbid")


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda v: json.dumps(v, ensure_ascii=False))


@api.route(
    "GET", "/api/dashboard/overview", "Household counts and nodes", tag="dashboard", query=NoQuery
)
async def overview(request: web.Request) -> web.StreamResponse:
    """Counts over every node and location, the household horizon, each node's state."""
    read_query(request, NoQuery)
    db = request.app[DB]
    today = household.household_today()
    days = await household.horizon_days(db)
    return _json(
        {
            "counts": await household.counts(db, today, days),
            "horizon_days": days,
            "today": today.isoformat(),
            "nodes": await request.app[BOARD].items(db),
        }
    )


@api.route("GET", "/api/dashboard/nodes", "Nodes and their state", tag="dashboard", query=NoQuery)
async def nodes(request: web.Request) -> web.StreamResponse:
    """Online, last seen, version, outbox, sync lag, last scan, stations, catch-up."""
    read_query(request, NoQuery)
    return _json({"items": await request.app[BOARD].items(request.app[DB])})


@api.route(
    "GET",
    "/api/dashboard/stock",
    "Every lot of the household",
    tag="dashboard",
    query=stock.StockQuery,
    responses={400: "A cursor this list did not hand out (or one of another sort)"},
    content_refusals=(400,),
)
async def stock_list(request: web.Request) -> web.StreamResponse:
    """Lots filtered, sorted and paged with a keyset cursor (``next``)."""
    q = read_query(request, stock.StockQuery)
    db = request.app[DB]
    today = household.household_today()
    return _json(await stock.page(db, q, today, await household.horizon_days(db)))


@api.route(
    "GET", "/api/dashboard/facets", "What the stock filters offer", tag="dashboard", query=NoQuery
)
async def facets(request: web.Request) -> web.StreamResponse:
    """Locations, nodes and categories for the filter menus."""
    read_query(request, NoQuery)
    return _json(await stock.facets(request.app[DB]))


@api.route(
    "GET",
    "/api/dashboard/statistics",
    "Use, spoilage, spending and stock value",
    tag="dashboard",
    query=statistics.StatisticsQuery,
    content_refusals=(422,),  # from after to, or more than ten years
)
async def statistics_view(request: web.Request) -> web.StreamResponse:
    """Weekly consumed and spoiled, spoil rates, spending, most used, stock value."""
    q = read_query(request, statistics.StatisticsQuery)
    start, end = statistics.period(q, household.household_today())
    return _json(await statistics.statistics(request.app[DB], start, end))


async def search_products(request: web.Request) -> web.StreamResponse:
    """``GET /api/products?search=&limit=&offset=`` as on the node: by name or barcode."""
    q = read_query(request, ProductsQuery)
    text = (q.search or "").strip().lower()
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await request.app[DB].fetch(
        """SELECT view::text AS view FROM entities
           WHERE kind = 'product' AND active AND view->>'merged_into' IS NULL
             AND ($1 = '' OR lower(view->>'name') LIKE $2 OR view->'barcodes' ? $1)
           ORDER BY lower(view->>'name'), id LIMIT $3 OFFSET $4""",
        text,
        pattern,
        q.limit,
        q.offset,
    )
    return _json({"items": [json.loads(r["view"]) for r in rows]})


@api.route("GET", "/api/products/{id}", "A product", tag="dashboard")
async def product(request: web.Request) -> web.StreamResponse:
    """One product's view (the web app's product dialogs read it)."""
    product_id = _path_uuid(request, "product")
    raw = await request.app[DB].fetchval(
        "SELECT view::text FROM entities WHERE kind = 'product' AND id = $1 AND active",
        product_id,
    )
    if raw is None:
        raise ProblemError(404, "Not Found", f"product {product_id} does not exist")
    return _json(json.loads(raw))


@api.route("GET", "/api/locations", "Locations in their order", tag="dashboard", query=NoQuery)
async def locations(request: web.Request) -> web.StreamResponse:
    """Every location, in the household's order (the web app's move dialog reads it)."""
    read_query(request, NoQuery)
    rows = await request.app[DB].fetch(
        """SELECT view::text AS view FROM entities WHERE kind = 'location' AND active
           ORDER BY (view->>'sort_key')::bigint NULLS LAST, lower(view->>'name'), id"""
    )
    return _json({"items": [json.loads(r["view"]) for r in rows]})


@api.route("GET", "/api/settings", "The household's settings", tag="dashboard", query=NoQuery)
async def settings(request: web.Request) -> web.StreamResponse:
    """``{"due_soon_days"}``: the shared settings (changed on a node)."""
    read_query(request, NoQuery)
    return _json({"due_soon_days": await household.horizon_days(request.app[DB])})


def _path_uuid(request: web.Request, what: str) -> str:
    value = request.match_info["id"].lower()
    if not is_uuid(value):
        raise ProblemError(404, "Not Found", f"{request.match_info['id']!r} is not a {what} id")
    return value


@api.route(
    "GET",
    "/api/products/{id}/picture",
    "A product's picture",
    tag="dashboard",
    reply_content={"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
)
async def picture(request: web.Request) -> web.StreamResponse:
    """The JPEG central fetched for a product (as the node serves its copy)."""
    product_id = _path_uuid(request, "product")
    jpeg = await request.app[DB].fetchval(
        "SELECT jpeg FROM pictures WHERE product_id = $1", product_id
    )
    if jpeg is None:
        raise ProblemError(404, "Not Found", f"product {product_id} has no picture")
    return web.Response(
        body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "max-age=86400"}
    )


def specs() -> list[RouteSpec]:
    """Every dashboard route, reads and writes (for the OpenAPI document and its fuzzing)."""
    return [*api.specs, *writes.api.specs]


def add_routes(
    app: web.Application,
    pool: asyncpg.Pool,
    board: NodeBoard,
    publish: writes.Publish | None = None,
) -> None:
    """Install the dashboard's routes on central's app; ``publish`` sends central's own
    events to the nodes (``SyncService.publish_stream``), else only to the WebSockets."""
    app[DB] = pool
    app[BOARD] = board
    api.install(app)

    async def to_websockets(events: list[Event]) -> None:
        for event in events:
            board.broadcast(event_message(event))

    writes.install(app, pool, publish or to_websockets)
