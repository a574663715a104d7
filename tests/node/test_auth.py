"""Who may call the API: tokens on every route but health, the spec and pairing; same origin."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from appliance.api.auth import is_public
from appliance.api.keys import KITCHEN, TOKENS
from appliance.security.tokens import TokenStore
from appliance.store import Store
from tests.node.helpers import EAN13, Node, NodeFactory

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
        if is_public(pattern):
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
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1", "ht!tp://x:y:z"):
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


async def revoke_in_another_process(data_dir: Path, token_id: str) -> None:
    """Run ``kitchen-node token revoke`` as its own process, as an owner would."""
    command = shutil.which("kitchen-node", path=str(Path(sys.executable).parent))
    assert command is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITCHEN_")}
    proc = await asyncio.create_subprocess_exec(
        command, "token", "revoke", token_id, "--data-dir", str(data_dir), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, (out, err)


async def test_a_token_revoked_by_the_cli_closes_its_websocket_and_stops_working(
    node: Node,
) -> None:
    """The revoke hook ran only in the process that revoked: the node must notice by itself."""
    token_id, token = await node.app[TOKENS].create("ipad", kind="paired")
    headers = {"Authorization": f"Bearer {token}"}
    ws = await node.client.ws_connect("/api/ws", headers=headers)
    assert (await ws.receive_json(timeout=5))["type"] == "node.online"
    async with node.client.get("/api/products", headers=headers) as resp:
        assert resp.status == 200  # checked once, so now cached
    await revoke_in_another_process(node.data_dir, token_id)
    # The periodic check (1 s) notices the tokens table changed and closes the socket.
    message = await ws.receive(timeout=5)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await ws.close()
    async with node.client.get("/api/products", headers=headers) as resp:
        assert resp.status == 401
        assert "revoked" in (await resp.json(content_type=None))["detail"]
    await node.get("/api/products")  # the other tokens still work


async def test_a_token_revoked_by_another_store_stops_working_within_seconds(
    node: Node,
) -> None:
    """Cached checks are dropped when another connection revokes: the next check says 401."""
    await node.get("/api/products")  # the token is known, in use and cached
    token_id = (await node.app[TOKENS].list())[0]["id"]
    other = await Store.open(node.app[KITCHEN].store.path, "kitchen")
    try:
        assert await TokenStore(other).revoke(token_id)
    finally:
        await other.close()
    # What the node's watch does every second, awaited here instead of waited for.
    assert await node.app[TOKENS].refresh()
    status, problem = await node.call("GET", "/api/products")
    assert status == 401
    assert "revoked" in problem["detail"]


async def test_token_checks_are_cached_while_the_node_runs(node: Node) -> None:
    """A request with a known token does not ask SQLite again (the scan path's first trip)."""
    await node.get("/api/products")
    store = node.app[KITCHEN].store
    asked: list[str] = []
    conn: Any = store.reader
    original = conn.execute_fetchall

    async def counting(sql: str, *args: Any) -> Any:
        asked.append(sql)
        return await original(sql, *args)

    conn.execute_fetchall = counting
    try:
        await node.get("/api/pairing/status")  # public, but checks the cookie/bearer too
        await node.call("GET", "/api/locations", expect=200)
    finally:
        conn.execute_fetchall = original
    assert not [sql for sql in asked if "FROM tokens" in sql], asked


async def test_a_token_revoked_in_process_stops_at_once(node: Node) -> None:
    """Revoking through the node's own store drops the cached check immediately."""
    token_id, token = await node.app[TOKENS].create("phone")
    headers = {"Authorization": f"Bearer {token}"}
    async with node.client.get("/api/products", headers=headers) as resp:
        assert resp.status == 200
    await node.app[TOKENS].revoke(token_id)
    async with node.client.get("/api/products", headers=headers) as resp:
        assert resp.status == 401


# --- roles ------------------------------------------------------------------------------------


async def test_a_kitchen_device_cannot_list_promote_or_revoke_others(node: Node) -> None:
    """A paired iPad uses the kitchen; managing devices is the owner's (the CLI's) job."""
    tokens = node.app[TOKENS]
    ipad_id, ipad = await tokens.create("iPad", kind="paired")
    owner_id = (await tokens.list())[0]["id"]  # the test's CLI token: an owner
    kitchen = {"Authorization": f"Bearer {ipad}"}
    async with node.client.get("/api/products", headers=kitchen) as resp:
        assert resp.status == 200
    for method, path, body in (
        ("GET", "/api/devices", None),
        ("DELETE", f"/api/devices/{owner_id}", None),
        ("PATCH", f"/api/devices/{ipad_id}", {"role": "owner"}),
    ):
        async with node.client.request(method, path, headers=kitchen, json=body) as resp:
            assert resp.status == 403, (method, path)
            assert "owner" in (await resp.json(content_type=None))["detail"]
    assert [t["role"] for t in await tokens.list()] == ["owner", "kitchen"]
    # The owner promotes the iPad, which may then list devices.
    await node.patch(f"/api/devices/{ipad_id}", {"role": "owner"})
    async with node.client.get("/api/devices", headers=kitchen) as resp:
        assert resp.status == 200
        items = (await resp.json())["items"]
    assert {(d["name"], d["role"]) for d in items} == {("test", "owner"), ("iPad", "owner")}
    status, _ = await node.call("PATCH", f"/api/devices/{ipad_id}", {"role": "root"})
    assert status == 422


async def test_a_kitchen_device_may_revoke_itself(node: Node) -> None:
    tokens = node.app[TOKENS]
    ipad_id, ipad = await tokens.create("iPad", kind="paired")
    kitchen = {"Authorization": f"Bearer {ipad}"}
    async with node.client.delete(f"/api/devices/{ipad_id}", headers=kitchen) as resp:
        assert resp.status == 204
    async with node.client.get("/api/products", headers=kitchen) as resp:
        assert resp.status == 401


async def test_migration_makes_cli_tokens_owners_and_paired_ones_kitchen(tmp_path: Path) -> None:
    """A database from before roles: its CLI tokens become owners, paired devices kitchen."""
    import sqlite3

    from appliance.store.migrations import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:5]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 5")
    conn.executemany(
        "INSERT INTO tokens (id, name, hash, created_at, kind) VALUES (?, ?, ?, '', ?)",
        [("a", "laptop", "h1", "cli"), ("b", "iPad", "h2", "paired")],
    )
    conn.commit()
    conn.close()
    store = await Store.open(path, "kitchen")
    try:
        listed = await TokenStore(store).list()
    finally:
        await store.close()
    assert {(t["name"], t["role"]) for t in listed} == {("laptop", "owner"), ("iPad", "kitchen")}


# --- Host, Origin and headers -----------------------------------------------------------------


async def test_origin_null_does_not_open_a_websocket_with_the_cookie(node: Node) -> None:
    """A sandboxed frame or file:// page sends Origin: null; with the cookie it is refused."""
    cookie = {"Cookie": f"kitchen_session={node.token}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
        await node.client.ws_connect("/api/ws", headers={**cookie, "Origin": "null"})
    assert exc.value.status == 403
    ws = await node.client.ws_connect("/api/ws", headers=cookie)
    assert (await ws.receive_json(timeout=5))["type"] == "node.online"
    await ws.close()


async def test_a_foreign_host_is_refused_whatever_the_origin(node: Node) -> None:
    """DNS rebinding: a page on evil.example re-pointed at the node sends a matching Origin."""
    for host in ("evil.example", "evil.example:8080", "kitchen.evil.example", "[::1", "a:b:c"):
        status, problem = await node.call(
            "GET", "/api/products", headers={"Host": host, "Origin": f"http://{host}"}
        )
        assert status == 421, host
        assert "Host" in problem["detail"]
    status, _ = await node.call("GET", "/api/health", headers={"Host": "evil.example"})
    assert status == 421
    async with node.client.get("/", headers={"Host": "evil.example"}) as resp:
        assert resp.status == 421  # the web app's pages too, not only the API
    hostname = socket.gethostname()
    port = node.client.port
    for host in (
        f"127.0.0.1:{port}", "localhost", f"localhost:{port}", f"[::1]:{port}", hostname,
        f"{hostname}.local:{port}", f"{hostname.upper()}.LOCAL",
    ):  # fmt: skip
        status, _ = await node.call("GET", "/api/products", headers={"Host": host})
        assert status == 200, host


async def test_configured_names_are_accepted(make_node: NodeFactory) -> None:
    node = await make_node(http={"names": ["pantry.home.arpa", "10.9.8.7"]})
    for host, expected in (("pantry.home.arpa:8080", 200), ("10.9.8.7", 200), ("10.9.8.6", 421)):
        status, _ = await node.call("GET", "/api/products", headers={"Host": host})
        assert status == expected, host


async def test_api_responses_are_not_cached_and_server_tells_no_versions(node: Node) -> None:
    for path in ("/api/products", "/api/health", "/api/openapi.json", "/api/nothing-here"):
        async with node.client.get(path, headers=node.headers) as resp:
            assert resp.headers["Cache-Control"] == "no-store", path
            assert resp.headers["Server"] == "kitchen-node", path
    async with node.client.get("/") as resp:
        server = resp.headers["Server"]
    assert "aiohttp" not in server and "Python" not in server
