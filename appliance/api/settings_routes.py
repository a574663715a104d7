"""Settings: the household's (synced as events, so every node agrees) and this node's own."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance.api.bodies import SettingsPatch
from appliance.api.keys import CONFIG, KITCHEN
from appliance.api.registry import Api, read_body
from appliance.api.responses import ok
from appliance.core import events as ev
from appliance.core.entities import SETTINGS_ID
from appliance.core.messages import Message
from appliance.store import queries

api = Api()

_NODE_NAME_KEY = "node_name"


async def _settings(request: web.Request) -> dict[str, Any]:
    kitchen = request.app[KITCHEN]
    household = await queries.settings(kitchen.store.reader)
    name = await kitchen.store.kv_get(_NODE_NAME_KEY)
    config = request.app[CONFIG]
    return {
        "household": household,
        "node": {"id": config.node.id, "name": name or config.node.name},
    }


@api.route("GET", "/api/settings", "Household and node settings", tag="settings")
async def get_settings(request: web.Request) -> web.StreamResponse:
    """The household's settings (``due_soon_days``) and this node's name."""
    return ok(await _settings(request))


@api.route("PATCH", "/api/settings", "Change settings", tag="settings", body=SettingsPatch)
async def patch_settings(request: web.Request) -> web.StreamResponse:
    """``due_soon_days`` is the household's one "due soon" horizon (an event, synced to every
    node); ``node_name`` names this node only (what people see it as on other screens)."""
    body = await read_body(request, SettingsPatch)
    given = body.model_dump(exclude_unset=True)
    kitchen = request.app[KITCHEN]
    household = {k: v for k, v in given.items() if k in ev.SETTINGS_FIELDS}
    if household:
        async with kitchen.change() as tx:
            await tx.emit(ev.SETTINGS_CHANGED, SETTINGS_ID, {"fields": household})
    if "node_name" in given:
        await kitchen.store.kv_set(_NODE_NAME_KEY, given["node_name"])
        kitchen.notify(Message("node.renamed", None, {"name": given["node_name"]}))
    return ok(await _settings(request))
