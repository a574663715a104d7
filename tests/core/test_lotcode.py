"""Lot codes (LOT:...) and Grocy codes as parse_scan reads them."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.core.barcode import ScanError, parse_scan
from appliance.core.grocy_ids import stock_id
from appliance.core.lotcode import (
    LotCodeError,
    is_lot_code,
    label_scan_amount,
    lot_code,
    lot_id_from_code,
)

LOT = "01a23194-8a4b-702b-b6cb-0f3edf56e4f6"


@given(st.uuids())
def test_code_reads_back_into_the_lot_id_in_any_case(value: uuid.UUID) -> None:
    code = lot_code(str(value))
    assert len(code) == 30 and code.startswith("LOT:")
    assert code == code.upper()
    assert lot_id_from_code(code) == str(value)
    assert lot_id_from_code(code.lower()) == str(value)
    assert lot_id_from_code(code.swapcase()) == str(value)


def test_crockford_look_alikes_read_as_digits() -> None:
    code = lot_code(LOT)
    assert "0" in code[4:] and "1" in code[4:]
    fuzzy = code[:4] + code[4:].replace("0", "O").replace("1", "l")
    assert lot_id_from_code(fuzzy) == LOT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("LOT:01M8RS92JBE0NVDJRF7VFNDS7", "has 25"),  # one character lost
        ("LOT:01M8RS92JBE0NVDJRF7VFNDS7PQ", "has 27"),
        ("LOT:01M8RS92JBE0NVDJRF7VFNDS7U", "cannot contain 'U'"),
        ("LOT:81M8RS92JBE0NVDJRF7VFNDS7P", "out of range"),  # 130 bits, top two set
        ("lot:", "has 0"),
    ],
)
def test_damaged_codes_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(LotCodeError, match=message):
        lot_id_from_code(text)
    with pytest.raises(ScanError, match=message):
        parse_scan(text)


def test_other_text_is_not_a_lot_code() -> None:
    for text in ("4006381333931", "MODE:ADD", "SHOP-4711", "LOTTE", "Lot 42"):
        assert lot_id_from_code(text) is None
        assert not is_lot_code(text)


@pytest.mark.parametrize("prefix", ["", "]d1", "]Q1", "]C0"])
def test_parse_scan_reads_lot_codes_from_any_symbology(prefix: str) -> None:
    scan = parse_scan(prefix + lot_code(LOT).lower() + "\r\n")
    assert scan.kind == "lot"
    assert scan.lot_id == LOT
    assert scan.code == lot_code(LOT)  # canonical, whatever the case it came in
    assert scan.to_dict()["lot_id"] == LOT


def test_parse_scan_reads_grocy_stock_codes_as_lots() -> None:
    scan = parse_scan(f"]d1GRCY:P:12:{stock_id(LOT).upper()}")
    assert scan.kind == "lot"
    assert scan.lot_id == LOT
    assert scan.grocy_product == 12
    assert scan.code == f"grcy:p:12:{stock_id(LOT)}"


def test_parse_scan_reads_grocy_product_codes_and_foreign_stock() -> None:
    product = parse_scan("grcy:p:4711")
    assert (product.kind, product.grocy_product, product.grocy_stock) == ("grocy", 4711, None)
    # Grocy's own stock ids (13 hex digits from uniqid) are no lots of ours.
    foreign = parse_scan("grcy:p:3:5f8a1b2c3d4e5")
    assert (foreign.kind, foreign.grocy_stock) == ("grocy", "5f8a1b2c3d4e5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grcy:c:3", "names a chore"),
        ("grcy:b:1", "names a battery"),
        ("grcy:x:1", "not a Grocy code"),
        ("grcy:p:0", "not a Grocy code"),  # 0 is no id
        ("grcy:p:", "not a Grocy code"),
    ],
)
def test_grocy_codes_the_node_cannot_use_are_refused(text: str, message: str) -> None:
    with pytest.raises(ScanError, match=message):
        parse_scan(text)


def test_label_scan_amount_takes_a_piece_or_the_whole_lot() -> None:
    assert label_scan_amount("piece", 6000) == 1  # one of six portions
    assert label_scan_amount("piece", 1000) is None  # the last one: the whole lot
    assert label_scan_amount("piece", 500) is None
    assert label_scan_amount("g", 400_000) is None  # the jar, not one gram
    assert label_scan_amount("ml", 1000) is None
