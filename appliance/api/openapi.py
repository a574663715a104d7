"""The OpenAPI 3.1 document, generated from the route registry and the body models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from appliance import __version__
from appliance.api.admission import BUSY_RESPONSE, SAFE_METHODS
from appliance.api.registry import RouteSpec

_PARAM = re.compile(r"\{(\w+)\}")
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation_id(spec: RouteSpec) -> str:
    path = re.sub(r"[^a-z0-9]+", "_", spec.path.lower()).strip("_")
    return f"{spec.method.lower()}_{path}"


def build_openapi(specs: list[RouteSpec]) -> dict[str, Any]:
    """Describe every registered route."""
    components: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "required": ["title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        }
    }
    paths: dict[str, Any] = {}
    for spec in specs:
        op: dict[str, Any] = {
            "summary": spec.summary,
            "tags": [spec.tag],
            "operationId": _operation_id(spec),
            "parameters": [],
            "responses": {},
        }
        for name in _PARAM.findall(spec.path):
            op["parameters"].append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if spec.query is not None:
            for name, field in spec.query.model_fields.items():
                sub = spec.query.model_json_schema()["properties"][name]
                op["parameters"].append(
                    {"name": name, "in": "query", "required": field.is_required(), "schema": sub}
                )
        if spec.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(spec.body, components)}},
            }
        if spec.body_content is not None:
            op["requestBody"] = {"required": True, "content": spec.body_content}
        success = "No content" if spec.status == 204 else "Success"
        op["responses"][str(spec.status)] = {"description": success}
        if spec.status == 204:
            pass
        elif spec.reply_content is not None:
            op["responses"][str(spec.status)]["content"] = spec.reply_content
        else:
            op["responses"][str(spec.status)]["content"] = {
                "application/json": {"schema": {"type": "object"}}
            }
        problems = {400: "Bad request", 404: "Not found", 409: "Conflict", 422: "Invalid"}
        if not spec.public:
            problems[401] = "Missing or unknown token"
        problems.update(spec.responses)
        for status, text in problems.items():
            op["responses"][str(status)] = {
                "description": text,
                "content": {"application/problem+json": {"schema": _PROBLEM}},
            }
        if spec.method not in SAFE_METHODS:
            op["responses"]["503"] = BUSY_RESPONSE  # the write gate (api/admission.py)
        if not spec.public:
            op["security"] = [{"bearer": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kitchen node API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
