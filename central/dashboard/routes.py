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

from appliance.api.problem import ProblemError
from appliance.api.registry import Api, read_query
from appliance.core.ids import is_uuid
from central.dashboard import stock
from central.dashboard.nodes import NodeBoard
from central.db import household

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


@api.route("GET", "/api/products/{id}/picture", "A product's picture", tag="dashboard")
async def picture(request: web.Request) -> web.StreamResponse:
    """The JPEG central fetched for a product (as the node serves its copy)."""
    product_id = request.match_info["id"].lower()
    if not is_uuid(product_id):
        raise ProblemError(404, "Not Found", f"{request.match_info['id']!r} is not a product id")
    jpeg = await request.app[DB].fetchval(
        "SELECT jpeg FROM pictures WHERE product_id = $1", product_id
    )
    if jpeg is None:
        raise ProblemError(404, "Not Found", f"product {product_id} has no picture")
    return web.Response(
        body=jpeg, content_type="image/jpeg", headers={"Cache-Control": "max-age=86400"}
    )


def add_routes(app: web.Application, pool: asyncpg.Pool, board: NodeBoard) -> None:
    """Install the dashboard's routes on central's app."""
    app[DB] = pool
    app[BOARD] = board
    api.install(app)
