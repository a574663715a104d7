"""The OFF client against a local fake OFF server: request shape, quirks, backoff, failures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from central.off.client import FIELDS_QUERY, OffClient, build_user_agent, parse_retry_after
from central.off.normalise import OFF_FIELDS
from central.off.result import OffStatus
from tests.fakes.off_server import (
    GERMAN_PRODUCT,
    NUMERIC_QUANTITY_PRODUCT,
    STRING_QUANTITY_PRODUCT,
    FakeClock,
    FakeOffServer,
    FakeResponse,
    found_body,
    not_found_body,
)

USER_AGENT = "KitchenAppliance/0.1.0 (tests@example.org)"


@pytest.fixture
async def off() -> AsyncIterator[FakeOffServer]:
    async with FakeOffServer() as server:
        for product in (GERMAN_PRODUCT, NUMERIC_QUANTITY_PRODUCT, STRING_QUANTITY_PRODUCT):
            server.add_product(product)
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def client(off: FakeOffServer, clock: FakeClock) -> AsyncIterator[OffClient]:
    async with OffClient(
        off.base_url, user_agent=USER_AGENT, timeout=2.0, clock=clock, sleep=clock.sleep
    ) as client:
        yield client


async def test_request_has_literal_commas_and_user_agent(
    off: FakeOffServer, client: OffClient
) -> None:
    await client.lookup(GERMAN_PRODUCT["code"])

    [request] = off.requests
    assert request.method == "GET"
    assert request.raw_path.startswith(f"/api/v2/product/{GERMAN_PRODUCT['code']}?")
    assert request.raw_query == "fields=" + ",".join(OFF_FIELDS)
    assert "%2C" not in request.raw_path.upper()
    assert request.headers["User-Agent"] == USER_AGENT
    assert FIELDS_QUERY.startswith("fields=code,product_name,product_name_de,product_name_en,")


def test_default_user_agent_names_project_version_and_contact() -> None:
    assert (
        build_user_agent("ops@example.org", "0.1.0") == "KitchenAppliance/0.1.0 (ops@example.org)"
    )
    assert build_user_agent().startswith("KitchenAppliance/")


async def test_german_product_with_empty_name_and_entities(client: OffClient) -> None:
    result = await client.lookup(GERMAN_PRODUCT["code"])

    assert result.status is OffStatus.FOUND
    assert result.product == {
        "name": "Apfelschorle naturtrüb",
        "brand": "Mühlbach & Söhne",
        "pack_size": 1.98,
        "unit": "l",
        "category": "Apple spritzers",
        "image_url": GERMAN_PRODUCT["image_front_url"],
        "nutriscore": "c",
    }
    # Only the requested fields travel (the fake, like OFF, drops the rest).
    assert result.off_data is not None
    assert set(result.off_data) <= set(OFF_FIELDS)
    assert "nova_group" not in result.off_data
    assert result.off_data["brands"] == GERMAN_PRODUCT["brands"]


async def test_numeric_product_quantity(client: OffClient) -> None:
    result = await client.lookup(NUMERIC_QUANTITY_PRODUCT["code"])

    assert result.product is not None
    assert (result.product["pack_size"], result.product["unit"]) == (500.0, "g")
    assert result.product["name"] == "Spaghetti n.5"
    assert result.product["nutriscore"] == "a"


async def test_string_product_quantity(client: OffClient) -> None:
    result = await client.lookup(STRING_QUANTITY_PRODUCT["code"])

    assert result.product is not None
    assert (result.product["pack_size"], result.product["unit"]) == (1.5, "l")
    assert result.product["nutriscore"] is None  # "not-applicable"
    assert result.product["image_url"] == STRING_QUANTITY_PRODUCT["image_url"]


async def test_not_found_as_http_404(off: FakeOffServer, client: OffClient) -> None:
    result = await client.lookup("4012345999990")

    assert result.status is OffStatus.NOT_FOUND
    assert result.product is None
    assert len(off.requests) == 1


async def test_not_found_as_status_0_with_200(off: FakeOffServer, client: OffClient) -> None:
    off.script("4012345999983", FakeResponse(200, not_found_body("4012345999983")))

    result = await client.lookup("4012345999983")

    assert result.status is OffStatus.NOT_FOUND
    assert result.reason == "product not found"


async def test_invalid_barcode_is_not_found_without_a_request(
    off: FakeOffServer, client: OffClient
) -> None:
    result = await client.lookup("12ab")

    assert result.status is OffStatus.NOT_FOUND
    assert result.reason == "invalid barcode"
    assert off.requests == []


async def test_429_with_retry_after_is_retried_after_that_wait(
    off: FakeOffServer, client: OffClient, clock: FakeClock
) -> None:
    code = NUMERIC_QUANTITY_PRODUCT["code"]
    off.script(code, FakeResponse(429, {"error": "rate limited"}, {"Retry-After": "7"}))

    result = await client.lookup(code)

    assert result.status is OffStatus.FOUND
    assert len(off.requests_for(code)) == 2
    assert clock.sleeps == [7.0]


async def test_503_backs_off_then_gives_up_with_retry_after(
    off: FakeOffServer, client: OffClient, clock: FakeClock
) -> None:
    code = GERMAN_PRODUCT["code"]
    busy = FakeResponse(503, "<html><body>Service Unavailable</body></html>")
    off.script(code, busy, busy, busy)

    result = await client.lookup(code)

    assert result.status is OffStatus.ERROR
    assert result.reason == "HTTP 503 from OFF"
    assert len(off.requests_for(code)) == 3
    # No Retry-After: exponential backoff 5 s, 10 s; the third wait is left to the caller.
    assert clock.sleeps == [5.0, 10.0]
    assert result.retry_after == 20.0
    # The limiter stays paused, so the next lookup waits too.
    assert client.limiter.delay() == 20.0


async def test_retry_after_too_long_is_not_waited_for(
    off: FakeOffServer, client: OffClient, clock: FakeClock
) -> None:
    code = GERMAN_PRODUCT["code"]
    off.script(code, FakeResponse(429, b"", {"Retry-After": "3600"}))

    result = await client.lookup(code)

    assert result.status is OffStatus.ERROR
    assert result.retry_after == 3600.0
    assert clock.sleeps == []
    assert len(off.requests) == 1


async def test_slow_server_times_out_as_an_error(off: FakeOffServer) -> None:
    code = GERMAN_PRODUCT["code"]
    off.script(code, FakeResponse(200, found_body(GERMAN_PRODUCT), delay=30.0))

    async with OffClient(off.base_url, user_agent=USER_AGENT, timeout=0.2) as client:
        result = await client.lookup(code)

    assert result.status is OffStatus.ERROR
    assert result.reason == "timeout"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"code": "4012345000016", "product": {"product_name": "Apfel', "malformed JSON"),
        (b"<html>Maintenance</html>", "malformed JSON"),
        (json.dumps([1, 2]).encode(), "unexpected response"),
        (json.dumps({"status": 1, "product": "x"}).encode(), "unexpected response shape"),
        (json.dumps({"status": "failure"}).encode(), "unexpected response shape"),
    ],
)
async def test_malformed_or_unexpected_bodies_are_errors(
    off: FakeOffServer, client: OffClient, body: bytes, reason: str
) -> None:
    off.script("4012345000016", FakeResponse(200, body))

    result = await client.lookup("4012345000016")

    assert result.status is OffStatus.ERROR
    assert result.reason is not None
    assert result.reason.startswith(reason)


async def test_other_http_errors_are_errors(off: FakeOffServer, client: OffClient) -> None:
    off.script("4012345000016", FakeResponse(500, {"error": "boom"}))

    result = await client.lookup("4012345000016")

    assert result.status is OffStatus.ERROR
    assert result.reason == "HTTP 500 from OFF"


async def test_connection_refused_is_an_error(off: FakeOffServer) -> None:
    base_url = off.base_url
    await off.close()  # nothing listens there any more

    async with OffClient(base_url, user_agent=USER_AGENT, timeout=2.0) as client:
        result = await client.lookup("4012345000016")

    assert result.status is OffStatus.ERROR
    assert result.reason is not None
    assert result.reason.startswith("network error")


async def test_eleventh_request_in_a_minute_waits(
    off: FakeOffServer, client: OffClient, clock: FakeClock
) -> None:
    for _ in range(10):
        await client.lookup(GERMAN_PRODUCT["code"])
    assert clock.sleeps == []

    await client.lookup(GERMAN_PRODUCT["code"])

    assert clock.sleeps == [60.0]
    assert len(off.requests) == 11


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    )
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
