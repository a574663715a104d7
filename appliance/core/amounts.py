"""Amounts as exact integers of thousandths, so sums do not depend on the order of events.

Floating-point addition is not associative: summing the same deltas in another order can
give another total. Every amount is therefore stored as an ``int`` of milli-units.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

SCALE = 1000
MAX_AMOUNT = 10**9  # a billion units is not a kitchen


class AmountError(ValueError):
    """An amount that cannot be stored."""


def to_milli(value: object) -> int:
    """Convert a JSON number or numeric string to milli-units, rounding to 3 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise AmountError("amount must be a number")
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        raise AmountError(f"amount {value!r} is not a number") from None
    if not dec.is_finite():
        raise AmountError("amount must be finite")
    if abs(dec) > MAX_AMOUNT:
        raise AmountError(f"amount must be at most {MAX_AMOUNT}")
    return int((dec * SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_milli(milli: int) -> float:
    """Convert milli-units back to a number for display and JSON."""
    return milli / SCALE if milli % SCALE else float(milli // SCALE)
