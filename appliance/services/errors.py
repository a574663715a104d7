"""Errors a command reports to its caller; the HTTP layer maps them to problem+json."""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """A request that cannot be carried out; ``status`` is the HTTP status to answer with."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        # Further members of the problem body, for clients that act on them.
        self.extra: dict[str, Any] = extra


class NotFound(CommandError):
    """The entity does not exist (or was deleted)."""

    status = 404
    title = "Not found"


class Conflict(CommandError):
    """The request conflicts with the current state."""

    status = 409
    title = "Conflict"


class Invalid(CommandError):
    """The request is well-formed JSON but its values are not acceptable."""

    status = 422
    title = "Invalid request"


class NotInStock(Conflict):
    """A consume of more than is recorded in stock; nothing was changed."""

    title = "Not in stock"
