"""How much one scanned pack is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appliance.core.amounts import AmountError, scan_amount, to_milli


@pytest.mark.parametrize(
    ("unit", "pack_size", "weight", "weight_unit", "expected"),
    [
        ("piece", None, None, None, 1),
        ("piece", 6, None, None, 1),
        ("Stk", 10, None, None, 1),
        ("pack", 4, None, None, 1),
        (None, 500, None, None, 1),
        ("ml", 1000, None, None, 1000),
        ("g", 500, None, None, 500),
        ("g", None, None, None, 1),
        ("g", 250, Decimal("0.456"), "kg", 456),
        ("kg", None, Decimal("0.456"), "kg", 0.456),
        ("ml", 1000, Decimal("1.5"), "l", 1500),
        ("g", 250, Decimal("1.5"), "l", 250),  # a volume is no weight: the pack size
        ("g", 250, Decimal("1"), "lb", 250),  # pounds are not converted
        ("ml", 0, None, None, 1),
    ],
)
def test_scan_amount(
    unit: str | None,
    pack_size: float | None,
    weight: Decimal | None,
    weight_unit: str | None,
    expected: float,
) -> None:
    assert scan_amount(unit, pack_size, weight, weight_unit) == expected


@pytest.mark.parametrize(
    ("value", "milli"),
    [
        (3, 3000),
        (-2, -2000),
        (0, 0),
        (10**9, 10**12),
        (2.0, 2000),
        (-0.0, 0),
        (1e9, 10**12),
        (1.5, 1500),
        ("0.0005", 0),
        ("2", 2000),
    ],
)
def test_to_milli(value: object, milli: int) -> None:
    assert to_milli(value) == milli


@pytest.mark.parametrize(
    "value", [10**9 + 1, -(10**9) - 1, 1e9 + 1, True, None, "x", float("inf"), float("nan")]
)
def test_to_milli_refuses(value: object) -> None:
    with pytest.raises(AmountError):
        to_milli(value)
