"""Dropping biip's company-prefix table keeps every scan result the node uses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from appliance.core.barcode import parse_scan
from appliance.memory import trim_library_tables


def test_parse_scan_is_unchanged_after_trimming_biip() -> None:
    raw = "]d2" + "0104006381333931" + "17270315" + "10LOT42" + "\x1d" + "3103000500"
    before = parse_scan(raw)
    trim_library_tables()
    after = parse_scan(raw)
    assert after == before
    assert after.gtin == "4006381333931"
    assert after.best_before == date(2027, 3, 15)
    assert after.net_weight == Decimal("0.500")
    assert parse_scan("036000291452").gtin == "0036000291452"
    assert trim_library_tables() is True  # idempotent: an empty table is still a table


# A node with TLS off must not load what only TLS, receipts or central need: each of these
# costs megabytes of the idle budget on a Pi (cryptography's Rust bindings alone about 6 MiB).
_PROBE = """
import asyncio, sys, tempfile
from appliance.app import build_app
from appliance.config import build_config


async def main():
    data = {"storage": {"data_dir": tempfile.mkdtemp()}, "http": {"host": "127.0.0.1"}}
    config = build_config(data)
    app = await build_app(config)
    from aiohttp import web
    runner = web.AppRunner(app)
    await runner.setup()
    await runner.cleanup()
    heavy = {"cryptography", "PIL", "pypdfium2", "pystrich", "rapidocr", "asyncpg", "httpx"}
    print(",".join(sorted(heavy & {name.split(".")[0] for name in sys.modules})))


asyncio.run(main())
"""


def test_a_plain_node_loads_no_heavy_library() -> None:
    """Regression: the Host check imported the TLS module, and with it cryptography."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "", done.stdout
