"""What the tests of central's Grocy API share: barcodes, dates, pygrocy2 (the app is the
``client`` fixture of ``conftest.py``)."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from pygrocy2.grocy import Grocy

MILK = "4006381333931"
RICE = "5000159484695"


def days(n: int) -> str:
    """The ISO date ``n`` days from today."""
    return (date.today() + timedelta(days=n)).isoformat()


def pygrocy(client: TestClient, token: str) -> Grocy:
    """pygrocy2 pointed at the test server's ``/grocy/api/`` with a central API token."""
    url = client.make_url("")
    return Grocy(f"http://{url.host}", token, port=url.port, path="grocy")
