"""Who may call the API: device tokens, and an Origin check against cross-site requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from yarl import URL

from appliance.api.keys import TOKENS
from appliance.api.problem import problem

SESSION_COOKIE = "kitchen_session"
#: The id of the token that authorised a request.
TOKEN_ID = web.RequestKey("token_id", str)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_public(path: str) -> bool:
    """Paths anyone on the LAN may open: the web app shell, health, pairing, the API spec."""
    if not path.startswith("/api/"):
        return True  # the web app's files and the CA download; data lives under /api
    return path in ("/api/health", "/api/openapi.json") or path.startswith("/api/pairing/")


def same_origin(request: web.Request) -> bool:
    """True unless the request names another origin (a page on another site).

    Scheme, host and port must all match: a page on http://node:8080 may not drive the
    node's HTTPS site, and a malformed Origin counts as foreign.
    """
    origin = request.headers.get("Origin")
    if origin is None or (origin == "null" and request.method == "GET"):
        return True
    try:
        url = URL(origin)
    except ValueError:
        return False
    return url.scheme == request.scheme and (url.host, url.port) == (
        request.url.host,
        request.url.port,
    )


def bearer(request: web.Request) -> str | None:
    """The token from the Authorization header, the session cookie, or (WebSocket) ?token=."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie
    if request.path == "/api/ws":
        return request.query.get("token")
    return None


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
        token_id = await request.app[TOKENS].verify(token)
        if token_id is None:
            return problem(401, "Unauthorized", "the token is unknown or was revoked")
        request[TOKEN_ID] = token_id
        response = await handler(request)
        return response

    return middleware
