"""The OpenAPI document matches the routes, and schemathesis finds no server error in them."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
import schemathesis

from appliance.api.auth import is_public
from appliance.api.openapi import build_openapi
from appliance.api.system_routes import SPECS
from appliance.hardware import web as hardware_web
from tests.fakes.fuzzing import fuzz
from tests.node.helpers import HARDWARE, Node, NodeFactory

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def served_routes(node: Node) -> set[tuple[str, str]]:
    """(method, path pattern) of every /api route in the app's router."""
    routes = set()
    for route in node.app.router.routes():
        if route.resource is None or route.method not in METHODS:
            continue
        info = route.resource.get_info()
        pattern = info.get("path") or info.get("formatter")
        if pattern and pattern.startswith("/api/"):
            routes.add((route.method, pattern))
    return routes


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation in the document."""
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


async def test_document_is_openapi_3_1(node: Node) -> None:
    async with node.client.get("/api/openapi.json") as resp:  # no token needed
        assert resp.status == 200
        document = await resp.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # Every private operation says it needs the token; public ones do not.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = is_public(path)  # pairing/start needs a token: a paired device asks
            assert ("security" in operation) is not public, (method, path)
            assert operation["operationId"]
    # The schema is a valid OpenAPI 3.1 document by schemathesis' own validation.
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(documented_routes(document))


async def test_every_api_route_is_documented(node: Node) -> None:
    document = await node.get("/api/openapi.json")
    missing = served_routes(node) - documented_routes(document)
    assert not missing, f"routes served but missing from /api/openapi.json: {sorted(missing)}"
    # And nothing is documented that is not served.
    assert documented_routes(document) <= served_routes(node)


async def test_hardware_routes_are_documented(make_node: NodeFactory) -> None:
    node = await make_node(display={"type": "dummy"})
    document = await node.get("/api/openapi.json")
    hardware = {r for r in served_routes(node) if r[1].startswith("/api/hardware/")}
    assert hardware, "a node with a display should serve its hardware routes"
    missing = hardware - documented_routes(document)
    assert not missing, f"hardware routes missing from /api/openapi.json: {sorted(missing)}"


async def test_schemathesis_finds_no_server_error(
    make_node: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A node with fake hardware, so that its routes are fuzzed too; its long poll short.
    monkeypatch.setattr(hardware_web, "LONG_POLL_SECONDS", 0.05)
    node = await make_node(**HARDWARE)
    # Some data to aim at, so not every id is unknown.
    product = await node.product("Milk", barcodes=["4006381333931"], min_stock=1)
    await node.lot(product["id"], 3)
    await node.post("/api/shopping", {"text": "Bread"})
    document = await node.get("/api/openapi.json")
    base_url = str(node.client.make_url("")).rstrip("/")
    # /api/ws is a WebSocket upgrade, not a JSON operation.
    skip = frozenset({"/api/ws"})
    failures = await asyncio.to_thread(fuzz, document, base_url, node.token, 25, skip)
    assert not failures, "\n\n".join(failures)


async def test_other_methods_get_405_with_allow(make_node: NodeFactory) -> None:
    node = await make_node(**HARDWARE)
    document = await node.get("/api/openapi.json")
    for path in document["paths"]:
        concrete = re.sub(
            r"\{\w+\}", "00000000-0000-4000-8000-000000000001", path.replace("{how}", "press")
        )
        # Every method of every operation this URL reaches (/api/products/enrich is also
        # /api/products/{id}).
        served = _methods_at(document, concrete)
        for method in sorted(METHODS - served):
            async with node.client.request(method, concrete, headers=node.headers) as resp:
                assert resp.status == 405, (method, path, resp.status)
                assert resp.content_type == "application/problem+json"
                allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
                assert served <= allowed <= served | {"HEAD"}, (method, path, allowed)


def _methods_at(document: dict[str, Any], concrete: str) -> set[str]:
    methods = set()
    for path, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$"
        if re.match(pattern, concrete):
            methods |= {method.upper() for method in operations}
    return methods


def test_documented_schemas_use_only_json_schema_keywords(node: Node) -> None:
    # Constraints that pydantic cannot place (after a validator) come out as "ge"/"le", which
    # JSON Schema does not know: fuzzers then draw values the server refuses.
    document = build_openapi(node.app[SPECS])
    text = json.dumps(document)
    for keyword in ("ge", "le", "gt", "lt", "strict"):
        assert f'"{keyword}":' not in text, keyword
