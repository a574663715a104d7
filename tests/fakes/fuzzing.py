"""Schemathesis over an OpenAPI document served by a live app (node or central).

The custom check is registered here, in one module with one import name: registering it from
a test module fails once two test modules import it under different names.
"""

from __future__ import annotations

from typing import Any

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


@schemathesis.check
def valid_data_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """``positive_data_acceptance``, except for the statuses an operation documents as its
    answer to valid requests whose content it refuses (``x-content-refusals``)."""
    refusals = case.operation.definition.raw.get("x-content-refusals", [])
    if response.status_code in refusals:
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


#: What every response must satisfy: no 5xx, and only documented statuses, media types,
#: headers and bodies; data valid per the schema is accepted (or refused only by state).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    valid_data_accepted,
]


def fuzz(
    document: dict[str, Any],
    base_url: str,
    token: str,
    examples: int,
    skip: frozenset[str],
    headers: dict[str, str] | None = None,
) -> list[str]:
    """Run schemathesis over every operation; return the failures (none expected).

    ``token`` goes in ``Authorization: Bearer``, unless ``headers`` say how to authenticate
    (the Grocy API's ``GROCY-API-KEY``).
    """
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    headers = headers if headers is not None else {"Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path in skip:
                continue
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
