"""Central's read API shares the node's Host check and headers (DNS rebinding, caching)."""

from __future__ import annotations

from typing import Any

import asyncpg

from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import bearer, create_token


async def test_central_refuses_foreign_hosts_and_sends_no_versions(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    app = create_app(pool, Hub(), None, lambda: {"status": "ok"}, names=["central.home.arpa"])
    client = await aiohttp_client(app)
    auth = bearer(await create_token(pool))
    for host in ("evil.example", "evil.example:8090", "central.home.arpa.evil"):
        async with client.get("/api/nodes", headers={"Host": host}) as resp:
            assert resp.status == 421, host
            assert resp.content_type == "application/problem+json"
    for host in (f"127.0.0.1:{client.port}", "localhost", "central.home.arpa:8090"):
        async with client.get("/api/nodes", headers={"Host": host, **auth}) as resp:
            assert resp.status == 200, host
            assert resp.headers["Cache-Control"] == "no-store"
            assert resp.headers["Server"] == "kitchen-central"
