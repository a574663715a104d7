"""The OpenAPI 3.1 document, generated from the route registry and the body models."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from appliance import __version__
from appliance.api.admission import BUSY_RESPONSE, SAFE_METHODS
from appliance.api.registry import RouteSpec

PATH_PARAM = re.compile(r"\{(\w+)\}")
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def component_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON schema put into ``components`` (with its sub-models); returns its $ref."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation_id(spec: RouteSpec) -> str:
    path = re.sub(r"[^a-z0-9]+", "_", spec.path.lower()).strip("_")
    return f"{spec.method.lower()}_{path}"


def query_schema(sub: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the ``null`` of an optional field.

    A query string cannot carry a null: an optional parameter is one that may be left out,
    which ``required: false`` says. Leaving ``null`` in would invite clients (and fuzzers)
    to send the text "null", which the server rightly refuses.
    """
    options = sub.get("anyOf")
    if not options:
        return sub
    kept = [option for option in options if option.get("type") != "null"]
    rest = {key: value for key, value in sub.items() if key not in ("anyOf", "default")}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _path_schema(spec: RouteSpec, name: str) -> dict[str, Any]:
    if name in spec.path_params:
        return spec.path_params[name]
    if name == "id":
        # Every entity id is a UUID; anything else is answered 404 (see ``path_id``).
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _refers_to_ids(model: type[BaseModel]) -> bool:
    """Whether a body carries entity ids (which may name nothing: 404)."""
    return '"format": "uuid"' in json.dumps(model.model_json_schema())


def problem_statuses(spec: RouteSpec) -> dict[int, str]:
    """Every error status ``spec``'s operation can answer with, and why.

    Derived from what the operation has, so that documenting a route is declaring it: a body
    brings 400/413/415/422, a query 422, a path parameter 404, a token 401, an unsafe method
    403 (cross-origin), a write 409 (the state says no). ``spec.responses`` adds the rest.
    """
    statuses: dict[int, str] = {}
    if spec.body is not None or spec.body_content is not None:
        statuses[400] = "Malformed JSON, too deeply nested, or not an object"
        statuses[413] = "Body too large"
        statuses[415] = "Body not sent as application/json"
        statuses[422] = "Invalid fields (each one listed in errors)"
    if spec.query is not None:
        statuses[422] = "Invalid query parameters (each one listed in errors)"
    if PATH_PARAM.search(spec.path):
        statuses[404] = "Not found"
    elif spec.body is not None and _refers_to_ids(spec.body):
        statuses[404] = "An entity the body refers to does not exist"
    if not spec.public:
        statuses[401] = "Missing or unknown token"
    if spec.method not in ("GET", "HEAD"):
        statuses[403] = "Cross-origin request"
        if not spec.public:
            statuses[409] = "Conflicts with the current state"
    statuses[503] = "The database is busy or unavailable; retry"
    statuses.update(spec.responses)
    return dict(sorted(statuses.items()))


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
        for name in PATH_PARAM.findall(spec.path):
            op["parameters"].append(
                {"name": name, "in": "path", "required": True, "schema": _path_schema(spec, name)}
            )
        if spec.query is not None:
            properties = spec.query.model_json_schema()["properties"]
            for name, field in spec.query.model_fields.items():
                key = field.alias or name  # ``from`` is a keyword: such a field has an alias
                op["parameters"].append(
                    {
                        "name": key,
                        "in": "query",
                        "required": field.is_required(),
                        "schema": query_schema(properties[key]),
                    }
                )
        if spec.body is not None:
            op["requestBody"] = {
                "required": not spec.optional_body,
                "content": {
                    "application/json": {"schema": component_schema(spec.body, components)}
                },
            }
        if spec.body_content is not None:
            op["requestBody"] = {"required": True, "content": spec.body_content}
        if spec.status == 204:
            op["responses"]["204"] = {"description": "No content"}
        elif spec.reply_content is not None:
            op["responses"][str(spec.status)] = {
                "description": "Success",
                "content": spec.reply_content,
            }
        else:
            body_schema: dict[str, Any] = (
                {"type": "object"}
                if spec.media_type == "application/json"
                else {"type": "string", "format": "binary"}
            )
            op["responses"][str(spec.status)] = {
                "description": "Success",
                "content": {spec.media_type: {"schema": body_schema}},
            }
        for status, text in problem_statuses(spec).items():
            op["responses"][str(status)] = {
                "description": text,
                "content": {"application/problem+json": {"schema": _PROBLEM}},
            }
        if spec.content_refusals:
            op["x-content-refusals"] = list(spec.content_refusals)
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
