"""Schemathesis over central's login and token routes: bad input of every kind is a 4xx
problem, valid input is accepted or refused as documented, nothing answers 5xx (real
PostgreSQL, real HTTP)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from appliance.api.openapi import build_openapi
from central.auth import routes
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import create_token
from tests.node.test_openapi import fuzz


async def test_schemathesis_finds_no_server_error_in_the_login_routes(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    token = await create_token(pool, "fuzz", "full")
    client = await aiohttp_client(create_app(pool, Hub(), None, dict))
    document = build_openapi(routes.specs())
    assert {path for path in document["paths"]} == {
        "/api/auth/state",
        "/api/auth/setup",
        "/api/auth/login",
        "/api/auth/me",
        "/api/auth/logout",
        "/api/auth/logout-all",
        "/api/tokens",
        "/api/tokens/{id}",
    }
    base_url = str(client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(fuzz, document, base_url, token, 15, frozenset())
    assert not failures, "\n\n".join(failures)
    # The fuzz's own token still works: nothing it sent revoked it.
    async with client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200
