"""Every central route needs a session cookie or an API token, except a few public ones.

Public: ``GET /api/health``, ``GET /api/auth/state``, ``POST /api/auth/login``,
``POST /api/auth/setup`` and the dashboard's static files (``/``, ``/login``, ``/setup``,
``/app/*``, ``/manifest.webmanifest``, ``/sw.js``, ``/favicon*``), with GET or HEAD only; all
data lives behind ``/api``.

Cookie-authenticated writes (POST, PUT, PATCH, DELETE) need ``X-CSRF-Token`` equal to the
session's token, and any ``Origin`` must be central's own; the same Origin rule holds for a
cookie-authenticated WebSocket. Bearer tokens need no CSRF token (a browser never sends
them by itself); a ``read`` token may use safe methods only.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from aiohttp import web
from yarl import URL

from central.auth import sessions, tokens
from central.auth.passwords import Passwords
from central.auth.ratelimit import LoginLimiter
from central.config import AuthSection

log = logging.getLogger(__name__)

SESSION_COOKIE = "kc_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PUBLIC_API = frozenset(
    {
        ("GET", "/api/health"),
        ("HEAD", "/api/health"),
        ("GET", "/api/auth/state"),
        ("HEAD", "/api/auth/state"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/auth/setup"),
    }
)
_PUBLIC_PAGES = frozenset({"/", "/login", "/setup", "/manifest.webmanifest", "/sw.js"})
_PUBLIC_PREFIXES = ("/app/", "/favicon")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who made a request: a logged-in account (session) or an API token."""

    auth: Literal["session", "token"]
    name: str
    scope: tokens.Scope
    account_id: int | None = None
    csrf: str | None = None
    session_hash: bytes | None = None
    token_id: str | None = None


IDENTITY = web.RequestKey("identity", Identity)


class LiveSockets:
    """The WebSockets open under each identity, so that a logout or a revoked token ends
    them at once instead of when the browser next reconnects."""

    def __init__(self) -> None:
        self._open: dict[int, tuple[Identity, web.Request]] = {}

    def add(self, identity: Identity, request: web.Request) -> None:
        """Remember a WebSocket request while its handler runs."""
        self._open[id(request)] = (identity, request)

    def discard(self, request: web.Request) -> None:
        """Forget a WebSocket request whose handler returned."""
        self._open.pop(id(request), None)

    def close(
        self,
        *,
        session_hash: bytes | None = None,
        account_id: int | None = None,
        token_id: str | None = None,
    ) -> int:
        """Drop the connections of a session, of every session of an account, or of a token;
        how many. The connection is closed under the WebSocket (the client sees it end and
        gets 401 when it reconnects)."""
        closed = 0
        for identity, request in list(self._open.values()):
            if (
                (session_hash is not None and identity.session_hash == session_hash)
                or (
                    account_id is not None
                    and identity.auth == "session"
                    and identity.account_id == account_id
                )
                or (token_id is not None and identity.token_id == token_id)
            ):
                if request.transport is not None:
                    request.transport.close()
                self.discard(request)
                closed += 1
        return closed

    async def sweep(self, db: asyncpg.Pool) -> int:
        """Close the sockets whose token or session no longer exists; how many.

        A revocation in this process closes its sockets at once (``close``); one by another
        process (``kitchen-central token revoke``, ``user remove``, a second central) is
        found here. Costs nothing while no socket is open.
        """
        identities = [identity for identity, _ in self._open.values()]
        tokens = sorted({i.token_id for i in identities if i.token_id is not None})
        sessions = sorted({i.session_hash for i in identities if i.session_hash is not None})
        if not (tokens or sessions):
            return 0
        # One round trip for both kinds: which of them still exist.
        live = await db.fetchrow(
            "SELECT ARRAY(SELECT id::text FROM api_tokens WHERE id = ANY($1::uuid[])),"
            " ARRAY(SELECT id_hash FROM auth_sessions WHERE id_hash = ANY($2::bytea[]))",
            tokens,
            sessions,
        )
        closed = 0
        for token_id in sorted(set(tokens) - set(live[0])):
            log.info("token %s was revoked elsewhere; closing its WebSockets", token_id)
            closed += self.close(token_id=token_id)
        gone = set(sessions) - {bytes(h) for h in live[1]}
        for session_hash in gone:
            closed += self.close(session_hash=session_hash)
        if gone:
            log.info("%d sessions ended elsewhere; closed their WebSockets", len(gone))
        return closed

    async def watch(self, db: asyncpg.Pool, every: float) -> None:
        """``sweep`` every ``every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)  # ok: the period of the check
            try:
                await self.sweep(db)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # PostgreSQL away for a moment: the next period tries again.
                log.warning("could not check the WebSockets' tokens: %s", exc)


class Auth:
    """What the auth routes and the middleware share: the pool, settings, hasher, limiter."""

    def __init__(self, pool: asyncpg.Pool, settings: AuthSection | None = None) -> None:
        self.pool = pool
        self.settings = settings or AuthSection()
        self.passwords = Passwords(self.settings.hash_concurrency)
        self.limiter = LoginLimiter(
            self.settings.login_attempts,
            self.settings.address_attempts,
            self.settings.login_window_seconds,
        )
        self.sockets = LiveSockets()

    @property
    def idle(self) -> float:
        """Seconds a session may go unused."""
        return self.settings.session_idle_days * 86_400

    @property
    def max_age(self) -> float:
        """Seconds a session lasts at most."""
        return self.settings.session_max_days * 86_400


AUTH = web.AppKey("auth", Auth)


def is_public(method: str, path: str) -> bool:
    """True for the routes anyone may call (see the module docstring)."""
    if path.startswith("/api/"):
        return (method, path) in _PUBLIC_API
    if method not in ("GET", "HEAD"):
        return False
    return path in _PUBLIC_PAGES or path.startswith(_PUBLIC_PREFIXES)


def same_origin(request: web.Request) -> bool:
    """True unless the request's ``Origin`` names another origin than central's own.

    Scheme, host and port must all match the request's own; a malformed Origin and
    ``Origin: null`` (sandboxed frames, file:// pages) count as foreign.
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


def _problem(status: int, title: str, detail: str, **headers: str) -> web.Response:
    from central.http import problem

    response = problem(status, title, detail)
    response.headers.update(headers)
    return response


def _unauthorized(detail: str, request: web.Request) -> web.Response:
    response = _problem(401, "Unauthorized", detail, **{"WWW-Authenticate": "Bearer"})
    if SESSION_COOKIE in request.cookies:
        response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def identify(request: web.Request, auth: Auth) -> Identity | web.Response:
    """The request's identity, or the 401 problem to answer with."""
    header = request.headers.get("Authorization")
    if header is None and request.path.startswith("/grocy/"):
        # Grocy's clients send their API key (a central API token) as GROCY-API-KEY.
        key = request.headers.get("GROCY-API-KEY") or request.query.get("GROCY-API-KEY")
        if key:
            header = f"Bearer {key.strip()}"
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return _unauthorized("send 'Authorization: Bearer <token>'", request)
        token = await tokens.check(auth.pool, secret.strip())
        if token is None:
            return _unauthorized("the token is unknown or was revoked", request)
        return Identity("token", token.account_name or token.name, token.scope, token_id=token.id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return _unauthorized(
            "log in (POST /api/auth/login) or send 'Authorization: Bearer <token>'; "
            "tokens come from 'kitchen-central token create'",
            request,
        )
    if len(cookie) > 200:
        return _unauthorized("the session has ended; log in again", request)
    session = await sessions.check(auth.pool, cookie, auth.idle, auth.max_age)
    if session is None:
        return _unauthorized("the session has ended; log in again", request)
    return Identity(
        "session",
        session.name,
        "full",
        account_id=session.account_id,
        csrf=session.csrf,
        session_hash=session.id_hash,
    )


def _forbidden(detail: str) -> web.Response:
    return _problem(403, "Forbidden", detail)


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Let public routes through; everything else needs a session or a token."""
    if is_public(request.method, request.path):
        if request.method in UNSAFE and not same_origin(request):
            return _forbidden("cross-origin requests are not accepted")
        response: web.StreamResponse = await handler(request)
        return response
    found = await identify(request, request.app[AUTH])
    if isinstance(found, web.Response):
        return found
    unsafe = request.method in UNSAFE
    if found.auth == "session":
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if (unsafe or websocket) and not same_origin(request):
            return _forbidden("cross-origin requests are not accepted")
        if unsafe:
            sent = request.headers.get(CSRF_HEADER, "")
            assert found.csrf is not None
            if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
                return _forbidden(
                    f"a missing or wrong {CSRF_HEADER} header: send the csrf value that "
                    "login or GET /api/auth/me returned"
                )
    elif unsafe and found.scope != "full":
        return _forbidden("this token may only read (scope 'read')")
    request[IDENTITY] = found
    if request.headers.get("Upgrade", "").lower() != "websocket":
        response = await handler(request)
        return response
    sockets = request.app[AUTH].sockets
    sockets.add(found, request)
    try:
        response = await handler(request)
    finally:
        sockets.discard(request)
    return response
