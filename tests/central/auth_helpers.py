"""Helpers for tests that call central's HTTP API: accounts, tokens, login, headers.

They write through central's own auth modules into the real PostgreSQL database, so a test
authenticates exactly as a person or a script would.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import aiohttp
import asyncpg

from appliance.core.ids import new_id
from central.auth import accounts, tokens
from central.auth.passwords import Passwords
from central.auth.sessions import hash_secret
from central.auth.tokens import Scope

#: A password that passes the length rule, for tests that do not care which.
PASSWORD = "correct horse battery"


async def create_account(pool: asyncpg.Pool, name: str, password: str = PASSWORD) -> None:
    """Add a household account with an argon2id hash of ``password``."""
    await accounts.create(pool, name, await Passwords(1).hash(password))


async def create_token(pool: asyncpg.Pool, name: str = "tests", scope: Scope = "full") -> str:
    """Make an API token and return its secret (``kc_...``)."""
    _, secret = await tokens.create(pool, name, scope)
    return secret


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def login(
    session: aiohttp.ClientSession, base_url: str, name: str, password: str = PASSWORD
) -> str:
    """Log in through ``POST /api/auth/login`` (the cookie stays in ``session``'s jar);
    return the CSRF token to send as ``X-CSRF-Token`` with writes."""
    async with session.post(
        f"{base_url}/api/auth/login", json={"name": name, "password": password}
    ) as response:
        body = await response.json()
        assert response.status == 200, body
    csrf: str = body["csrf"]
    return csrf


def csrf_headers(csrf: str) -> dict[str, str]:
    """The header a cookie-authenticated write carries."""
    return {"X-CSRF-Token": csrf}


async def central_headers(central: Any, scope: Scope = "full") -> dict[str, str]:
    """The Authorization header of a fresh token on a running ``central.app.Central``."""
    assert central.pool is not None, "central is not started"
    token = await create_token(central.pool, f"tests-{uuid.uuid4().hex[:12]}", scope)
    return bearer(token)


async def dsn_headers(dsn: str, scope: Scope = "full") -> dict[str, str]:
    """The Authorization header of a fresh token in the (migrated) database at ``dsn``, for a
    central running in another process."""
    conn = await asyncpg.connect(dsn)
    try:
        token_id = new_id()
        secret = tokens.TOKEN_PREFIX + secrets.token_urlsafe(32)
        await conn.execute(
            "INSERT INTO api_tokens (id, name, scope, secret_hash) VALUES ($1, $2, $3, $4)",
            token_id,
            f"tests-{token_id[-12:]}",
            scope,
            hash_secret(secret),
        )
    finally:
        await conn.close()
    return bearer(secret)
