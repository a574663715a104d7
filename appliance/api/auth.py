"""Who may call the API: device tokens and their roles, the Host and Origin checks, headers."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from yarl import URL

from appliance.api.keys import TOKENS
from appliance.api.problem import problem
from appliance.core.hosts import host_allowed, normal_names
from appliance.security.tokens import Device

SESSION_COOKIE = "kitchen_session"
#: The id of the token that authorised a request.
TOKEN_ID = web.RequestKey("token_id", str)
#: The device (token id, name, kind, role) that authorised a request.
DEVICE = web.RequestKey("device", Device)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: What the ``Server`` header says instead of aiohttp's "Python/3.x aiohttp/3.x".
SERVER_NAME = "kitchen-node"
GROCY_SPECIFICATION = "/grocy/api/openapi/specification"
_PUBLIC_API = frozenset(
    {"/api/health", "/api/openapi.json", "/api/pairing/complete", "/api/pairing/status"}
)


def is_public(path: str) -> bool:
    """Paths anyone on the LAN may open: the web app shell, health, the API spec, pairing.

    Starting a pairing code is not public: the display's button or a paired device does it.
    """
    if path.startswith("/grocy/"):
        return path == GROCY_SPECIFICATION  # the Grocy-compatible API needs a key too
    if not path.startswith("/api/"):
        return True  # the web app's files and the CA download; data lives under /api
    return path in _PUBLIC_API


def same_origin(request: web.Request) -> bool:
    """True unless the request names another origin (a page on another site).

    Scheme, host and port must all match: a page on http://node:8080 may not drive the
    node's HTTPS site. A malformed Origin, and ``Origin: null`` (sandboxed frames, file://
    pages, some redirects), count as foreign.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    try:
        url = URL(origin)
    except ValueError:
        return False
    return url.scheme == request.scheme and (url.host, url.port) == (
        request.url.host,
        request.url.port,
    )


def node_names(configured: Iterable[str] = (), hostname: str | None = None) -> frozenset[str]:
    """The Host names the node answers to: configured, its hostname (also .local), loopback."""
    host = (hostname or socket.gethostname()).lower()
    short = host.split(".")[0]
    return normal_names([*configured, host, short, f"{short}.local"])


def local_address(request: web.Request) -> str | None:
    """The address of this server that the client connected to."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and sockname:
        return str(sockname[0])
    return None


def host_middleware(names: frozenset[str]) -> Any:
    """Refuse requests whose Host is not one of ``names`` or the address connected to."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), names, local_address(request)):
            return problem(
                421,
                "Misdirected request",
                "this server does not answer to that Host name; use its own name or address",
            )
        response: web.StreamResponse = await handler(request)
        return response

    return middleware


def install_headers(app: web.Application, server: str = SERVER_NAME) -> None:
    """``Server: server`` (no versions) everywhere; ``Cache-Control: no-store`` on the API."""

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        # setdefault in aiohttp's own header code leaves a Server header that is already set.
        response.headers["Server"] = server
        if request.path.startswith(("/api/", "/grocy/api/")):
            response.headers.setdefault("Cache-Control", "no-store")

    app.on_response_prepare.append(headers)


def bearer(request: web.Request) -> str | None:
    """The token from the Authorization header, the session cookie, or (WebSocket) ?token=."""
    if request.path.startswith("/grocy/"):
        # Grocy's clients send their API key (a device token here) as GROCY-API-KEY.
        key = request.headers.get("GROCY-API-KEY") or request.query.get("GROCY-API-KEY")
        if key:
            return key.strip()
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie
    if request.path == "/api/ws":
        return request.query.get("token")
    return None


def require_owner(request: web.Request) -> web.Response | None:
    """A 403 problem unless the request's token has the owner role."""
    device = request.get(DEVICE)
    if device is not None and device.is_owner:
        return None
    return problem(
        403,
        "Forbidden",
        "only an owner may do this (a token from 'kitchen-node token create', or a device an "
        "owner promoted)",
    )


def auth_middleware(extra_public: Callable[[str], bool] | None = None) -> Any:
    """Build the middleware; ``extra_public`` may open more paths (e.g. the hardware page)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        cross_site = not same_origin(request)
        if cross_site and (request.method in _UNSAFE or path == "/api/ws"):
            return problem(403, "Forbidden", "cross-origin requests are not accepted")
        if is_public(path) or (extra_public is not None and extra_public(path)):
            response: web.StreamResponse = await handler(request)
            return response
        token = bearer(request)
        if not token:
            return problem(
                401,
                "Unauthorized",
                "send 'Authorization: Bearer <token>'; create one with 'kitchen-node token "
                "create' or pair this device",
                headers_hint="WWW-Authenticate: Bearer",
            )
        device = await request.app[TOKENS].check(token)
        if device is None:
            return problem(401, "Unauthorized", "the token is unknown or was revoked")
        request[TOKEN_ID] = device.id
        request[DEVICE] = device
        response = await handler(request)
        return response

    return middleware
