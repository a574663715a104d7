"""Errors as ``application/problem+json`` (RFC 9457), and the middleware that makes them."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from appliance.services.errors import CommandError
from appliance.store import StoreError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"


def problem(
    status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    """Build a problem response; ``extra`` fields join the body, ``headers`` the response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_TYPE,
        headers=headers,
    )


def validation_problem(exc: ValidationError, where: str = "body") -> web.Response:
    """422 listing every invalid field with its path."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in err["loc"]) or where
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        errors.append({"field": path, "message": msg})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid request", f"invalid {where}: {detail}", errors=errors)


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn every error into problem+json; never leak a traceback to a client."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except CommandError as exc:
        return problem(exc.status, exc.title, exc.detail, headers=None, **exc.extra)
    except ValidationError as exc:
        return validation_problem(exc)
    except web.HTTPRequestEntityTooLarge as exc:
        return problem(413, "Payload too large", exc.text or "the request body is too large")
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == PROBLEM_TYPE:
            raise
        return problem(exc.status, exc.reason, exc.text or exc.reason)
    except StoreError as exc:
        log.error("Database problem: %s", exc)
        return problem(503, "Service unavailable", str(exc))
    except Exception:
        log.exception("Unhandled error in %s %s", request.method, request.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
