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
