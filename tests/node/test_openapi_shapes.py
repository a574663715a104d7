"""Shapes that once reached a 500, sent to every operation the OpenAPI document lists.

Schemathesis draws values from the schema; these are the shapes it rarely draws and that
broke handlers before: deep nesting, integers beyond 64 bits, non-ASCII digits, control
characters, lone surrogates. Because the cases come from the document, a new route gets
them without anyone writing a test for it. Every answer must be below 500, documented for
the operation, and a problem+json when it is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from appliance.api.keys import TOKENS
from appliance.hardware import web as hardware_web
from tests.node.helpers import HARDWARE, Node, NodeFactory

JSON = {"Content-Type": "application/json"}
# A header that the test replaces by a kitchen device's token.
KITCHEN = "X-Test-Kitchen-Device"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
# Documented for the cases that need a state to occur (a conflict, a busy database, a
# pairing lock-out): the tests of those states produce them, these shapes cannot.
STATE_STATUSES = {"409", "429", "503"}
DEEP = b"[" * 100_000 + b"]" * 100_000
NESTED = json.loads("[" * 40 + "]" * 40)  # deeper than the 32 levels allowed
# JSON number tokens beyond 64 bits (and one of 5,000 digits, which int() refuses to read).
HUGE_NUMBERS = ["9223372036854775808", "-9223372036854775809", "1" + "0" * 30, "9" * 5000, "1e400"]
CONTROL_TEXT = ["\x00", "a\x00b", "\x1b[2J", "\x7f", "\u0085", "\u202e", "\ufeff", "\r\n"]
# Query and path values: non-ASCII digits, signs, exponents, beyond 64 bits, empty.
NUMBER_TEXT = ["²", "١٢", "--1", "+5", "1e3", "1_0", " 5", "9223372036854775808", "9" * 5000, ""]
PATH_TEXT = ["١٢", "9" * 300, "-1", "%00", "%C2%B2", "null", "%2F", "%20"]
# Lone surrogates are valid JSON escapes but not text.
RAW_BODIES = [DEEP, b'{"a": "\\ud800"}', b"[]", b"null", b"{", b'{"a": NaN}', b"\xff"]


def baseline(schema: dict[str, Any], components: dict[str, Any], ids: dict[str, str]) -> Any:
    """A simple value of ``schema`` (valid where that is easy), to vary one field of."""
    if "$ref" in schema:
        return baseline(components[schema["$ref"].rsplit("/", 1)[1]], components, ids)
    if "anyOf" in schema:
        return baseline(schema["anyOf"][0], components, ids)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: baseline(sub, components, ids)
            for name, sub in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        return [baseline(schema.get("items", {}), components, ids) for _ in range(count)]
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "uuid":
        return ids["product"]
    for candidate in ("x", "000000", "4006381333931", "2027-01-31"):
        if re.search(schema.get("pattern", ""), candidate):
            return candidate
    return "x"


def properties(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The properties of a body schema (through its $ref), each without its null branch."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    result = {}
    for name, sub in schema.get("properties", {}).items():
        options = [o for o in sub.get("anyOf", [sub]) if o.get("type") != "null"]
        result[name] = options[0] if options else sub
    return result


Case = tuple[str, str, str, dict[str, Any]]


def multipart_cases(method: str, pattern: str, path: str) -> Iterator[Case]:
    """Uploads that are not what an upload should be: broken, empty, too many, not a file."""
    boundary = "kitchen-shapes"
    kind = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def part(name: str, data: bytes) -> bytes:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="r.jpg"'
        return head.encode() + b"\r\nContent-Type: image/jpeg\r\n\r\n" + data + b"\r\n"

    end = f"--{boundary}--\r\n".encode()
    bodies = [
        b"--" + boundary.encode() + b"\r\nno header end",  # malformed: 400
        end,  # no file part: 422
        part("file", b"") + end,  # an empty file: 422
        part("file", b"PK\x03\x04 a zip named .jpg") + end,  # not an image: 415
        part("other\x00", b"x") + end,  # an unknown field
        b"".join(part("file", b"x") for _ in range(11)) + end,  # too many files: 413
    ]
    for body in bodies:
        yield method, pattern, path, {"data": body, "headers": kind}
    yield method, pattern, path, {"json": {"file": "x"}}  # not multipart: 415


def cases(document: dict[str, Any], ids: dict[str, str]) -> Iterator[Case]:
    """(method, path pattern, path, request arguments) of every bad shape of every operation."""
    components = document["components"]["schemas"]
    for pattern, operations in document["paths"].items():
        if pattern == "/api/ws":
            continue
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            path_values = {
                p["name"]: baseline(p["schema"], components, ids)
                for p in params
                if p["in"] == "path"
            }

            def path(values: dict[str, Any]) -> str:
                return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), pattern)  # noqa: B023

            body_schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            base_body = baseline(body_schema, components, ids) if body_schema else None
            extra = {"json": base_body} if body_schema else {}
            # As it is, without the token, and (for writes) from another origin.
            yield method, pattern, path(path_values), dict(extra)
            if "security" in operation:
                yield (
                    method,
                    pattern,
                    path(path_values),
                    {**extra, "headers": {"Authorization": ""}},
                )
                # A paired kitchen device: owners' routes refuse it (403).
                yield method, pattern, path(path_values), {**extra, "headers": {KITCHEN: ""}}
            if method != "get":
                evil = {"Origin": "http://evil.test"}
                yield method, pattern, path(path_values), {**extra, "headers": evil}
            # Path parameters.
            for name in path_values:
                for value in PATH_TEXT:
                    yield method, pattern, path({**path_values, name: value}), extra
            # Query parameters.
            for param in (p for p in params if p["in"] == "query"):
                is_number = param["schema"].get("type") == "integer"
                for value in NUMBER_TEXT if is_number else CONTROL_TEXT:
                    yield (
                        method,
                        pattern,
                        path(path_values),
                        {"params": {param["name"]: value}, **extra},
                    )
            if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
                yield from multipart_cases(method, pattern, path(path_values))
            if body_schema is None:
                continue
            # Whole bodies that are not what a body should be.
            for raw in RAW_BODIES:
                yield method, pattern, path(path_values), {"data": raw, "headers": JSON}
            yield method, pattern, path(path_values), {"data": b"code=1", "headers": {}}
            too_big = b'{"a": "' + b"x" * (300 * 1024) + b'"}'
            yield method, pattern, path(path_values), {"data": too_big, "headers": JSON}
            # One field at a time: too deep, too big, control characters.
            for name, sub in properties(body_schema, components).items():
                values: list[Any] = [NESTED]
                if sub.get("type") == "string":
                    values += CONTROL_TEXT
                if sub.get("format") == "uuid":
                    values.append(UNKNOWN_ID)
                for value in values:
                    yield method, pattern, path(path_values), {"json": {**base_body, name: value}}
                if sub.get("type") in ("integer", "number"):
                    for token in HUGE_NUMBERS:
                        text = json.dumps({**base_body, name: "@@"}).replace('"@@"', token)
                        yield (
                            method,
                            pattern,
                            path(path_values),
                            {
                                "data": text.encode(),
                                "headers": {"Content-Type": "application/json"},
                            },
                        )


@pytest.fixture
async def hw_node(make_node: NodeFactory, monkeypatch: pytest.MonkeyPatch) -> Node:
    """A node with mock buttons and no display: its hardware routes are in the document, and
    the display's picture is a 404 (the fuzzing in test_openapi has the display)."""
    monkeypatch.setattr(hardware_web, "LONG_POLL_SECONDS", 0.01)
    return await make_node(display={"type": "none"}, buttons=HARDWARE["buttons"])


async def test_no_shape_reaches_a_server_error(hw_node: Node) -> None:
    node = hw_node
    product = await node.product("Milk", barcodes=["4006381333931"])
    ids = {"product": product["id"]}
    await node.lot(product["id"], 3)
    _, kitchen = await node.app[TOKENS].create("iPad", kind="paired")
    document = await node.get("/api/openapi.json")
    failures: list[str] = []
    produced: dict[tuple[str, str], set[str]] = {}
    sent = 0
    for method, pattern, path, kwargs in cases(document, ids):
        operation = document["paths"][pattern][method]
        headers = {**node.headers, **kwargs.pop("headers", {})}
        if headers.pop(KITCHEN, None) is not None:
            headers["Authorization"] = f"Bearer {kitchen}"
        async with node.client.request(method.upper(), path, headers=headers, **kwargs) as response:
            sent += 1
            status = response.status
            produced.setdefault((method, pattern), set()).add(str(status))
            text = await response.text()
            where = f"{method.upper()} {path[:80]} {str(kwargs)[:120]} -> {status} {text[:200]}"
            if status >= 500:
                failures.append(f"server error: {where}")
            elif str(status) not in operation["responses"]:
                failures.append(f"undocumented status: {where}")
            elif status >= 400 and response.content_type != "application/problem+json":
                failures.append(f"not a problem: {where}")
    assert sent > 800
    assert not failures, "\n".join(failures[:30])
    # And the other way round: every error status documented for what an operation has
    # (a body, a query, a path parameter, a token, an unsafe method) is really produced.
    for (method, pattern), statuses in produced.items():
        documented = {
            s for s in document["paths"][pattern][method]["responses"] if s.startswith("4")
        }
        missing = documented - statuses - STATE_STATUSES
        assert not missing, f"{method.upper()} {pattern} documents {missing} but never sent them"
