"""Schemathesis over the dashboard's routes on central: bad input of every kind is a 4xx
problem, valid input is accepted, and nothing answers 5xx (real PostgreSQL, real HTTP).

The same checks as the node's (``tests/node/test_openapi.py``), registered here under a name
of their own so both modules can be collected in one run.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg

from appliance.api.openapi import build_openapi
from central.dashboard import routes
from central.db.store import EventStore
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import create_token
from tests.central.household_data import build
from tests.fakes.fuzzing import fuzz


async def test_schemathesis_finds_no_server_error_on_the_dashboard(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    household = build(11, date.today(), products=6, lots=20)
    await EventStore(pool).commit(household.events, "kitchen/v1/home/node/x/events")
    token = await create_token(pool, "fuzz", "full")
    client = await aiohttp_client(create_app(pool, Hub(), None, dict))
    document = build_openapi(routes.specs())
    base_url = str(client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(fuzz, document, base_url, token, 15, frozenset())
    assert not failures, "\n\n".join(failures)
