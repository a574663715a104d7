"""The login API: state, first-account setup, login, me, logout, and API tokens.

Shapes are in docs/api.md (central's section). Wrong name and wrong password get the same
401, after the same argon2 work, so the answer does not say which names exist.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.api.registry import Api, RouteSpec
from appliance.core import wirejson
from appliance.core.ids import is_uuid
from central.auth import accounts, sessions, tokens
from central.auth.accounts import AccountError
from central.auth.middleware import AUTH, IDENTITY, SESSION_COOKIE, Auth, Identity
from central.auth.passwords import MAX_PASSWORD, PasswordError
from central.auth.tokens import Scope, TokenError

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
#: The auth routes, declared like the node's (for the OpenAPI document and its fuzzing).
api = Api()
_SESSION_ONLY = {400: "Only a login session can log out (a token is revoked instead)"}


class Credentials(BaseModel):
    """A name and a password (login and first-account setup)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=accounts.MAX_NAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class NewToken(BaseModel):
    """``POST /api/tokens``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=accounts.MAX_NAME)
    scope: Scope = "full"


def _problem(status: int, title: str, detail: str) -> web.Response:
    from central.http import problem

    return problem(status, title, detail)


async def _body(request: web.Request, model: type[M]) -> M | web.Response:
    if request.content_type != "application/json":
        return _problem(415, "Unsupported media type", "send the body as application/json")
    try:
        data = wirejson.loads(await request.read())
    except wirejson.JsonDepthError as exc:
        return _problem(400, "Malformed JSON", f"the body is not accepted: {exc}")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return _problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return _problem(400, "Malformed body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return _problem(422, "Invalid request", f"{where}: {first['msg']}")


def _is_loopback(request: web.Request) -> bool:
    """True when the client is this machine (the peer address, not a header)."""
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


async def _logged_in(request: web.Request, auth: Auth, account: accounts.Account) -> web.Response:
    """Open a session for ``account`` and answer with its cookie and CSRF token."""
    session_id, csrf = await sessions.start(
        auth.pool, account.id, _address(request), auth.idle, auth.max_age
    )
    status = 201 if request.path == "/api/auth/setup" else 200
    response = web.json_response({"user": {"name": account.name}, "csrf": csrf}, status=status)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        max_age=int(auth.max_age),
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )
    return response


@api.route(
    "GET",
    "/api/auth/state",
    "Whether accounts exist, and whether this client may create the first one",
    tag="auth",
    public=True,
)
async def state(request: web.Request) -> web.Response:
    """Whether accounts exist and whether this client may create the first one."""
    has = await accounts.exists(request.app[AUTH].pool)
    return web.json_response({"accounts": has, "setup_allowed": not has and _is_loopback(request)})


@api.route(
    "POST",
    "/api/auth/setup",
    "Create the first account from central's own machine, and log in",
    tag="auth",
    body=Credentials,
    status=201,
    public=True,
    responses={403: "An account exists, or the client is not central's own machine"},
    content_refusals=(403, 422),
)
async def setup(request: web.Request) -> web.Response:
    """Create the first account (from this machine only, while none exists) and log in."""
    auth = request.app[AUTH]
    if not _is_loopback(request):
        return _problem(
            403,
            "Forbidden",
            "the first account can be created only from central's own machine "
            "(or with 'kitchen-central user add NAME')",
        )
    body = await _body(request, Credentials)
    if isinstance(body, web.Response):
        return body
    if await accounts.exists(auth.pool):
        return _problem(403, "Forbidden", "an account exists already: log in instead")
    try:
        name = accounts.check_name(body.name)
        password_hash = await auth.passwords.hash(body.password)
    except (AccountError, PasswordError) as exc:
        return _problem(422, "Invalid request", str(exc))
    account = await accounts.create_first(auth.pool, name, password_hash)
    if account is None:
        return _problem(403, "Forbidden", "an account exists already: log in instead")
    log.info("first account %r created from this machine", account.name)
    return await _logged_in(request, auth, account)


@api.route(
    "POST",
    "/api/auth/login",
    "Log in with a name and a password: a session cookie and its CSRF token",
    tag="auth",
    body=Credentials,
    public=True,
    responses={401: "The name or the password is wrong", 429: "Too many failed logins"},
    content_refusals=(401, 429),
)
async def login(request: web.Request) -> web.Response:
    """Check a name and password; open a session. 429 with Retry-After when rate-limited."""
    auth = request.app[AUTH]
    body = await _body(request, Credentials)
    if isinstance(body, web.Response):
        return body
    address = _address(request)
    wait = auth.limiter.retry_after(body.name, address)
    if wait:
        response = _problem(
            429, "Too many requests", f"too many failed logins; try again in {wait} s"
        )
        response.headers["Retry-After"] = str(wait)
        return response
    # Counted before the (slow) check: attempts sent at once cannot all slip under the limit.
    auth.limiter.failed(body.name, address)
    account = await accounts.find(auth.pool, body.name)
    ok = await auth.passwords.verify(account.password_hash if account else None, body.password)
    if account is None or not ok:
        log.warning("failed login for %r from %s", body.name[:64], address)
        return _problem(401, "Unauthorized", "the name or the password is wrong")
    auth.limiter.succeeded(body.name, address)
    return await _logged_in(request, auth, account)


def _me(identity: Identity) -> dict[str, Any]:
    return {
        "user": {"name": identity.name},
        "csrf": identity.csrf,
        "auth": identity.auth,
        "scope": identity.scope,
    }


@api.route("GET", "/api/auth/me", "Who is logged in, and the session's CSRF token", tag="auth")
async def me(request: web.Request) -> web.Response:
    """Who is logged in, with the session's CSRF token (null for a token)."""
    return web.json_response(_me(request[IDENTITY]))


def _session_only(identity: Identity) -> web.Response | None:
    if identity.auth != "session":
        return _problem(400, "Bad request", "only a login session can log out; revoke a token")
    return None


@api.route(
    "POST",
    "/api/auth/logout",
    "End this session",
    tag="auth",
    responses=_SESSION_ONLY,
    content_refusals=(400,),
)
async def logout(request: web.Request) -> web.Response:
    """End this session."""
    identity = request[IDENTITY]
    refused = _session_only(identity)
    if refused is not None:
        return refused
    assert identity.session_hash is not None
    auth = request.app[AUTH]
    await sessions.end(auth.pool, identity.session_hash)
    auth.sockets.close(session_hash=identity.session_hash)
    response = web.json_response({"ended": 1})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@api.route(
    "POST",
    "/api/auth/logout-all",
    "End every session of this account",
    tag="auth",
    responses=_SESSION_ONLY,
    content_refusals=(400,),
)
async def logout_all(request: web.Request) -> web.Response:
    """End every session of this account, on every browser."""
    identity = request[IDENTITY]
    refused = _session_only(identity)
    if refused is not None:
        return refused
    assert identity.account_id is not None
    auth = request.app[AUTH]
    ended = await sessions.end_all(auth.pool, identity.account_id)
    auth.sockets.close(account_id=identity.account_id)
    response = web.json_response({"ended": ended})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@api.route("GET", "/api/tokens", "The API tokens (never their secrets)", tag="auth")
async def list_tokens(request: web.Request) -> web.Response:
    """Every API token (names, scopes, last use; never the secrets)."""
    return web.json_response({"items": await tokens.listing(request.app[AUTH].pool)})


@api.route(
    "POST",
    "/api/tokens",
    "Make an API token; the answer holds its secret, this once",
    tag="auth",
    body=NewToken,
    status=201,
    content_refusals=(409, 422),
)
async def create_token(request: web.Request) -> web.Response:
    """Make a token; the answer holds its secret, this once."""
    body = await _body(request, NewToken)
    if isinstance(body, web.Response):
        return body
    identity = request[IDENTITY]
    try:
        token_id, secret = await tokens.create(
            request.app[AUTH].pool, body.name, body.scope, identity.account_id
        )
    except TokenError as exc:
        status = 409 if "exists" in str(exc) else 422
        return _problem(status, "Conflict" if status == 409 else "Invalid request", str(exc))
    log.info("API token %r (%s) created by %s", body.name, body.scope, identity.name)
    return web.json_response(
        {"id": token_id, "name": body.name.strip(), "scope": body.scope, "token": secret},
        status=201,
    )


@api.route(
    "DELETE",
    "/api/tokens/{id}",
    "Revoke an API token",
    tag="auth",
    status=204,
    content_refusals=(404,),
)
async def delete_token(request: web.Request) -> web.Response:
    """Revoke a token: it stops working at once."""
    token_id = request.match_info["id"].lower()
    if not is_uuid(token_id):
        return _problem(404, "Not Found", f"{request.match_info['id']!r} is not a token id")
    auth = request.app[AUTH]
    try:
        await tokens.revoke(auth.pool, token_id=token_id)
    except TokenError as exc:
        return _problem(404, "Not Found", str(exc))
    auth.sockets.close(token_id=token_id)
    return web.Response(status=204)


def specs() -> list[RouteSpec]:
    """Every auth route (for the OpenAPI document and its fuzzing)."""
    return list(api.specs)


def add_routes(app: web.Application) -> None:
    """Add the auth and token routes (the middleware is installed by ``create_app``)."""
    api.install(app)
