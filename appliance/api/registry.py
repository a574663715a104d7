"""A route table that also describes itself, so the OpenAPI document cannot drift."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from appliance.api.problem import ProblemError, validation_error
from appliance.core import wirejson

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
    #: What a success answers with (``application/json`` unless said otherwise).
    media_type: str = "application/json"
    #: JSON schemas of path parameters that are neither ids (UUIDs) nor free text.
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The request body may be left out (an empty POST means the defaults).
    optional_body: bool = False
    #: Statuses a request valid per the schema can still get for what its content means
    #: (a scan of an unreadable code, a wrong pairing code): ``x-content-refusals``.
    content_refusals: tuple[int, ...] = ()


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
        optional_body: bool = False,
        content_refusals: tuple[int, ...] = (),
        path_params: dict[str, dict[str, Any]] | None = None,
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
                body_content=body_content,
                reply_content=reply_content,
                optional_body=optional_body,
                content_refusals=content_refusals,
                path_params=path_params or {},
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
    """Parse and validate a JSON request body: the one place every JSON body goes through.

    The nesting is bounded before parsing (``appliance.core.wirejson``). Errors are raised as
    problem+json responses that aiohttp sends by itself: 415 for another media type, 400 for
    malformed or too deeply nested JSON or a body that is not an object, 422 for invalid fields.
    """
    if request.content_type != "application/json":
        raise ProblemError(415, "Unsupported media type", "send the body as application/json")
    raw = await request.read()
    try:
        data = wirejson.loads(raw)
    except wirejson.JsonDepthError as exc:
        raise ProblemError(400, "Malformed JSON", f"the body is not accepted: {exc}") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ProblemError(400, "Malformed JSON", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProblemError(400, "Malformed body", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, "body") from None


def read_query(request: web.Request, model: type[M]) -> M:
    """Validate query parameters (strings converted to the model's types)."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_error(exc, "query") from None
