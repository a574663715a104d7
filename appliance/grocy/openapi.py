"""The Grocy API's own OpenAPI document (``/grocy/api/openapi/specification``).

Built from the same route registry as the node's document, with Grocy's error body and
Grocy's API key, so that schema fuzzing covers these routes too.
"""

from __future__ import annotations

import re
from typing import Any

from appliance import __version__
from appliance.api.openapi import PATH_PARAM, component_schema, query_schema
from appliance.api.registry import RouteSpec

_ERROR = {"$ref": "#/components/schemas/Error400"}


def error_statuses(spec: RouteSpec) -> dict[int, str]:
    """What an operation can answer besides success: Grocy's 400 for every bad request,
    401 without a valid key, 403 cross-origin writes, 404 for a path that names nothing
    routable, 405, 413 for a body too large, 503 when the node is busy."""
    statuses = {
        400: "Bad request (Grocy's error_message says why)",
        401: "Missing or unknown GROCY-API-KEY",
        404: "Not found",
        503: "The node is busy or its database unavailable; retry",
    }
    if spec.method not in ("GET", "HEAD"):
        statuses[403] = "Cross-origin request"
    if spec.body is not None:
        statuses[413] = "Body too large"
    statuses.update(spec.responses)
    return dict(sorted(statuses.items()))


def build_grocy_openapi(specs: list[RouteSpec]) -> dict[str, Any]:
    """Describe the Grocy routes."""
    components: dict[str, Any] = {
        "Error400": {
            "type": "object",
            "required": ["error_message"],
            "properties": {"error_message": {"type": "string"}},
        }
    }
    paths: dict[str, Any] = {}
    for spec in specs:
        op: dict[str, Any] = {
            "summary": spec.summary,
            "tags": [spec.tag],
            "operationId": re.sub(r"[^a-z0-9]+", "_", f"{spec.method} {spec.path}".lower()),
            "parameters": [],
            "responses": {},
        }
        for name in PATH_PARAM.findall(spec.path):
            schema = spec.path_params.get(name, {"type": "string"})
            op["parameters"].append({"name": name, "in": "path", "required": True,
                                     "schema": schema})  # fmt: skip
        if spec.query is not None:
            properties = spec.query.model_json_schema()["properties"]
            for name, field in spec.query.model_fields.items():
                op["parameters"].append(
                    {
                        "name": name,
                        "in": "query",
                        "required": field.is_required(),
                        "schema": query_schema(properties[name]),
                    }
                )
            if spec.path.endswith("/objects/{entity}"):
                op["parameters"].append(
                    {
                        "name": "query[]",
                        "in": "query",
                        "required": False,
                        "style": "form",
                        "explode": True,
                        # The whole request line is bounded (8 KiB, aiohttp's limit): a
                        # few conditions of Grocy's usual length fit it encoded.
                        "schema": {
                            "type": "array",
                            "maxItems": 4,
                            "items": {"type": "string", "maxLength": 100},
                        },
                    }
                )
        if spec.body is not None:
            op["requestBody"] = {
                "required": not spec.optional_body,
                "content": {
                    "application/json": {"schema": component_schema(spec.body, components)}
                },
            }
        if spec.status == 204:
            op["responses"]["204"] = {"description": "No content"}
        else:
            op["responses"][str(spec.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": {}}},
            }
        for status, text in error_statuses(spec).items():
            op["responses"][str(status)] = {
                "description": text,
                "content": {"application/json": {"schema": _ERROR}},
            }
        # Grocy answers 400 to a valid request whose ids or barcode name nothing here.
        op["x-content-refusals"] = [400, 404]
        op["security"] = [{"ApiKeyAuth": []}, {"ApiKeyQuery": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kitchen node: Grocy-compatible API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "GROCY-API-KEY"},
                "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "GROCY-API-KEY"},
            },
        },
    }
