"""A route table that also describes itself, so the OpenAPI document cannot drift."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from appliance.api.problem import validation_problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


@dataclass
class RouteSpec:
    """What the OpenAPI document says about one operation."""

    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    public: bool = False
    responses: dict[int, str] = field(default_factory=dict)
    handler: Handler | None = None
    # An OpenAPI ``content`` object for bodies that are not JSON (multipart uploads).
    body_content: dict[str, Any] | None = None
    # The success response's ``content`` when it is not a JSON object (an image).
    reply_content: dict[str, Any] | None = None


class Api:
    """Collects routes and their specs; ``install`` adds them to an app."""

    def __init__(self) -> None:
        self.specs: list[RouteSpec] = []

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        status: int = 200,
        public: bool = False,
        responses: dict[int, str] | None = None,
        body_content: dict[str, Any] | None = None,
        reply_content: dict[str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler for ``method path``."""

        def decorate(handler: Handler) -> Handler:
            spec = RouteSpec(
                method,
                path,
                summary,
                tag,
                body,
                query,
                status,
                public,
                responses or {},
                handler,
                body_content,
                reply_content,
            )
            self.specs.append(spec)
            return handler

        return decorate

    def install(self, app: web.Application) -> None:
        """Add every route to ``app``."""
        for spec in self.specs:
            assert spec.handler is not None
            app.router.add_route(spec.method, spec.path, spec.handler)


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON request body; errors become 4xx problems."""
    if request.content_type != "application/json":
        raise _problem(415, "Unsupported media type", "send the body as application/json")
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _problem(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _problem(400, "Malformed body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _Reply(validation_problem(exc, "body")) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """Validate query parameters (strings converted to the model's types)."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise _Reply(validation_problem(exc, "query")) from None


class _Reply(Exception):
    """Carries a ready response out of a helper (see ``reply_middleware``)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _problem(status: int, title: str, detail: str) -> _Reply:
    from appliance.api.problem import problem

    return _Reply(problem(status, title, detail))


@web.middleware
async def reply_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer with the response a helper raised."""
    try:
        response: web.StreamResponse = await handler(request)
    except _Reply as exc:
        return exc.response
    return response
