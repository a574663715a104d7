"""Pairing and device routes: a code from the node's display or a paired device pairs a new one.

``POST /api/pairing/complete`` and ``GET /api/pairing/status`` need no token;
``POST /api/pairing/start`` needs a paired device's (or the CLI's) token and answers with a
code for that device to show: anonymous callers cannot make, replace or use up codes, and the
code on the node's display comes only from its button (``app.pair_from_display``). The status
tells the web app whether this browser is paired (a failed WebSocket handshake does not say
why). Success sets the HttpOnly ``kitchen_session`` cookie; the token never appears in a URL
or a response body. Devices: an owner lists, promotes and revokes them; any device may
revoke itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Literal

from aiohttp import web
from pydantic import StringConstraints

from appliance.api.auth import DEVICE, SESSION_COOKIE, bearer, require_owner
from appliance.api.bodies import Body
from appliance.api.problem import problem
from appliance.api.registry import RouteSpec, read_body
from appliance.api.system_routes import SPECS
from appliance.core.messages import Message
from appliance.fields import DeviceName
from appliance.security.pairing import DISPLAY, PairingCodes, PairingError, PairingFailure
from appliance.security.tokens import TokenStore

LOG = logging.getLogger(__name__)

# Browsers cap cookie lifetimes near 400 days; the token itself lives until revoked.
SESSION_MAX_AGE = 400 * 24 * 3600
PAIRING_KEY = web.AppKey("pairing_codes", PairingCodes)


class PairingIn(Body):
    """The body of ``POST /api/pairing/complete``."""

    code: Annotated[str, StringConstraints(pattern=r"^\s*[0-9]{6}\s*$")]
    name: DeviceName


class DeviceIn(Body):
    """The body of ``PATCH /api/devices/{id}``: promote to owner, or back to kitchen."""

    role: Literal["owner", "kitchen"]


def _failure(exc: PairingError) -> web.Response:
    if exc.reason in (PairingFailure.LOCKED, PairingFailure.TOO_MANY_CODES):
        retry = str(int((exc.retry_after or 60) + 0.999))
        return problem(429, "Pairing refused", exc.detail, headers={"Retry-After": retry})
    return problem(400, "Pairing refused", exc.detail)


def setup_pairing(
    app: web.Application,
    tokens: TokenStore,
    announce: Callable[[Message], None],
    codes: PairingCodes | None = None,
    url_for: Callable[[str], str] | None = None,
) -> None:
    """Add the pairing and device routes; ``announce`` tells the display and clients."""
    pairing = codes or PairingCodes()
    app[PAIRING_KEY] = pairing

    async def start(request: web.Request) -> web.Response:
        device = request[DEVICE]
        try:
            offer = pairing.start(f"device:{device.id}")
        except PairingError as exc:
            return _failure(exc)
        ttl = int(pairing.ttl)
        LOG.info("pairing code issued to device %r (%s)", device.name, request.remote)
        body = {"code": offer.code, "expires_in": ttl, "digits": len(offer.code)}
        if url_for is not None:
            body["url"] = url_for(offer.code)
        return web.json_response(body, status=201)

    async def complete(request: web.Request) -> web.Response:
        body = await read_body(request, PairingIn)
        name = body.name  # trimmed, one line, no control characters (DeviceName)
        client = request.remote or "unknown"
        try:
            issuer = pairing.complete(body.code, client)
        except PairingError as exc:
            LOG.warning("pairing refused for %s: %s", client, exc.reason)
            if DISPLAY in exc.voided:
                announce(Message("pairing.cancelled", None, {"reason": "too many wrong codes"}))
            return _failure(exc)
        token_id, token = await tokens.create(name, kind="paired")
        LOG.info("paired device %r from %s (code from %s)", name, client, issuer)
        # Only the display's own code leaves its pairing screen; a device's code does not.
        kind = "pairing.completed" if issuer == DISPLAY else "device.paired"
        announce(Message(kind, None, {"name": name, "device_id": token_id}))
        response = web.json_response({"paired": True, "name": name, "device_id": token_id})
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_MAX_AGE,
            path="/",
            httponly=True,
            secure=request.secure,
            samesite="Strict",
        )
        return response

    async def status(request: web.Request) -> web.Response:
        token = bearer(request)
        device = await tokens.check(token) if token else None
        if device is None:
            return web.json_response({"paired": False, "device_id": None})
        return web.json_response(
            {
                "paired": True,
                "device_id": device.id,
                "name": device.name,
                "role": device.role,
                "station_id": device.station_id,
            }
        )

    async def devices(request: web.Request) -> web.Response:
        refused = require_owner(request)
        if refused is not None:
            return refused
        return web.json_response({"items": await tokens.list()})

    async def set_role(request: web.Request) -> web.Response:
        refused = require_owner(request)
        if refused is not None:
            return refused
        body = await read_body(request, DeviceIn)
        token_id = request.match_info["id"]
        if not await tokens.set_role(token_id, body.role):
            return problem(404, "Not found", "No such device.")
        LOG.info("device %s is now %s (by %s)", token_id, body.role, request[DEVICE].name)
        device = await tokens.get(token_id)
        assert device is not None
        return web.json_response({"id": device.id, "name": device.name, "role": device.role})

    async def revoke(request: web.Request) -> web.Response:
        token_id = request.match_info["id"]
        if token_id != request[DEVICE].id:
            refused = require_owner(request)
            if refused is not None:
                return refused
        if not await tokens.revoke(token_id):
            return problem(404, "Not found", "No such device.")
        LOG.info("device %s revoked (by %s)", token_id, request[DEVICE].name)
        return web.Response(status=204)

    owner = {403: "Not an owner (or a cross-origin request)", 404: "No such device"}
    specs = [
        RouteSpec(
            "POST", "/api/pairing/start", "A pairing code for this device to show a new one",
            "pairing", status=201, responses={429: "Too many device codes (Retry-After)"},
            handler=start,
        ),
        RouteSpec(
            "POST", "/api/pairing/complete", "Pair with a code; sets the session cookie",
            "pairing", body=PairingIn, public=True,
            responses={400: "Wrong code", 429: "Too many wrong codes from here (Retry-After)"},
            handler=complete, content_refusals=(400,),
        ),
        RouteSpec(
            "GET", "/api/pairing/status", "Is this browser paired, as which device",
            "pairing", public=True, handler=status,
        ),
        RouteSpec(
            "GET", "/api/devices", "Paired devices and tokens (owners)", "pairing",
            responses={403: "Not an owner"}, handler=devices,
        ),
        RouteSpec(
            "PATCH", "/api/devices/{id}", "Promote a device to owner, or back (owners)",
            "pairing", body=DeviceIn, responses=owner, handler=set_role,
        ),
        RouteSpec(
            "DELETE", "/api/devices/{id}", "Revoke a device (owners; any device itself)",
            "pairing", status=204, responses=owner, handler=revoke,
        ),
    ]  # fmt: skip
    for spec in specs:
        assert spec.handler is not None
        app.router.add_route(spec.method, spec.path, spec.handler)
    if SPECS in app:  # the node's OpenAPI document lists these routes too
        app[SPECS].extend(specs)
