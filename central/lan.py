"""Nodes on the LAN that central has not heard from yet, found over mDNS.

Central browses ``_kitchen._tcp`` while it runs; ``GET /api/lan/nodes`` lists what answers,
each marked ``added`` when the node is known to central (it has connected to the broker with its
own login, see ``kitchen-central node add``) so the dashboard can offer the rest.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from appliance.lan.browse import LanWatch

LAN = web.AppKey("lan", LanWatch)


async def lan_nodes(watch: LanWatch, db: asyncpg.Pool, household: str) -> list[dict[str, Any]]:
    """The nodes announced on the LAN, with ``added`` and ``household_matches`` flags."""
    known = {r["node"] for r in await db.fetch("SELECT node FROM nodes")}
    items = []
    for found in watch.found():
        item = found.as_dict()
        item["household_matches"] = found.household == household
        item["added"] = found.household == household and found.node_id in known
        items.append(item)
    return items


def add_routes(app: web.Application, watch: LanWatch, household: str) -> None:
    """Serve ``GET /api/lan/nodes`` from ``watch``."""
    from central.http import POOL

    app[LAN] = watch

    async def handler(request: web.Request) -> web.Response:
        items = await lan_nodes(request.app[LAN], request.app[POOL], household)
        return web.json_response({"items": items})

    app.router.add_get("/api/lan/nodes", handler)
