"""What the node's and central's Grocy APIs share at the HTTP boundary: Grocy's error body,
its bodies and ids read from a request, and the middleware that answers every error under
``/grocy/`` in Grocy's shape."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from appliance.api.problem import PROBLEM_TYPE
from appliance.core import grocy_ids, wirejson

M = TypeVar("M", bound=BaseModel)


class GrocyError(Exception):
    """An error answered as Grocy answers: ``{"error_message": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def error_response(status: int, message: str, headers: Any = None) -> web.Response:
    """Grocy's error body."""
    return web.json_response({"error_message": message}, status=status, headers=headers)


def ok(value: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.Response(
        status=status, text=json.dumps(value, ensure_ascii=False), content_type="application/json"
    )


def validation_message(exc: ValidationError) -> str:
    """One line naming each field a body or query got wrong."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "invalid request: " + "; ".join(parts)


async def read_body(request: web.Request, model: type[M], *, optional: bool = False) -> M:
    """A JSON body (any media type: Grocy's clients are not all careful); none: defaults.

    Anything wrong with it is a ``GrocyError`` (400).
    """
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise GrocyError("a JSON body is required")
    try:
        value = wirejson.loads(raw)
    except wirejson.JsonDepthError as exc:
        raise GrocyError(f"the body is not accepted: {exc}") from None
    except ValueError as exc:
        raise GrocyError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise GrocyError("the body must be a JSON object")
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise GrocyError(validation_message(exc)) from None


def int_param(request: web.Request, name: str) -> int:
    """A Grocy integer id from the path (``GrocyError`` unless it is one)."""
    text = request.match_info[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise GrocyError(f"{text[:40]!r} is not an id")
    value = int(text)
    if not grocy_ids.valid_int(value):
        raise GrocyError(f"{value} is not an id")
    return value


@web.middleware
async def grocy_error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Under ``/grocy/``, what the rest of the server answers as problem+json (no token, a
    full write queue, an unknown path, a database error) answers in Grocy's shape."""
    if not request.path.startswith("/grocy/"):
        response: web.StreamResponse = await handler(request)
        return response
    try:
        response = await handler(request)
    except GrocyError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return error_response(exc.status, exc.text or exc.reason, kept)
    if isinstance(response, web.Response) and response.content_type == PROBLEM_TYPE:
        try:
            detail = json.loads(response.text or "{}").get("detail") or response.reason
        except ValueError:
            detail = response.reason
        kept = {k: v for k, v in response.headers.items() if k.lower() in ("allow", "retry-after")}
        return error_response(response.status, str(detail), kept)
    return response
