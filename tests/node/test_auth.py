"""Who may call the API: tokens on every route but health, the spec and pairing; same origin."""

from __future__ import annotations

import re

from appliance.api.keys import KITCHEN, TOKENS
from appliance.security.tokens import TokenStore
from appliance.store import Store
from tests.node.helpers import EAN13, Node

PUBLIC = {"/api/health", "/api/openapi.json"}
SOME_ID = "00000000-0000-4000-8000-000000000001"


def concrete(path: str) -> str:
    """A request path for a route pattern."""
    path = path.replace("{code}", EAN13)
    return re.sub(r"\{[^}]+\}", SOME_ID, path)


def api_routes(node: Node) -> list[tuple[str, str]]:
    """(method, path pattern) of every /api route the node serves."""
    routes = []
    for route in node.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        pattern = info.get("path") or info.get("formatter")
        if pattern and pattern.startswith("/api/") and route.method != "HEAD":
            routes.append((route.method, pattern))
    return sorted(set(routes))


async def test_every_private_route_needs_a_token(node: Node) -> None:
    routes = api_routes(node)
    assert len(routes) > 30
    checked = 0
    for method, pattern in routes:
        if pattern in PUBLIC or pattern.startswith("/api/pairing/"):
            continue
        async with node.client.request(method, concrete(pattern), json={}) as resp:
            assert resp.status == 401, (method, pattern, resp.status)
            assert resp.content_type == "application/problem+json"
            body = await resp.json(content_type=None)
            assert "token" in body["detail"].lower()
        checked += 1
    assert checked > 30


async def test_public_routes(node: Node) -> None:
    for path in PUBLIC:
        async with node.client.get(path) as resp:
            assert resp.status == 200, path
    health = await (await node.client.get("/api/health")).json()
    assert (health["status"], health["node_id"]) == ("ok", "kitchen")


async def test_unknown_and_malformed_tokens(node: Node) -> None:
    for header in ("Bearer kn_unknown", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000):
        async with node.client.get("/api/products", headers={"Authorization": header}) as resp:
            assert resp.status == 401, header
            assert resp.content_type == "application/problem+json"


async def test_a_revoked_token_is_refused(node: Node) -> None:
    tokens = node.app[TOKENS]
    token_id, token = await tokens.create("phone")
    headers = {"Authorization": f"Bearer {token}"}
    async with node.client.get("/api/products", headers=headers) as resp:
        assert resp.status == 200
    assert await tokens.revoke(token_id)
    async with node.client.get("/api/products", headers=headers) as resp:
        assert resp.status == 401
        assert "revoked" in (await resp.json(content_type=None))["detail"]
    # Other tokens still work.
    await node.get("/api/products")


async def test_cross_origin_writes_are_forbidden(node: Node) -> None:
    before = await node.event_count()
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
        status, problem = await node.call(
            "POST", "/api/shopping", {"text": "x"}, headers={"Origin": origin}
        )
        assert status == 403, origin
        assert "cross-origin" in problem["detail"]
    status, _ = await node.call(
        "DELETE", "/api/shopping", headers={"Origin": "http://evil.example"}
    )
    assert status == 403
    assert await node.event_count() == before
    # The node's own origin may.
    host = f"{node.client.host}:{node.client.port}"
    status, _ = await node.call(
        "POST", "/api/shopping", {"text": "x"}, headers={"Origin": f"http://{host}"}
    )
    assert status == 201


async def test_a_token_revoked_by_another_process_is_refused_at_once(node: Node) -> None:
    await node.get("/api/products")  # the token is known and in use
    token_id = (await node.app[TOKENS].list())[0]["id"]
    # What ``kitchen-node token revoke`` does while the node runs: its own connection.
    other = await Store.open(node.app[KITCHEN].store.path, "kitchen")
    try:
        assert await TokenStore(other).revoke(token_id)
    finally:
        await other.close()
    status, problem = await node.call("GET", "/api/products")
    assert status == 401
    assert "revoked" in problem["detail"]
