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
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from appliance.api.openapi import build_openapi
from central.dashboard import routes
from central.db.store import EventStore
from central.http import create_app
from central.hub import Hub
from tests.central.auth_helpers import create_token
from tests.central.household_data import build


@schemathesis.check
def dashboard_valid_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """``positive_data_acceptance``, except for the statuses an operation documents as its
    answer to valid requests whose content it refuses (``x-content-refusals``)."""
    refusals = case.operation.definition.raw.get("x-content-refusals", [])
    if response.status_code in refusals:
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    dashboard_valid_data_accepted,
]


def _fuzz(document: dict[str, Any], base_url: str, token: str, examples: int) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):

                @settings(
                    max_examples=examples,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base_url, session=session, headers=headers)
                    case.validate_response(response, checks=CHECKS)

                try:
                    check()
                except Unsatisfiable:
                    pass  # nothing to make invalid: an operation without parameters or body
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
                    failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    return failures


async def test_schemathesis_finds_no_server_error_on_the_dashboard(
    pool: asyncpg.Pool, aiohttp_client: Any
) -> None:
    household = build(11, date.today(), products=6, lots=20)
    await EventStore(pool).commit(household.events, "kitchen/v1/home/node/x/events")
    token = await create_token(pool, "fuzz", "full")
    client = await aiohttp_client(create_app(pool, Hub(), None, dict))
    document = build_openapi(routes.specs())
    base_url = str(client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(_fuzz, document, base_url, token, 15)
    assert not failures, "\n\n".join(failures)
