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


class ProblemError(web.HTTPException):
    """A problem raised from a helper (``read_body``): aiohttp sends it as it is, with or
    without the problem middleware, so every app that parses bodies answers the same way."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.status_code = status  # read by HTTPException.__init__ as the response status
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
        super().__init__(
            text=json.dumps(body, ensure_ascii=False), content_type=PROBLEM_TYPE, headers=headers
        )


def validation_problem(exc: ValidationError, where: str = "body") -> web.Response:
    """422 listing every invalid field with its path."""
    errors, detail = _errors(exc, where)
    return problem(422, "Invalid request", f"invalid {where}: {detail}", errors=errors)


def validation_error(exc: ValidationError, where: str = "body") -> ProblemError:
    """The 422 of ``validation_problem``, to raise."""
    errors, detail = _errors(exc, where)
    return ProblemError(422, "Invalid request", f"invalid {where}: {detail}", errors=errors)


def _errors(exc: ValidationError, where: str) -> tuple[list[dict[str, str]], str]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in err["loc"]) or where
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        # "Value error, must be ..." says "Value error" to nobody's benefit.
        msg = msg.removeprefix("Value error, ")
        errors.append({"field": path, "message": msg})
    return errors, "; ".join(f"{e['field']}: {e['message']}" for e in errors)


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
        # Keep what the exception says beyond its body: Allow on a 405, Retry-After, ...
        kept = {
            name: value
            for name, value in exc.headers.items()
            if name.lower() not in ("content-type", "content-length")
        }
        return problem(exc.status, exc.reason, exc.text or exc.reason, headers=kept)
    except StoreError as exc:
        log.error("Database problem: %s", exc)
        return problem(503, "Service unavailable", str(exc))
    except Exception:
        log.exception("Unhandled error in %s %s", request.method, request.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
