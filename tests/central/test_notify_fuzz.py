"""Schemathesis over the notification routes on central: bad input of every kind is a 4xx
problem, valid input is accepted, nothing answers 5xx (real PostgreSQL, real HTTP)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from appliance.api.openapi import build_openapi
from central.http import create_app
from central.hub import Hub
from central.notify import routes
from central.notify.gather import gather
from central.notify.service import Notifier
from tests.central.auth_helpers import create_token
from tests.fakes.fuzzing import fuzz

# The test message sends to the URL in its body: generated URLs must not reach out anywhere.
# Its refusals are covered in tests/sync/test_notify_central.py.
SKIP = frozenset({"/api/notifications/test"})


async def test_schemathesis_finds_no_server_error_on_the_notification_routes(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    token = await create_token(pool, "fuzz", "full")
    notifier = Notifier(pool, "home", "central-1", gather)  # its loop is not started
    client = await aiohttp_client(create_app(pool, Hub(), None, dict, notifier=notifier))
    document = build_openapi(routes.specs())
    assert {p for p in document["paths"]} == {
        "/api/notifications",
        "/api/notifications/test",
        "/api/notifications/push",
        "/api/notifications/push/subscriptions",
        "/api/notifications/push/subscriptions/{id}",
    }
    base_url = str(client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(fuzz, document, base_url, token, 15, SKIP)
    assert not failures, "\n\n".join(failures)
