"""Pairing routes: a device asks for a code, the node shows it, the device sends it back.

``POST /api/pairing/start``, ``POST /api/pairing/complete`` and ``GET /api/pairing/status``
need no token (the auth middleware lets ``/api/pairing/`` through); ``GET /api/devices`` and
``DELETE /api/devices/{id}`` do. The status tells the web app whether this browser is paired:
a failed WebSocket handshake does not say why it failed. Success sets the HttpOnly
``kitchen_session`` cookie; the token never appears in a URL or in a response body.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Annotated, Any, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints

from appliance.api.auth import SESSION_COOKIE, bearer, same_origin
from appliance.api.keys import TOKENS
from appliance.api.problem import problem
from appliance.api.registry import RouteSpec, read_body
from appliance.api.system_routes import SPECS
from appliance.core.messages import Message
from appliance.security.pairing import PairingCodes, PairingError, PairingFailure

LOG = logging.getLogger(__name__)

# Browsers cap cookie lifetimes near 400 days; the token itself lives until revoked.
SESSION_MAX_AGE = 400 * 24 * 3600
PAIRING_KEY = web.AppKey("pairing_codes", PairingCodes)


class PairingIn(BaseModel):
    """The body of ``POST /api/pairing/complete`` (for the API description)."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TokenIssuer(Protocol):
    """What pairing needs of the token store (``appliance.security.tokens.TokenStore``)."""

    def create(self, name: str) -> Any:
        """Create a device token named ``name``; return it (or an awaitable of it)."""

    def list(self) -> Any:
        """List the devices (or an awaitable of the list)."""

    def revoke(self, token_id: str) -> Any:
        """Revoke a device; truthy when it existed (or an awaitable of that)."""


async def _resolve(value: Any) -> Any:
    """Await ``value`` if the token store is async, else return it."""
    return await value if inspect.isawaitable(value) else value


def _failure(exc: PairingError) -> web.Response:
    if exc.reason in (PairingFailure.LOCKED, PairingFailure.TOO_MANY_CODES):
        retry = str(int((exc.retry_after or 60) + 0.999))
        return problem(429, "Pairing locked", exc.detail, headers={"Retry-After": retry})
    return problem(400, "Pairing refused", exc.detail)


def setup_pairing(
    app: web.Application,
    tokens: TokenIssuer,
    announce: Callable[[Message], None],
    codes: PairingCodes | None = None,
) -> None:
    """Add the pairing and device routes; ``announce`` shows the code (display, clients)."""
    pairing = codes or PairingCodes()
    app[PAIRING_KEY] = pairing

    async def start(request: web.Request) -> web.Response:
        if not same_origin(request):
            return problem(403, "Forbidden", "Cross-origin request refused.")
        try:
            offer = pairing.start()
        except PairingError as exc:
            return _failure(exc)
        ttl = int(pairing.ttl)
        LOG.warning(
            "pairing code %s (valid for %d s, asked by %s)", offer.code, ttl, request.remote
        )
        announce(Message(type="pairing.code", data={"code": offer.code, "expires_in": ttl}))
        return web.json_response({"expires_in": ttl, "digits": len(offer.code)}, status=202)

    async def complete(request: web.Request) -> web.Response:
        if not same_origin(request):
            return problem(403, "Forbidden", "Cross-origin request refused.")
        body = await read_body(request, PairingIn)
        code, name = body.code, body.name.strip()
        if not 1 <= len(name) <= 64 or not name.isprintable():
            return problem(400, "Invalid body", "name: 1-64 printable characters.")
        try:
            pairing.complete(code, request.remote or "unknown")
        except PairingError as exc:
            LOG.warning("pairing refused for %s: %s", request.remote, exc.reason)
            return _failure(exc)
        token = await _resolve(tokens.create(name))
        LOG.info("paired device %r from %s", name, request.remote)
        announce(Message(type="pairing.completed", data={"name": name}))
        response = web.json_response({"paired": True, "name": name})
        response.set_cookie(
            SESSION_COOKIE,
            str(token),
            max_age=SESSION_MAX_AGE,
            path="/",
            httponly=True,
            secure=request.secure,
            samesite="Strict",
        )
        return response

    async def status(request: web.Request) -> web.Response:
        token = bearer(request)
        verify = getattr(tokens, "verify", None)
        if verify is None and TOKENS in request.app:
            verify = request.app[TOKENS].verify
        device = await _resolve(verify(token)) if token and verify is not None else None
        return web.json_response(
            {"paired": device is not None, "device_id": device},
            headers={"Cache-Control": "no-store"},
        )

    async def devices(_request: web.Request) -> web.Response:
        return web.json_response({"items": await _resolve(tokens.list())})

    async def revoke(request: web.Request) -> web.Response:
        if not same_origin(request):
            return problem(403, "Forbidden", "Cross-origin request refused.")
        if not await _resolve(tokens.revoke(request.match_info["id"])):
            return problem(404, "Not found", "No such device.")
        return web.Response(status=204)

    busy = {429: "Too many codes or wrong guesses (Retry-After)", 403: "Cross-origin request"}
    specs = [
        RouteSpec(
            "POST", "/api/pairing/start", "Show a pairing code on the node", "pairing",
            status=202, public=True, responses=busy, handler=start,
        ),
        RouteSpec(
            "POST", "/api/pairing/complete", "Pair with the code; sets the session cookie",
            "pairing", body=PairingIn, public=True, responses=busy, handler=complete,
            content_refusals=(400,),
        ),
        RouteSpec(
            "GET", "/api/pairing/status", "Is this browser paired", "pairing",
            public=True, handler=status,
        ),
        RouteSpec("GET", "/api/devices", "Paired devices", "pairing", handler=devices),
        RouteSpec(
            "DELETE", "/api/devices/{id}", "Revoke a device", "pairing",
            status=204, responses={403: "Cross-origin request"}, handler=revoke,
        ),
    ]  # fmt: skip
    for spec in specs:
        assert spec.handler is not None
        app.router.add_route(spec.method, spec.path, spec.handler)
    if SPECS in app:  # the node's OpenAPI document lists these routes too
        app[SPECS].extend(specs)
