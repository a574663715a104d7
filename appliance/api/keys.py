"""Typed application keys shared by the routes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from appliance.config import NodeConfig
from appliance.security.tokens import TokenStore
from appliance.services.dispatcher import Dispatcher
from appliance.services.kitchen import Kitchen
from appliance.services.scanning import Stations

CONFIG = web.AppKey("config", NodeConfig)
KITCHEN = web.AppKey("kitchen", Kitchen)
STATIONS = web.AppKey("stations", Stations)
TOKENS = web.AppKey("tokens", TokenStore)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
# Live status parts shown by /api/health (sync state, hardware, ...), filled by their owners.
STATUS = web.AppKey("status", dict[str, Any])
