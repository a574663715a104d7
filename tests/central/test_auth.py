"""Central's login: setup, login, sessions, CSRF, tokens, rate limit (real PostgreSQL, real
HTTP server)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from appliance.core.messages import Message
from central.auth.middleware import Auth
from central.config import AuthSection
from central.http import HUB, create_app
from central.hub import Hub
from tests.central.auth_helpers import (
    PASSWORD,
    bearer,
    create_account,
    create_token,
    csrf_headers,
    login,
)

_ENDED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


def _app(pool: asyncpg.Pool, **settings: Any) -> web.Application:
    return create_app(
        pool,
        Hub(),
        None,
        lambda: {"mqtt": {"connected": True}},
        auth=Auth(pool, AuthSection(**settings)),
    )


@pytest.fixture
async def client(pool: asyncpg.Pool, aiohttp_client: Any) -> TestClient:
    client: TestClient = await aiohttp_client(_app(pool))
    return client


async def _json(resp: aiohttp.ClientResponse) -> Any:
    return await resp.json(content_type=None)


async def test_every_data_route_needs_a_login(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/nodes"),
        ("GET", "/api/inventory"),
        ("GET", "/api/state/checksum"),
        ("GET", "/api/auth/me"),
        ("GET", "/api/tokens"),
        ("POST", "/api/tokens"),
        ("POST", "/api/products/enrich?barcode=4006381333931"),
        ("GET", "/api/ws"),
        ("GET", "/api/no-such-route"),
        ("POST", "/api/auth/logout"),
    ]:
        async with client.request(method, path) as resp:
            assert resp.status == 401, (method, path)
            assert resp.content_type == "application/problem+json"
            assert "log in" in (await _json(resp))["detail"]
            assert resp.headers["WWW-Authenticate"] == "Bearer"
    for path in ("/api/health", "/api/auth/state"):
        async with client.get(path) as resp:
            assert resp.status == 200, path
    # Static files are public; an unknown one is a plain 404, not a 401.
    for path in ("/app/nothing.js", "/favicon.ico"):
        async with client.get(path) as resp:
            assert resp.status == 404, path
    # The dashboard's login page itself is public (its data is not).
    async with client.get("/login") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
    # Other pages and other methods on the public pages are not.
    for method, path in (("GET", "/metrics"), ("POST", "/"), ("DELETE", "/app/x.js")):
        async with client.request(method, path) as resp:
            assert resp.status == 401, (method, path)


async def test_first_account_from_this_machine_then_never_again(client: TestClient) -> None:
    state = await _json(await client.get("/api/auth/state"))
    assert state == {"accounts": False, "setup_allowed": True}
    async with client.post("/api/auth/setup", json={"name": "Anna", "password": "short"}) as r:
        assert r.status == 422
        assert "at least 8" in (await _json(r))["detail"]
    async with client.post("/api/auth/setup", json={"name": " Anna ", "password": PASSWORD}) as r:
        assert r.status == 201
        body = await _json(r)
        assert body["user"] == {"name": "Anna"}
        cookie = r.cookies["kc_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert not cookie["secure"]  # plain HTTP here; over HTTPS it is Secure
    me = await _json(await client.get("/api/auth/me"))
    assert me == {
        "user": {"name": "Anna"},
        "csrf": body["csrf"],
        "auth": "session",
        "scope": "full",
    }
    assert await _json(await client.get("/api/auth/state")) == {
        "accounts": True,
        "setup_allowed": False,
    }
    async with client.post("/api/auth/setup", json={"name": "Eve", "password": PASSWORD}) as r:
        assert r.status == 403


def _lan_address() -> str:
    """This machine's address on its network (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.254", 9))
        address = str(s.getsockname()[0])
    assert not address.startswith("127."), "the test needs a non-loopback address"
    return address


async def test_setup_is_refused_from_another_machine(pool: asyncpg.Pool) -> None:
    address = _lan_address()
    server = TestServer(_app(pool), host=address)
    async with TestClient(server) as client:
        state = await _json(await client.get("/api/auth/state"))
        assert state == {"accounts": False, "setup_allowed": False}
        async with client.post(
            "/api/auth/setup", json={"name": "Mallory", "password": PASSWORD}
        ) as r:
            assert r.status == 403
            assert "own machine" in (await _json(r))["detail"]
    assert await pool.fetchval("SELECT count(*) FROM accounts") == 0


async def test_login_wrong_name_and_wrong_password_look_alike(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    await create_account(pool, "Anna")
    answers = []
    for name, password in (("Anna", "wrong password"), ("Nobody", PASSWORD)):
        async with client.post("/api/auth/login", json={"name": name, "password": password}) as r:
            assert r.status == 401
            assert "kc_session" not in r.cookies
            answers.append((await _json(r))["detail"])
    assert answers[0] == answers[1]
    # Names are not case-sensitive.
    csrf = await login(client.session, str(client.make_url("")).rstrip("/"), "ANNA")
    me = await _json(await client.get("/api/auth/me"))
    assert me["user"] == {"name": "Anna"} and me["csrf"] == csrf


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"name": "a", "password": "b"}', "text/plain", 415),
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"[" * 200 + b"]" * 200, "application/json", 400),
        (b'{"name": "a"}', "application/json", 422),
        (b'{"name": "a", "password": "b", "admin": true}', "application/json", 422),
        (b'{"name": "' + b"a" * 65 + b'", "password": "b"}', "application/json", 422),
        (b'{"name": 5, "password": "b"}', "application/json", 422),
        (b"\xff\xfe", "application/json", 400),
    ],
)
async def test_bad_login_bodies_get_a_clear_4xx(
    client: TestClient, body: bytes, content_type: str, status: int
) -> None:
    async with client.post(
        "/api/auth/login", data=body, headers={"Content-Type": content_type}
    ) as r:
        assert r.status == status
        assert r.content_type == "application/problem+json"
        assert (await _json(r))["detail"]


async def test_cookie_writes_need_the_csrf_token_and_our_origin(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    await create_account(pool, "Anna")
    base = str(client.make_url("")).rstrip("/")
    csrf = await login(client.session, base, "Anna")
    new = {"name": "script", "scope": "read"}
    async with client.post("/api/tokens", json=new) as r:
        assert r.status == 403
        assert "X-CSRF-Token" in (await _json(r))["detail"]
    async with client.post("/api/tokens", json=new, headers=csrf_headers("x" + csrf)) as r:
        assert r.status == 403
    for origin in ("http://evil.example", "null", f"https://{client.host}:{client.port}"):
        headers = {**csrf_headers(csrf), "Origin": origin}
        async with client.post("/api/tokens", json=new, headers=headers) as r:
            assert r.status == 403, origin
            assert "cross-origin" in (await _json(r))["detail"]
    headers = {**csrf_headers(csrf), "Origin": base}
    async with client.post("/api/tokens", json=new, headers=headers) as r:
        assert r.status == 201
        made = await _json(r)
    # A token made from the dashboard belongs to the account that made it.
    listed = await _json(await client.get("/api/tokens"))
    assert [(t["name"], t["created_by"]) for t in listed["items"]] == [("script", "Anna")]
    me = await _json(await client.get("/api/auth/me", headers=bearer(made["token"])))
    assert (me["user"], me["auth"], me["scope"]) == ({"name": "Anna"}, "token", "read")
    # A forged login from another site is refused too.
    async with client.post(
        "/api/auth/login",
        json={"name": "Anna", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
    ) as r:
        assert r.status == 403
    # The WebSocket with the cookie: our own origin only.
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/api/ws", headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403
    ws = await client.ws_connect("/api/ws", headers={"Origin": base})
    await ws.close()


async def test_tokens_scopes_and_revocation(pool: asyncpg.Pool, client: TestClient) -> None:
    await create_account(pool, "Anna")
    full = await create_token(pool, "ha", "full")
    read = await create_token(pool, "grafana", "read")
    assert full.startswith("kc_")
    # A token needs no CSRF token, and no cookie is involved.
    async with client.post("/api/tokens", json={"name": "backup"}, headers=bearer(full)) as r:
        assert r.status == 201
        made = await _json(r)
        assert made["token"].startswith("kc_") and made["scope"] == "full"
    async with client.post("/api/tokens", json={"name": "BACKUP"}, headers=bearer(full)) as r:
        assert r.status == 409
    me = await _json(await client.get("/api/auth/me", headers=bearer(read)))
    assert me == {"user": {"name": "grafana"}, "csrf": None, "auth": "token", "scope": "read"}
    async with client.get("/api/nodes", headers=bearer(read)) as r:
        assert r.status == 200
    async with client.post("/api/tokens", json={"name": "x"}, headers=bearer(read)) as r:
        assert r.status == 403
        assert "read" in (await _json(r))["detail"]
    listed = await _json(await client.get("/api/tokens", headers=bearer(read)))
    assert [t["name"] for t in listed["items"]] == ["ha", "grafana", "backup"]
    assert all("token" not in t and "secret_hash" not in t for t in listed["items"])
    ws = await client.ws_connect("/api/ws", headers=bearer(read))
    await ws.close()
    made_ws = await client.ws_connect("/api/ws", headers=bearer(made["token"]))
    for bad in ("kc_nope", "not-even-prefixed", ""):
        async with client.get("/api/nodes", headers={"Authorization": f"Bearer {bad}"}) as r:
            assert r.status == 401
    async with client.get("/api/nodes", headers={"Authorization": "Basic YTpi"}) as r:
        assert r.status == 401
    async with client.delete(f"/api/tokens/{made['id']}", headers=bearer(full)) as r:
        assert r.status == 204
    assert (await made_ws.receive(timeout=5)).type in _ENDED
    async with client.get("/api/nodes", headers=bearer(made["token"])) as r:
        assert r.status == 401
    for token_id in (made["id"], "not-an-id"):
        async with client.delete(f"/api/tokens/{token_id}", headers=bearer(full)) as r:
            assert r.status == 404


async def test_logout_and_logout_everywhere(
    pool: asyncpg.Pool, aiohttp_client: Callable[..., Any]
) -> None:
    await create_account(pool, "Anna")
    app = _app(pool)
    phone: TestClient = await aiohttp_client(app)
    server = phone.server
    laptop = TestClient(server)
    tablet = TestClient(server)
    async with laptop, tablet:
        base = str(phone.make_url("")).rstrip("/")
        csrfs = [await login(c.session, base, "Anna") for c in (phone, laptop, tablet)]
        phone_ws = await phone.ws_connect("/api/ws")
        tablet_ws = await tablet.ws_connect("/api/ws")
        async with phone.post("/api/auth/logout") as r:
            assert r.status == 403  # a logout is a write: it needs the CSRF token
        async with phone.post("/api/auth/logout", headers=csrf_headers(csrfs[0])) as r:
            assert r.status == 200
        assert (await phone.get("/api/auth/me")).status == 401
        # The session's WebSocket ends with it; the other session's stays.
        assert (await phone_ws.receive(timeout=5)).type in _ENDED
        assert not tablet_ws.closed
        assert (await laptop.get("/api/auth/me")).status == 200
        async with laptop.post("/api/auth/logout-all", headers=csrf_headers(csrfs[1])) as r:
            assert r.status == 200
            assert (await _json(r))["ended"] == 2
        assert (await laptop.get("/api/auth/me")).status == 401
        assert (await tablet.get("/api/auth/me")).status == 401
        assert (await tablet_ws.receive(timeout=5)).type in _ENDED
        token = await create_token(pool, "script")
        async with phone.post("/api/auth/logout", headers=bearer(token)) as r:
            assert r.status == 400


async def test_sessions_end_when_idle_or_too_old(pool: asyncpg.Pool, client: TestClient) -> None:
    await create_account(pool, "Anna")
    base = str(client.make_url("")).rstrip("/")
    await login(client.session, base, "Anna")
    # Used six days ago: still valid (idle expiry is 7 days), and the use is recorded.
    await pool.execute("UPDATE auth_sessions SET last_seen = now() - interval '6 days'")
    assert (await client.get("/api/auth/me")).status == 200
    assert await pool.fetchval("SELECT last_seen > now() - interval '1 minute' FROM auth_sessions")
    await pool.execute("UPDATE auth_sessions SET last_seen = now() - interval '7 days 1 minute'")
    async with client.get("/api/auth/me") as r:
        assert r.status == 401
        assert "ended" in (await _json(r))["detail"]
    await login(client.session, base, "Anna")
    # Used all the time, but opened 30 days ago: over the absolute limit.
    await pool.execute("UPDATE auth_sessions SET created_at = now() - interval '30 days 1 minute'")
    assert (await client.get("/api/auth/me")).status == 401
    # A new login, by anyone, clears expired sessions from the table.
    await create_account(pool, "Ben")
    await login(client.session, base, "Ben")
    assert await pool.fetchval("SELECT count(*) FROM auth_sessions") == 1


async def test_sessions_are_stored_only_as_hashes(pool: asyncpg.Pool, client: TestClient) -> None:
    await create_account(pool, "Anna")
    await login(client.session, str(client.make_url("")).rstrip("/"), "Anna")
    cookie = next(c for c in client.session.cookie_jar if c.key == "kc_session").value
    stored = await pool.fetchval("SELECT id_hash FROM auth_sessions")
    assert cookie.encode() not in stored and len(stored) == 32
    password_hash = await pool.fetchval("SELECT password_hash FROM accounts")
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash


async def test_rate_limit_answers_429_with_retry_after(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    await create_account(pool, "Anna")
    client: TestClient = await aiohttp_client(_app(pool, login_attempts=3))
    wrong = {"name": "anna", "password": "wrong password"}
    for _ in range(3):
        assert (await client.post("/api/auth/login", json=wrong)).status == 401
    async with client.post("/api/auth/login", json={"name": "Anna", "password": PASSWORD}) as r:
        assert r.status == 429  # even the right password waits: the pair is blocked
        assert r.content_type == "application/problem+json"
        assert 0 < int(r.headers["Retry-After"]) <= 900
    # Another account from the same address is not blocked by that pair.
    await create_account(pool, "Ben")
    async with client.post("/api/auth/login", json={"name": "Ben", "password": PASSWORD}) as r:
        assert r.status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x", "scope": "admin"}, 422),
        ({"name": "x", "scope": "full", "secret": "mine"}, 422),
        ({"name": ""}, 422),
        ({"name": "   "}, 422),
        ({"name": "two\nlines"}, 422),
        ({"scope": "read"}, 422),
        ([], 400),
    ],
)
async def test_bad_token_requests_get_a_clear_4xx(
    pool: asyncpg.Pool, client: TestClient, body: Any, status: int
) -> None:
    token = bearer(await create_token(pool))
    async with client.post("/api/tokens", json=body, headers=token) as r:
        assert r.status == status
        assert r.content_type == "application/problem+json"
        assert (await _json(r))["detail"]
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 1


async def test_setup_validates_like_login(client: TestClient) -> None:
    for body, status in (
        ({"name": "two\nlines", "password": PASSWORD}, 422),
        ({"name": "Anna"}, 422),
        ({"name": "Anna", "password": "x" * 1025}, 422),
    ):
        async with client.post("/api/auth/setup", json=body) as r:
            assert r.status == status, body
            assert (await _json(r))["detail"]
    async with client.post(
        "/api/auth/setup", data=b"name=Anna", headers={"Content-Type": "text/plain"}
    ) as r:
        assert r.status == 415


async def test_attempts_sent_at_once_cannot_pass_the_limit(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    await create_account(pool, "Anna")
    client: TestClient = await aiohttp_client(_app(pool, login_attempts=3))
    wrong = {"name": "Anna", "password": "wrong password"}

    async def attempt() -> int:
        async with client.post("/api/auth/login", json=wrong) as r:
            return r.status

    statuses = await asyncio.gather(*(attempt() for _ in range(10)))
    assert sorted(statuses) == [401] * 3 + [429] * 7
    # A right password from another account at this address still counts only as itself.
    await create_account(pool, "Ben")
    for _ in range(5):
        assert (
            await client.post("/api/auth/login", json={"name": "Ben", "password": PASSWORD})
        ).status == 200


async def test_two_first_visits_at_once_make_one_account(
    pool: asyncpg.Pool, client: TestClient
) -> None:
    async def first(name: str) -> int:
        async with client.post("/api/auth/setup", json={"name": name, "password": PASSWORD}) as r:
            return r.status

    statuses = await asyncio.gather(*(first(f"user{i}") for i in range(4)))
    assert sorted(statuses) == [201, 403, 403, 403]
    assert await pool.fetchval("SELECT count(*) FROM accounts") == 1


async def _cli(dsn: str, *argv: str) -> int:
    """``kitchen-central ARGV`` as its own process, as a person at the console runs it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from central.cli import main; sys.exit(main(sys.argv[1:]))",
        *argv,
        env={**os.environ, "KITCHEN_CENTRAL_DSN": dsn},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await proc.wait()


async def test_a_revocation_by_another_process_ends_its_websockets(
    pool: asyncpg.Pool, central_dsn: str, aiohttp_client: Callable[..., Any]
) -> None:
    await create_account(pool, "Anna")
    await create_account(pool, "Ben")
    grafana = await create_token(pool, "grafana")
    ha = await create_token(pool, "ha")
    anna: TestClient = await aiohttp_client(_app(pool, revocation_check_seconds=0.2))
    ben = TestClient(anna.server)
    async with ben:
        base = str(anna.make_url("")).rstrip("/")
        await login(anna.session, base, "Anna")
        await login(ben.session, base, "Ben")
        revoked_ws = await anna.ws_connect("/api/ws", headers=bearer(grafana))
        kept_ws = await anna.ws_connect("/api/ws", headers=bearer(ha))
        anna_ws = await anna.ws_connect("/api/ws", headers={"Origin": base})
        ben_ws = await ben.ws_connect("/api/ws", headers={"Origin": base})

        assert await _cli(central_dsn, "token", "revoke", "grafana") == 0
        assert (await revoked_ws.receive(timeout=10)).type in _ENDED
        assert await _cli(central_dsn, "user", "remove", "Ben") == 0
        assert (await ben_ws.receive(timeout=10)).type in _ENDED
        # The others' sockets stay open and still carry messages.
        assert not kept_ws.closed and not anna_ws.closed
        anna.app[HUB].broadcast(Message("ping"))
        assert (await kept_ws.receive_json(timeout=5))["type"] == "ping"
        assert (await anna_ws.receive_json(timeout=5))["type"] == "ping"
        for ws in (kept_ws, anna_ws):
            await ws.close()
