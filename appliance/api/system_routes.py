"""Health, the API description and the WebSocket."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance import __version__
from appliance.api.keys import CONFIG, KITCHEN, STATUS
from appliance.api.openapi import build_openapi
from appliance.api.registry import Api, RouteSpec
from appliance.api.responses import ok
from appliance.api.websocket import WebSocketHub
from appliance.core.messages import Message

api = Api()
HUB = web.AppKey("hub", WebSocketHub)
SPECS = web.AppKey("specs", list[RouteSpec])


def status_of(request: web.Request) -> dict[str, Any]:
    """The live status parts (sync, hardware) as plain data."""
    status: dict[str, Any] = request.app[STATUS]
    return dict(status)


@api.route("GET", "/api/health", "Is the node up", tag="system", public=True)
async def health(request: web.Request) -> web.StreamResponse:
    """Liveness and the state of sync and hardware."""
    config = request.app[CONFIG]
    return ok(
        {
            "status": "ok",
            "node_id": config.node.id,
            "household": config.node.household,
            "version": __version__,
        }
        | status_of(request)
    )


@api.route("GET", "/api/openapi.json", "This API, described", tag="system", public=True)
async def openapi(request: web.Request) -> web.StreamResponse:
    """The OpenAPI 3.1 document."""
    return ok(build_openapi(request.app[SPECS]))


@api.route("GET", "/api/ws", "Live messages (WebSocket)", tag="system")
async def websocket(request: web.Request) -> web.StreamResponse:
    """Upgrade to a WebSocket that receives every change and scan result."""
    hub = request.app[HUB]
    config = request.app[CONFIG]
    hello = Message("node.online", None, {"node_id": config.node.id} | status_of(request))
    return await hub.handle(request, hello)


@api.route("GET", "/api/state/checksum", "A hash of the whole household state", tag="system")
async def state_checksum(request: web.Request) -> web.StreamResponse:
    """The same canonical hash central computes: equal when both hold the same events."""
    store = request.app[KITCHEN].store
    return ok({"checksum": await store.state_checksum(), "entities": await store.entity_count()})
