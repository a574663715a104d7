"""schemathesis over the Grocy API's own OpenAPI document: no server error, only Grocy's
documented statuses and error body, whatever is sent."""

from __future__ import annotations

import asyncio
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from appliance.core import grocy_ids
from tests.node.helpers import EAN13, Node


@schemathesis.check
def grocy_valid_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Valid data is accepted, except the statuses Grocy answers to valid requests naming
    nothing here (``x-content-refusals``: an unknown id or barcode is Grocy's 400)."""
    if response.status_code in case.operation.definition.raw.get("x-content-refusals", []):
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    grocy_valid_data_accepted,
]


def _fuzz(document: dict[str, Any], base_url: str, key: str, examples: int) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
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
                    response = case.call(
                        base_url=base_url, session=session, headers={"GROCY-API-KEY": key}
                    )
                    case.validate_response(response, checks=CHECKS)

                try:
                    check()
                except Unsatisfiable:
                    pass  # nothing to make invalid: an operation without parameters or body
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
                    failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    return failures


async def test_schemathesis_finds_no_server_error_in_the_grocy_api(node: Node) -> None:
    product = await node.product("Milk", barcodes=[EAN13], min_stock=1)
    await node.lot(product["id"], 3)
    await node.post("/api/shopping", {"text": "Bread"})
    async with node.client.get("/grocy/api/openapi/specification") as resp:
        document = await resp.json()
    assert len(document["paths"]) > 20
    # Aim some cases at what exists: the product's id as an example of every id.
    pid = str(grocy_ids.product_int(product["id"]))
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["name"].endswith("Id"):
                    parameter["schema"] = {**parameter["schema"], "examples": [pid]}
    base_url = str(node.client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(_fuzz, document, base_url, node.token, 20)
    assert not failures, "\n\n".join(failures)
