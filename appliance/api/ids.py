"""Path parameters."""

from __future__ import annotations

from aiohttp import web

from appliance.core.ids import is_uuid
from appliance.services.errors import NotFound


def path_id(request: web.Request, name: str = "id") -> str:
    """The UUID in the path; anything else is simply not found."""
    value = request.match_info[name].lower()
    if not is_uuid(value):
        raise NotFound(f"{request.match_info[name]!r} is not an id of this node")
    return value
