"""The two reads the shared web-app dialogs make that central's data API lacks.

The kitchen app's dialogs (``web/src/forms.js``) ask ``GET /api/locations`` for the location
pickers of Move and Correct and ``GET /api/products/{id}`` for the product to edit. Central
answers both from its entity views (the shared fold's ``view()``), in the node's shapes, so
the dialogs run unchanged on the dashboard. Behind the login like every data route.
"""

from __future__ import annotations

import json

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from appliance.api.problem import ProblemError
from appliance.api.registry import Api, read_query
from appliance.core.ids import is_uuid
from central.db import queries

api = Api()
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("dashboard_reads_pool", asyncpg.Pool)


class NoQuery(BaseModel):
    """No query parameters (an unknown one is an error)."""

    model_config = ConfigDict(extra="forbid")


@api.route("GET", "/api/locations", "The household's locations", tag="central", query=NoQuery)
async def locations(request: web.Request) -> web.StreamResponse:
    """Every location that is not deleted (``id``, ``name``, ``sort_key``, ``freezer``)."""
    read_query(request, NoQuery)
    items = await queries.views(request.app[POOL], "location")
    return web.json_response({"items": [i for i in items if not i.get("deleted")]})


@api.route("GET", "/api/products/{id}", "One product", tag="central", query=NoQuery)
async def product(request: web.Request) -> web.StreamResponse:
    """A product's fields as the node shows them; 404 problem when central has none."""
    read_query(request, NoQuery)
    product_id = request.match_info["id"].lower()
    if not is_uuid(product_id):
        raise ProblemError(404, "Not Found", f"{request.match_info['id']!r} is not a product id")
    view = await request.app[POOL].fetchval(
        "SELECT view::text FROM entities WHERE kind = 'product' AND id = $1", product_id
    )
    if view is None:
        raise ProblemError(404, "Not Found", f"central has no product {product_id}")
    return web.json_response(json.loads(view), dumps=lambda v: json.dumps(v, ensure_ascii=False))


def add_routes(app: web.Application, pool: asyncpg.Pool) -> None:
    """Install the reads on central's app."""
    app[POOL] = pool
    api.install(app)
