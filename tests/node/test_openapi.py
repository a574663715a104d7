"""The OpenAPI document matches the routes, and schemathesis finds no server error in them."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from appliance.api.auth import is_public
from tests.node.helpers import Node, NodeFactory

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


def fuzz(document: dict[str, Any], base_url: str, token: str, examples: int) -> list[str]:
    """Run schemathesis over every operation; return the failures (none expected)."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path == "/api/ws":
                continue  # a WebSocket upgrade, not a JSON operation
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):

                @settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base_url, session=session, headers=headers)
                    case.validate_response(response, checks=[not_a_server_error])

                try:
                    check()
                except Unsatisfiable:
                    pass  # nothing to make invalid: an operation without parameters or body
                except Exception as exc:
                    failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    return failures


async def test_schemathesis_finds_no_server_error(node: Node) -> None:
    # Some data to aim at, so not every id is unknown.
    product = await node.product("Milk", barcodes=["4006381333931"], min_stock=1)
    await node.lot(product["id"], 3)
    await node.post("/api/shopping", {"text": "Bread"})
    document = await node.get("/api/openapi.json")
    base_url = str(node.client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(fuzz, document, base_url, node.token, 30)
    assert not failures, "\n\n".join(failures)
